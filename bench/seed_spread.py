"""The seed preset's spread: the Spanish notebook's run (60 training images, 3 epochs) over several seeds.

Trained on 60 images, the network's MNIST test accuracy depends on which random weights it starts from and on
the order it sees the 60 in: one seed's figure says little. This trains the `seed` preset exactly as
`python -m mnist_core train --preset seed --seed S` does (same split, same recipe, nothing saved) for each seed,
and the first seed twice (is one seed's run repeatable on this machine?), and prints each MNIST test accuracy,
their mean, standard deviation and range.

    MNIST_DATA=../shared/data/mnist python -m bench.seed_spread [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from mnist_core import tf_logs
from mnist_core.config import describe, preset
from mnist_core.data.mnist import DataError, load_mnist
from mnist_core.model.forward import Classifier
from mnist_core.model.reports import evaluate


def accuracy(seed: int, data: tuple) -> float:
    """MNIST test accuracy of the seed preset trained with `seed`."""
    from mnist_core.training.scratch import train

    hp = preset("seed").replace(seed=seed)
    (x_train, y_train), (x_test, y_test) = data
    result = train(hp, (x_train, y_train))
    classifier = Classifier.from_arrays(result.model.get_weights(), deskew=hp.deskew)
    return evaluate(classifier, x_test, y_test).accuracy


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.seed_spread", description=__doc__)
    p.add_argument("--seeds", type=int, default=10, help="seeds 0, 1, … N-1 (at least 5)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.seeds < 5:
        p.error("--seeds must be at least 5: fewer say nothing about a spread")
    try:
        data = load_mnist()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tf_logs.quiet()
    with tf_logs.importing():
        import mnist_core.training.scratch  # noqa: F401 - TensorFlow loads here, its start-up lines held back
    runs = {seed: accuracy(seed, data) for seed in range(args.seeds)}
    again = accuracy(0, data)
    values = list(runs.values())
    summary = {
        "preset": describe(preset("seed")),
        "accuracy by seed": runs,
        "seed 0 again": again,
        "mean": statistics.mean(values),
        "stdev": statistics.stdev(values),
        "min": min(values),
        "max": max(values),
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"seed preset: {summary['preset']}")
    for seed, value in runs.items():
        print(f"  seed {seed}: MNIST test {value:.2%}")
    print(f"  seed 0 again: {again:.2%} ({'the same' if again == runs[0] else 'not the same'} as its first run)")
    print(
        f"over {len(values)} seeds: mean {summary['mean']:.2%}, standard deviation {summary['stdev']:.2%}, "
        f"range {summary['min']:.2%}–{summary['max']:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
