"""20 concurrent clients × 20 requests on loopback: /predict side by side with the trivial /ping.

Both endpoints take the same sketchpad value through the same queue; /ping returns a constant, so
p95(predict)/p95(ping) is what the model and preprocessing add under load (target ≤ 1.3).

The clients speak Gradio's own HTTP protocol (upload → queue/join → SSE until process_completed,
exactly what gradio_client sends) from one asyncio loop: twenty threaded gradio_client instances
burn more CPU than the server on a 2-core machine and would measure themselves.

    python -m bench.api_load [--model PATH] [--clients 20] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.api_latency import EXAMPLE, percentile
from mnist_ui.testing import running_app


class Caller:
    """One browser-like client: its own session and keep-alive connection."""

    def __init__(self, base: str, fn_index: int, png: bytes) -> None:
        self.base, self.fn_index, self.png = base.rstrip("/") + "/gradio_api", fn_index, png
        self.session = uuid.uuid4().hex[:11]
        self.http = httpx.AsyncClient(timeout=120)

    async def call(self) -> dict:
        upload = await self.http.post(f"{self.base}/upload", files={"files": ("digit.png", self.png, "image/png")})
        upload.raise_for_status()
        path = upload.json()[0]
        value = {
            "background": None,
            "layers": [],
            "composite": {"path": path, "orig_name": "digit.png", "meta": {"_type": "gradio.FileData"}},
        }
        joined = await self.http.post(
            f"{self.base}/queue/join",
            json={
                "data": [value],
                "event_data": None,
                "fn_index": self.fn_index,
                "trigger_id": None,
                "session_hash": self.session,
            },
        )
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        async with self.http.stream("GET", f"{self.base}/queue/data", params={"session_hash": self.session}) as sse:
            async for line in sse.aiter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                    if not msg.get("success"):
                        raise RuntimeError(str(msg.get("output"))[:200])
                    return msg["output"]["data"][0]
        raise RuntimeError("stream closed before the result")


async def load(url: str, fn_index: int, clients: int, requests: int) -> tuple[list[float], int, float]:
    """Latencies (s), error count and wall time (s)."""
    png = EXAMPLE.read_bytes()
    callers = [Caller(url, fn_index, png) for _ in range(clients)]
    latencies: list[float] = []
    errors = 0

    async def run(caller: Caller) -> None:
        nonlocal errors
        for _ in range(requests):
            began = time.perf_counter()
            try:
                await caller.call()
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(run(c) for c in callers))
    wall = time.perf_counter() - began
    for caller in callers:
        await caller.http.aclose()
    return latencies, errors, wall


def fn_indices(url: str) -> dict[str, int]:
    config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
    return {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras file (default: what the demo would serve)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternating rounds per endpoint (with 2, the ratio ranged 1.01–1.41 run to run here)",
    )
    args = parser.parse_args()
    results: dict[str, list[tuple[list[float], int, float]]] = {}
    with tempfile.TemporaryDirectory() as home:
        with running_app(Path(args.model) if args.model else None, Path(home)) as app:
            index = fn_indices(app.url)
            asyncio.run(load(app.url, index["predict"], 4, 5))  # warm-up
            for _ in range(args.rounds):
                for name in ("ping", "predict"):
                    results.setdefault(name, []).append(
                        asyncio.run(load(app.url, index[name], args.clients, args.requests))
                    )
    p95 = {}
    for name, runs in results.items():
        lat = [1000 * t for run in runs for t in run[0]]
        errors = sum(run[1] for run in runs)
        rate = sum(len(run[0]) for run in runs) / sum(run[2] for run in runs)
        p95[name] = percentile(lat, 0.95)
        print(
            f"/{name:8s} {args.clients} clients × {args.requests} requests × {len(runs)} rounds: "
            f"p50 {statistics.median(lat):.0f} ms, p95 {p95[name]:.0f} ms, {rate:.1f} req/s, {errors} errors"
        )
    print(f"ratio p95(/predict) / p95(/ping) = {p95['predict'] / p95['ping']:.2f} (target ≤ 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
