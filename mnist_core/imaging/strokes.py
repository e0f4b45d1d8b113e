"""Pen strokes → the picture a pad shows → MNIST's 28×28: one renderer for the web pad and real pen data.

The stroke pad sends what the pen did (points per stroke, in the pad's own pixels), not a picture.
The same `render_ink` draws those strokes for serving and draws UNIPEN's real pen handwriting for
training (`mnist_core.data.unipen`), so what the model learns from and what it reads come from one code
path. Pure NumPy/Pillow: no TensorFlow.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from mnist_core.imaging.pictures import DEFAULT, Options, Steps, ink_steps

FORMAT_VERSION = 1
MAX_JSON_BYTES = 256_000  # a digit is a few KB; this bounds what one request can make us parse
MAX_STROKES = 64
MAX_POINTS = 5_000  # over all strokes
MIN_SIDE, MAX_SIDE = 32, 4096  # the pad's size in its own pixels
RENDER_SIDE = 448  # pads of any size are drawn at this size: the pen width scales with it
PEN_FRACTION = 22 / 448  # the web pad's pen, as a fraction of its side (22 px on a 448 px pad)
INK_MODES = ("ink-on-white", "ink-on-transparent", "light-on-dark")

Stroke = np.ndarray  # (n, 2) float32 points, x right and y down, in the drawing's pixels


class StrokeError(ValueError):
    """Strokes we refuse to read; the message is one line that says what to send instead."""


@dataclass(frozen=True)
class Drawing:
    """What a pad sends: its strokes, its size and its pen width, all in the pad's pixels."""

    strokes: tuple[Stroke, ...]
    width: float
    height: float
    pen: float

    @property
    def empty(self) -> bool:
        return not self.strokes

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "width": self.width,
            "height": self.height,
            "pen": self.pen,
            "strokes": [np.round(s, 1).tolist() for s in self.strokes],
        }


def parse(value: str | bytes | dict[str, Any] | None) -> Drawing:
    """The pad's JSON (a string or an already-decoded dict) → a checked Drawing.

    Strict, because it arrives from anyone on the network: size caps before and after decoding,
    numbers only, finite, inside the pad (a little outside is kept: a pen leaves the pad while
    drawing), and a version so an old page talking to a new server gets a clear message.
    """
    if value is None or value == "" or value == b"":
        return Drawing((), RENDER_SIDE, RENDER_SIDE, PEN_FRACTION * RENDER_SIDE)
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_JSON_BYTES:
            raise StrokeError(
                f"the strokes are too large ({len(value):,} bytes, at most {MAX_JSON_BYTES:,}); send one digit"
            )
        # Every point opens a bracket: counted before decoding, so 40,000 tiny points cost no parse.
        brackets = value.count("[") if isinstance(value, str) else value.count(b"[")
        if brackets > MAX_POINTS + MAX_STROKES + 1:
            raise StrokeError(f"too many points (over {MAX_POINTS:,}); draw one digit")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise StrokeError(
                'the strokes are not valid JSON; send {"v": 1, "width": W, "height": H, '
                '"strokes": [[[x, y], ...], ...]}'
            ) from None
    if not isinstance(value, dict):
        raise StrokeError('the strokes must be a JSON object {"v": 1, "width", "height", "strokes"}')
    if isinstance(value.get("v"), bool) or value.get("v") != FORMAT_VERSION:
        raise StrokeError(
            f"unknown stroke format version {value.get('v')!r}; this server reads version "
            f"{FORMAT_VERSION} (reload the page)"
        )
    width, height = _side(value.get("width"), "width"), _side(value.get("height"), "height")
    pen = value.get("pen", PEN_FRACTION * max(width, height))
    if not _number(pen) or not 0 < pen <= max(width, height) / 4:
        raise StrokeError("pen must be a positive number of pixels, at most a quarter of the pad")
    strokes = _strokes(value.get("strokes"), width, height)
    return Drawing(strokes, float(width), float(height), float(pen))


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # a 400-digit integer
        return False


def _side(value: Any, name: str) -> float:
    if not _number(value) or not MIN_SIDE <= value <= MAX_SIDE:
        raise StrokeError(f"{name} must be a number of pixels from {MIN_SIDE} to {MAX_SIDE}")
    return float(value)


def _strokes(raw: Any, width: float, height: float) -> tuple[Stroke, ...]:
    if not isinstance(raw, list):
        raise StrokeError("strokes must be a list of strokes, each a list of [x, y] points")
    if len(raw) > MAX_STROKES:
        raise StrokeError(f"too many strokes ({len(raw)}, at most {MAX_STROKES}); draw one digit")
    total = 0
    out = []
    for stroke in raw:
        if not isinstance(stroke, list) or not stroke:
            raise StrokeError("each stroke must be a non-empty list of [x, y] points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise StrokeError(f"too many points (over {MAX_POINTS:,}); draw one digit")
        if not all(isinstance(p, list) and len(p) == 2 and _number(p[0]) and _number(p[1]) for p in stroke):
            raise StrokeError("each point must be [x, y] with two finite numbers")
        points = np.asarray(stroke, dtype=np.float32)
        margin = 0.25 * max(width, height)
        if (
            (points.min(axis=0) < -margin).any()
            or points[:, 0].max() > width + margin
            or points[:, 1].max() > height + margin
        ):
            raise StrokeError(f"a point lies far outside the {width:g}×{height:g} pad; send pad coordinates")
        out.append(points)
    return tuple(out)


def render_ink(drawing: Drawing, side: int = RENDER_SIDE) -> Image.Image:
    """The strokes as an ink image ("L", 255 = ink on 0), drawn on a `side`-pixel square like the pad.

    A pad of any size is scaled to `side` (pen included), so a phone's 300 px pad and a desktop's
    600 px pad give the same picture. Round caps and joins, like the pad's canvas.
    """
    scale = side / max(drawing.width, drawing.height)
    img = Image.new("L", (side, side), 0)
    pen = ImageDraw.Draw(img)
    width = max(1.0, drawing.pen * scale)
    r = width / 2
    for stroke in drawing.strokes:
        points = (stroke * scale).tolist()
        if len(points) > 1:
            pen.line(points, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in (points[0], points[-1]) if len(points) > 1 else points:
            pen.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return img


def render_image(drawing: Drawing, mode: str = "ink-on-white", side: int = RENDER_SIDE) -> Image.Image:
    """The strokes as a picture someone might upload: black on white, black on transparent, or light on dark."""
    ink = render_ink(drawing, side)
    if mode == "ink-on-white":
        return ink.point(lambda v: 255 - v)
    if mode == "light-on-dark":
        return ink
    if mode == "ink-on-transparent":
        black = Image.new("RGBA", ink.size, (0, 0, 0, 0))
        black.putalpha(ink)
        return black
    raise ValueError(f"unknown ink mode {mode!r}; choose one of {', '.join(INK_MODES)}")


def drawing_to_mnist(drawing: Drawing, options: Options = DEFAULT) -> np.ndarray | None:
    """The 28×28 the model should see, or None when nothing (or only a dot) was drawn."""
    steps = drawing_steps(drawing, options)
    return None if steps is None else steps.centred


def drawing_steps(drawing: Drawing, options: Options = DEFAULT) -> Steps | None:
    """`drawing_to_mnist` keeping every picture it makes on the way (the drawing as drawn here, its box, ...)."""
    if drawing.empty:
        return None
    if float(np.ptp(np.concatenate(drawing.strokes), axis=0).max()) < drawing.pen:
        return None  # a tap: a dot of the pen's own size, not a digit
    return ink_steps(render_ink(drawing), options)
