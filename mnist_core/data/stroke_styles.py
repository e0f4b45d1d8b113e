"""Writing habits MNIST's writers rarely had, added to a pen digit's own strokes.

A slashed zero, a crossed seven and a flagged one are each one extra pen stroke, so they can be drawn
onto any writer's plain digit: the shape stays that writer's, only the habit is new. The extra stroke
is placed from the digit's own bounding box (and, for the 7, where its stem crosses mid-height), with
a little random spread. Digits that already carry an extra stroke are left alone. NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mnist_core.imaging.strokes import Stroke


def add_style(strokes: Sequence[Stroke], label: int, rng: np.random.Generator) -> tuple[Stroke, ...]:
    """The digit with its style stroke added, or unchanged when none applies (already two strokes, other digit)."""
    make = _STYLES.get(label)
    if make is None or len(strokes) != 1 or len(strokes[0]) < 2:
        return tuple(strokes)
    points = np.asarray(strokes[0], np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    extra = make(points, lo, hi, rng)
    return (*strokes, extra.astype(np.float32)) if extra is not None else tuple(strokes)


def _segment(start: np.ndarray, end: np.ndarray, n: int = 12) -> np.ndarray:
    return start + (end - start) * np.linspace(0, 1, n)[:, None]


def _slash(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """From below-left to above-right, through the loop: the zero of German and IBM writers."""
    w, h = hi - lo
    spread = rng.uniform(-0.08, 0.08, 4) * np.array([w, h, w, h])
    start = np.array([lo[0] + 0.05 * w, hi[1] + 0.05 * h]) + spread[:2]
    end = np.array([hi[0] - 0.05 * w, lo[1] - 0.05 * h]) + spread[2:]
    return _segment(start, end)


def _crossbar(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A short bar across the stem at about mid-height: the continental 7."""
    w, h = hi - lo
    y = lo[1] + rng.uniform(0.45, 0.6) * h
    near = points[np.abs(points[:, 1] - y) < 0.1 * h]
    if not len(near):
        return None
    x = float(near[:, 0].mean())
    half = rng.uniform(0.12, 0.2) * max(w, 0.5 * h)
    tilt = rng.uniform(-0.05, 0.05) * h
    return _segment(np.array([x - half, y + tilt]), np.array([x + half, y - tilt]))


def _flag(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A short up-stroke into the top of a plain 1 (one already wider than a third of its height has one)."""
    w, h = hi - lo
    if w > h / 3:
        return None
    top = points[np.argmin(points[:, 1])]
    start = top + np.array([-rng.uniform(0.2, 0.35), rng.uniform(0.15, 0.3)]) * h
    return _segment(start, top)


_STYLES: dict[int, Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], np.ndarray | None]] = {
    0: _slash,
    7: _crossbar,
    1: _flag,
}
