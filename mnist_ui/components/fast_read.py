"""The pad's readings without Gradio's event queue: a server function of the pad's own `gr.HTML`.

Measured on 2 cores (bench/room.py, minimal apps answering a constant): a queued event cost Gradio 8–12 ms
of CPU per answer, a server function 2–3 ms, and a reading is ~3 ms; through the queue, a room of people
mostly waited on Gradio's own work. A server function is one POST to
`/gradio_api/component_server`, behind the same login (Gradio's `login_check`) as every route; the
strokes go through the same parser and size caps as `/predict_strokes`, and at most LANES batches read
at once (`Batcher`), so a crowd waits in one short line instead of piling up threads. The line is fair between
visitors (issue #36): 200 connections from one address posting the largest drawings used to hold another
person's pen-up for 8.9 s; now each batch takes one drawing of each visitor in turn, pen-ups first.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, NamedTuple

import anyio
import gradio as gr

from mnist_core.imaging.strokes import Drawing, StrokeError, parse
from mnist_core.serving.readings import Reading
from mnist_ui.components.inside_view import inside_value
from mnist_ui.components.results import panel_value
from mnist_ui.server.access import for_visitor, sees_paths, visitor
from mnist_ui.server.context import AppContext
from mnist_ui.server.personal import Answer

# Batches reading at once: on 2 cores four lanes fought over the GIL with the event loop
# (bench/room.py, 40 tabs: pen-up → answer p95 82–105 ms with 2 lanes, 162–166 ms with 4).
LANES = 2
BATCH = 8
# A batch also stops at this many bytes of strokes: drawing costs ~0.1 ms a point (Pillow's round joints), so
# 8 of the largest drawings (5,000 points, ~70 KB) would hold a lane for seconds; a digit is a few KB.
BATCH_BYTES = 64_000
WAIT_S = 20.0
PER_VISITOR = 128  # drawings one visitor may have waiting: an address (100 tabs behind one router are one)
WAITING = 256  # drawings waiting in all, each up to 256 KB of strokes: what the line may hold in memory
BUSY = "the server is too busy to read your drawing now; draw again in a moment"
TOO_MANY = "too many drawings at once from your address; draw again in a moment"
Turn = tuple[Any, "asyncio.Future[Answer]"]


class Batcher:
    """Readings that wait together share one forward pass: reading the network's 23 MB of weights is most
    of a reading's cost, so a batch of 8 costs about half as much per drawing as 8 single readings. A
    finished drawing (pen-up, undo, clear) goes ahead of drawings in progress, so a crowd's in-between
    drawings never delay the answer people wait for; and each batch takes one drawing of each visitor in
    turn, so a visitor with many drawings waiting waits behind their own, never in front of someone else's.
    At most LANES batches run at once, and a visitor's drawings are read in one of them at a time: a crowd
    at one address sending the dearest drawings keeps one lane busy, not both. Past PER_VISITOR or WAITING
    drawings, one line says to draw again."""

    def __init__(
        self,
        read: Callable[[list[Any]], list[Answer]],
        lanes: int = LANES,
        most: int = BATCH,
        size: Callable[[Any], int] = lambda _: 0,
    ) -> None:
        self.read, self.lanes, self.most, self.size = read, lanes, most, size
        self.busy = 0  # lanes running; counted down in the same step a lane finds nothing left to read
        self.tasks: set[asyncio.Task[None]] = set()
        # pen-ups (True) and drawings in progress (False), each a queue per visitor in the order they came
        self.waiting: dict[bool, dict[str, deque[Turn]]] = {True: {}, False: {}}
        self.held: Counter[str] = Counter()  # each visitor's drawings not yet answered
        self.reading: Counter[str] = Counter()  # visitors with drawings in a batch being read (one lane each)

    async def ask(self, value: Any, final: bool, who: str = "") -> Answer:
        """The reading of `value`, in `who`'s turn ('' for a local viewer: one queue, no per-visitor cap)."""
        if who and self.held[who] >= PER_VISITOR:
            return Answer(Reading("error", TOO_MANY))
        if self.held.total() >= WAITING:
            return Answer(Reading("error", BUSY))
        turn: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.waiting[final].setdefault(who, deque()).append((value, turn))
        self.held[who] += 1
        if self.busy < self.lanes:
            self.busy += 1
            lane = asyncio.create_task(self._lane())
            self.tasks.add(lane)
            lane.add_done_callback(self.tasks.discard)
        try:
            return await asyncio.wait_for(turn, WAIT_S)
        except TimeoutError:
            return Answer(Reading("error", BUSY))
        finally:
            self.held[who] -= 1
            if self.held[who] <= 0:
                del self.held[who]

    def _take(self) -> tuple[list[Turn], list[str]]:
        """Up to `most` drawings and BATCH_BYTES of them (at least one), and whose they are: pen-ups first, then
        drawings in progress, one of each visitor per round, none of a visitor another lane is reading."""
        batch: list[Turn] = []
        whose: list[str] = []
        room = BATCH_BYTES
        for queues in (self.waiting[True], self.waiting[False]):
            while len(batch) < self.most and room > 0:
                ready = [who for who in queues if not (who and self.reading[who])][: self.most - len(batch)]
                if not ready:
                    break
                for who in ready:
                    value, turn = queues[who][0]
                    if batch and self.size(value) > room:
                        return batch, whose
                    queue = queues.pop(who)  # served: to the back of the line, so the next batch starts after it
                    queue.popleft()
                    if queue:
                        queues[who] = queue
                    if not turn.done():  # not given up on
                        batch.append((value, turn))
                        whose.append(who)
                        room -= self.size(value)
        return batch, whose

    async def _lane(self) -> None:
        while True:
            batch, whose = self._take()
            if not batch:
                break
            self.reading.update(set(whose))
            try:
                readings = await anyio.to_thread.run_sync(self.read, [value for value, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure, none hangs
                readings = [Answer(Reading("error", f"the server could not read the drawing: {exc}"))] * len(batch)
            finally:
                for who in set(whose):
                    self.reading[who] -= 1
                    if self.reading[who] <= 0:
                        del self.reading[who]
            for (_, turn), reading in zip(batch, readings, strict=True):
                if not turn.done():
                    turn.set_result(reading)
        self.busy -= 1


class PadCall(NamedTuple):
    """One reading the pad asks for."""

    value: Any
    key: str | None = None  # the visitor's profile key
    compare: bool = False  # a personal answer also carries the shared model's reading
    networks: bool = False  # the answer also carries the other network's reading
    inside: bool = False  # the answer also carries what the shared network does inside (the inside view is open)


def read_values(ctx: AppContext, values: list[Any]) -> list[Answer]:
    """Pad values (each a `PadCall` or its tuple, or a bare value) → answers, one forward pass per model in the
    batch; malformed strokes become a message, never an exception. With `compare`, a personal answer also
    carries the shared model's reading of the same drawing (read anyway: the memory re-reads it), with
    `networks` every answer the other network's (one more pass each, only when asked); with `inside`, what the
    shared network does inside for it (only while the page shows it)."""
    calls = [PadCall(*v) if isinstance(v, tuple) else PadCall(v) for v in values]
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
        done[i] = answer if calls[i].compare else replace(answer, other=None)
    both = [i for i in rows if calls[i].networks]
    if both:
        readings = [done[i].reading for i in both]
        beside = ctx.networks.add_to(ctx.holder.current, readings, [parsed[i] for i in both])
        for i, reading in zip(both, beside, strict=True):
            done[i] = replace(done[i], reading=reading)
    shared = ctx.holder.current.classifier
    for i in (i for i in rows if calls[i].inside):
        done[i] = replace(done[i], inside=inside_value(shared, done[i].reading, done[i].model))
    return [done[i] for i in range(len(calls))]


def answer_value(answer: Answer, hint: str) -> dict[str, Any]:
    """What the panel paints, plus which model answered (the model badge paints that: `components.model_badge`)."""
    value = panel_value(answer.reading, hint) | {"model": answer.model, "note": answer.note}
    if answer.other is not None:
        value["shared"] = {"digit": answer.other.digit, "confidence": round(answer.other.confidence, 3)}
    theirs = answer.reading.other_network
    if theirs is not None:
        value["network"] = {"name": theirs.network, "digit": theirs.digit, "confidence": round(theirs.confidence, 3)}
    if answer.inside is not None:
        value["inside"] = answer.inside
    return value


def pad_reader(
    ctx: AppContext, hint: str, networks: bool = False
) -> Callable[..., Coroutine[Any, Any, dict[str, Any]]]:
    """The server function: `[value, final, profile key, compare, inside]` from the pad (or `[value, final, key,
    compare]`, `[value, final]`, or a bare value: final, shared) → what the panel (and an open inside view) paints,
    in the words this visitor may read (no server paths); with `networks`, every answer also carries the other
    network's reading of the same drawing."""
    batcher = Batcher(lambda values: read_values(ctx, values), size=lambda call: len(call.value or ""))

    async def read_pad(call: Any, request: gr.Request | None = None) -> dict[str, Any]:
        # The server-function route hands over Starlette's request itself: no login, no session hash in it.
        asking = request if isinstance(request, gr.Request) or request is None else gr.Request(request=request)
        parts = call if isinstance(call, list) and len(call) in (2, 4, 5) else [call, True]
        value, final = parts[0], bool(parts[1])
        key, compare = (parts[2] or None, bool(parts[3])) if len(parts) >= 4 else (None, False)
        inside = len(parts) == 5 and parts[4] is True
        who = "" if sees_paths(ctx, asking) else visitor(ctx, asking)  # a local viewer's tabs: no per-visitor cap
        answer = await batcher.ask(PadCall(value, key, compare, networks, inside), final, who)
        return for_visitor(ctx, asking, answer_value(answer, hint))

    return read_pad
