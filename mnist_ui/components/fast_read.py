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
from dataclasses import replace
from typing import Any

import anyio

from mnist_core.imaging.strokes import Drawing, StrokeError, parse
from mnist_core.serving.readings import Reading
from mnist_ui.components.inside_view import inside_value
from mnist_ui.components.results import panel_value
from mnist_ui.server.context import AppContext
from mnist_ui.server.personal import PERSONAL, Answer

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

    def __init__(self, read: Callable[[list[Any]], list[Answer]], lanes: int = LANES, most: int = BATCH) -> None:
        self.read, self.lanes, self.most = read, lanes, most
        self.busy = 0  # lanes running; counted down in the same step a lane finds nothing left to read
        self.tasks: set[asyncio.Task[None]] = set()
        self.waiting: dict[bool, deque[tuple[Any, asyncio.Future[Answer]]]] = {True: deque(), False: deque()}

    async def ask(self, value: Any, final: bool) -> Answer:
        turn: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.waiting[final].append((value, turn))
        if self.busy < self.lanes:
            self.busy += 1
            lane = asyncio.create_task(self._lane())
            self.tasks.add(lane)
            lane.add_done_callback(self.tasks.discard)
        try:
            return await asyncio.wait_for(turn, WAIT_S)
        except TimeoutError:
            return Answer(Reading("error", BUSY))

    def _take(self) -> list[tuple[Any, asyncio.Future[Answer]]]:
        batch: list[tuple[Any, asyncio.Future[Answer]]] = []
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
                readings = [Answer(Reading("error", f"the server could not read the drawing: {exc}"))] * len(batch)
            for (_, turn), reading in zip(batch, readings, strict=True):
                if not turn.done():
                    turn.set_result(reading)
        self.busy -= 1


def read_values(ctx: AppContext, values: list[Any]) -> list[Answer]:
    """Pad values (each `(value, profile key, compare[, inside])`, or a bare value) → answers, one forward pass per
    model in the batch; malformed strokes become a message, never an exception. With `compare`, a personal answer
    also carries the shared model's reading of the same drawing (one more pass, only when asked); with `inside`,
    what the shared network does inside for it (only while the page shows it)."""
    calls = [(*v, False)[:4] if isinstance(v, tuple) else (v, None, False, False) for v in values]
    done: dict[int, Answer] = {}
    parsed: dict[int, Drawing] = {}  # each drawing parsed once, by its place in the batch
    for i, (value, *_) in enumerate(calls):
        try:
            parsed[i] = parse(value)
        except StrokeError as exc:
            done[i] = Answer(Reading("error", str(exc)))
    rows = list(parsed)
    drawings = [parsed[i] for i in rows]
    if ctx.personal is not None:
        keys = [key if isinstance(key, str) else None for key in (calls[i][1] for i in rows)]
        answers = ctx.personal.read_drawings(drawings, keys)
    else:
        answers = [Answer(r) for r in ctx.holder.read_drawings(drawings)]
    for i, answer in zip(rows, answers, strict=True):
        done[i] = answer
    wanted = [i for i in rows if calls[i][2] and done[i].model == PERSONAL]
    others = ctx.holder.read_drawings([parsed[i] for i in wanted]) if wanted else []
    for i, other in zip(wanted, others, strict=True):
        done[i] = replace(done[i], other=other)
    shared = ctx.holder.current.classifier
    for i in (i for i in rows if calls[i][3]):
        done[i] = replace(done[i], inside=inside_value(shared, done[i].reading, done[i].model))
    return [done[i] for i in range(len(calls))]


def answer_value(answer: Answer, hint: str) -> dict[str, Any]:
    """What the panel paints, plus which model answered (the model badge paints that: `components.model_badge`)."""
    value = panel_value(answer.reading, hint) | {"model": answer.model, "note": answer.note}
    if answer.other is not None:
        value["shared"] = {"digit": answer.other.digit, "confidence": round(answer.other.confidence, 3)}
    if answer.inside is not None:
        value["inside"] = answer.inside
    return value


def pad_reader(ctx: AppContext, hint: str) -> Callable[[Any], Coroutine[Any, Any, dict[str, Any]]]:
    """The server function: `[value, final, profile key, compare, inside]` from the pad (or `[value, final, key,
    compare]`, `[value, final]`, or a bare value: final, shared) → what the panel (and an open inside view) paints."""
    batcher = Batcher(lambda values: read_values(ctx, values))

    async def read_pad(call: Any) -> dict[str, Any]:
        parts = call if isinstance(call, list) and len(call) in (2, 4, 5) else [call, True]
        value, final = parts[0], bool(parts[1])
        key, compare = (parts[2] or None, bool(parts[3])) if len(parts) >= 4 else (None, False)
        inside = len(parts) == 5 and parts[4] is True
        return answer_value(await batcher.ask((value, key, compare, inside), final), hint)

    return read_pad
