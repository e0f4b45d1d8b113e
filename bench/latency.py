"""In-process latency of a reading, for both networks in the same run: the pad's strokes → preprocessing → model,
one drawing and a batch of 8 (as the pad's server function batches them), the model alone, and an 800×800
RGBA canvas.

Targets on this 2-core machine: a pad reading p50 ≤ 5 ms, p95 ≤ 15 ms; the convolutional network's reading
≤ 3 ms single and ≤ 2× the dense network's cost per drawing in a batch of 8. Each run draws a different
digit-like stroke set so caching cannot flatter the numbers; the two networks are timed turn about, so a busy
machine slows both alike. One compute thread, as the demo serves.

    python -m bench.latency [--model PATH] [--cnn PATH] [--runs 300]
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from mnist_core.config import SHIPPED_CNN  # noqa: E402
from mnist_core.imaging.strokes import parse  # noqa: E402
from mnist_core.model.files import load_classifier  # noqa: E402
from mnist_core.model.forward import Classifier  # noqa: E402
from mnist_core.model.versions import serving_path  # noqa: E402
from mnist_core.serving.readings import read_digits, read_drawings  # noqa: E402

BATCH = 8


def canvas(rng: np.random.Generator) -> Image.Image:
    """Black strokes on a transparent 800×800 RGBA layer, as the sketch pad sends it."""
    img = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    points = [tuple(rng.integers(150, 650, 2).tolist()) for _ in range(5)]
    pen.line(points, fill=(0, 0, 0, 255), width=int(rng.integers(12, 30)), joint="curve")
    return img


def pad_value(rng: np.random.Generator) -> str:
    """What the stroke pad sends for a digit-like stroke: JSON points on a 448 px pad."""
    points = rng.integers(90, 360, (5, 2)).astype(float)
    path = np.concatenate([np.linspace(a, b, 12) for a, b in zip(points[:-1], points[1:], strict=True)])
    return json.dumps({"v": 1, "width": 448, "height": 448, "strokes": [np.round(path, 1).tolist()]})


def cases(classifier: Classifier, pads: list[str], images: list[Image.Image]) -> dict[str, Callable[[int], Any]]:
    """What is timed for one network: each a function of the run's index, returning after one reading (or batch)."""
    x = np.random.default_rng(1).random((len(pads) + BATCH, 784), dtype=np.float32)
    return {
        "pad, one drawing": lambda i: read_drawings(classifier, [parse(pads[i])]),
        f"pad, batch of {BATCH}": lambda i: read_drawings(classifier, [parse(p) for p in pads[i : i + BATCH]]),
        "model alone, one": lambda i: classifier.forward(x[i : i + 1]),
        f"model alone, batch of {BATCH}": lambda i: classifier.forward(x[i : i + BATCH]),
        "PIL RGBA canvas, one": lambda i: read_digits(classifier, [images[i]], workers=1),
    }


def measure(networks: dict[str, Classifier], runs: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per drawing of every case of every network, the networks interleaved run by run."""
    rng = np.random.default_rng(0)
    pads = [pad_value(rng) for _ in range(runs + BATCH)]
    images = [canvas(rng) for _ in range(runs)]
    timed = {name: cases(c, pads, images) for name, c in networks.items()}
    for name in networks:  # warm-up
        for case in timed[name].values():
            for i in range(10):
                case(i)
    times: dict[str, dict[str, list[float]]] = {n: {c: [] for c in timed[n]} for n in networks}
    for i in range(runs):
        for name, named in timed.items():
            for case, read in named.items():
                start = time.perf_counter()
                read(i)
                per = BATCH if f"batch of {BATCH}" in case else 1
                times[name][case].append((time.perf_counter() - start) * 1000 / per)
    return times


def report(times: dict[str, dict[str, list[float]]], networks: dict[str, Classifier]) -> None:
    names = list(times)
    print(f"ms per drawing, p50 / p95 over {len(times[names[0]]['pad, one drawing'])} runs, networks interleaved:")
    print(f"{'':<26}" + "".join(f"{networks[n].title + ' (' + n + ')':>40}" for n in names))
    for case in times[names[0]]:
        cells = [f"{np.percentile(times[n][case], 50):.2f} / {np.percentile(times[n][case], 95):.2f}" for n in names]
        print(f"{case:<26}" + "".join(f"{c:>40}" for c in cells))
    if len(names) == 2:
        first, second = names
        print(f"\n{second} / {first}, per drawing (medians):")
        for case in times[first]:
            ratio = statistics.median(times[second][case]) / statistics.median(times[first][case])
            print(f"  {case:<26}{ratio:.2f}×")
    print("targets: pad p50 ≤ 5 ms, p95 ≤ 15 ms; convolutional ≤ 3 ms single, ≤ 2× dense in a batch of 8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="the first network's .keras file (default: the model the demo serves)")
    parser.add_argument("--cnn", default=str(SHIPPED_CNN), help="the second's (default: the shipped CNN; '' for none)")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    paths = [Path(args.model) if args.model else serving_path()] + ([Path(args.cnn)] if args.cnn else [])
    networks = {path.stem: load_classifier(path) for path in paths}
    report(measure(networks, args.runs), networks)


if __name__ == "__main__":
    main()
