"""Fine-tuning on corrected drawings: how long it takes and what it buys, for 100, 500 and 2,000 drawings.

The drawings are a style the shipped model misreads: UNIPEN's real pen 0s with a slash through them
(a programmer's or an engineer's zero; the model reads about a third as 0, most as 8), drawn as the
web pad sends strokes, each stored as a correction of what the model read (`add_slashed_zeros`, which
tests/test_finetune.py uses too). For each size a fresh store is filled, then `finetune.finetune` runs
with its defaults (3 epochs, learning rate 2e-4, 12,000 replayed MNIST training images, 1,000 replayed
UNIPEN training writers' digits unless --no-pens). Prints the fine-tune's seconds (rendering the
drawings' variants and both evaluations included, filling the store not), accuracy on the held-out
fifth of the drawings and on MNIST test, before → after, and whether the new model would be served;
also, as a check that old skills are kept but not part of the decision, plain real handwriting:
UNIPEN's held-out writers as the pad draws them (`pens.test_drawings`). Nothing is saved.

    MNIST_DATA=../shared/data/mnist UNIPEN_DATA=../shared/data/unipen python -m bench.finetune \\
        [--model PATH] [--sizes 100 500 2000] [--no-pens] [--replay 12000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_core import pens
from mnist_core.config import SHIPPED_MODEL
from mnist_core.data import load_mnist
from mnist_core.drawings import DrawingStore
from mnist_core.inference import Classifier
from mnist_core.storage import load_classifier
from mnist_core.strokes import to_mnist


def slashed(strokes: tuple[np.ndarray, ...], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The digit's strokes plus a slash from below its bottom-left to above its top-right."""
    points = np.concatenate(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    size = hi - lo
    over = rng.uniform(0.0, 0.15, 2)
    start = (lo[0] - over[0] * size[0], hi[1] + over[0] * size[1])
    end = (hi[0] + over[1] * size[0], lo[1] - over[1] * size[1])
    return (*strokes, np.linspace(start, end, 12).astype(np.float32))


def add_slashed_zeros(store: DrawingStore, digits: list[pens.PenDigit], classifier: Classifier, count: int,
                      seed: int = 0) -> None:
    """`count` slashed zeros from random UNIPEN 0s, stored as corrections of what `classifier` read."""
    rng = np.random.default_rng(seed)
    zeros = [d for d in digits if d.label == 0]
    for i in rng.choice(len(zeros), size=count, replace=len(zeros) < count):
        drawing = pens.pad_drawing(slashed(zeros[i].strokes, rng), rng, pens.PAD)
        image = to_mnist(drawing)
        if image is not None:
            probs = classifier.predict(image[None])[0]
            store.add(0, image, strokes=drawing, predicted=int(probs.argmax()), probabilities=probs,
                      model_version="bench")


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(classifier.predict(images.astype(np.float32) / 255).argmax(axis=1) == labels))


def run(model: Path, size: int, digits: list[pens.PenDigit], data: tuple, pen_test: tuple[np.ndarray, np.ndarray],
        use_pens: bool, replay: int) -> str:
    from mnist_core.finetune import finetune

    base = load_classifier(model)
    with tempfile.TemporaryDirectory() as tmp:
        store = DrawingStore(Path(tmp) / "drawings.sqlite3")
        add_slashed_zeros(store, digits, base, size, seed=size)
        counts = store.counts()
        started = time.perf_counter()
        out = finetune(model, store, data, pens=digits if use_pens else None, replay=replay)
        seconds = time.perf_counter() - started
    if out.after is None:
        return f"{size:>6,} {out.status}: {out.reason}"
    tuned = Classifier.from_arrays(out.model.get_weights(), deskew=base.deskew)
    pens_before, pens_after = accuracy(base, *pen_test), accuracy(tuned, *pen_test)
    return (f"{counts.total:>6,} {counts.total - counts.holdout:>6,} {counts.holdout:>5,} {seconds:>6.1f} "
            f"{out.counts['pool']:>7,}  {out.before.holdout:>6.1%} → {out.after.holdout:<6.1%} "
            f"{out.before.mnist:>7.2%} → {out.after.mnist:<7.2%} {pens_before:>6.1%} → {pens_after:<6.1%} "
            f"{'yes' if out.serve else 'no':>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="the base .keras model (read only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--no-pens", action="store_true", help="replay MNIST only")
    parser.add_argument("--replay", type=int, default=12_000, help="MNIST training images replayed")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before finetune imports TensorFlow
    digits, data = pens.load_unipen(), load_mnist()
    pen_test = pens.test_drawings(digits)
    print(f"model {args.model}, replay {args.replay:,} MNIST{'' if args.no_pens else ' + 1,000 pens'}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'drawn':>6} {'train':>6} {'held':>5} {'sec':>6} {'pool':>7}  {'held-out before → after':<23} "
          f"{'MNIST test before → after':<25} {'pens test before → after':<24} serve")
    for size in args.sizes:
        print(run(args.model, size, digits, data, pen_test, not args.no_pens, args.replay), flush=True)


if __name__ == "__main__":
    main()
