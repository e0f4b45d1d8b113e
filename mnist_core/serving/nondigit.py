"""When a reading says "not a digit" or "not sure": a rule on the ink and on the network's own uncertainty.

A classifier trained on digits answers a digit for anything: a dash reads as 1, a filled blob as 0, a scribble
as 8. The ink says what no digit looks like. On the 28×28 the network sees (so pictures and pad strokes alike):
a straight stroke lying within 45° of flat, ink wider than a digit ever is, ink filled in rather than drawn,
grey speckle rather than strokes. On the pad's strokes, when there are strokes: a pen path many times longer
than the drawing is wide (scribbled over), one straight stroke lying flatter than any 1, marks side by side
that are each as tall as the drawing (several digits), a drawing (or each of its strokes) a few pen widths
across (a dot, dots). Anything
else the network reads with a top probability under UNSURE_BELOW is "not sure". The rule reads only the ink
and the probabilities, so it holds for any served network.

The thresholds were chosen with `python -m bench.not_a_digit --tune` (UNIPEN's validation writers, read by a
model that never trained on them, and a generated set of non-digits of its own seed);
`python -m bench.not_a_digit` measures them on the held-out writers and another generated set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.imaging.strokes import Drawing

UNSURE_BELOW = 0.3  # top probability under which a reading is "not sure"
UNSURE = "unsure"  # the doubt of a digit read with a top probability under UNSURE_BELOW
# On the 28×28:
INK = 0.4  # a pixel at least this dark is ink, for the shape measures
LINE_ROUNDNESS = 0.25  # √(minor/major spread) of the ink under this: a straight stroke …
LINE_FLAT = 0.7  # … whose direction's |cos| from horizontal is over this (45°): a dash, never a 1
WIDE = 1.9  # ink box wider than this × its height: a row of digits or a scrawl
FILLED = 0.2  # of the ink, the part left after three erosions (a 3-pixel core; MNIST's thickest digits ≤ 0.21)
GREY = 0.45  # of the pixels with any ink, the part that is faint: over this is speckle, not a drawn stroke
# On the pad's strokes:
SCRIBBLED = 6.5  # pen path over the drawing's longest side (a digit's is at most ~6: an 8 drawn twice)
STRAIGHT = 0.9  # a stroke whose ends are this close to its length is straight …
FLAT_DEG = 40.0  # … and within this of horizontal, a dash (a 1 slants at most ~30° from upright)
GAP = 0.05  # of the height: strokes further apart than this along x are separate marks …
TALL = 0.5  # … and two marks at least this part of the height, side by side, are two digits
DOT_PENS = 2.5  # a drawing no more than this many pen widths across is a dot


@dataclass(frozen=True)
class InkShape:
    """The 28×28 measures the rule reads, (N,) arrays."""

    roundness: np.ndarray
    flat: np.ndarray
    aspect: np.ndarray
    filled: np.ndarray
    grey: np.ndarray


def measure(images: np.ndarray) -> InkShape:
    """(N, 28, 28) floats in [0, 1], as the network sees them before deskewing → their ink measures."""
    x = np.asarray(images, np.float32).reshape(-1, 28, 28)
    ink = x > INK
    weight = x * ink
    total = np.maximum(weight.sum(axis=(1, 2)), 1e-6)
    ys, xs = np.mgrid[0:28, 0:28].astype(np.float32)
    dy = ys - ((weight * ys).sum(axis=(1, 2)) / total)[:, None, None]
    dx = xs - ((weight * xs).sum(axis=(1, 2)) / total)[:, None, None]
    syy, sxx = (weight * dy * dy).sum(axis=(1, 2)) / total, (weight * dx * dx).sum(axis=(1, 2)) / total
    sxy = (weight * dx * dy).sum(axis=(1, 2)) / total
    half, spread = (sxx + syy) / 2, np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    height = np.maximum(_span(np.asarray(ink.any(axis=2))), 1)
    return InkShape(
        roundness=np.sqrt(np.maximum(half - spread, 0.0) / np.maximum(half + spread, 1e-6)),
        flat=np.abs(np.cos(0.5 * np.arctan2(2 * sxy, sxx - syy))),
        aspect=_span(np.asarray(ink.any(axis=1))) / height,
        filled=_erode(_erode(_erode(ink))).sum(axis=(1, 2)) / np.maximum(ink.sum(axis=(1, 2)), 1),
        grey=((x > 0.1) & (x < 0.5)).sum(axis=(1, 2)) / np.maximum((x > 0.1).sum(axis=(1, 2)), 1),
    )


def _span(mask: np.ndarray) -> np.ndarray:
    """(N, 28) booleans → the extent from the first True to the last (0 when none)."""
    first = np.argmax(mask, axis=1)
    last = 27 - np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), last - first + 1, 0).astype(np.float32)


def _erode(mask: np.ndarray) -> np.ndarray:
    """A pixel stays ink when it and its four neighbours are ink (outside the image is not)."""
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    return mask & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]


def straightness(stroke: np.ndarray) -> float:
    """End-to-end distance over path length: 1 for a straight line, near 0 for a closed loop."""
    length = float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum())
    return float(np.linalg.norm(stroke[-1] - stroke[0])) / length if length > 0 else 1.0


def tall_marks(strokes: Sequence[np.ndarray]) -> int:
    """How many separate marks side by side (strokes overlapping along x are one mark) are at least TALL of the
    drawing's height."""
    points = np.concatenate(strokes)
    height = max(float(np.ptp(points[:, 1])), 1e-6)
    marks: list[list[float]] = []  # [left, right, height]
    for left, right, tall in sorted((s[:, 0].min(), s[:, 0].max(), np.ptp(s[:, 1])) for s in strokes):
        if marks and left <= marks[-1][1] + GAP * height:
            marks[-1] = [marks[-1][0], max(marks[-1][1], right), max(marks[-1][2], tall)]
        else:
            marks.append([left, right, tall])
    return sum(tall >= TALL * height for _, _, tall in marks)


def stroke_doubt(drawing: Drawing) -> str:
    """Why these pad strokes are not one digit, or "" when the strokes alone do not say."""
    points = np.concatenate(drawing.strokes)
    width, height = np.ptp(points, axis=0)
    size = max(float(width), float(height), 1e-6)
    path = sum(float(np.linalg.norm(np.diff(s, axis=0), axis=1).sum()) for s in drawing.strokes)
    if size <= DOT_PENS * drawing.pen:
        return "a dot"
    if len(drawing.strokes) > 1 and all(np.ptp(s, axis=0).max() <= DOT_PENS * drawing.pen for s in drawing.strokes):
        return "dots"
    if path > SCRIBBLED * size:
        return "scribbled over"
    if len(drawing.strokes) == 1 and straightness(drawing.strokes[0]) > STRAIGHT:
        dx, dy = np.abs(drawing.strokes[0][-1] - drawing.strokes[0][0])
        if np.degrees(np.arctan2(dy, dx)) < FLAT_DEG:
            return "a line"
    if width > 1.2 * height and tall_marks(drawing.strokes) >= 2:
        return "several digits"
    return ""


def doubts(images: np.ndarray, probabilities: np.ndarray, drawings: Sequence[Drawing | None] = ()) -> list[str]:
    """For each image (and its pad strokes, where there were strokes): "" (a digit, read as sure), UNSURE (a digit,
    maybe) or why it is not a digit."""
    shape = measure(images)
    reasons = [
        (shape.grey > GREY, "speckle, not a drawn digit"),
        ((shape.roundness < LINE_ROUNDNESS) & (shape.flat > LINE_FLAT), "a line"),
        (shape.filled > FILLED, "filled in"),
        (shape.aspect > WIDE, "wider than one digit"),
    ]
    confidence = np.asarray(probabilities).max(axis=1)
    out = []
    for i in range(len(confidence)):
        drawing = drawings[i] if i < len(drawings) else None
        found = (stroke_doubt(drawing) if drawing is not None else "") or next((w for hit, w in reasons if hit[i]), "")
        out.append(found or (UNSURE if confidence[i] < UNSURE_BELOW else ""))
    return out
