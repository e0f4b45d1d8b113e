"""`/personalize` and the Draw tab's corrections: check the drawings, keep them in the visitor's profile, remember.

Refusals are one line with no profile changed, decided before any drawing is drawn: the request's size, how
many drawings and how many points in all (`MAX_TEACH_POINTS`: one request's work is bounded, so a heavy one
cannot hold the server), each drawing's own caps. Teaching adds only the new drawings' rows to the memory (a
few tenths of a second for thirty), so a correction sent alone is remembered at once beside earlier ones.

When a request holds two or more drawings of a digit, the last of them is held back to check: read by the
memory of everything else (and by the shared model), it says what teaching changed on a drawing the memory
was not given; then it is kept like the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_core.config import MAX_DRAWING_BYTES, MAX_TEACH_BYTES, MAX_TEACH_POINTS
from mnist_core.imaging.packed import unpack
from mnist_core.imaging.strokes import Drawing, StrokeError, drawing_to_mnist, parse
from mnist_core.personal.memory import PersonalModel
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Profiles

_FORMAT = 'send a JSON list of {"label": 0-9, "strokes": <the pad\'s value>}'


class TeachError(ValueError):
    """Drawings we refuse to teach from; one line naming the fix."""


@dataclass(frozen=True)
class Check:
    """A drawing held back from the memory to see what teaching changed: its digit and each model's reading."""

    label: int
    shared: int
    personal: int

    def to_json(self) -> dict[str, int]:
        return {"label": self.label, "shared": self.shared, "personal": self.personal}


@dataclass(frozen=True)
class Taught:
    profile: str | None  # None when refused
    drawings: int  # the profile's drawings after this call
    seconds: float
    message: str
    checks: tuple[Check, ...] = ()
    added: int = 0  # drawings new to the profile (the others were kept already and took the label sent) …
    relabelled: int = 0  # … of which this many had another label before

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "drawings": self.drawings,
            "seconds": round(self.seconds, 2),
            "message": self.message,
            "held_back": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True, eq=False)
class Sent:
    """One drawing of a request, checked: its digit, its canonical strokes JSON, and the 28×28 it reads as (drawn
    once here, to refuse a drawing with no ink, and kept: the memory and the held-back check reuse it)."""

    label: int
    data: bytes
    image: np.ndarray


def parse_drawings(value: str | bytes | Sequence[Any], limit: int) -> list[Sent]:
    """The request's drawings, all checked before any is kept; a drawing sent twice is one drawing, with the label
    it was sent with last."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_TEACH_BYTES:
            raise TeachError(f"the drawings are too large (at most {MAX_TEACH_BYTES // 1000:,} KB at once); send fewer")
        brackets = value.count("[") if isinstance(value, str) else value.count(b"[")
        if brackets > MAX_TEACH_POINTS + 4 * limit:  # every point opens one: counted before any decoding
            raise TeachError(f"the drawings hold too many points (at most {MAX_TEACH_POINTS:,} at once); send fewer")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise TeachError(f"the drawings are not valid JSON; {_FORMAT}") from None
    if not isinstance(value, list):
        raise TeachError(_FORMAT)
    if len(value) > limit:
        raise TeachError(f"too many drawings at once ({len(value)}, at most {limit}); send fewer")
    if sum(_points(item) for item in value) > MAX_TEACH_POINTS:
        raise TeachError(f"the drawings hold too many points (at most {MAX_TEACH_POINTS:,} at once); send fewer")
    rows = list({sent.data: sent for sent in (_one(item, n) for n, item in enumerate(value, 1))}.values())
    if sum(len(sent.data) for sent in rows) > MAX_TEACH_BYTES:
        raise TeachError(f"the drawings are too large (at most {MAX_TEACH_BYTES // 1000:,} KB at once); send fewer")
    return rows


def _points(item: Any) -> int:
    """Points in one decoded request item, counted without parsing it (anything odd counts as nothing here and
    is refused by `_one`)."""
    strokes = item.get("strokes") if isinstance(item, dict) else None
    if isinstance(strokes, str):
        return strokes.count("[")
    inner = strokes.get("strokes") if isinstance(strokes, dict) else None
    return sum(len(s) for s in inner if isinstance(s, list)) if isinstance(inner, list) else 0


def _one(item: Any, n: int) -> Sent:
    label = item.get("label") if isinstance(item, dict) else None
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise TeachError(f"drawing {n}: label must be a digit 0-9; {_FORMAT}")
    try:
        return Sent(label, *checked(item.get("strokes")))
    except TeachError as exc:
        raise TeachError(f"drawing {n}: {exc}") from None


def canonical(strokes: Any) -> bytes:
    """The pad's value → the drawing's canonical JSON, how a profile knows it again; TeachError (one line) if it
    is no drawing to teach from."""
    return checked(strokes)[0]


def checked(strokes: Any) -> tuple[bytes, np.ndarray]:
    """`canonical`, with the 28×28 the drawing reads as."""
    try:
        drawing = parse(strokes)
    except StrokeError as exc:
        raise TeachError(str(exc)) from None
    if drawing.empty:
        raise TeachError("it has no strokes; draw the digit, then teach")
    image = drawing_to_mnist(drawing)
    if image is None:
        raise TeachError("it leaves no ink to read; draw the digit bigger, then teach")
    data = json.dumps(drawing.to_json(), separators=(",", ":")).encode()
    if len(data) > MAX_DRAWING_BYTES:
        raise TeachError(f"it is too large ({len(data):,} bytes, at most {MAX_DRAWING_BYTES:,})")
    return data, image


def held_back(labels: Sequence[int]) -> list[int]:
    """Positions to hold back to check: the last drawing of each digit drawn two or more times."""
    last: dict[int, int] = {}
    for position, label in enumerate(labels):
        last[label] = position
    return sorted(p for label, p in last.items() if sum(1 for x in labels if x == label) >= 2)


def teach(profiles: Profiles, drawings: str | bytes | Sequence[Any], key: str | None = None) -> Taught:
    """Add `drawings` to `key`'s profile (a new one when `key` is None or unknown) and remember them."""
    started = time.perf_counter()
    profile, known = None, False
    try:
        rows = parse_drawings(drawings, profiles.max_drawings)
        known = profiles.valid_key(key) and profiles.db.exists(key)
        if not rows:
            raise TeachError(f"no drawings to teach from; {_FORMAT}")
        profile = key if known and key else profiles.create()
        stored = [(r.label, r.data) for r in rows]
        ids, added, relabelled = profiles.db.add_drawings(profile, stored, profiles.max_drawings)
        found = profiles.refresh(profile, drawn={i: r.image for i, r in zip(ids, rows, strict=True)})
        if found.model is None:
            raise TeachError(found.reason)
        checks = _check(found.model, [(ids[p], rows[p]) for p in held_back([r.label for r in rows])])
        total = len(found.model.memory.drawings())
    except (TeachError, ProfileStoreError) as exc:
        if profile is not None and not known:
            profiles.forget(profile)  # a refused first teach leaves nothing behind
        return Taught(None, 0, 0.0, str(exc))
    seconds = time.perf_counter() - started
    message = taught_message(len(rows), total, seconds, checks, known)
    return Taught(profile, total, seconds, message, tuple(checks), added, relabelled)


def _check(model: PersonalModel, held: list[tuple[int, Sent]]) -> list[Check]:
    """Each held-back drawing (its id, as sent) read by the shared model and by the memory of every other drawing."""
    if not held:
        return []
    memory = model.memory
    others = PersonalModel(
        model.classifier, model.replay, memory.select(~np.isin(memory.owners, [i for i, _ in held])), model.recall
    )
    x = model.classifier.inputs(np.stack([sent.image for _, sent in held]))
    shared = model.classifier.forward(x)
    personal = others.reread(shared, x)
    read = zip([sent.label for _, sent in held], shared.argmax(axis=1), personal.argmax(axis=1), strict=True)
    return [Check(label, int(s), int(p)) for label, s, p in read]


def taught_message(sent: int, total: int, seconds: float, checks: Sequence[Check], known: bool) -> str:
    """What a teaching did, in words: what is kept and what the held-back drawings say."""
    whose = "your model" if known else "a new model of your own"
    line = f"{whose} remembers {sent} more drawing{'s' * (sent != 1)} ({total} in all), in {seconds:.1f} s"
    if not checks:
        return line
    shared = sum(c.shared == c.label for c in checks)
    personal = sum(c.personal == c.label for c in checks)
    if shared == len(checks) and personal == len(checks):
        what = "the drawing" if len(checks) == 1 else f"all {len(checks)} drawings"
        return f"{line}; the shared model already reads you well: it read {what} held back to check, and so does yours"
    held = f"of {len(checks)} drawing{'s' * (len(checks) != 1)} held back to check"
    return f"{line}; {held}, the shared model read {shared} and yours reads {personal}"


def unteach(profiles: Profiles, strokes: Any, key: str | None) -> bool:
    """Take one drawing (the pad's value) back out of `key`'s profile; False when the profile does not hold it."""
    if not profiles.valid_key(key):
        return False
    try:
        data = canonical(strokes)
    except TeachError:
        return False
    gone = profiles.db.remove_drawing(key, data)
    if gone:
        profiles.refresh(key)
    return gone


def read_drawings(profiles: Profiles, key: str) -> list[tuple[int, Drawing]]:
    """A profile's drawings as pad drawings, oldest first (label, drawing)."""
    return [(label, unpack(data)) for _, label, data in profiles.db.drawings(key)]
