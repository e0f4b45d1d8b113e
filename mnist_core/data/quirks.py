"""Style writers: real pen writers given one or two consistent personal quirks, drawn into their own strokes.

A personal model is for a person whose digits are consistent but rare among MNIST's and UNIPEN's writers: a
crossbar on every 7, a long flag on every 1, a slash through every 0, a 4 drawn as one open hook, a 9 whose
tail hooks back, a 2 with a loop at its foot, 6s drawn thin. UNIPEN's own held-out writers rarely have such
habits consistently, so a bench could not tell whether teaching fixes them. Here a writer keeps their own
digits and gets each quirk with their own measurements (where the bar sits, how long the flag is, how deep
the hook), drawn the same way with a little day-to-day spread on every digit of that label. NumPy only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.data.unipen import PenDigit
from mnist_core.imaging.strokes import Stroke

Strokes = tuple[Stroke, ...]


@dataclass(frozen=True)
class Quirk:
    """One habit: the digit it changes, and how it redraws that digit from the writer's own strokes."""

    name: str
    label: int
    draw: Callable[[Strokes, dict[str, float], np.random.Generator], Strokes]
    measures: Callable[[np.random.Generator], dict[str, float]]  # the writer's own version of the habit


def _box(strokes: Strokes) -> tuple[np.ndarray, np.ndarray]:
    points = np.concatenate([np.asarray(s, np.float64) for s in strokes])
    lo, hi = points.min(axis=0), points.max(axis=0)
    return lo, np.maximum(hi - lo, 1e-6)


def _line(start: np.ndarray, end: np.ndarray, n: int = 12) -> np.ndarray:
    return start + (end - start) * np.linspace(0, 1, n)[:, None]


def _arc(centre: np.ndarray, radius: np.ndarray, start_deg: float, end_deg: float, n: int = 16) -> np.ndarray:
    angle = np.radians(np.linspace(start_deg, end_deg, n))
    return centre + radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def _spread(rng: np.random.Generator, value: float, by: float) -> float:
    """A writer's measure on one day: the habit is theirs, each digit a little different."""
    return value + rng.uniform(-by, by)


def _as_strokes(*parts: np.ndarray) -> Strokes:
    return tuple(np.asarray(p, np.float32) for p in parts)


def crossed_seven(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The continental 7 in the writer's 7's box: a top bar, a stem that falls nearly upright, a long bar across it."""
    lo, size = _box(strokes)
    h = size[1]
    top = _spread(rng, m["top"], 0.04)
    foot = top - _spread(rng, m["lean"], 0.04)
    corner = np.array([top, 0.0])
    body = np.concatenate([_line(np.array([0.0, 0.02]), corner, 10), _line(corner, np.array([foot, 1.0]), 14)])
    y = _spread(rng, m["height"], 0.04)
    x = top + (foot - top) * y
    half = _spread(rng, m["half"], 0.04)
    bar = _line(np.array([x - half, y + m["tilt"]]), np.array([x + half, y - m["tilt"]]))
    return _as_strokes(lo + body * h, lo + bar * h)


def flagged_one(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """A long up-stroke into the top of the 1, and for some writers a foot under it."""
    _, size = _box(strokes)
    points = np.concatenate([np.asarray(s, np.float64) for s in strokes])
    top, bottom = points[np.argmin(points[:, 1])], points[np.argmax(points[:, 1])]
    h = size[1]
    length, angle = _spread(rng, m["flag"], 0.05) * h, np.radians(_spread(rng, m["angle"], 6))
    start = top + length * np.array([-np.sin(angle), np.cos(angle)])
    parts = [_line(start, top)]
    if m["foot"] > 0:
        half = _spread(rng, m["foot"], 0.04) * h
        parts.append(_line(bottom - np.array([half, 0.0]), bottom + np.array([half, 0.0])))
    return (*strokes, *_as_strokes(*parts))


def slashed_zero(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """A stroke through the zero, past its ink at both ends: diagonal for some writers, upright for others."""
    lo, size = _box(strokes)
    over = _spread(rng, m["over"], 0.04)
    if m["upright"] > 0:
        x = lo[0] + _spread(rng, 0.5, 0.05) * size[0]
        start, end = np.array([x, lo[1] + (1 + over) * size[1]]), np.array([x, lo[1] - over * size[1]])
    else:
        start = lo + np.array([-over, 1 + over]) * size
        end = lo + np.array([1 + over, -over]) * size
    return (*strokes, *_as_strokes(_line(start, end)))


def open_four(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The 4 in one stroke as an open hook: down the left, round the bottom, up the right and down the stem,
    in the writer's own 4's box."""
    lo, size = _box(strokes)
    size = np.array([max(size[0], 0.55 * size[1]), size[1]])
    waist = _spread(rng, m["waist"], 0.04)
    rise = _spread(rng, m["rise"], 0.05)
    left = np.array([[0.12, 0.0], [0.08, waist * 0.6]])
    bowl = _arc(np.array([0.45, waist - 0.18]), np.array([0.37, 0.18]), 180, 0, 12)[1:]
    right = np.array([[0.84, rise], [0.83, 1.0]])
    unit = np.concatenate(
        [_line(left[0], left[1], 8), bowl, _line(bowl[-1], right[0], 8), _line(right[0], right[1], 12)]
    )
    unit[:, 0] += m["slant"] * (1 - unit[:, 1])
    return _as_strokes(lo + unit * size)


def hooked_nine(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The tail of the 9 curls back to the left at its end, like a handwritten g."""
    _, size = _box(strokes)
    last = np.asarray(strokes[-1], np.float64)
    end = last[-1]
    r = _spread(rng, m["radius"], 0.03) * size[1]
    centre = end + np.array([-r, 0.0])
    hook = _arc(centre, np.array([r, r * 0.8]), 0, _spread(rng, m["sweep"], 15), 14)
    return (*strokes[:-1], np.concatenate([last, hook[1:]]).astype(np.float32))


def straight_nine(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The 9 as a small loop on a long straight tail, in the writer's 9's box."""
    lo, size = _box(strokes)
    h = size[1]
    loop = _spread(rng, m["loop"], 0.04)
    width = _spread(rng, m["width"], 0.05)
    ring = _arc(np.array([width / 2, loop / 2]), np.array([width / 2, loop / 2]), -20, -380, 24)
    tail = _line(ring[-1], np.array([width - m["lean"], 1.0]), 14)
    return _as_strokes(lo + np.concatenate([ring, tail[1:]]) * h)


def looped_two(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """A small loop where the 2's diagonal meets its base: the stroke goes round once before it turns right."""
    lo, size = _box(strokes)
    main = int(np.argmax([len(s) for s in strokes]))
    s = np.asarray(strokes[main], np.float64)
    later = np.arange(len(s) // 3, len(s))
    corner = later[np.argmax((s[later, 1] - lo[1]) / size[1] - (s[later, 0] - lo[0]) / size[0])]
    r = _spread(rng, m["radius"], 0.03) * size[1]
    centre = s[corner] + np.array([0.0, -r])
    loop = _arc(centre, np.array([r * 1.2, r]), 90, 90 - 360 * m["turn"], 20)
    looped = np.concatenate([s[: corner + 1], loop, s[corner:]])
    return (*strokes[:main], looped.astype(np.float32), *strokes[main + 1 :])


def narrow(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The writer's own digit, drawn narrow."""
    lo, size = _box(strokes)
    squeeze = _spread(rng, m["squeeze"], 0.05)
    centre = lo + size / 2
    return tuple((np.asarray(s, np.float64) - centre) * [squeeze, 1] + centre for s in strokes)


def flat_three(strokes: Strokes, m: dict[str, float], rng: np.random.Generator) -> Strokes:
    """The 3 with a flat top and a straight diagonal down to its lower bowl (Ʒ), in the writer's 3's box."""
    lo, size = _box(strokes)
    size = np.array([max(size[0], 0.5 * size[1]), size[1]])
    waist = _spread(rng, m["waist"], 0.04)
    bar = _line(np.array([0.05, 0.0]), np.array([_spread(rng, m["bar"], 0.04), 0.0]), 10)
    diagonal = _line(bar[-1], np.array([0.3, waist]), 10)
    bowl = _arc(np.array([0.45, (1 + waist) / 2]), np.array([0.45, (1 - waist) / 2]), -110, 150, 20)
    return _as_strokes(lo + np.concatenate([bar, diagonal, bowl[1:]]) * size)


QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        "crossed 7",
        7,
        crossed_seven,
        lambda r: {
            "height": r.uniform(0.45, 0.6),
            "half": r.uniform(0.2, 0.3),
            "tilt": r.uniform(-0.04, 0.04),
            "top": r.uniform(0.35, 0.6),
            "lean": r.uniform(0.0, 0.2),
        },
    ),
    Quirk(
        "flagged 1",
        1,
        flagged_one,
        lambda r: {
            "flag": r.uniform(0.45, 0.7),
            "angle": r.uniform(25, 45),
            "foot": r.uniform(0.15, 0.25) if r.random() < 0.5 else 0.0,
        },
    ),
    Quirk("slashed 0", 0, slashed_zero, lambda r: {"over": r.uniform(0.15, 0.3), "upright": float(r.random() < 0.4)}),
    Quirk(
        "open 4",
        4,
        open_four,
        lambda r: {"waist": r.uniform(0.35, 0.5), "rise": r.uniform(0.0, 0.1), "slant": r.uniform(-0.1, 0.15)},
    ),
    Quirk("hooked 9", 9, hooked_nine, lambda r: {"radius": r.uniform(0.2, 0.3), "sweep": r.uniform(180, 260)}),
    Quirk(
        "straight-tailed 9",
        9,
        straight_nine,
        lambda r: {"loop": r.uniform(0.3, 0.42), "width": r.uniform(0.35, 0.5), "lean": r.uniform(0.0, 0.12)},
    ),
    Quirk("looped 2", 2, looped_two, lambda r: {"radius": r.uniform(0.16, 0.24), "turn": r.uniform(0.85, 1.0)}),
    Quirk("thin 6", 6, narrow, lambda r: {"squeeze": r.uniform(0.3, 0.45)}),
    Quirk("thin 8", 8, narrow, lambda r: {"squeeze": r.uniform(0.3, 0.45)}),
    Quirk("flat-topped 3", 3, flat_three, lambda r: {"bar": r.uniform(0.75, 0.95), "waist": r.uniform(0.35, 0.5)}),
)


def writer_quirks(writer: str, seed: int = 0) -> list[tuple[Quirk, dict[str, float]]]:
    """One or two quirks for `writer`, with the writer's own measures: the same every run."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"{seed}:{writer}".encode()).digest()[:8], "little"))
    count = 1 + int(rng.random() < 0.5)
    chosen = rng.choice(len(QUIRKS), size=count, replace=False)
    return [(QUIRKS[i], QUIRKS[i].measures(rng)) for i in chosen]


def with_quirks(digits: Sequence[PenDigit], seed: int = 0) -> list[PenDigit]:
    """Each writer's digits with that writer's quirks drawn in; the writer is renamed "site/id+quirk[+quirk]"."""
    out = []
    for n, d in enumerate(digits):
        quirks = writer_quirks(d.writer, seed)
        rng = np.random.default_rng((seed, n))
        strokes = d.strokes
        for quirk, measures in quirks:
            if quirk.label == d.label:
                strokes = quirk.draw(strokes, measures, rng)
        name = d.writer + "".join(f"+{q.name.replace(' ', '')}" for q, _ in quirks)
        out.append(dataclasses.replace(d, writer=name, strokes=tuple(np.asarray(s, np.float32) for s in strokes)))
    return out
