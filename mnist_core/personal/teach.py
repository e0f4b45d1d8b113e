"""`/personalize` in one call: check the drawings, add them to the visitor's profile, adapt, save, report.

Refusals are one line with no profile changed. The model is adapted on all the profile's drawings
(the newest `MAX_PROFILE_DRAWINGS`), so a correction sent alone still teaches alongside earlier ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mnist_core.config import MAX_DRAWING_BYTES, MAX_TEACH_BYTES
from mnist_core.imaging.strokes import Drawing, StrokeError, parse
from mnist_core.personal.adapt import Adaptation, AdaptError, adapt
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Profiles
from mnist_core.personal.replay import Replay

_FORMAT = 'send a JSON list of {"label": 0-9, "strokes": <the pad\'s value>}'


class TeachError(ValueError):
    """Drawings we refuse to teach from; one line naming the fix."""


@dataclass(frozen=True)
class Taught:
    profile: str | None  # None when refused
    drawings: int  # the profile's drawings after this call
    seconds: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "drawings": self.drawings,
            "seconds": round(self.seconds, 2),
            "message": self.message,
        }


def parse_drawings(value: str | bytes | Sequence[Any], limit: int) -> list[tuple[int, bytes]]:
    """The request's drawings → (label, canonical strokes JSON) pairs, all checked before any is kept."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_TEACH_BYTES:
            raise TeachError(f"the drawings are too large (at most {MAX_TEACH_BYTES // 1000:,} KB at once); send fewer")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise TeachError(f"the drawings are not valid JSON; {_FORMAT}") from None
    if not isinstance(value, list):
        raise TeachError(_FORMAT)
    if len(value) > limit:
        raise TeachError(f"too many drawings at once ({len(value)}, at most {limit}); send fewer")
    rows = [_one(item, n) for n, item in enumerate(value, 1)]
    if sum(len(data) for _, data in rows) > MAX_TEACH_BYTES:
        raise TeachError(f"the drawings are too large (at most {MAX_TEACH_BYTES // 1000:,} KB at once); send fewer")
    return rows


def _one(item: Any, n: int) -> tuple[int, bytes]:
    label = item.get("label") if isinstance(item, dict) else None
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise TeachError(f"drawing {n}: label must be a digit 0-9; {_FORMAT}")
    try:
        drawing = parse(item.get("strokes"))
    except StrokeError as exc:
        raise TeachError(f"drawing {n}: {exc}") from None
    if drawing.empty:
        raise TeachError(f"drawing {n} has no strokes; draw the digit, then teach")
    data = json.dumps(drawing.to_json(), separators=(",", ":")).encode()
    if len(data) > MAX_DRAWING_BYTES:
        raise TeachError(f"drawing {n} is too large ({len(data):,} bytes, at most {MAX_DRAWING_BYTES:,})")
    return label, data


def teach(
    profiles: Profiles,
    replay: Replay,
    drawings: str | bytes | Sequence[Any],
    key: str | None = None,
    settings: Adaptation = Adaptation(),
) -> Taught:
    """Add `drawings` to `key`'s profile (a new one when `key` is None or unknown) and adapt its model."""
    profile = None
    try:
        rows = parse_drawings(drawings, profiles.max_drawings)
        known = profiles.valid_key(key) and profiles.db.exists(key)
        if not rows and not known:
            raise TeachError(f"no drawings to teach from; {_FORMAT}")
        profile = key if known and key else profiles.db.create()
        total = profiles.db.add_drawings(profile, rows, profiles.max_drawings)
        adapted = adapt(profiles.classifier, read_drawings(profiles, profile), replay, settings, profiles.base)
        profiles.db.save_delta(profile, profiles.base, adapted.delta.to_bytes())
        profiles.put(profile, adapted.model)
    except (TeachError, AdaptError, ProfileStoreError) as exc:
        if profile is not None and not known:
            profiles.forget(profile)  # a refused first teach leaves nothing behind
        return Taught(None, 0, 0.0, str(exc))
    whose = "your personal model" if known else "a new personal model"
    message = (
        f"{whose} reads {adapted.read_after:.0%} of your {adapted.drawings} drawings "
        f"(the shared model read {adapted.read_before:.0%}); taught in {adapted.seconds:.1f} s"
    )
    return Taught(profile, total, adapted.seconds, message)


def read_drawings(profiles: Profiles, key: str) -> list[tuple[int, Drawing]]:
    """A profile's drawings as pad drawings, oldest first (for the UI's list and for re-teaching)."""
    return [(label, parse(data)) for label, data in profiles.db.drawings(key)]
