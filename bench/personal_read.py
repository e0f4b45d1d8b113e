"""What a personal memory costs the server: a reading beside a shared one, a teaching, the heaviest teaching allowed.

Readings go through `mnist_ui.components.fast_read.read_values`, as the pad's server function calls it, one drawing
at a time and in batches of 8 (a crowd's drawings share a pass), interleaved with the shared model's so a busy
machine slows both alike. The profile is taught first on the shipped replay sample with 30 drawings (three of
each digit shape the tests draw, each a little elsewhere), as the Teach it tab sends them. Then the heaviest
request `/personalize` accepts (`MAX_TEACH_POINTS` points in drawings of the pad's most points each): its wall
and CPU seconds, and another visitor's readings while it runs against the same readings before it. Also how
long the replay set takes to build (done in a background thread when the demo starts).

    python -m bench.personal_read [--rounds 200]
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from mnist_core.config import MAX_TEACH_POINTS, SHIPPED_MODEL  # noqa: E402
from mnist_core.imaging.strokes import MAX_POINTS  # noqa: E402
from mnist_core.serving.holder import ModelHolder, load_served  # noqa: E402
from mnist_core.serving.jobs import JobManager  # noqa: E402
from mnist_ui.components.fast_read import read_values  # noqa: E402
from mnist_ui.server.context import AppContext, Settings  # noqa: E402
from mnist_ui.server.limits import Budget  # noqa: E402
from mnist_ui.server.personal import PersonalModels  # noqa: E402
from mnist_ui.testing import FOUR, ONE, SEVEN, ZERO, pad_value  # noqa: E402

SHAPES = {0: ZERO, 1: ONE, 7: SEVEN, 4: FOUR}


def lesson(per_shape: int) -> list[dict[str, Any]]:
    """Each shape drawn `per_shape` times, each time a little elsewhere and a little wobbly, as a hand draws."""
    rng = np.random.default_rng(0)
    out = []
    for label, strokes in SHAPES.items():
        for _ in range(per_shape):
            dx, dy = rng.uniform(-40, 40, 2)
            moved = [[[x + dx + rng.normal(0, 1.5), y + dy + rng.normal(0, 1.5)] for x, y in s] for s in strokes]
            out.append({"label": label, "strokes": pad_value(moved)})
    return out


def heaviest() -> list[dict[str, Any]]:
    """As many drawings of the pad's most points as one request may hold: a 0 gone round ten times, slowly."""
    t = np.linspace(0, 20 * np.pi, MAX_POINTS)
    points = np.stack([224 + 80 * np.sin(t), 224 - 120 * np.cos(t)], axis=1).round(1)
    drawing = {"v": 1, "width": 448, "height": 448, "strokes": [points.tolist()]}
    count = MAX_TEACH_POINTS // MAX_POINTS
    return [{"label": n % 10, "strokes": drawing | {"pen": 20 + n}} for n in range(count)]


def timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def reading_cost(ctx: AppContext, key: str | None, rounds: int) -> None:
    values = [json.dumps(pad_value(s)) for s in SHAPES.values()]
    for size in (1, 8):
        whose = {"shared": None, "personal": key}
        batches = {name: [(values[i % 4], k, False) for i in range(size)] for name, k in whose.items()}
        times: dict[str, list[float]] = {"shared": [], "personal": []}
        for _ in range(rounds):
            for name, batch in batches.items():
                started = time.perf_counter()
                answers = read_values(ctx, list(batch))
                times[name].append(time.perf_counter() - started)
                assert all(a.model == name for a in answers), answers
        shared, mine = (statistics.median(times[n]) * 1000 for n in ("shared", "personal"))
        print(f"batch of {size}: shared {shared:.2f} ms, personal {mine:.2f} ms, ratio {mine / shared:.2f}×")


def heavy_teach(ctx: AppContext, personal: PersonalModels, rounds: int) -> None:
    """The heaviest request, timed, and another visitor's pen-up readings before and while it runs."""
    value = json.dumps(pad_value(SEVEN))

    def readings(stop: threading.Event | None) -> list[float]:
        out = []
        for _ in range(rounds):
            if stop is not None and stop.is_set():
                break
            started = time.perf_counter()
            read_values(ctx, [(value, None, False)])
            out.append(time.perf_counter() - started)
        return out

    alone = readings(None)
    stop, during = threading.Event(), []
    reader = threading.Thread(target=lambda: during.extend(readings(stop)))
    reader.start()
    taught, wall, cpu = timed(lambda: personal.teach(heaviest(), None, "heavy"))
    stop.set()
    reader.join()
    print(
        f"heaviest teaching allowed ({MAX_TEACH_POINTS:,} points): {wall:.2f} s, {cpu:.2f} CPU s of this process "
        f"({taught.message}); another visitor's reading meanwhile: median {statistics.median(during) * 1000:.1f} ms, "
        f"max {max(during) * 1000:.1f} ms ({len(during)} readings) against {statistics.median(alone) * 1000:.1f} ms "
        "before"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=200)
    args = p.parse_args(argv)
    holder = ModelHolder(load_served(SHIPPED_MODEL))
    with tempfile.TemporaryDirectory() as home:
        personal = PersonalModels(
            holder, Path(home) / "drawings.sqlite3", data=None, budget=Budget("teachings", 100, 1000)
        )
        started = time.perf_counter()
        personal.warm().join()
        print(f"replay set (shipped sample, 4,000 digits): built in {time.perf_counter() - started:.2f} s")
        ctx = AppContext(holder, JobManager(holder), Settings(), holder.current.path, None, personal)
        taught, wall, cpu = timed(lambda: personal.teach(lesson(8)[:30], None, "bench"))
        model = personal.lookup(taught.profile).model
        size = model.memory.nbytes if model is not None else 0
        print(f"taught 30 drawings in {wall:.2f} s ({cpu:.2f} CPU s); memory {size / 1e3:.0f} KB: {taught.message}")
        reading_cost(ctx, taught.profile, args.rounds)
        heavy_teach(ctx, personal, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
