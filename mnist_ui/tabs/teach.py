"""Teach it your handwriting: the page asks for each digit in turn, then the visitor's own model remembers them.

Three drawings of each digit by default ("Draw a 7", "17 of 30"), any skipped; after the last one (or "Teach
now") the server remembers them in a fraction of a second (`mnist_core.personal`) and shows, per digit, what
the shared model and the visitor's own model read of the drawings held back to check (the last of each digit
drawn twice or more: the memory that reads it was not given it). The visitor's key is kept in the browser
(`gr.BrowserState`), so a reload or a new tab keeps the model; from then on the Draw tab reads with it
(mnist_ui.components.model_badge). "Forget me" deletes the profile's drawings and model; "Share my drawings"
(off by default) is the only way they reach the shared collection.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from mnist_ui.components.fast_read import pad_reader
from mnist_ui.components.lang_switch import follow, speaking
from mnist_ui.components.model_badge import KEY_JS
from mnist_ui.components.pad import stroke_pad
from mnist_ui.server import actions
from mnist_ui.server.context import AppContext
from mnist_ui.text.words import T, lang_of, say, translated

TIMES = (1, 2, 3, 5)
DEFAULT_TIMES = 3
HINT = "draw the digit asked for"
CLEAR_PAD = "() => { const b = document.querySelector('#teach-pad .pad-clear'); if (b) b.click(); }"
# After each step (and when the tab opens) the prompt, the pad and Next are brought on screen together: on a
# phone they fill it, and the page would otherwise stay scrolled down where Next was pressed.
SHOW_STEP = "() => { const s = document.getElementById('teach-step'); if (s) s.scrollIntoView({block: 'nearest'}); }"
CSS = """
#teach-prompt { max-width: 448px; margin: 0 auto; width: 100%; }
#teach-prompt .ask { font-size: 28px; font-weight: 600; line-height: 1.2; }
#teach-prompt .ask b { font-size: 44px; color: #2563eb; }
#teach-prompt .ask small { font-size: 18px; font-weight: 400; color: var(--body-text-color-subdued); }
#teach-prompt .bar { height: 10px; background: #e4e4e7; border-radius: 5px; overflow: hidden; margin-top: 4px; }
#teach-prompt .bar span { display: block; height: 100%; background: #2563eb; }
#teach-prompt .count { font-size: 16px; color: var(--body-text-color-subdued); }
#teach-moves { max-width: 448px; margin: 0 auto; width: 100%; }
@media (max-width: 640px) {  /* a phone: prompt, pad and Next on one screen */
  #teach-prompt .ask { font-size: 22px; display: inline; }
  #teach-prompt .ask b { font-size: 34px; }
  #teach-prompt .count { display: inline; margin-left: 8px; }
  #teach-pad .pad-wrap { max-width: min(100%, calc(100svh - 330px)); }
}
#teach-reading .result-panel { min-height: 1.6em; font-size: 18px;
                               color: var(--body-text-color-subdued); }
#teach-status .done { color: #15803d; font-weight: 600; }
#teach-status table.checks { margin-top: 6px; border-collapse: collapse; font-size: 15px; }
#teach-status table.checks th, #teach-status table.checks td { padding: 2px 8px; text-align: center; }
#teach-status table.checks .wrong { color: #b91c1c; }
#teach-status .refused { color: #b91c1c; }
"""
READING_TEMPLATE = '<div class="result-panel" aria-live="polite"></div>'
READING_JS = r"""
const box = element.querySelector('.result-panel');
const EN = WORDS.en, fill = (t, v) => t.replace(/\{(\w+)\}/g, (_, k) => v[k]);
const tr = (text) => { const k = Object.keys(EN).find((key) => key.startsWith('msg.') && EN[key] === text);
                       return k ? W[k] : text; };
let painted = null;  // the last reading, painted again when the language changes
function paint(r) {
  painted = r;
  const v = {whose: r.model === 'personal' ? W.yours : W.shared, digit: r.digit, doubt: tr(r.doubt),
             p: Math.round(r.confidence * 100) + '%'};
  box.textContent = r.status === 'ok' ? fill(r.not_digit ? W.no_digit : W.reads, v) :
                    (r.status === 'error' ? tr(r.message) : '');
}
function repaint() { if (painted) paint(painted); }
element.addEventListener('reading', (e) => paint(e.detail));
"""


def prompt(step: int, times: int, lang: str | None = None) -> str:
    """The big line above the pad: which digit to draw now and how far along, e.g. "Draw a 7 · 22 of 30"."""
    total = 10 * times
    if step >= total:
        return f'<div class="ask">{say(lang, "teach.teaching")}</div>'
    digit, nth = divmod(step, times)
    again = f" <small>({say(lang, 'teach.of', n=nth + 1, total=times)})</small>" if times > 1 else ""
    return (
        f'<div class="ask">{say(lang, "teach.draw", digit=f"<b>{digit}</b>")}{again}</div>'
        f'<div class="count">{say(lang, "teach.of", n=step + 1, total=total)}</div>'
        f'<div class="bar" role="progressbar" aria-valuenow="{step}" aria-valuemax="{total}">'
        f'<span style="width: {100 * step / total:.1f}%"></span></div>'
    )


def status(message: str, good: bool, lang: str | None = None) -> str:
    return f'<span class="{"done" if good else "refused"}">{html.escape(translated(lang, message))}</span>'


def checks_table(checks: list[dict[str, int]], lang: str | None = None) -> str:
    """Per digit held back: what each model read of it, a wrong reading marked."""
    if not checks:
        return ""

    def cell(read: int, label: int) -> str:
        return f'<td class="{"right" if read == label else "wrong"}">{read}{" ✓" if read == label else " ✗"}</td>'

    rows = "".join(
        f"<tr><td>{c['label']}</td>{cell(c['shared'], c['label'])}{cell(c['personal'], c['label'])}</tr>"
        for c in sorted(checks, key=lambda c: c["label"])
    )
    head = "<tr>" + "".join(f"<th>{say(lang, f'teach.check_{c}')}</th>" for c in ("drawn", "shared", "yours")) + "</tr>"
    return f'<table class="checks" aria-label="{say(lang, "teach.checks")}">{head}{rows}</table>'


@dataclass(frozen=True)
class Lesson:
    """What the page holds between clicks: the drawings so far and which step is asked."""

    drawings: tuple[dict[str, Any], ...] = ()
    step: int = 0


def keep(lesson: Lesson, value: str | None, times: int, lang: str | None = None) -> tuple[Lesson, str]:
    """Add the pad's drawing as the asked digit and move on; ('', …) or the one line why not."""
    digit = lesson.step // times
    try:
        strokes = json.loads(value) if value else None
    except ValueError:
        strokes = None
    if not isinstance(strokes, dict) or not strokes.get("strokes"):
        return lesson, say(lang, "teach.draw_first", digit=digit)
    kept = (*lesson.drawings, {"label": digit, "strokes": strokes})
    return Lesson(kept, lesson.step + 1), ""


class TeachPage:
    """The handlers, with the context they need; each returns the page's new state in one dict."""

    def __init__(self, ctx: AppContext, parts: dict[str, Any]) -> None:
        self.ctx, self.p = ctx, parts

    def show(self, lesson: Lesson, times: int, line: str = "", lang: str | None = None) -> dict[Any, Any]:
        return {self.p["lesson"]: lesson, self.p["prompt"]: prompt(lesson.step, times, lang), self.p["status"]: line}

    def move(
        self,
        value: str | None,
        lesson: Lesson,
        times: int,
        share: bool,
        key: str | None,
        request: gr.Request,
        skip: bool,
    ) -> dict[Any, Any]:
        """Next (keep the drawing) or Skip; after the last step the model is taught."""
        lang = lang_of(request)
        if skip:
            lesson, problem = Lesson(lesson.drawings, lesson.step + 1), ""
        else:
            lesson, problem = keep(lesson, value, int(times), lang)
        if problem:
            return self.show(lesson, int(times), status(problem, False), lang)
        if lesson.step >= 10 * int(times):
            return self.teach(lesson, int(times), share, key, request)
        return self.show(lesson, int(times), lang=lang) | {self.p["profile"]: key}

    def teach(self, lesson: Lesson, times: int, share: bool, key: str | None, request: gr.Request) -> dict[Any, Any]:
        lang = lang_of(request)
        if not lesson.drawings:
            line = status(say(lang, "teach.none"), False)
            return self.show(lesson, times, line, lang) | {self.p["profile"]: key}
        answer = actions.personalize(self.ctx, list(lesson.drawings), key, request)
        if answer["profile"] is None:
            line = status(say(lang, "teach.not_taught", why=translated(lang, answer["message"])), False)
            return self.show(lesson, times, line, lang) | {self.p["profile"]: key}
        line = say(lang, "teach.done", what=translated(lang, answer["message"]))
        if share:
            line += " " + translated(lang, actions.share_drawings(self.ctx, list(lesson.drawings), request)) + "."
        shown = status(line, True) + checks_table(answer.get("held_back", []), lang)
        return self.show(Lesson(), times, shown, lang) | {
            self.p["profile"]: answer["profile"],
            self.p["forget"]: gr.update(visible=True),
        }

    def forget(self, key: str | None, times: int, request: gr.Request) -> dict[Any, Any]:
        gone = {self.p["profile"]: None, self.p["forget"]: gr.update(visible=False)}
        lang = lang_of(request)
        if not key:
            return self.show(Lesson(), int(times), status(say(lang, "teach.no_model"), True), lang) | gone
        line = actions.forget_profile(self.ctx, key, request)
        return self.show(Lesson(), int(times), status(line, "forgotten" in line, lang), lang) | gone

    def restart(self, times: int, request: gr.Request) -> dict[Any, Any]:
        return self.show(Lesson(), int(times), lang=lang_of(request))

    def opened(self, key: str | None, lesson: Lesson, times: int, request: gr.Request) -> dict[Any, Any]:
        """When the page or the tab opens: whether this browser has a model (then Forget me is offered), and the
        step asked, in the visitor's words."""
        return self.in_words(lang_of(request), key, lesson, times, request)

    def in_words(self, lang: str, key: str | None, lesson: Lesson, times: int, request: gr.Request) -> dict[Any, Any]:
        described = actions.describe_profile(self.ctx, key, request)
        return {
            self.p["status"]: status(described, True, lang) if described else "",
            self.p["forget"]: gr.update(visible=bool(key)),
            self.p["prompt"]: prompt(lesson.step, int(times), lang),
        }


def _layout(ctx: AppContext) -> dict[str, Any]:
    parts: dict[str, Any] = {"lesson": gr.State(Lesson())}
    gr.Markdown(T("teach.intro"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300, elem_id="teach-step"):  # what each step needs, together
            parts["prompt"] = gr.HTML(elem_id="teach-prompt")  # in the visitor's words, when the tab opens
            parts["pad"] = stroke_pad(pad_reader(ctx, HINT), panel="teach-reading", elem_id="teach-pad")
            with gr.Row(elem_id="teach-moves"):
                parts["next"] = gr.Button(T("teach.next"), variant="primary", elem_id="teach-next", min_width=90)
                parts["skip"] = gr.Button(T("teach.skip"), elem_id="teach-skip", min_width=90)
            reading_js = speaking(READING_JS, "teach.reading.", "msg.")
            gr.HTML("", html_template=READING_TEMPLATE, js_on_load=reading_js, elem_id="teach-reading")
        with gr.Column(scale=2, min_width=300):
            parts["status"] = gr.HTML("", elem_id="teach-status")
            with gr.Row():
                parts["now"] = gr.Button(T("teach.now"), elem_id="teach-now", min_width=90)
                parts["restart"] = gr.Button(T("teach.restart"), elem_id="teach-restart", min_width=90)
            parts["times"] = gr.Radio(list(TIMES), value=DEFAULT_TIMES, label=T("teach.times"), elem_id="teach-times")
            parts["share"] = gr.Checkbox(False, label=T("teach.share"), elem_id="teach-share")
            # Only for a visitor who has a model to forget (`loaded`, `TeachPage`).
            parts["forget"] = gr.Button(
                T("teach.forget"), variant="stop", elem_id="teach-forget", size="sm", visible=False
            )
    return parts


def build(ctx: AppContext, profile: gr.BrowserState) -> tuple[Callable[..., dict[Any, Any]], list[Any], list[Any]]:
    """The tab; returns what the app runs when the page opens (`TeachPage.opened`), its inputs and outputs."""
    with gr.Tab(T("tab.teach"), id="teach", elem_id="tab-teach") as tab:
        p = _layout(ctx) | {"profile": profile}
    page = TeachPage(ctx, p)
    shown = [p["lesson"], p["prompt"], p["status"], profile, p["forget"]]
    lane: dict[str, Any] = {"show_progress": "hidden", "api_visibility": "private"}
    # A small timer in the status line's corner while teaching, never an overlay over the buttons.
    teach_lane = {"show_progress": "minimal", "show_progress_on": [p["status"]], "api_visibility": "private"} | {
        "concurrency_limit": 1,
        "concurrency_id": "personalize",
    }
    ins = [p["pad"], p["lesson"], p["times"], p["share"], profile]

    def on_next(value: str | None, lesson: Lesson, times: int, share: bool, key: str | None, r: gr.Request) -> Any:
        return page.move(value, lesson, times, share, key, r, skip=False)

    def on_skip(value: str | None, lesson: Lesson, times: int, share: bool, key: str | None, r: gr.Request) -> Any:
        return page.move(value, lesson, times, share, key, r, skip=True)

    def on_now(lesson: Lesson, times: int, share: bool, key: str | None, r: gr.Request) -> Any:
        return page.teach(lesson, int(times), share, key, r)

    for button, fn, inputs, name in (
        (p["next"], on_next, ins, "teach_next_ui"),
        (p["skip"], on_skip, ins, "teach_skip_ui"),
        (p["now"], on_now, ins[1:], "teach_now_ui"),
    ):
        event = button.click(fn, inputs, shown, api_name=name, **teach_lane)
        event.then(None, None, None, js=CLEAR_PAD).then(None, [profile], None, js=KEY_JS).then(
            None, None, None, js=SHOW_STEP
        )
    for trigger, name in ((p["restart"].click, "teach_restart_ui"), (p["times"].change, "teach_times_ui")):
        restarted = trigger(page.restart, p["times"], shown[:3], api_name=name, **lane)
        restarted.then(None, None, None, js=SHOW_STEP)
    p["forget"].click(page.forget, [profile, p["times"]], shown, api_name="teach_forget_ui", **lane).then(
        None, [profile], None, js=KEY_JS
    )

    # Corrections on the Draw tab teach the model too: the line is fresh each time the tab opens.
    opened, needs = [p["status"], p["forget"], p["prompt"]], [profile, p["lesson"], p["times"]]
    follow(page.in_words, needs, opened, "teach_words")
    tab.select(page.opened, needs, opened, api_name="teach_opened_ui", **lane).then(None, None, None, js=SHOW_STEP)
    return page.opened, needs, opened
