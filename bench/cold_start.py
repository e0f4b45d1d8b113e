"""Cold start of the web demo: process start → first page served, in seconds (target ≤ 10), and the CPU the
server spent from its start until it settles (its background warm-ups included: with MNIST_DATA / UNIPEN_DATA
set it loads them too), which is what every extra server start costs a shared machine or a test run.

python -m bench.cold_start [--model PATH] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.room import cpu_seconds, wait_idle
from mnist_ui.testing import running_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file (default: what the demo would serve)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times, cpus = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            started = time.monotonic()
            with running_app(Path(args.model) if args.model else None, Path(home), timeout=120) as app:
                times.append(time.monotonic() - started)
                wait_idle(app.process.pid)
                cpus.append(cpu_seconds(app.process.pid))
        print(f"run {run + 1}: {times[-1]:.2f} s, {cpus[-1]:.1f} CPU s until settled", flush=True)
    print(
        f"cold start: median {statistics.median(times):.2f} s, best {min(times):.2f} s, "
        f"worst {max(times):.2f} s over {len(times)} runs (target ≤ 10 s); "
        f"CPU until settled: median {statistics.median(cpus):.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
