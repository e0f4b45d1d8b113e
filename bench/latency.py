"""In-process latency of one drawing: the pad's strokes, or an 800×800 RGBA canvas → preprocessing → model.

Targets on this 2-core machine: p50 ≤ 5 ms, p95 ≤ 15 ms. Each run draws a different digit-like
stroke set so caching cannot flatter the numbers.

    python -m bench.latency [--model PATH] [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_core.imaging.strokes import parse
from mnist_core.model.files import load_classifier
from mnist_core.model.versions import serving_path
from mnist_core.serving.readings import read_digits, read_drawings


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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    classifier = load_classifier(Path(args.model) if args.model else serving_path())
    rng = np.random.default_rng(0)
    images = [canvas(rng) for _ in range(args.runs)]
    arrays = [np.asarray(img) for img in images]
    pads = [pad_value(rng) for _ in range(args.runs)]
    for img in images[:20]:
        read_digits(classifier, [img], workers=1)
    cases = (
        ("stroke pad JSON (parse, draw, preprocess, model)", pads, lambda v: read_drawings(classifier, [parse(v)])),
        ("PIL RGBA canvas", images, lambda v: read_digits(classifier, [v], workers=1)),
        ("NumPy RGBA array", arrays, lambda v: read_digits(classifier, [v], workers=1)),
    )
    for label, inputs, read in cases:
        times = []
        for item in inputs:
            start = time.perf_counter()
            read(item)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"{label}: p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms, "
            f"mean {statistics.mean(times):.2f} ms over {len(times)} drawings (targets: p50 ≤ 5, p95 ≤ 15)"
        )
    x = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        classifier.predict(x)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"model alone (NumPy matmuls, one 28×28): p50 {percentile(times, 50):.2f} ms, "
        f"p95 {percentile(times, 95):.2f} ms"
    )


if __name__ == "__main__":
    main()
