"""Draw tab: the stroke pad and the reading, updated while the pen moves and again on pen-up."""

from __future__ import annotations

from typing import Any

import gradio as gr

from mnist_core.imaging.strokes import StrokeError, parse
from mnist_core.serving.readings import Reading
from mnist_ui import correct_bar
from mnist_ui.context import AppContext
from mnist_ui.pad import stroke_pad
from mnist_ui.results import ResultPanel

HINT = "draw a digit"


def read_strokes(ctx: AppContext, value: str | None) -> Reading:
    """The pad's value → a reading; malformed strokes become a message, never an exception."""
    try:
        drawing = parse(value)
    except StrokeError as exc:
        return Reading("error", str(exc))
    return ctx.holder.read_drawings([drawing])[0]


def strokes_source(value: str | None) -> dict[str, Any]:
    """What the correct buttons keep from the pad: its strokes."""
    return {"strokes": value or None}


def build(ctx: AppContext) -> None:
    with gr.Tab("Draw", id="draw", elem_id="tab-draw"), gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            pad = stroke_pad()
        with gr.Column(scale=2, min_width=300):
            panel = ResultPanel.build(
                HINT, prefix="", under_verdict=lambda: correct_bar.build(ctx, pad, strokes_source, prefix="")
            )

    def on_strokes(value: str | None) -> dict[Any, Any]:
        return panel.show(read_strokes(ctx, value))

    common: dict[str, Any] = {
        "show_progress": "hidden",
        "trigger_mode": "always_last",
        "concurrency_limit": 4,
        "api_visibility": "private",
    }
    pad.change(on_strokes, pad, panel.outputs, api_name="pad_change", **common)
