"""One client's /predict latency idle vs during a training run on the same server (target ratio ≤ 2×).

Needs MNIST_DATA (the training reads it).

    MNIST_DATA=/path/to/mnist python -m bench.retrain_latency [--model PATH] [--subset 12000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.api_latency import percentile, sketch_value, timed_calls
from mnist_ui.testing import running_app


def main() -> int:
    from gradio_client import Client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file (default: what the demo would serve)")
    parser.add_argument("--subset", type=int, default=12000, help="training images for the run")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    if not os.environ.get("MNIST_DATA"):
        print("set MNIST_DATA to the MNIST folder: the training run needs it", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as home:
        with running_app(Path(args.model) if args.model else None, Path(home)) as app:
            client, trainer = Client(app.url, verbose=False), Client(app.url, verbose=False)
            timed_calls(client, "/predict", sketch_value(), 5)
            idle = timed_calls(client, "/predict", sketch_value(), args.requests)
            job = trainer.submit(
                "fast", args.epochs, 128, 0.1, 1e-3, 0.5, False, False, args.subset, api_name="/retrain"
            )
            while not any(isinstance(o[4], dict) and o[4].get("batches") for o in job.outputs()):
                if job.done():
                    print(f"training ended before it started: {job.outputs()[-1][4]}", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            busy: list[float] = []
            while not job.done() and len(busy) < 10 * args.requests:
                busy += timed_calls(client, "/predict", sketch_value(), 1)
            trainer.predict(api_name="/cancel")
            state = job.outputs()[-1][4]["state"] if job.outputs() else "?"
    idle_ms, busy_ms = [1000 * t for t in idle], [1000 * t for t in busy]
    print(
        f"/predict idle:            p50 {statistics.median(idle_ms):.0f} ms, p95 {percentile(idle_ms, 0.95):.0f} ms "
        f"({len(idle_ms)} requests)"
    )
    print(
        f"/predict during training: p50 {statistics.median(busy_ms):.0f} ms, p95 {percentile(busy_ms, 0.95):.0f} ms "
        f"({len(busy_ms)} requests; training state at the end: {state})"
    )
    print(f"ratio p50 busy / idle = {statistics.median(busy_ms) / statistics.median(idle_ms):.2f} (target ≤ 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
