"""In-process latency of one drawing: 800×800 RGBA canvas → preprocessing → model, warmed up.

Targets on this 2-core machine: p50 ≤ 5 ms, p95 ≤ 15 ms. Each run draws a different digit-like
stroke set so caching cannot flatter the numbers.

    python bench/latency.py [--model PATH] [--runs 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_core.predict import read_digit  # noqa: E402
from mnist_core.storage import load_classifier, serving_path  # noqa: E402


def canvas(rng: np.random.Generator) -> Image.Image:
    """Black strokes on a transparent 800×800 RGBA layer, as the sketch pad sends it."""
    img = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    pen = ImageDraw.Draw(img)
    points = [tuple(rng.integers(150, 650, 2).tolist()) for _ in range(5)]
    pen.line(points, fill=(0, 0, 0, 255), width=int(rng.integers(12, 30)), joint="curve")
    return img


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
    for img in images[:20]:
        read_digit(classifier, img)
    for label, inputs in (("PIL RGBA canvas", images), ("NumPy RGBA array (gradio type='numpy')", arrays)):
        times = []
        for item in inputs:
            start = time.perf_counter()
            read_digit(classifier, item)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label}: p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms, "
              f"mean {statistics.mean(times):.2f} ms over {len(times)} drawings (targets: p50 ≤ 5, p95 ≤ 15)")
    x = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        classifier.predict(x)
        times.append((time.perf_counter() - start) * 1000)
    print(f"model alone (NumPy matmuls, one 28×28): p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms")


if __name__ == "__main__":
    main()
