"""Twenty visitors correcting readings at once for a minute, two more reading digits all the while.

Against `python demo.py` started here (its own MNIST_DEMO_HOME, so its own drawings database): each
corrector is a visitor of its own (the rate limit counts per visitor) and sends a freshly wobbled 0, 1
or 7 to /correct as often as the limit allows; two readers draw a 7 on /predict_strokes without pause.
Prints the rows the database gained against the corrections the server said it saved (lost rows),
the refused corrections and why, the readings that failed or read wrong, and the readings' latency
alone and during the corrections.

    python -m bench.correctors [--visitors 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import ssl
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mnist_core.config import PER_MINUTE  # corrections a visitor may save a minute: the correctors stay just under
from mnist_core.config import SHIPPED_MODEL as SHIPPED
from mnist_ui.testing import ONE, SEVEN, ZERO, pad_value, running_app

SHAPES = {0: ZERO, 1: ONE, 7: SEVEN}
SSL = ssl.create_default_context()  # one for every client: gradio_client builds one per call otherwise


def client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, ssl_verify=SSL)


def wobbled(strokes: list, rng: np.random.Generator) -> dict:
    value = pad_value(strokes)
    value["strokes"] = [[[x + rng.normal(0, 3), y + rng.normal(0, 3)] for x, y in s] for s in value["strokes"]]
    return value


def correct_until(url: str, seed: int, stop: threading.Event, saved: list[int], refused: list[str]) -> None:
    me, rng = client(url), np.random.default_rng(seed)
    while not stop.is_set():
        label = int(rng.choice(list(SHAPES)))
        try:
            answer = me.predict(label, wobbled(SHAPES[label], rng), api_name="/correct")
        except Exception as exc:  # noqa: BLE001 - a failed call is what this bench counts
            refused.append(f"call failed: {type(exc).__name__}")
            continue
        if answer["saved"]:
            saved.append(answer["id"])
        else:
            refused.append(answer["message"])
        stop.wait(60 / PER_MINUTE + 0.1)


def read_until(url: str, stop: threading.Event, latencies: list[float], failures: list[str]) -> None:
    me = client(url)
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = me.predict(pad_value(SEVEN), api_name="/predict_strokes")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"call failed: {type(exc).__name__}")
            continue
        latencies.append(time.monotonic() - started)
        if answer["digit"] != 7:
            failures.append(f"read {answer['digit']}")


def readers(url: str, latencies: list[float], failures: list[str]) -> tuple[threading.Event, list]:
    stop = threading.Event()
    threads = [threading.Thread(target=read_until, args=(url, stop, latencies, failures)) for _ in range(2)]
    for t in threads:
        t.start()
    return stop, threads


def ms(latencies: list[float]) -> str:
    return f"p50 {np.median(latencies) * 1000:.0f} ms, p95 {np.percentile(latencies, 95) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_app(SHIPPED, Path(tmp) / "home") as app:
        head = client(app.url)
        before = head.predict(api_name="/drawings")["total"]
        alone: list[float] = []
        during: list[float] = []
        failures: list[str] = []
        stop, threads = readers(app.url, alone, failures)
        time.sleep(10)
        stop.set()
        for t in threads:
            t.join()
        saved: list[int] = []
        refused: list[str] = []
        stop, threads = readers(app.url, during, failures)
        threads += [
            threading.Thread(target=correct_until, args=(app.url, seed, stop, saved, refused))
            for seed in range(args.visitors)
        ]
        for t in threads[2:]:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        after = head.predict(api_name="/drawings")["total"]
    lost = len(set(saved)) - (after - before)
    print(
        f"{args.visitors} visitors correcting for {args.seconds:.0f} s: {len(saved)} saved, {after - before} rows "
        f"added, {lost} lost; {len(refused)} refused {dict(Counter(refused).most_common(3))}"
    )
    print(
        f"readings: {len(during)} during, {len(failures)} failed or wrong {failures[:3]}; alone {ms(alone)}, "
        f"during {ms(during)}"
    )


if __name__ == "__main__":
    main()
