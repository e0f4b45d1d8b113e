"""Under a verdict: "Right" and "Wrong? It is a:" 0–9, and Undo. One drawing, one label.

Shared by the Draw tab (the pad's strokes) and the Upload tab (the uploaded file); `source` turns the input
component's value into what `Collector.correct` takes. The buttons show once there is something to correct
(the browser alone decides, no request per pen move); a second click on the same drawing changes its label,
Undo takes it back. On the Draw tab a click also teaches the visitor's own model at once
(`mnist_ui.server.corrections`) and the pad reads the drawing again, so the page shows the digit just taught.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr

from mnist_ui.components.lang_switch import follow
from mnist_ui.components.model_badge import KEY_JS
from mnist_ui.server.access import sees_paths, visitor, without_paths
from mnist_ui.server.context import AppContext
from mnist_ui.server.corrections import Corrected, correct_drawing, undo_drawing
from mnist_ui.text.words import T, lang_of, say, translated

CSS = """
.correct-bar { gap: 6px !important; }
.correct-bar .digit-row button { min-width: 0 !important; padding: 6px 0 !important; font-size: 20px; }
.correct-status .saved { color: #15803d; font-weight: 600; }
.correct-status .refused { color: #b91c1c; }
.correct-status .undone { color: var(--body-text-color-subdued); }
.collect-where { font-size: 13px; }
body:not(.ink-draw) #correct-bar .correct-choices, body:not(.ink-up) #up-correct-bar .correct-choices,
body:not(.kept-draw) #correct-bar .correct-undo, body:not(.kept-up) #up-correct-bar .correct-undo,
body.ink-draw #correct-bar .correct-hint, body.ink-up #up-correct-bar .correct-hint { display: none !important; }
.correct-hint { color: var(--body-text-color-subdued); font-size: 14px; }
"""


def status_html(kept: bool, message: str, undone: bool = False, lang: str | None = None) -> str:
    css = "undone" if undone else "saved" if kept else "refused"
    return f'<span class="{css}">{html.escape(translated(lang, message))}</span>'


def save(ctx: AppContext, label: int | None, source: dict[str, Any], request: gr.Request | None) -> str:
    """One click on the Upload tab: the status line's HTML (what was kept, or the one-line reason it was not)."""
    done = ctx.drawings.correct(ctx.holder.current, label, source, visitor(ctx, request))
    return status_html(done.saved, without_paths(done.message, sees_paths(ctx, request)), lang=lang_of(request))


def undo(ctx: AppContext, source: dict[str, Any], request: gr.Request | None) -> str:
    done = ctx.drawings.undo(source, visitor(ctx, request))
    said = without_paths(done.message, sees_paths(ctx, request))
    return status_html(False, said, undone=done.id is not None, lang=lang_of(request))


def shown(ctx: AppContext, done: Corrected, request: gr.Request | None) -> str:
    said = without_paths(done.message, sees_paths(ctx, request))
    return status_html(done.kept, said, "undone" in done.message, lang_of(request))


def _marks(name: str) -> tuple[str, str]:
    """JS run in the browser: after a value change (ink or not, nothing kept yet) and after a click (kept or not).
    The state lives in classes on <body>, which Gradio never re-renders."""
    changed = (
        f"(v) => {{ const ink = !!v && (typeof v !== 'string' || (JSON.parse(v).strokes || []).length > 0);"
        f" document.body.classList.toggle('ink-{name}', ink); document.body.classList.remove('kept-{name}');"
        " return ''; }"
    )
    clicked = (
        f"() => {{ const bar = document.querySelector('#{'' if name == 'draw' else 'up-'}correct-status .saved');"
        f" document.body.classList.toggle('kept-{name}', !!bar); }}"
    )
    return changed, clicked


REREAD = "document.querySelector('#pad .pad-wrap')?.dispatchEvent(new CustomEvent('reread', {bubbles: true}));"


def _layout(ctx: AppContext, prefix: str, visible: bool) -> tuple[gr.Button, list[gr.Button], gr.Button, gr.HTML]:
    with gr.Column(elem_classes=["correct-bar"], elem_id=f"{prefix}correct-bar", visible=visible):
        gr.HTML(T("correct.hint"), elem_classes=["correct-hint"], padding=False)
        with gr.Row(equal_height=True, elem_classes=["correct-choices"]):
            right = gr.Button(T("correct.right"), elem_id=f"{prefix}right", variant="secondary", scale=1, min_width=80)
            gr.HTML(T("correct.wrong"), elem_id=f"{prefix}wrong-label", padding=False)
        with gr.Row(elem_classes=["digit-row", "correct-choices"]):
            digits = [gr.Button(str(d), elem_id=f"{prefix}is-{d}", size="sm", min_width=0, scale=1) for d in range(10)]
        with gr.Row(equal_height=False):
            status = gr.HTML("", elem_id=f"{prefix}correct-status", elem_classes=["correct-status"])
            back = gr.Button(
                T("correct.undo"), elem_id=f"{prefix}correct-undo", elem_classes=["correct-undo"], size="sm", scale=0
            )
    return right, digits, back, status


def build(
    ctx: AppContext,
    value_in: gr.HTML | gr.Image,
    source: Callable[[Any], dict[str, Any]],
    prefix: str,
    profile: gr.BrowserState | None = None,
) -> None:
    """The buttons, Undo and the status line, wired to `value_in` (the pad or the upload). With `profile` (the Draw
    tab) a click also teaches the visitor's own model, and the bar shows wherever personal models are on."""
    collector, key = ctx.drawings, prefix.replace("-", "_")
    teaches = profile is not None and ctx.personal is not None
    right, digits, back, status = _layout(ctx, prefix, collector.enabled or teaches)
    where = gr.Markdown(elem_classes=["collect-where"], elem_id=f"{prefix}collect-where")  # on load, in words

    def where_in(lang: str | None, request: gr.Request) -> str:
        """The database's file for a viewer who may see the server's paths; "on this server" for others."""
        return collector.where(sees_paths(ctx, request), lang) + (f" {say(lang, 'correct.own')}" if teaches else "")

    def where_for(request: gr.Request) -> str:
        return where_in(lang_of(request), request)

    follow(where_in, [], [where], f"{key}collect_where_words")

    gr.on(
        None, where_for, None, where, api_name=f"{key}collect_where", api_visibility="private", show_progress="hidden"
    )
    changed, clicked = _marks("draw" if profile is not None else "up")
    value_in.change(None, value_in, status, js=changed, api_name=f"{key}clear_status", api_visibility="private")
    lane: dict[str, Any] = {"show_progress": "hidden", "concurrency_limit": 4, "concurrency_id": "correct"}
    lane["api_visibility"] = "private"
    if profile is not None and teaches:
        _wire_teaching(ctx, value_in, profile, [right, *digits, back], status, clicked, key, lane)
        return
    buttons = [(right, None), *((b, d) for d, b in enumerate(digits))]
    for button, label in buttons:

        def on_click(value: Any, request: gr.Request, label: int | None = label) -> str:
            return save(ctx, label, source(value), request)

        name = "right" if label is None else f"is_{label}"
        button.click(on_click, value_in, status, api_name=f"{key}{name}_ui", **lane).then(None, None, None, js=clicked)

    def on_undo(value: Any, request: gr.Request) -> str:
        return undo(ctx, source(value), request)

    back.click(on_undo, value_in, status, api_name=f"{key}undo_ui", **lane).then(None, None, None, js=clicked)


def _wire_teaching(
    ctx: AppContext,
    pad: gr.HTML | gr.Image,
    profile: gr.BrowserState,
    buttons: list[gr.Button],
    status: gr.HTML,
    clicked: str,
    key: str,
    lane: dict[str, Any],
) -> None:
    """Right, 0–9 and Undo on the Draw tab: the collection and the visitor's model, then the drawing read again."""
    after = f"(key) => {{ ({KEY_JS})(key); ({clicked})(); {REREAD} }}"
    for n, button in enumerate(buttons):
        label, is_undo = (None if n == 0 else n - 1), n == len(buttons) - 1

        def on_click(
            value: str | None, who: str | None, request: gr.Request, label: int | None = label, is_undo: bool = is_undo
        ) -> tuple[str, str | None]:
            if is_undo:
                done = undo_drawing(ctx, value, who, visitor(ctx, request))
            else:
                done = correct_drawing(ctx, label, value, who, visitor(ctx, request))
            return shown(ctx, done, request), done.profile

        name = "undo" if is_undo else "right" if label is None else f"is_{label}"
        event = button.click(on_click, [pad, profile], [status, profile], api_name=f"{key}{name}_ui", **lane)
        event.then(None, [profile], None, js=after)
