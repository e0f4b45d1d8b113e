"""The result panel that the Draw and Upload tabs share: the verdict, ten bars in 0–9 order, the 28×28."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from mnist_core.serving.readings import Reading

DIGITS = [str(d) for d in range(10)]

CSS = """
.verdict .digit { font-size: 96px; font-weight: 700; line-height: 1; }
.verdict .conf { font-size: 20px; margin-left: 12px; color: var(--body-text-color-subdued); }
.verdict .hint { font-size: 28px; color: var(--body-text-color-subdued); }
.verdict .unsure .digit { color: #b45309; }
.verdict .error { font-size: 18px; color: #b91c1c; }
.verdict { min-height: 110px; display: flex; align-items: center; }
.seen img { image-rendering: pixelated; }
"""


def verdict_html(reading: Reading, hint: str) -> str:
    if reading.status == "blank":
        return f'<div class="hint">{html.escape(hint)}</div>'
    if reading.status == "error":
        return f'<div class="error">{html.escape(reading.message)}</div>'
    if reading.unsure:
        return (
            f'<div class="unsure"><span class="digit">{reading.digit}?</span>'
            f'<span class="conf">{html.escape(reading.message)}</span></div>'
        )
    return (
        f'<div><span class="digit">{reading.digit}</span><span class="conf">{reading.confidence:.0%} sure</span></div>'
    )


def bars(reading: Reading) -> pd.DataFrame:
    """String digits keep the bars in 0–9 order on a fixed axis (an int x gives a continuous axis)."""
    probs = reading.probabilities if reading.probabilities is not None else np.zeros(10)
    return pd.DataFrame({"digit": DIGITS, "probability": [float(p) for p in probs]})


def upscale(image: np.ndarray, side: int = 224, grid: bool = True) -> np.ndarray:
    """The 28×28 the model saw, enlarged with nearest neighbour so each pixel stays a visible square."""
    cells = np.clip(np.asarray(image, np.float32) * 255.0, 0, 255).astype(np.uint8)
    scale = max(1, side // cells.shape[0])
    big = np.kron(cells, np.ones((scale, scale), np.uint8))
    if grid:
        lines = np.zeros(big.shape, bool)
        lines[::scale, :] = True
        lines[:, ::scale] = True
        big = np.where(lines, big * 0.8 + 30, big).astype(np.uint8)
    return big


@dataclass
class ResultPanel:
    """Verdict, bars and the 28×28 the model saw; `show` maps a reading onto them by component."""

    verdict: gr.HTML
    bar_plot: gr.BarPlot
    seen: gr.Image
    hint: str

    @classmethod
    def build(cls, hint: str, prefix: str, under_verdict: Callable[[], None] | None = None) -> ResultPanel:
        """`under_verdict` builds what goes right under the answer (the correct buttons)."""
        blank = Reading("blank", "")
        verdict = gr.HTML(verdict_html(blank, hint), elem_id=f"{prefix}verdict", elem_classes=["verdict"])
        if under_verdict is not None:
            under_verdict()
        bar_plot = gr.BarPlot(
            bars(blank),
            x="digit",
            y="probability",
            y_lim=[0, 1],
            height=230,
            label="Probability of each digit",
            elem_id=f"{prefix}bars",
        )
        seen = gr.Image(
            label="What the model saw (28×28)",
            height=240,
            width=240,
            interactive=False,
            elem_id=f"{prefix}seen",
            elem_classes=["seen"],
            buttons=["download"],
        )
        return cls(verdict, bar_plot, seen, hint)

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.verdict, self.bar_plot, self.seen]

    def show(self, reading: Reading) -> dict[gr.components.Component, Any]:
        seen = None if reading.image is None else upscale(reading.image)
        return {self.verdict: verdict_html(reading, self.hint), self.bar_plot: bars(reading), self.seen: seen}
