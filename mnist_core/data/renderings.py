"""Pen digits drawn as the web pad draws them, with the variations a person makes from day to day."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from mnist_core.data import render_cache
from mnist_core.data.stroke_styles import add_style
from mnist_core.data.unipen import PenDigit, part
from mnist_core.imaging.strokes import PEN_FRACTION, RENDER_SIDE, Drawing, Stroke, drawing_to_mnist


@dataclass(frozen=True)
class Variation:
    """How far a drawing may stray from the writer's own: what one person does on two different days."""

    box: tuple[float, float] = (0.40, 0.75)  # the digit's longest side, as a fraction of the pad
    pen: tuple[float, float] = (0.025, 0.07)  # pen width, as a fraction of the pad
    slant: float = 0.25  # horizontal shear, ± x per y
    rotation_deg: float = 8.0
    stretch: float = 0.15  # aspect ratio ± this fraction
    wobble: float = 0.012  # path jitter, as a fraction of the digit's size (smoothed: a hand, not noise)
    resample: tuple[float, float] = (0.5, 1.5)  # points kept per original point: faster or slower writing
    styles: float = 0.0  # chance that a plain 0, 1 or 7 gets a slash, flag or crossbar (mnist_core.data.stroke_styles)


# As the web pad draws it: the writer's own path at a size and place a person picks, the pad's own pen.
# Held-out writers are measured this way (`bench/real_handwriting.py`, the model's sidecar).
PAD = Variation(
    pen=(PEN_FRACTION, PEN_FRACTION), slant=0.0, rotation_deg=0.0, stretch=0.0, wobble=0.0, resample=(1.0, 1.0)
)
TEST_SEED = 20260


def pad_drawing(
    strokes: Sequence[Stroke], rng: np.random.Generator, variation: Variation = Variation(), side: float = RENDER_SIDE
) -> Drawing:
    """The pen digit as it would arrive from the web pad: varied, scaled into the pad, with the pad's pen."""
    v = variation
    points = [np.asarray(s, np.float64) for s in strokes]
    allp = np.concatenate(points)
    centre = (allp.min(axis=0) + allp.max(axis=0)) / 2
    size = max(float(np.ptp(allp, axis=0).max()), 1.0)
    angle = np.radians(rng.uniform(-v.rotation_deg, v.rotation_deg))
    aspect = 1 + rng.uniform(-v.stretch, v.stretch)
    shear = rng.uniform(-v.slant, v.slant)
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([aspect, 1 / aspect])
    varied = [
        _resample(_wobble((p - centre) / size, v.wobble, rng), rng.uniform(*v.resample)) @ matrix.T for p in points
    ]
    allv = np.concatenate(varied)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    box = rng.uniform(*v.box) * side
    scale = box / max(float((hi - lo).max()), 1e-6)
    extent = (hi - lo) * scale
    slack = np.maximum(side - extent, 0)
    offset = slack * np.clip(rng.normal(0.5, 0.08, 2), 0.2, 0.8) - lo * scale
    placed = tuple((p * scale + offset).astype(np.float32) for p in varied)
    return Drawing(placed, float(side), float(side), float(rng.uniform(*v.pen) * side))


def _wobble(points: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    if amount <= 0 or len(points) < 5:
        return points
    noise = rng.normal(0, amount, points.shape)
    kernel = np.ones(5) / 5
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return points + smooth * np.sqrt(5)


def _resample(points: np.ndarray, factor: float) -> np.ndarray:
    """The same path with more or fewer points along it, as a faster or slower hand would leave."""
    if len(points) < 3 or abs(factor - 1) < 1e-3:
        return points
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, round(len(points) * factor))
    at = np.linspace(0, arc[-1], n)
    return np.stack([np.interp(at, arc, points[:, i]) for i in range(2)], axis=1)


def test_drawings(digits: Sequence[PenDigit], side: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """One side's digits drawn once each as the pad draws. "test" is the model card's real-handwriting set;
    "val" is what choices are tuned on."""
    chosen = part(digits, side)
    return render_fixed(chosen, 1, TEST_SEED, PAD)[:, 0], np.array([d.label for d in chosen], np.uint8)


def render_fixed(
    digits: Sequence[PenDigit], variants: int, seed: int, variation: Variation = Variation()
) -> np.ndarray:
    """`render_digits`, kept on disk (`render_cache`): for sets drawn again and again with one seed."""
    if not digits:  # nothing to draw: no file
        return render_digits(digits, variants, seed, variation)
    return render_cache.drawn(
        digits, variants, seed, variation, lambda: render_digits(digits, variants, seed, variation)
    )


def render_digits(
    digits: Sequence[PenDigit], variants: int, seed: int, variation: Variation = Variation(), workers: int = 2
) -> np.ndarray:
    """(N, variants, 28, 28) uint8 MNIST-like images, each a fresh pad drawing through the serving path.

    Work is split over processes (Pillow drawing holds the GIL); seeded per digit, so the result does
    not depend on how many workers ran. A drawing that reads as blank stays all zeros.
    """
    jobs = [(d.strokes, d.label, variants, (seed, i), variation) for i, d in enumerate(digits)]
    if workers > 1 and len(jobs) > 64:
        with pool_of(workers) as pool:
            rows = list(pool.map(_render_one, jobs, chunksize=64))
    else:
        rows = [_render_one(job) for job in jobs]
    return np.stack(rows) if rows else np.zeros((0, variants, 28, 28), np.uint8)


def pool_of(workers: int) -> ProcessPoolExecutor:
    """Processes made by a fork server, never forked from the caller: the caller may be a server or a training
    with other threads running, and a fork copies the locks they hold, which the child can then wait on forever
    (a test once hung so in Pillow's line drawing). The server imports this module once; each pool forks from it.
    Each process imports the caller's main script, as with every fork-server pool: a script that renders keeps its
    own work under `if __name__ == "__main__":` (demo.py, the CLI and the benches do)."""
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(workers, mp_context=context)


def _render_one(job: tuple[tuple[Stroke, ...], int, int, tuple[int, int], Variation]) -> np.ndarray:
    strokes, label, variants, key, variation = job
    rng = np.random.default_rng(key)
    out = np.zeros((variants, 28, 28), np.uint8)
    for k in range(variants):
        styled = add_style(strokes, label, rng) if variation.styles and rng.random() < variation.styles else strokes
        image = drawing_to_mnist(pad_drawing(styled, rng, variation))
        if image is not None:
            out[k] = np.round(image * 255)
    return out
