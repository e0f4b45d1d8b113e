"""Login guessing is slowed per user name: the second wrong password waits, a right one resets it."""

from __future__ import annotations

import asyncio
import time

import pytest

from mnist_ui.server.auth import SlowLogin


def test_wrong_passwords_are_slowed_and_right_one_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SlowLogin, "FIRST_DELAY_S", 0.05)  # the class's own delays, scaled down for a test
    guard = SlowLogin([("ann", "s3cret")])

    async def attempts() -> tuple[list[bool], float]:
        started = time.monotonic()
        results = await asyncio.gather(*(guard("ann", f"guess{i}") for i in range(4)))
        return list(results), time.monotonic() - started

    results, took = asyncio.run(attempts())
    assert results == [False] * 4
    assert took >= 0.05 + 0.1 + 0.2 - 0.02  # one at a time, each waiting out the doubled delay
    assert asyncio.run(guard("ann", "s3cret")) is True
    started = time.monotonic()
    assert asyncio.run(guard("ann", "s3cret")) is True
    assert time.monotonic() - started < 0.1  # success reset the delay


def test_unknown_names_share_one_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SlowLogin, "FIRST_DELAY_S", 0.05)
    guard = SlowLogin([("ann", "s3cret")])

    async def attempts() -> float:
        started = time.monotonic()
        await asyncio.gather(*(guard(f"user{i}", "x") for i in range(3)))
        return time.monotonic() - started

    assert asyncio.run(attempts()) >= 0.05 + 0.1 - 0.02
    assert len(guard._failures) == 1


def test_what_demo_passes_to_gradio_is_awaited_by_it():
    """Gradio awaits `auth` only if inspect.iscoroutinefunction says so; an instance would pass every password."""
    import inspect

    from mnist_ui.server.auth import gradio_auth

    assert inspect.iscoroutinefunction(gradio_auth([("ann", "s3cret")]))
    assert not inspect.iscoroutinefunction(SlowLogin([("ann", "s3cret")]))  # why the bound method is needed
