"""Things people draw or upload that are not one digit, made from pen strokes (and, for Upload, pictures).

Each kind is what a visitor does when they try the pad or test it: scribbles, dashes and lines, dots, filled
blobs, several digits in a row, letters and symbols, doodled shapes; and, for Upload, noise pictures. Strokes
are made in the pad's own pixels (448 a side, the pad's pen or a varied one) and read through the same path as
the pad's strokes. Seeded: one seed tunes the rule, another measures it (`bench/not_a_digit.py`). Letters that
look like digits (O, I, l, S, Z, B, G, q, b, P, T, Y, L) are left out: a reader that answers 0 for an O is right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mnist_core.data.renderings import Variation, pad_drawing
from mnist_core.data.unipen import PenDigit
from mnist_core.imaging.strokes import PEN_FRACTION, RENDER_SIDE, Drawing

SIDE = RENDER_SIDE
PEN = PEN_FRACTION * SIDE
Strokes = list[np.ndarray]
Maker = Callable[[np.random.Generator], Drawing]


def _ring(x: float, y: float, r: float = 0.15) -> list[tuple[float, float]]:
    """A small closed loop around (x, y): the circles of a per-cent sign."""
    return [(x + r * np.cos(a), y + r * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 9)]


# Letters and symbols in a unit box (x right, y down), one list of points per stroke.
GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.95, 0.15), (0.95, 0.35), (0.7, 0.5), (0, 0.5)], [(0.4, 0.5), (1, 1)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "#": [[(0.35, 0), (0.25, 1)], [(0.75, 0), (0.65, 1)], [(0, 0.35), (1, 0.35)], [(0, 0.7), (1, 0.7)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "+": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "%": [[(0.9, 0), (0.1, 1)], _ring(0.2, 0.2), _ring(0.8, 0.8)],
    "&": [
        [
            (1, 1),
            (0.3, 0.35),
            (0.3, 0.1),
            (0.5, 0),
            (0.7, 0.1),
            (0.7, 0.3),
            (0.1, 0.7),
            (0.15, 0.95),
            (0.45, 1),
            (0.9, 0.6),
        ]
    ],
}
LETTER_SHAPE = Variation(wobble=0.006)  # a person's hand: slant, rotation, stretch, a wobbly path, varied pen


def _smooth(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A polyline through `points` rounded as a hand draws it (Catmull-Rom), `per_segment` points a segment."""
    if len(points) < 3:
        return points
    padded = np.vstack([points[0], points, points[-1]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        a, b, c = -p0 + p2, 2 * p0 - 5 * p1 + 4 * p2 - p3, -p0 + 3 * p1 - 3 * p2 + p3
        out.append(0.5 * (2 * p1 + a * t + b * t**2 + c * t**3))
    return np.vstack([*out, points[-1:]])


def _placed(strokes: Strokes, rng: np.random.Generator, box: tuple[float, float], pen: float | None = None) -> Drawing:
    """Strokes in any units, scaled so their longest side is `box` (fractions of the pad) and put near the middle."""
    allp = np.concatenate(strokes)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    scale = rng.uniform(*box) * SIDE / max(float((hi - lo).max()), 1e-6)
    extent = (hi - lo) * scale
    offset = (SIDE - extent) * rng.uniform(0.3, 0.7, 2) - lo * scale
    placed = tuple((np.asarray(s) * scale + offset).astype(np.float32) for s in strokes)
    return Drawing(placed, float(SIDE), float(SIDE), float(pen if pen is not None else PEN))


def scribble(rng: np.random.Generator) -> Drawing:
    """A random scrawl: one to three strokes through many random points, smoothed."""
    strokes = [_smooth(rng.uniform(0, 1, (rng.integers(8, 30), 2))) for _ in range(rng.integers(1, 4))]
    return _placed(strokes, rng, (0.35, 0.85))


def loops(rng: np.random.Generator) -> Drawing:
    """Cursive loops along a line ("eeee", "llll") or a spiral: what a bored pen does."""
    t = np.linspace(0, 2 * np.pi * rng.integers(3, 8), 200)
    if rng.random() < 0.5:
        r = rng.uniform(0.3, 0.6)
        points = np.stack([t / (2 * np.pi) + r * np.cos(t + np.pi), r * 1.5 * np.sin(t + np.pi)], axis=1)
    else:
        grow = t / t[-1]
        points = np.stack([grow * np.cos(t), grow * np.sin(t) * rng.uniform(0.7, 1.3)], axis=1)
    return _placed([points], rng, (0.4, 0.8))


def dash(rng: np.random.Generator) -> Drawing:
    """A straight or slightly bent stroke within 35° of horizontal (a steeper one could be a 1), or "=" or "~"."""
    angle = np.radians(rng.uniform(-35, 35))
    length = 1.0
    along = np.linspace(0, length, 12)[:, None] * np.array([np.cos(angle), np.sin(angle)])
    along[:, 1] += rng.uniform(-0.04, 0.04) * np.sin(np.linspace(0, np.pi, 12))
    form = rng.integers(0, 4)
    if form == 0:
        return _placed([along, along + np.array([0.0, rng.uniform(0.15, 0.3)])], rng, (0.2, 0.7))  # "="
    if form == 1:
        x = np.linspace(0, 1, 40)
        wave = np.stack([x, rng.uniform(0.05, 0.12) * np.sin(x * 2 * np.pi * rng.uniform(1, 3))], axis=1)
        return _placed([wave], rng, (0.2, 0.8))  # "~"
    return _placed([along], rng, (0.1, 0.85))


def dot(rng: np.random.Generator) -> Drawing:
    """A dot: a tap, a small circle or a small filled spot; sometimes a few of them."""
    pen = PEN * rng.uniform(0.6, 1.6)
    spots = []
    for _ in range(1 if rng.random() < 0.6 else rng.integers(2, 5)):
        centre = rng.uniform(0.25, 0.75, 2) * SIDE
        radius = rng.uniform(0.0, 1.0) * pen  # a dot: a circle of the pen itself, at most a pen wide inside
        t = np.linspace(0, 2 * np.pi * rng.uniform(1, 3), 30)
        spots.append(centre + radius * np.stack([np.cos(t), np.sin(t)], axis=1) * np.linspace(1, 0.2, 30)[:, None])
    return Drawing(tuple(s.astype(np.float32) for s in spots), float(SIDE), float(SIDE), float(pen))


def blob(rng: np.random.Generator) -> Drawing:
    """A filled shape: the pen going back and forth closer than its own width over an ellipse or a box."""
    rows = rng.integers(6, 30)
    y = np.linspace(-1, 1, rows)
    half = np.sqrt(np.clip(1 - y**2, 0.02, 1)) if rng.random() < 0.6 else np.ones(rows)
    points = np.stack([np.where(np.arange(rows) % 2 == 0, -half, half), y * rng.uniform(0.5, 1.5)], axis=1)
    box = (0.12, 0.6)
    pen = 2.5 * rng.uniform(*box) * SIDE / rows  # rows overlap: a filled area, not stripes
    return _placed([points], rng, box, pen=max(pen, PEN))


def several_digits(pen_digits: Sequence[PenDigit]) -> Maker:
    """Two to four pen digits of one writer side by side, as someone writes a number."""
    by_writer: dict[str, list[PenDigit]] = {}
    for d in pen_digits:
        by_writer.setdefault(d.writer, []).append(d)
    writers = [w for w, ds in by_writer.items() if len(ds) >= 4]

    def make(rng: np.random.Generator) -> Drawing:
        chosen = by_writer[writers[rng.integers(len(writers))]]
        picked = [chosen[i] for i in rng.choice(len(chosen), rng.integers(2, 5), replace=False)]
        strokes: Strokes = []
        x = 0.0
        for d in picked:
            pts = [np.asarray(s, np.float64) for s in d.strokes]
            allp = np.concatenate(pts)
            lo, height = allp.min(axis=0), max(float(np.ptp(allp[:, 1])), 1.0)
            scaled = [(p - lo) / height for p in pts]
            strokes += [p + np.array([x, 0.0]) for p in scaled]
            x += float(np.concatenate(scaled)[:, 0].max()) + rng.uniform(0.1, 0.4)
        return _placed(strokes, rng, (0.5, 0.9))

    return make


def letter(rng: np.random.Generator) -> Drawing:
    """A capital letter or a symbol from GLYPHS, drawn by a hand (slant, wobble, size, pen)."""
    name = sorted(GLYPHS)[rng.integers(len(GLYPHS))]
    strokes = [_smooth(np.asarray(s, np.float64), 4) if len(s) > 2 else np.asarray(s, np.float64) for s in GLYPHS[name]]
    dense = [np.linspace(s[:-1], s[1:], 6).transpose(1, 0, 2).reshape(-1, 2) for s in strokes]
    return pad_drawing(tuple(d.astype(np.float32) for d in dense), rng, LETTER_SHAPE)


def shape(rng: np.random.Generator) -> Drawing:
    """A doodle: a five-pointed star, a heart, a smiley, an arrow or a triangle."""
    form = rng.integers(0, 5)
    t = np.linspace(0, 2 * np.pi, 60)
    if form == 0:
        corners = [(np.sin(a), -np.cos(a)) for a in np.arange(6) * 4 * np.pi / 5]
        strokes = [np.asarray(corners)]
    elif form == 1:
        strokes = [np.stack([16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t))], axis=1)]
    elif form == 2:
        mouth = np.linspace(0.25 * np.pi, 0.75 * np.pi, 20)
        eyes = [np.array([[x, -0.35], [x, -0.3]]) for x in (-0.35, 0.35)]
        strokes = [np.stack([np.cos(t), np.sin(t)], axis=1), *eyes, 0.55 * np.stack([np.cos(mouth), np.sin(mouth)], 1)]
    elif form == 3:
        strokes = [np.array([[0, 0], [1, 0]]), np.array([[0.7, -0.25], [1, 0], [0.7, 0.25]])]
    else:
        strokes = [np.array([[0, 1], [0.5, 0], [1, 1], [0, 1]])]
    dense = [np.linspace(s[:-1], s[1:], 5).transpose(1, 0, 2).reshape(-1, 2) for s in strokes]
    return pad_drawing(tuple(d.astype(np.float32) for d in dense), rng, LETTER_SHAPE)


def stroke_kinds(pen_digits: Sequence[PenDigit]) -> dict[str, Maker]:
    """Every kind of stroke drawing that is not one digit, by name; `pen_digits` make the several-digit numbers."""
    return {
        "scribble": scribble,
        "loops": loops,
        "dash or line": dash,
        "dot": dot,
        "filled blob": blob,
        "several digits": several_digits(pen_digits),
        "letter or symbol": letter,
        "doodle": shape,
    }


def noise_picture(rng: np.random.Generator) -> Image.Image:
    """A picture with no digit in it: noise, blotches, a gradient, speckles or an abstract of shapes."""
    w, h = (int(v) for v in rng.integers(120, 900, 2))
    form = rng.integers(0, 5)
    if form == 0:
        pixels = rng.integers(0, 256, (h, w, 3) if rng.random() < 0.5 else (h, w), dtype=np.uint8)
        return Image.fromarray(pixels)
    if form == 1:
        small = rng.integers(0, 256, (max(2, h // 20), max(2, w // 20)), dtype=np.uint8)
        return Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    if form == 2:
        ramp = np.linspace(0, 1, w)[None, :] * rng.uniform(0.3, 1) + np.linspace(0, 1, h)[:, None] * rng.uniform(0, 0.7)
        noisy = ramp / ramp.max() * 255 + rng.normal(0, 12, (h, w))
        return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    if form == 3:
        paper = np.full((h, w), 255, np.uint8)
        paper[rng.random((h, w)) < rng.uniform(0.002, 0.05)] = 0
        return Image.fromarray(paper)
    img = Image.new("RGB", (w, h), tuple(int(c) for c in rng.integers(150, 256, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(3, 12)):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        x1, y1 = x0 + rng.uniform(10, w / 2), y0 + rng.uniform(10, h / 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    return img


def stroke_set(pen_digits: Sequence[PenDigit], per_kind: int, seed: int) -> list[tuple[str, Drawing]]:
    """`per_kind` drawings of every kind, each seeded by (seed, kind, i): the same set every run of a seed."""
    out = []
    for k, (name, make) in enumerate(stroke_kinds(pen_digits).items()):
        out += [(name, make(np.random.default_rng((seed, k, i)))) for i in range(per_kind)]
    return out


def picture_set(count: int, seed: int) -> list[Image.Image]:
    return [noise_picture(np.random.default_rng((seed, 99, i))) for i in range(count)]
