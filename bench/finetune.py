"""Fine-tuning on corrected drawings: how long it takes and what it buys, for 100, 500 and 2,000 drawings.

The drawings are a style the model misreads, made from UNIPEN's real pen digits with one extra stroke
(`STYLES`): a zero slashed from top-left to bottom-right (the shipped model reads zeros slashed the
other way, which UNIPEN's writers made, but only about a fifth of these, most as 8 or 5), a 7 drawn in
a box, a 9 with a bar over it. The first style the model reads below 70% is used (`misread_style`;
tests/test_finetune.py does the same, so a retrained model that learns one style moves both to the
next). Each drawing is drawn as the web pad sends strokes and stored as a correction of what the model
read. For each size a fresh store is filled, then `finetune.finetune` runs with its defaults (3 epochs,
learning rate 2e-4, 12,000 replayed MNIST training images, 1,000 replayed UNIPEN training writers'
digits unless --no-pens). Prints the fine-tune's seconds (rendering the drawings' variants and both
evaluations included, filling the store not) and the CPU seconds it used (its own and its rendering
workers': on a shared machine, CPU ÷ 2 is about what two idle cores would take), accuracy on the
held-out fifth of the drawings and on MNIST test, before → after, and whether the new model would be
served; also, as a check that old skills are kept but not part of the decision, plain real
handwriting: UNIPEN's held-out writers as the pad draws them (`renderings.test_drawings`). Nothing is saved.

    MNIST_DATA=../shared/data/mnist UNIPEN_DATA=../shared/data/unipen python -m bench.finetune \\
        [--model PATH] [--sizes 100 500 2000] [--style NAME] [--no-pens] [--replay 12000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnist_core.config import SHIPPED_MODEL
from mnist_core.data import renderings, unipen
from mnist_core.data.mnist import load_mnist
from mnist_core.drawings.store import DrawingStore
from mnist_core.imaging.strokes import drawing_to_mnist
from mnist_core.model.assemble import classifier_from_keras
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier

Strokes = tuple[np.ndarray, ...]


def _line(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    return np.linspace(start, end, 12).astype(np.float32)  # points along it, so pad variation can wobble it


def backslash(strokes: Strokes, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> Strokes:
    """A slash from above the top-left to below the bottom-right."""
    over = rng.uniform(0.0, 0.15, 2)
    return (*strokes, _line(lo - over[0] * (hi - lo), hi + over[1] * (hi - lo)))


def box(strokes: Strokes, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> Strokes:
    """A box drawn round the digit in one stroke, as on a form."""
    a, b = lo - rng.uniform(0.1, 0.2) * (hi - lo).max(), hi + rng.uniform(0.1, 0.2) * (hi - lo).max()
    corners = np.array([[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]])
    return (*strokes, np.concatenate([_line(p, q) for p, q in zip(corners, corners[1:], strict=False)]))


def overline(strokes: Strokes, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> Strokes:
    """A bar above the digit, a little wider than it."""
    half, centre = 0.6 * max(hi[0] - lo[0], 0.5 * (hi[1] - lo[1])), (lo[0] + hi[0]) / 2
    y = lo[1] - rng.uniform(0.1, 0.2) * (hi[1] - lo[1])
    return (*strokes, _line(np.array([centre - half, y]), np.array([centre + half, y])))


STYLES: dict[str, tuple[int, Callable[[Strokes, np.ndarray, np.ndarray, np.random.Generator], Strokes]]] = {
    "backslashed 0": (0, backslash),
    "boxed 7": (7, box),
    "overlined 9": (9, overline),
}


def styled_drawings(digits: list[unipen.PenDigit], style: str, count: int, seed: int) -> list:
    """`count` pad drawings (strokes.Drawing) of random UNIPEN digits of the style's label, in that style."""
    label, add_stroke = STYLES[style]
    rng = np.random.default_rng(seed)
    pool = [d for d in digits if d.label == label]
    out = []
    for i in rng.choice(len(pool), size=count, replace=len(pool) < count):
        points = np.concatenate(pool[i].strokes)
        styled = add_stroke(pool[i].strokes, points.min(axis=0), points.max(axis=0), rng)
        out.append(renderings.pad_drawing(styled, rng, renderings.PAD))
    return out


def misread_style(classifier: Classifier, digits: list[unipen.PenDigit], below: float = 0.7) -> str | None:
    """The first style `classifier` reads below `below` on 100 drawings, or None when it reads them all."""
    for style, (label, _) in STYLES.items():
        images = [drawing_to_mnist(d) for d in styled_drawings(digits, style, 100, seed=1)]
        read = [i for i in images if i is not None]
        if read and np.mean(classifier.predict(np.stack(read)).argmax(axis=1) == label) < below:
            return style
    return None


def add_styled(
    store: DrawingStore, digits: list[unipen.PenDigit], classifier: Classifier, style: str, count: int, seed: int = 0
) -> None:
    """`count` drawings in `style`, stored as corrections of what `classifier` read."""
    for drawing in styled_drawings(digits, style, count, seed):
        image = drawing_to_mnist(drawing)
        if image is not None:
            probs = classifier.predict(image[None])[0]
            store.add(
                STYLES[style][0],
                image,
                strokes=drawing,
                predicted=int(probs.argmax()),
                probabilities=probs,
                model_version="bench",
            )


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(classifier.predict(images.astype(np.float32) / 255).argmax(axis=1) == labels))


def run(
    model: Path,
    style: str,
    size: int,
    digits: list[unipen.PenDigit],
    data: tuple,
    pen_test: tuple[np.ndarray, np.ndarray],
    use_pens: bool,
    replay: int,
) -> str:
    from mnist_core.training.finetune import finetune

    base = load_classifier(model)
    with tempfile.TemporaryDirectory() as tmp:
        store = DrawingStore(Path(tmp) / "drawings.sqlite3")
        add_styled(store, digits, base, style, size, seed=size)
        counts = store.counts()
        started, cpu_started = time.perf_counter(), sum(os.times()[:4])
        out = finetune(model, store, data, pens=digits if use_pens else None, replay=replay)
        seconds, cpu = time.perf_counter() - started, sum(os.times()[:4]) - cpu_started
    if out.after is None:
        return f"{size:>6,} {out.status}: {out.reason}"
    tuned = classifier_from_keras(out.model, deskew=base.deskew)
    pens_before, pens_after = accuracy(base, *pen_test), accuracy(tuned, *pen_test)
    return (
        f"{counts.total:>6,} {counts.total - counts.holdout:>6,} {counts.holdout:>5,} {seconds:>6.1f} {cpu:>6.1f} "
        f"{out.counts['pool']:>7,}  {out.before.holdout:>6.1%} → {out.after.holdout:<6.1%} "
        f"{out.before.mnist:>7.2%} → {out.after.mnist:<7.2%} {pens_before:>6.1%} → {pens_after:<6.1%} "
        f"{'yes' if out.serve else 'no':>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="the base .keras model (read only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--style", choices=list(STYLES), help="default: the first the model reads below 70%%")
    parser.add_argument("--no-pens", action="store_true", help="replay MNIST only")
    parser.add_argument("--replay", type=int, default=12_000, help="MNIST training images replayed")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before finetune imports TensorFlow
    digits, data = unipen.load_unipen(), load_mnist()
    style = args.style or misread_style(load_classifier(args.model), digits)
    if style is None:
        raise SystemExit(f"{args.model} reads every style in STYLES; add one it misreads")
    pen_test = renderings.test_drawings(digits)
    print(
        f"model {args.model}, style {style}, replay {args.replay:,} MNIST{'' if args.no_pens else ' + 1,000 pens'}"
        f", {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'drawn':>6} {'train':>6} {'held':>5} {'sec':>6} {'cpu s':>6} {'pool':>7}  {'held-out before → after':<23} "
        f"{'MNIST test before → after':<25} {'pens test before → after':<24} serve"
    )
    for size in args.sizes:
        print(run(args.model, style, size, digits, data, pen_test, not args.no_pens, args.replay), flush=True)


if __name__ == "__main__":
    main()
