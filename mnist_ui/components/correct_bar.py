"""Under a verdict: "Right" and "Wrong? It is a:" 0–9. One click keeps the drawing with its label.

Shared by the Draw tab (the pad's strokes) and the Upload tab (the uploaded file); `source` turns the
input component's value into what `Collector.correct` takes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr

from mnist_ui.server.access import sees_paths, visitor, without_paths
from mnist_ui.server.context import AppContext

CSS = """
.correct-bar { gap: 6px !important; }
.correct-bar .digit-row button { min-width: 0 !important; padding: 6px 0 !important; font-size: 20px; }
.correct-status .saved { color: #15803d; font-weight: 600; }
.correct-status .refused { color: #b91c1c; }
.collect-where { font-size: 13px; }
"""


def status_html(saved: bool, message: str) -> str:
    return f'<span class="{"saved" if saved else "refused"}">{html.escape(message)}</span>'


def save(ctx: AppContext, label: int | None, source: dict[str, Any], request: gr.Request | None) -> str:
    """One click: the status line's HTML (a saved count, or the one-line reason it was not kept)."""
    done = ctx.drawings.correct(ctx.holder.current, label, source, visitor(request))
    return status_html(done.saved, without_paths(done.message, sees_paths(ctx, request)))


def build(
    ctx: AppContext, value_in: gr.HTML | gr.Image, source: Callable[[Any], dict[str, Any]], prefix: str
) -> list[gr.Button]:
    """The buttons and status line, wired to `value_in` (the pad or the upload); returns the ten digit buttons."""
    collector, key = ctx.drawings, prefix.replace("-", "_")
    with gr.Column(elem_classes=["correct-bar"], visible=collector.enabled):
        with gr.Row(equal_height=True):
            right = gr.Button("Right", elem_id=f"{prefix}right", variant="secondary", scale=1, min_width=80)
            gr.HTML("<b>Wrong? It is a:</b>", elem_id=f"{prefix}wrong-label", padding=False)
        with gr.Row(elem_classes=["digit-row"]):
            digits = [gr.Button(str(d), elem_id=f"{prefix}is-{d}", size="sm", min_width=0, scale=1) for d in range(10)]
        status = gr.HTML("", elem_id=f"{prefix}correct-status", elem_classes=["correct-status"])
    where = gr.Markdown(collector.where(), elem_classes=["collect-where"], elem_id=f"{prefix}collect-where")

    def where_for(request: gr.Request) -> str:
        """The database's file for a viewer who may see the server's paths; "on this server" for others."""
        return collector.where(sees_paths(ctx, request))

    gr.on(
        None, where_for, None, where, api_name=f"{key}collect_where", api_visibility="private", show_progress="hidden"
    )
    common: dict[str, Any] = {
        "show_progress": "hidden",
        "concurrency_limit": 4,
        "concurrency_id": "correct",
        "api_visibility": "private",
    }

    def on_right(value: Any, request: gr.Request) -> str:
        return save(ctx, None, source(value), request)

    right.click(on_right, value_in, status, api_name=f"{key}right_ui", **common)
    for d, button in enumerate(digits):

        def on_digit(value: Any, request: gr.Request, label: int = d) -> str:
            return save(ctx, label, source(value), request)

        button.click(on_digit, value_in, status, api_name=f"{key}is_{d}_ui", **common)
    # A new drawing clears the last "saved" line in the browser alone: no request per pen move.
    value_in.change(None, None, status, js="() => ''", api_name=f"{key}clear_status", api_visibility="private")
    return digits
