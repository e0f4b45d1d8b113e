"""One gradio_client, sequential /predict calls with a sketchpad value: p50/p95 (target p50 ≤ 150 ms).

gradio_client opens a new httpx client for every upload and every queue join; each one builds an SSL
context and loads the CA bundle unless it is handed one (`ssl_verify=ssl.create_default_context()`,
still verifying certificates). So the calls are timed with the client as constructed by default and
with one shared SSL context. Also printed: /ping (same input, constant answer), the same calls over
Gradio's HTTP protocol directly (upload → queue/join → SSE, as the browser does), and a minimal
one-Sketchpad Gradio app in its own process: the floor any app has here.

    python -m bench.api_latency [--model PATH] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mnist_ui.testing import running_app

ROOT = Path(__file__).resolve().parent.parent

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


def clients(url: str) -> dict[str, object]:
    """The two ways to construct the client: its defaults, and one SSL context for all its requests."""
    import ssl

    from gradio_client import Client

    return {
        "defaults": Client(url, verbose=False),
        "shared SSL context": Client(url, verbose=False, ssl_verify=ssl.create_default_context()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file (default: what the demo would serve)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as home:
        with running_app(Path(args.model) if args.model else None, Path(home)) as app:
            for label, client in clients(app.url).items():
                timed_calls(client, "/predict", sketch_value(), 5)
                rows.append(
                    (f"/predict, client {label}", timed_calls(client, "/predict", sketch_value(), args.requests))
                )
                rows.append((f"/ping, client {label}", timed_calls(client, "/ping", sketch_value(), args.requests)))
            rows.append(("/predict, HTTP protocol", asyncio.run(raw_calls(app.url, args.requests))))
    for label, values in minimal_app_calls(args.requests).items():
        rows.append((f"minimal app, client {label}", values))
    for name, values in rows:
        ms = [1000 * t for t in values]
        print(
            f"{name:40s} {len(ms)} sequential: p50 {statistics.median(ms):4.0f} ms, "
            f"p95 {percentile(ms, 0.95):4.0f} ms, max {max(ms):4.0f} ms"
        )
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


MINIMAL_APP = """
import sys
import gradio as gr
with gr.Blocks() as app:
    pad, out = gr.Sketchpad(), gr.JSON()
    pad.change(lambda _: {"digit": None}, pad, out, api_name="constant")
app.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def minimal_app_calls(count: int) -> dict[str, list[float]]:
    """The floor for any Gradio app here: one Sketchpad, a constant answer, served by its own process."""
    import os
    import subprocess

    from mnist_ui.testing import free_port, wait_until_served

    port = free_port()
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        server = subprocess.Popen([sys.executable, "-c", MINIMAL_APP, str(port)], stdout=log, stderr=log, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_served(url, server, Path(log.name), 60)
            out = {}
            for label, client in clients(url).items():
                timed_calls(client, "/constant", sketch_value(), 5)
                out[label] = timed_calls(client, "/constant", sketch_value(), count)
            return out
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
