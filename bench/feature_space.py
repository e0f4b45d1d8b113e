"""Which layer a personal memory should compare drawings in (`Classifier.features`), for each network.

For every UNIPEN writer of the chosen side, the first `--k` drawings of each digit are "taught" (kept as
vectors of a layer) and the writer's other digits are read three ways: by the nearest taught drawing alone
(cosine similarity), by the network alone, and by the network with a memory bonus (log-probabilities +
`--weight` × each digit's best similarity, as issue #31's scratch measurement did). Two layers are compared:
what the last hidden layer receives (`Classifier.trunk`: the dense network's first hidden layer, the
convolutional network's flattened maps) and the last hidden layer itself (`Classifier.hidden`). Tune on
`--writers val` (never on the held-out test writers).

    UNIPEN_DATA=../shared/data/unipen python -m bench.feature_space MODEL.keras [MODEL.keras …] [--k 3]
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mnist_core.data import renderings, unipen  # noqa: E402
from mnist_core.model.files import load_classifier  # noqa: E402
from mnist_core.model.forward import Classifier  # noqa: E402


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def per_writer(
    classifier: Classifier, layer: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
    writers: np.ndarray, k: int, weight: float,
) -> tuple[list[float], list[float], list[float]]:  # fmt: skip
    """Each writer's accuracy on the digits not taught: nearest taught drawing, network alone, network + bonus."""
    x = classifier.inputs(images.astype(np.float32) / 255)
    vectors, logp = unit(layer(x)), np.log(np.maximum(classifier.forward(x), 1e-9))
    nearest, alone, bonus = [], [], []
    for writer in np.unique(writers):
        rows = np.flatnonzero(writers == writer)
        taught = np.concatenate([rows[labels[rows] == d][:k] for d in range(10)])
        rest = np.setdiff1d(rows, taught)
        if len(np.unique(labels[taught])) < 10 or len(rest) < 10:
            continue  # an incomplete memory, or too few digits left to read: the writer is left out
        similarity = vectors[rest] @ vectors[taught].T  # (queries, taught)
        best = np.full((len(rest), 10), -1.0)
        for d in range(10):
            best[:, d] = similarity[:, labels[taught] == d].max(axis=1)
        truth = labels[rest]
        nearest.append(float(np.mean(best.argmax(axis=1) == truth)))
        alone.append(float(np.mean(logp[rest].argmax(axis=1) == truth)))
        bonus.append(float(np.mean((logp[rest] + weight * best).argmax(axis=1) == truth)))
    return nearest, alone, bonus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--writers", choices=("val", "test"), default="val")
    parser.add_argument("--k", type=int, default=3, help="drawings of each digit taught per writer")
    parser.add_argument("--weight", type=float, default=10.0, help="the memory bonus's weight on the similarity")
    args = parser.parse_args()
    digits = unipen.load_unipen()
    images, labels = renderings.test_drawings(digits, args.writers)
    writers = np.array([d.writer for d in unipen.part(digits, args.writers)])
    print(
        f"UNIPEN {args.writers} writers with {args.k} of each digit taught and ≥ 10 digits left to read, "
        "mean over writers (worst writer with the bonus)"
    )
    print(f"{'model':<14}{'layer':<44}{'width':>6}{'nearest':>9}{'network':>9}{'+ bonus':>9}{'worst':>8}")
    for path in args.models:
        classifier = load_classifier(path)
        layers = {
            "trunk (what the last hidden layer receives)": classifier.trunk,
            "hidden (the last hidden layer)": classifier.hidden,
        }
        for name, layer in layers.items():
            nearest, alone, bonus = per_writer(classifier, layer, images, labels, writers, args.k, args.weight)
            width = layer(np.zeros((1, 784), np.float32)).shape[1]
            print(
                f"{path.stem:<14}{name:<44}{width:>6}{np.mean(nearest):>9.4f}{np.mean(alone):>9.4f}"
                f"{np.mean(bonus):>9.4f}{min(bonus):>8.4f}"
            )
        probe = classifier.inputs(images[:4].astype(np.float32) / 255)
        served = [n.split()[0] for n, f in layers.items() if np.array_equal(f(probe), classifier.features(probe))]
        print(f"{'':<14}its features() today: {', '.join(served) or 'neither'}")


if __name__ == "__main__":
    main()
