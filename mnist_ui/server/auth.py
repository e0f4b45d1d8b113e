"""Logins that cannot be guessed at machine speed: each failure for a name doubles the wait for that name."""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any, cast


class SlowLogin:
    """Gradio `auth=` callable. Attempts for one user name run one at a time; after a failure the next
    attempt for that name waits 1, 2, 4 … up to MAX_DELAY_S seconds (a correct password resets it).

    Async, so a waiting attempt holds no worker thread.
    """

    FIRST_DELAY_S = 1.0
    MAX_DELAY_S = 30.0

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._passwords = dict(pairs)
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(self, username: str, password: str) -> bool:
        expected = self._passwords.get(username)
        key = username if expected is not None else ""  # unknown names share one queue: bounded memory
        async with self._locks.setdefault(key, asyncio.Lock()):
            wait = self._not_before.get(key, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
                self._failures.pop(key, None)
                self._not_before.pop(key, None)
                return True
            fails = self._failures.get(key, 0) + 1
            self._failures[key] = fails
            self._not_before[key] = time.monotonic() + min(self.MAX_DELAY_S, self.FIRST_DELAY_S * 2 ** (fails - 1))
            return False


def gradio_auth(pairs: list[tuple[str, str]]) -> Any:
    """What to pass as `launch(auth=...)`: the bound method, not the object. Gradio awaits `auth` only when
    `inspect.iscoroutinefunction` says so, which is False for an instance with an async `__call__`: it would
    call it without awaiting, and the un-awaited coroutine counts as a yes for every password."""
    return cast(Any, SlowLogin(pairs).__call__)
