"""The pad's readings without Gradio's event queue: a server function of the pad's own `gr.HTML`.

Measured on 2 cores (bench/room.py, minimal apps answering a constant): a queued event cost Gradio 8–12 ms
of CPU per answer, a server function 2–3 ms, and a reading is ~3 ms; through the queue, a room of people
mostly waited on Gradio's own work. A server function is one POST to
`/gradio_api/component_server`, behind the same login (Gradio's `login_check`) as every route; the
strokes go through the same parser and size caps as `/predict_strokes`, and at most LANES batches read
at once (`Batcher`), so a crowd waits in one short line instead of piling up threads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from mnist_core.imaging.strokes import StrokeError, parse
from mnist_core.serving.readings import Reading
from mnist_ui.context import AppContext
from mnist_ui.results import panel_value

# Batches reading at once: on 2 cores four lanes fought over the GIL with the event loop
# (bench/room.py, 40 tabs: pen-up → answer p95 82–105 ms with 2 lanes, 162–166 ms with 4).
LANES = 2
BATCH = 8
WAIT_S = 20.0
BUSY = "the server is too busy to read your drawing now; draw again in a moment"


class Batcher:
    """Readings that wait together share one forward pass: reading the network's 23 MB of weights is most
    of a reading's cost, so a batch of 8 costs about half as much per drawing as 8 single readings. A
    finished drawing (pen-up, undo, clear) goes ahead of drawings in progress, so a crowd's in-between
    drawings never delay the answer people wait for; at most LANES batches run at once."""

    def __init__(self, read: Callable[[list[Any]], list[Reading]], lanes: int = LANES, most: int = BATCH) -> None:
        self.read, self.lanes, self.most = read, lanes, most
        self.busy = 0  # lanes running; counted down in the same step a lane finds nothing left to read
        self.tasks: set[asyncio.Task[None]] = set()
        self.waiting: dict[bool, deque[tuple[Any, asyncio.Future[Reading]]]] = {True: deque(), False: deque()}

    async def ask(self, value: Any, final: bool) -> Reading:
        turn: asyncio.Future[Reading] = asyncio.get_running_loop().create_future()
        self.waiting[final].append((value, turn))
        if self.busy < self.lanes:
            self.busy += 1
            lane = asyncio.create_task(self._lane())
            self.tasks.add(lane)
            lane.add_done_callback(self.tasks.discard)
        try:
            return await asyncio.wait_for(turn, WAIT_S)
        except TimeoutError:
            return Reading("error", BUSY)

    def _take(self) -> list[tuple[Any, asyncio.Future[Reading]]]:
        batch: list[tuple[Any, asyncio.Future[Reading]]] = []
        for queue in (self.waiting[True], self.waiting[False]):
            while queue and len(batch) < self.most:
                value, turn = queue.popleft()
                if not turn.done():  # not given up on
                    batch.append((value, turn))
        return batch

    async def _lane(self) -> None:
        while batch := self._take():
            try:
                readings = await anyio.to_thread.run_sync(self.read, [value for value, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure, none hangs
                readings = [Reading("error", f"the server could not read the drawing: {exc}")] * len(batch)
            for (_, turn), reading in zip(batch, readings, strict=True):
                if not turn.done():
                    turn.set_result(reading)
        self.busy -= 1


def read_values(ctx: AppContext, values: list[Any]) -> list[Reading]:
    """Pad values → readings, one forward pass for all; malformed strokes become a message, never an exception."""
    readings: list[Reading | None] = []
    drawings = []
    for value in values:
        try:
            drawings.append(parse(value))
            readings.append(None)
        except StrokeError as exc:
            readings.append(Reading("error", str(exc)))
    read = iter(ctx.holder.read_drawings(drawings))
    return [reading if reading is not None else next(read) for reading in readings]


def pad_reader(ctx: AppContext, hint: str) -> Callable[[Any], Coroutine[Any, Any, dict[str, Any]]]:
    """The server function: `[value, final]` from the pad (or a bare value: final) → what the panel paints."""
    batcher = Batcher(lambda values: read_values(ctx, values))

    async def read_pad(call: Any) -> dict[str, Any]:
        value, final = (call[0], bool(call[1])) if isinstance(call, list) and len(call) == 2 else (call, True)
        return panel_value(await batcher.ask(value, final), hint)

    return read_pad
