"""Draw tab: the stroke pad and the reading, updated while the pen moves and again on pen-up, with a view inside
the network under it.

The pad asks for its readings itself (mnist_ui.components.fast_read) and hands them to the result panel and the
inside view in the browser: no Gradio event per drawing. The other network reads each drawing too, on a line of
its own.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from mnist_ui.components import correct_bar, inside_view, model_badge, network_line, present_mode
from mnist_ui.components.fast_read import pad_reader
from mnist_ui.components.pad import stroke_pad
from mnist_ui.components.results import ResultPanel
from mnist_ui.server.context import AppContext
from mnist_ui.text.words import T

HINT = "draw a digit"


def strokes_source(value: str | None) -> dict[str, Any]:
    """What the correct buttons keep from the pad: its strokes."""
    return {"strokes": value or None}


def build(ctx: AppContext, profile: gr.BrowserState) -> None:
    with gr.Tab(T("tab.draw"), id="draw", elem_id="tab-draw"), gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            pad = stroke_pad(pad_reader(ctx, HINT, networks=True), panel="result", inside=inside_view.OPEN)
            present_mode.build()
        with gr.Column(scale=2, min_width=300, elem_id="draw-answer"):
            ResultPanel(HINT, prefix="")
            network_line.build()
            inside_view.build(panel="result")  # collapsed it is one line; opened, the correct buttons move down
            correct_bar.build(ctx, pad, strokes_source, prefix="", profile=profile)
            model_badge.build(ctx, profile)
