"""Real pen handwriting (UNIPEN 1a): loading, a fixed writer split, and pad-like drawings of it.

MNIST's writers rarely crossed their 7s, flagged their 1s or curved their 9s' tails; UNIPEN's 203
writers did. Each pen digit is drawn as the web pad would draw it (`mnist_core.strokes`), with the
variations a person makes: size and place on the pad, pen width, slant, stretch, a slightly wobbly
path, and faster or slower writing (fewer or more points). Writers, not digits, are split: a model
must be measured on people it never saw. NumPy/Pillow only.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import DataError
from .pen_styles import add_style
from .strokes import PEN_FRACTION, RENDER_SIDE, Drawing, Stroke, to_mnist

PENS_ENV = "UNIPEN_DATA"
FILE_NAME = "unipen-1a-digits.jsonl.gz"
_HINT = f"point UNIPEN_DATA (or --pens) at {FILE_NAME} or the folder that holds it"
SPLIT_SEED = 0
TEST_FRACTION = 0.2  # of each site's writers: never trained, tuned or thresholded on
VAL_FRACTION = 0.1  # of each site's writers: what choices are tuned on


@dataclass(frozen=True)
class PenDigit:
    label: int
    source: str  # the site that collected it
    writer: str  # "site/id", unique per person
    strokes: tuple[Stroke, ...]
    side: str = ""  # "train", "val" or "test" of the writer split over the whole file (set by load_unipen)


def pens_path(path: str | os.PathLike | None = None) -> Path | None:
    """The UNIPEN file from `path`, else $UNIPEN_DATA; None when neither is given."""
    source = path or os.environ.get(PENS_ENV)
    if not source:
        return None
    found = Path(source).expanduser()
    return found / FILE_NAME if found.is_dir() else found


def load_unipen(path: str | os.PathLike | None = None) -> list[PenDigit]:
    """Every digit of the file, in file order; a missing or corrupt file is a one-line DataError."""
    file = pens_path(path)
    if file is None:
        raise DataError(f"no real pen handwriting given: {_HINT}")
    if not file.is_file():
        raise DataError(f"UNIPEN data not found at {file}: {_HINT}")
    digits = []
    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                digits.append(_digit(line, file, number))
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read {file} ({type(exc).__name__}); re-copy it or {_HINT}") from None
    if not digits:
        raise DataError(f"{file} holds no digits; {_HINT}")
    sides = writer_split(digits)  # over the whole file: a subset must not move writers between sides
    return [dataclasses.replace(d, side=sides[d.writer]) for d in digits]


def _digit(line: str, file: Path, number: int) -> PenDigit:
    try:
        row = json.loads(line)
        label = int(row["label"])
        strokes = tuple(np.asarray(s, dtype=np.float32).reshape(-1, 2) for s in row["strokes"] if len(s))
        if 0 <= label <= 9 and strokes:
            return PenDigit(label, str(row["source"]), str(row["writer"]), strokes)
    except (KeyError, TypeError, ValueError):
        pass
    raise DataError(f"{file}, line {number}: not a UNIPEN digit record; re-copy the file or {_HINT}")


def writer_split(digits: Sequence[PenDigit], seed: int = SPLIT_SEED) -> dict[str, str]:
    """writer → "train", "val" or "test", by a rule anyone can rerun.

    Within each site, writers are ranked by sha256("seed:writer"); the first fifth (at least one where
    a site has two or more) are test, the next tenth validation. Spread over sites, so no site's
    habits (a German 7, an IBM tablet) are only on one side.
    """
    sites: dict[str, set[str]] = {}
    for d in digits:
        sites.setdefault(d.source, set()).add(d.writer)
    split: dict[str, str] = {}
    for writers in sites.values():
        ranked = sorted(writers, key=lambda w: hashlib.sha256(f"{seed}:{w}".encode()).hexdigest())
        n = len(ranked)
        n_test = max(1, round(TEST_FRACTION * n)) if n >= 2 else 0
        n_val = round(VAL_FRACTION * n) if n >= 5 else 0
        for i, writer in enumerate(ranked):
            split[writer] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return split


def part(digits: Sequence[PenDigit], name: str) -> list[PenDigit]:
    """The digits of one side of the writer split, as `load_unipen` decided it over the whole file."""
    fallback = writer_split(digits) if any(not d.side for d in digits) else {}
    return [d for d in digits if (d.side or fallback[d.writer]) == name]


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
    styles: float = 0.0  # chance that a plain 0, 1 or 7 gets a slash, flag or crossbar (mnist_core.pen_styles)


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
    return render_digits(chosen, 1, TEST_SEED, PAD)[:, 0], np.array([d.label for d in chosen], np.uint8)


def render_digits(
    digits: Sequence[PenDigit], variants: int, seed: int, variation: Variation = Variation(), workers: int = 2
) -> np.ndarray:
    """(N, variants, 28, 28) uint8 MNIST-like images, each a fresh pad drawing through the serving path.

    Work is split over processes (Pillow drawing holds the GIL); seeded per digit, so the result does
    not depend on how many workers ran. A drawing that reads as blank stays all zeros.
    """
    jobs = [(d.strokes, d.label, variants, (seed, i), variation) for i, d in enumerate(digits)]
    if workers > 1 and len(jobs) > 64:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(_render_one, jobs, chunksize=64))
    else:
        rows = [_render_one(job) for job in jobs]
    return np.stack(rows) if rows else np.zeros((0, variants, 28, 28), np.uint8)


def _render_one(job: tuple[tuple[Stroke, ...], int, int, tuple[int, int], Variation]) -> np.ndarray:
    strokes, label, variants, key, variation = job
    rng = np.random.default_rng(key)
    out = np.zeros((variants, 28, 28), np.uint8)
    for k in range(variants):
        styled = add_style(strokes, label, rng) if variation.styles and rng.random() < variation.styles else strokes
        image = to_mnist(pad_drawing(styled, rng, variation))
        if image is not None:
            out[k] = np.round(image * 255)
    return out
