"""What a public page may ask of the collected drawings: labels it may send, how fast, how much, and who sees them.

The numbers are in `mnist_core.config`; this module applies them. No database here: the store and the demo
both ask it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from mnist_core.config import PER_MINUTE


def as_label(value: Any) -> int | None:
    """0–9 from an int, a whole float or a one-digit string (what scripts and labels.csv send); None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and 0 <= number <= 9 else None


def trusted(public: bool, username: str | None) -> bool:
    """Anyone on a local demo; on a public one only a logged-in user may see or change what other visitors left
    (their drawings, the served model, their runs)."""
    return not public or bool(username)


def room_left(size: int, max_bytes: int) -> str:
    """'' while the database file may grow, else the refusal line."""
    if size <= max_bytes:
        return ""
    return (
        f"the drawings store is full ({size / 1e6:,.0f} MB, at most {max_bytes / 1e6:,.0f} MB); "
        "export and delete some first"
    )


class RateLimiter:
    """At most `per_minute` actions per client in any 60 s: one visitor cannot flood the store.

    Keyed by whatever identifies a visitor (session hash, login, address); thread-safe; forgets
    clients idle for a minute, so memory stays bounded by the active ones.
    """

    def __init__(self, per_minute: int = PER_MINUTE, window_s: float = 60.0) -> None:
        self.per_minute, self.window_s = per_minute, window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        """Record an action and say whether it is allowed (a refused one is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._events) > 10_000:
                self._forget(now)
            events = self._events.setdefault(client, deque())
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.per_minute:
                return False
            events.append(now)
            return True

    def _forget(self, now: float) -> None:
        for client in [c for c, e in self._events.items() if not e or e[-1] <= now - self.window_s]:
            del self._events[client]
