"""Which convolutional network to ship: candidates side by side on what decides, measured in one run.

Each candidate is a `.keras` file trained with the recipe on the writers it may learn from (`--no-pen-val-writers`,
so UNIPEN's validation writers stay out); the held-out test writers are not read here at all. For each it prints:

- its layers and parameters;
- accuracy on UNIPEN's validation writers drawn as the pad draws (what the shape is chosen on), and MNIST test;
- training cost: the project's fit loop (`bench.train_throughput.ours`, its default precision) on
  `--images` MNIST images, samples/s and CPU ms per step of 220 images (the load-robust measure), the
  candidates interleaved round by round;
- NumPy reading cost, one drawing and per drawing in a batch of 8, against the shipped dense network timed in
  the same rounds (one compute thread, as the demo serves).

    MNIST_DATA=../shared/data/mnist UNIPEN_DATA=../shared/data/unipen python -m bench.cnn_shapes A.keras B.keras …
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mnist_core.config import SHIPPED_MODEL, HyperParams  # noqa: E402
from mnist_core.data import renderings, unipen  # noqa: E402
from mnist_core.data.mnist import load_mnist  # noqa: E402
from mnist_core.model.files import load_classifier, read_metadata  # noqa: E402
from mnist_core.model.forward import Classifier  # noqa: E402

BATCH = 8


def reading_ms(networks: dict[str, Classifier], rounds: int, repeats: int = 50) -> dict[str, tuple[float, float]]:
    """Median ms of one reading and per drawing in a batch of 8, for each network, interleaved."""
    x = np.random.default_rng(0).random((BATCH, 784), dtype=np.float32)
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in networks}
    for _ in range(rounds):
        for name, classifier in networks.items():
            for size, samples in zip((1, BATCH), times[name], strict=True):
                classifier.forward(x[:size])
                start = time.perf_counter()
                for _ in range(repeats):
                    classifier.forward(x[:size])
                samples.append((time.perf_counter() - start) * 1000 / repeats / size)
    return {name: (statistics.median(one), statistics.median(eight)) for name, (one, eight) in times.items()}


def training_cost(hps: dict[str, HyperParams], images: int, rounds: int) -> dict[str, tuple[float, float]]:
    """(samples/s, CPU ms per step) of each candidate's fit loop, medians over rounds, candidates interleaved."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from bench.train_throughput import ours, seed

    (x, y), _ = load_mnist()
    x, y = x[:images], y[:images]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in hps}
    for _ in range(rounds):
        for name, hp in hps.items():
            results[name].append(ours(x, y, seed("cnn").replace(cnn_layers=hp.cnn_layers)))
        keras.backend.clear_session()
    return {
        name: (statistics.median(r for r, _ in ts), statistics.median(c for _, c in ts)) for name, ts in results.items()
    }


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(classifier.predict(images.astype(np.float32) / 255).argmax(axis=1) == labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="candidate .keras files")
    parser.add_argument("--images", type=int, default=8800, help="MNIST images per timed training epoch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    candidates = {path.stem: path for path in args.models}
    hps = {
        name: HyperParams.from_dict(read_metadata(path).get("hyperparameters", {})) for name, path in candidates.items()
    }
    trained_on_val = [name for name, hp in hps.items() if hp.pen_val_writers]
    if trained_on_val:
        raise SystemExit(
            f"error: {', '.join(trained_on_val)} trained on the validation writers; retrain with --no-pen-val-writers"
        )
    networks = {name: load_classifier(path) for name, path in candidates.items()}
    digits = unipen.load_unipen()
    val_images, val_labels = renderings.test_drawings(digits, "val")
    _, (x_test, y_test) = load_mnist()
    dense = load_classifier(SHIPPED_MODEL)
    reading = reading_ms({"dense (shipped)": dense, **networks}, args.rounds)
    training = training_cost(hps, args.images, args.rounds)
    print(f"{len(val_labels):,} digits of UNIPEN's validation writers; load {os.getloadavg()[0]:.1f}")
    head = f"{'':<4}{'layers':<28}{'params':>9}{'val writers':>12}{'MNIST':>8}{'train img/s':>12}{'CPU ms/step':>12}"
    print(head + f"{'read 1 ms':>10}{'read 8 ms/drawing':>19}{'vs dense':>9}")
    base = reading["dense (shipped)"]
    for name, classifier in networks.items():
        one, eight = reading[name]
        rate, cpu = training[name]
        val, mnist = accuracy(classifier, val_images, val_labels), accuracy(classifier, x_test, y_test)
        print(
            f"{name:<4}{hps[name].cnn_layers:<28}{classifier.params:>9,}{val:>12.4f}{mnist:>8.4f}{rate:>12.0f}"
            f"{cpu:>12.1f}{one:>10.2f}{eight:>19.2f}{eight / base[1]:>8.2f}×"
        )
    print(f"{'':<4}{'dense (shipped)':<28}{dense.params:>9,}{'':>56}{base[0]:>10.2f}{base[1]:>19.2f}")


if __name__ == "__main__":
    main()
