"""Pad drawings packed small for keeping: tenths of a pixel, each point as its step from the last, compressed.

The pad's JSON spends 12 to 16 bytes on a point; packed, a point costs about 2 (`tests/test_strokes.py` checks a
drawing keeps under a third of its JSON). Exact to the tenth of a pixel that `Drawing.to_json` rounds to.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mnist_core.imaging.strokes import MAX_POINTS, MAX_SIDE, MAX_STROKES, MIN_SIDE, Drawing, StrokeError

MAGIC = b"pk1"
_HEAD = struct.Struct("<3sfffH")  # magic, width, height, pen, strokes
_MAX_UNPACKED = 16 * (MAX_POINTS + MAX_STROKES) + _HEAD.size  # what a valid drawing can decompress to


def pack(drawing: Drawing) -> bytes:
    """The drawing as a few bytes a point (`unpack` gives it back to the tenth of a pixel)."""
    counts = np.array([len(s) for s in drawing.strokes], np.uint16)
    steps = []
    for stroke in drawing.strokes:
        tenths = np.round(np.asarray(stroke, np.float64) * 10).astype(np.int32)
        steps.append(np.diff(tenths, axis=0, prepend=np.zeros((1, 2), np.int32)))
    points = np.concatenate(steps) if steps else np.zeros((0, 2), np.int32)
    head = _HEAD.pack(MAGIC, drawing.width, drawing.height, drawing.pen, len(counts))
    return zlib.compress(head + counts.tobytes() + points.astype("<i4").tobytes(), 9)


def unpack(data: bytes) -> Drawing:
    """A packed drawing back; StrokeError (one line) when `data` is not one."""
    try:
        stream = zlib.decompressobj()
        raw = stream.decompress(data, _MAX_UNPACKED)
        magic, width, height, pen, n = _HEAD.unpack_from(raw)
        sides_ok = MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE and pen > 0
        if not stream.eof or magic != MAGIC or not 1 <= n <= MAX_STROKES or not sides_ok:
            raise ValueError
        counts = np.frombuffer(raw, np.uint16, n, _HEAD.size).astype(np.int64)
        points = np.frombuffer(raw, "<i4", offset=_HEAD.size + 2 * n).reshape(-1, 2)
        if counts.sum() != len(points) or (counts < 1).any():
            raise ValueError
    except (zlib.error, struct.error, ValueError):
        raise StrokeError("a kept drawing is unreadable; teach it again") from None
    strokes = tuple(
        (np.cumsum(part, axis=0) / 10).astype(np.float32) for part in np.split(points, np.cumsum(counts)[:-1])
    )
    return Drawing(strokes, float(width), float(height), float(pen))
