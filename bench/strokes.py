"""Digits as stroke-pad strokes, shared by the benches and the tests that draw on a running app."""

from __future__ import annotations

import itertools

import numpy as np

PAD_SIDE = 448  # the stroke pad's side in CSS pixels on a desktop; stroke helpers draw in this space


# Digits as pad strokes, in a 448-pixel pad's coordinates; each reads right with the shipped model
# (checked through mnist_core.imaging.strokes, the renderer the server uses).
def polyline(corners: list[tuple[float, float]], per_segment: int = 12) -> list[list[float]]:
    """Points along straight segments between corners, as a pen sampled every few pixels would give."""
    points: list[list[float]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        points += [[x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] for t in np.linspace(0, 1, per_segment)[:-1]]
    points.append([float(corners[-1][0]), float(corners[-1][1])])
    return points


def oval(cx: float, cy: float, rx: float, ry: float, n: int = 30) -> list[list[float]]:
    """A closed loop starting at the top, drawn clockwise like a 0."""
    return [
        [cx + rx * float(np.sin(2 * np.pi * k / n)), cy - ry * float(np.cos(2 * np.pi * k / n))] for k in range(n + 1)
    ]


ONE = [polyline([(224, 100), (224, 340)])]
ZERO = [oval(224, 224, 80, 120)]
SEVEN = [polyline([(130, 110), (320, 110), (200, 360)])]
# Two strokes, the bar first: without the second (an undo) what is left reads as a 1.
FOUR = [polyline([(260, 170), (260, 380)]), polyline([(250, 90), (130, 270), (330, 270)])]
DIGIT_STROKES = {"1": ONE, "0": ZERO, "7": SEVEN, "4": FOUR}


def pad_value(strokes: list[list[list[float]]], side: float = PAD_SIDE) -> dict:
    """What a `side`-pixel stroke pad sends for strokes drawn in 448-pixel coordinates."""
    f = side / PAD_SIDE
    return {"v": 1, "width": side, "height": side, "strokes": [[[x * f, y * f] for x, y in s] for s in strokes]}
