"""Galleries of 28×28 digits: each pixel enlarged to a square, shown whole, captions under the pictures."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np


def enlarge(image: np.ndarray, scale: int = 4) -> np.ndarray:
    """Each pixel a `scale`-pixel square: a 28×28 big enough to look at."""
    return np.kron(image, np.ones((scale, scale), np.uint8))


def thumbnails(label: Any, columns: int, height: int, elem_id: str) -> gr.Gallery:
    """A gallery of `enlarge`d digits, each shown whole: no label tag over the first row (a heading above names
    it), captions under the pictures (app CSS), fewer columns on a phone (app CSS)."""
    return gr.Gallery(
        label=label,
        show_label=False,
        columns=columns,
        height=height,
        object_fit="contain",
        elem_id=elem_id,
        elem_classes=["thumbs"],
    )
