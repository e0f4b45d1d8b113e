"""What a reading with a personal model costs beside a shared one, on the pad's path (issue #19: ≤ 1.5×).

Both through `mnist_ui.components.fast_read.read_values`, as the pad's server function calls it, one drawing at
a time and in batches of 8 (a crowd's drawings share a pass; a batch of different visitors reads once per model),
interleaved so a busy machine slows both alike; the profile is taught first on the shipped replay sample. Also
how long the replay set takes to build (done in a background thread when the demo starts).

    python -m bench.personal_read [--rounds 200]
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from mnist_core.config import SHIPPED_MODEL  # noqa: E402
from mnist_core.serving.holder import ModelHolder, load_served  # noqa: E402
from mnist_core.serving.jobs import JobManager  # noqa: E402
from mnist_ui.components.fast_read import read_values  # noqa: E402
from mnist_ui.server.context import AppContext, Settings  # noqa: E402
from mnist_ui.server.personal import PersonalModels  # noqa: E402
from mnist_ui.testing import FOUR, ONE, SEVEN, ZERO, pad_value  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=200)
    args = p.parse_args(argv)
    holder = ModelHolder(load_served(SHIPPED_MODEL))
    with tempfile.TemporaryDirectory() as home:
        personal = PersonalModels(holder, Path(home) / "drawings.sqlite3", data=None)
        started = time.perf_counter()
        personal.warm().join()
        print(f"replay set (shipped sample, 4,000 digits): built in {time.perf_counter() - started:.2f} s")
        ctx = AppContext(holder, JobManager(holder), Settings(), holder.current.path, None, personal)
        values = [json.dumps(pad_value(s)) for s in (ZERO, ONE, SEVEN, FOUR)]
        lesson = [{"label": label, "strokes": v} for label, v in zip((0, 1, 7, 4), values, strict=True)] * 3
        taught = personal.teach(lesson, None, "bench")
        print(f"taught: {taught.message}")
        key = taught.profile
        for size in (1, 8):
            whose = {"shared": None, "personal": key}
            batches = {name: [(values[i % 4], k, False) for i in range(size)] for name, k in whose.items()}
            times: dict[str, list[float]] = {"shared": [], "personal": []}
            for _ in range(args.rounds):
                for name, batch in batches.items():
                    t = time.perf_counter()
                    answers = read_values(ctx, list(batch))
                    times[name].append(time.perf_counter() - t)
                    assert all(a.model == name for a in answers), answers
            shared, mine = (statistics.median(times[n]) * 1000 for n in ("shared", "personal"))
            print(f"batch of {size}: shared {shared:.2f} ms, personal {mine:.2f} ms, ratio {mine / shared:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
