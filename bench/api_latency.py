"""One gradio_client, sequential /predict calls with a sketchpad value: p50/p95 (target p50 ≤ 150 ms).

    python bench/api_latency.py [--model PATH] [--requests 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from app_helpers import running_app  # noqa: E402

EXAMPLE = ROOT / "assets" / "examples" / "mnist_test_0004_digit_4.png"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_calls(client, api_name: str, payload, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        client.predict(payload, api_name=api_name)
        latencies.append(time.perf_counter() - started)
    return latencies


def sketch_value(path: Path = EXAMPLE) -> dict:
    from gradio_client import handle_file

    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def main() -> int:
    from gradio_client import Client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file (default: what the demo would serve)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        with running_app(Path(args.model) if args.model else None, Path(home)) as app:
            client = Client(app.url, verbose=False)
            timed_calls(client, "/predict", sketch_value(), 5)
            latencies = timed_calls(client, "/predict", sketch_value(), args.requests)
    ms = [1000 * t for t in latencies]
    print(f"/predict sequential, {len(ms)} requests: p50 {statistics.median(ms):.0f} ms, "
          f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms (target p50 ≤ 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
