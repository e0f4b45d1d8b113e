"""One gradio_client, sequential /predict calls with a sketchpad value: p50/p95 (target p50 ≤ 150 ms).

Also prints the same sequential calls made over Gradio's HTTP protocol directly (upload → queue/join
→ SSE, as the browser does), and /ping through gradio_client: the gap is the client library's own
cost (it polls its message queue every 50 ms), not the server's. Last, the same client against a
minimal Gradio app (one Textbox, constant answer, no file upload): the floor any app has here.

    python bench/api_latency.py [--model PATH] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
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
            pings = timed_calls(client, "/ping", sketch_value(), args.requests)
            direct = asyncio.run(raw_calls(app.url, args.requests))
    floor = minimal_app_calls(args.requests)
    for name, values in (("/predict via gradio_client", latencies), ("/ping via gradio_client", pings),
                         ("/predict via HTTP protocol", direct), ("minimal Textbox app, client", floor)):
        ms = [1000 * t for t in values]
        print(f"{name:27s} sequential, {len(ms)} requests: p50 {statistics.median(ms):.0f} ms, "
              f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms")
    print("target: /predict p50 ≤ 150 ms")
    return 0


async def raw_calls(url: str, count: int) -> list[float]:
    from api_load import Caller, fn_indices

    caller = Caller(url, fn_indices(url)["predict"], EXAMPLE.read_bytes())
    latencies = []
    for i in range(count + 5):
        started = time.perf_counter()
        await caller.call()
        if i >= 5:
            latencies.append(time.perf_counter() - started)
    await caller.http.aclose()
    return latencies


def minimal_app_calls(count: int) -> list[float]:
    """The floor for any Gradio app here: a one-Textbox endpoint returning a constant, same client."""
    import socket

    import gradio as gr
    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with gr.Blocks() as app:
        text, out = gr.Textbox(), gr.JSON()
        text.submit(lambda _: {"digit": None}, text, out, api_name="constant")
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        timed_calls(client, "/constant", "x", 5)
        return timed_calls(client, "/constant", "x", count)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
