"""Proxy for real handwriting: MNIST *test* digits redrawn as a person would on a canvas, plus font digits.

All 10,000 test digits are used, each drawn once in one of four renderings (about five minutes):
1,000 digits drawn four times each left the score at the mercy of which 1,000 were picked. Each
digit is thinned to its skeleton and redrawn with a round pen of random width (6–30 px) on a
400–800 px canvas, at a random size (30–80% of the canvas) and position, in four renderings: black ink
on white, ink on a transparent background (what sketch-pad layers hold), light ink on dark, and a
pencil photo on unevenly lit grey paper. A fifth set redraws test 1s, 7s and 9s with the styles
MNIST lacks (flag and base on 1, crossbar on 7, hook on 9; mnist_core.training.bitmap_styles) in black on white.
Font digits come from the TrueType fonts on the machine.
Prints accuracy per rendering and overall, naive whole-canvas resize vs our preprocessing.

    MNIST_DATA=../shared/data/mnist python -m bench.drawn_digits [--n 2500] [--model PATH]
    ... --threshold        accuracy of predictions above/below each confidence cut (the "not sure" bar)
    ... --stroke-stats     MNIST's mean stroke width, the target of stroke normalisation
    ... --compare-options  our preprocessing with and without stroke normalisation
    ... --digits held-out  redraw the training digits the default preset holds out for validation
                           instead: a set to tune preprocessing on without looking at MNIST test
"""

from __future__ import annotations

import argparse
import glob
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.common import classify, naive_resize, patch_stroke_width
from mnist_core.config import PRESETS
from mnist_core.data.mnist import load_mnist, split
from mnist_core.imaging import pictures
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier
from mnist_core.model.versions import serving_path
from mnist_core.training.bitmap_styles import crossed_seven, hooked_nine, serifed_one

RENDERINGS = ("ink-on-white", "ink-on-transparent", "light-on-dark", "pencil-photo")


def skeleton(digit: np.ndarray, up: int = 4) -> np.ndarray:
    """Zhang–Suen thinning of the upscaled digit: the pen path a writer followed."""
    big = np.asarray(Image.fromarray(digit).resize((28 * up, 28 * up), Image.Resampling.BILINEAR)) > 110
    img = np.pad(big, 1).astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:-1])
            transitions = sum(((a == 0) & (b == 1)).astype(np.uint8) for a, b in zip(ring[:-1], ring[1:], strict=False))
            if step == 0:
                cond = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                cond = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (img[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if remove.any():
                img[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def redraw(digit: np.ndarray, rng: np.random.Generator, rendering: str) -> Image.Image:
    """One drawing of `digit` on a canvas the way a sketch pad (or a phone camera) would deliver it."""
    skel = skeleton(digit)
    ys, xs = np.nonzero(skel)
    size = int(rng.integers(400, 801))
    height = rng.uniform(0.3, 0.8) * size
    scale = height / (skel.shape[0] * 20 / 28)  # MNIST digits are ~20 px of 28 tall
    pen = float(rng.uniform(6, 30))
    span_y = (ys.max() - ys.min()) * scale
    span_x = (xs.max() - xs.min()) * scale
    top = rng.uniform(pen, max(pen + 1, size - span_y - pen)) - ys.min() * scale
    left = rng.uniform(pen, max(pen + 1, size - span_x - pen)) - xs.min() * scale
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    r = pen / 2
    for y, x in zip(ys * scale + top, xs * scale + left, strict=False):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    if rendering == "ink-on-transparent":
        black = Image.new("RGBA", (size, size), (0, 0, 0, 255))
        black.putalpha(mask)
        return black
    if rendering == "ink-on-white":
        return Image.merge("RGB", [Image.eval(mask, lambda v: 255 - v)] * 3)
    if rendering == "light-on-dark":
        return Image.eval(mask, lambda v: 30 + v * 200 // 255)
    return _photo(mask, rng)


def _photo(mask: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Pencil on grey paper, light falling from one side, sensor noise, JPEG."""
    size = mask.width
    ys, xs = np.indices((size, size))
    angle = rng.uniform(0, 2 * np.pi)
    light = 140 + 60 * (np.cos(angle) * xs + np.sin(angle) * ys) / size
    ink = np.asarray(mask.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64) / 255.0
    strength = rng.uniform(0.45, 0.75)
    photo = light * (1 - strength * ink) + rng.normal(0, 5, light.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=80)
    return Image.open(io.BytesIO(buf.getvalue()))


def styled_digits(
    x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[list[Image.Image], np.ndarray]:
    """Test 1s, 7s and 9s with a European flag, crossbar or hook added, then drawn on a canvas."""
    stylers = {1: serifed_one, 7: crossed_seven, 9: hooked_nine}
    images, labels = [], []
    for i in rng.permutation(np.flatnonzero(np.isin(y, list(stylers)))):
        styled = stylers[int(y[i])](x[i], rng)
        if styled is None:
            continue
        images.append(redraw(np.clip(styled, 0, 255).astype(np.uint8), rng, "ink-on-white"))
        labels.append(int(y[i]))
        if len(images) == n:
            break
    return images, np.array(labels)


def font_digits(rng: np.random.Generator) -> list[tuple[Image.Image, int]]:
    """Every digit in every TrueType font on the machine, at a random size and place on a canvas."""
    fonts = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))
    out = []
    for path in fonts:
        for digit in range(10):
            size = int(rng.integers(400, 801))
            font = ImageFont.truetype(path, int(size * rng.uniform(0.3, 0.7)))
            img = Image.new("RGB", (size, size), "white")
            draw = ImageDraw.Draw(img)
            box = draw.textbbox((0, 0), str(digit), font=font)
            x = rng.uniform(0, max(1, size - (box[2] - box[0]))) - box[0]
            y = rng.uniform(0, max(1, size - (box[3] - box[1]))) - box[1]
            draw.text((x, y), str(digit), fill="black", font=font)
            out.append((img, digit))
    return out


def _accuracy(
    classifier: Classifier,
    images: list[Image.Image],
    labels: np.ndarray,
    options: pictures.Options = pictures.DEFAULT,
    tta: bool = False,
) -> tuple[float, float, np.ndarray]:
    ours = [pictures.image_to_mnist(img, options) for img in images]
    blank = np.array([x is None for x in ours])
    batch = np.stack([np.zeros((28, 28), np.float32) if x is None else x for x in ours])
    probs = classify(classifier, batch, tta)
    correct = (probs.argmax(axis=1) == labels) & ~blank
    naive = classifier.predict(np.stack([naive_resize(img) for img in images]))
    return float(correct.mean()), float((naive.argmax(axis=1) == labels).mean()), np.where(blank[:, None], 0.0, probs)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--n", type=int, default=2500, help="digits per rendering (default: all 10,000 test digits, each drawn once)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    parser.add_argument("--threshold", action="store_true")
    parser.add_argument("--stroke-stats", action="store_true")
    parser.add_argument("--compare-options", action="store_true")
    parser.add_argument("--tta", action="store_true", help="also score test-time augmentation")
    parser.add_argument(
        "--digits",
        choices=("test", "held-out"),
        default="test",
        help="MNIST test digits, or the default preset's validation split of the training set",
    )
    return parser.parse_args()


def drawn_sets(
    x_test: np.ndarray, y_test: np.ndarray, per: int, rng: np.random.Generator
) -> list[tuple[str, list[np.ndarray], np.ndarray]]:
    """Each rendering's own digits (none drawn twice), styled 1/7/9 and font digits."""
    picks = rng.choice(len(x_test), size=per * len(RENDERINGS), replace=False).reshape(len(RENDERINGS), per)
    sets = [
        (name, [redraw(x_test[i], rng, name) for i in pick], y_test[pick])
        for name, pick in zip(RENDERINGS, picks, strict=False)
    ]
    sets.append(("styled 1/7/9", *styled_digits(x_test, y_test, per // 2, rng)))
    fonts = font_digits(rng)
    if fonts:
        sets.append(("font digits", [img for img, _ in fonts], np.array([d for _, d in fonts])))
    return sets


def threshold_table(probs: np.ndarray, labels: np.ndarray) -> None:
    conf, right = probs.max(axis=1), probs.argmax(axis=1) == labels
    print("confidence cut   share below   accuracy below   accuracy above")
    for cut in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        below = conf < cut
        acc_below = right[below].mean() if below.any() else float("nan")
        print(f"{cut:>14.1f}{below.mean():>14.3f}{acc_below:>17.3f}{right[~below].mean():>17.3f}")


def main() -> None:
    args = parse_args()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    if args.digits == "held-out":
        (_, _), (x_test, y_test) = split(x_train, y_train, PRESETS["default"])
    if args.stroke_stats:
        widths = [patch_stroke_width(d) for d in x_train[:2000]]
        print(
            f"MNIST training digits: mean stroke width {np.mean(widths):.2f} px, median {np.median(widths):.2f}"
            f" (pictures.MNIST_STROKE = {pictures.MNIST_STROKE})"
        )
        return
    model_path = Path(args.model) if args.model else serving_path()
    classifier = load_classifier(model_path)
    rng = np.random.default_rng(args.seed)
    per = min(args.n, len(x_test) // len(RENDERINGS))
    print(f"model {model_path}; {per} MNIST {args.digits} digits per rendering, each drawn once, seed {args.seed}")
    print(f"{'rendering':<22}{'naive resize':>14}{'ours':>10}{'images':>9}")
    all_ours, all_naive, all_probs, all_labels = [], [], [], []
    variants = {"no stroke normalisation": pictures.Options(normalise_stroke=False)} if args.compare_options else {}
    variant_scores: dict[str, list[float]] = {k: [] for k in variants}
    if args.tta:
        variant_scores["test-time augmentation"] = []
    started = time.perf_counter()
    sets = drawn_sets(x_test, y_test, per, rng)
    for name, images, labels in sets:
        ours, naive, probs = _accuracy(classifier, images, labels)
        print(f"{name:<22}{naive:>14.3f}{ours:>10.3f}{len(images):>9}", flush=True)
        all_ours.append(ours * len(images))
        all_naive.append(naive * len(images))
        all_probs.append(probs)
        all_labels.append(labels)
        for key, options in variants.items():
            variant_scores[key].append(_accuracy(classifier, images, labels, options)[0] * len(images))
        if args.tta:
            variant_scores["test-time augmentation"].append(
                _accuracy(classifier, images, labels, tta=True)[0] * len(images)
            )
    total = sum(len(images) for _, images, _ in sets)
    print(f"{'overall':<22}{sum(all_naive) / total:>14.3f}{sum(all_ours) / total:>10.3f}{total:>9}")
    for key, scores in variant_scores.items():
        print(f"ours with {key}: {sum(scores) / total:.3f}")
    if args.threshold:
        threshold_table(np.concatenate(all_probs), np.concatenate(all_labels))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
