"""The from-scratch recipe: MNIST (with extra styles), real pen handwriting and deskewing, fitted by `fit.fit`.

Imports TensorFlow at module level: only training needs it, serving never imports this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import keras
import numpy as np

from mnist_core.config import HyperParams
from mnist_core.data.mnist import Split, split
from mnist_core.data.renderings import PAD, Variation, render_digits, render_fixed
from mnist_core.data.unipen import PenDigit, part
from mnist_core.imaging.deskew import deskew_digits
from mnist_core.model.network import build_model
from mnist_core.training.bitmap_styles import style_copies
from mnist_core.training.fit import ProgressFn, Status, fit
from mnist_core.training.pool import Group, Pool


@dataclass
class TrainResult:
    model: keras.Model
    hp: HyperParams
    status: Status
    message: str
    seconds: float
    n_train: int
    n_val: int
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "completed"


def pen_sets(hp: HyperParams, pens: list[PenDigit]) -> tuple[tuple[np.ndarray, np.ndarray], Split]:
    """Pad drawings of UNIPEN's training writers (hp.pen_variants each) and one of each validation writer's digits.

    With hp.pen_val_writers the validation writers train too and the second part is empty. Test writers
    never get here: the split is by writer (mnist_core.data.unipen.writer_split).
    """
    train_digits, val_digits = part(pens, "train"), part(pens, "val")
    if hp.train_subset:  # short runs take a proportional share of the training pens
        train_digits = train_digits[: max(1, round(len(train_digits) * hp.train_subset / 60_000))]
    if hp.pen_val_writers:
        train_digits, val_digits = train_digits + val_digits, []
    drawings = render_digits(train_digits, hp.pen_variants, seed=hp.seed, variation=Variation(styles=hp.pen_styles))
    val = render_fixed(val_digits, 1, hp.seed + 1, PAD)[:, 0]  # the same set every training of a seed: kept on disk
    return (drawings, np.array([d.label for d in train_digits], np.uint8)), (
        val,
        np.array([d.label for d in val_digits], np.uint8),
    )


def training_sets(hp: HyperParams, train_data: Split, pens: list[PenDigit] | None) -> tuple[Pool, Split]:
    """The recipe's training pool and validation images: MNIST's split, its style copies, the pen writers' drawings
    (hp.pen_weight times an epoch) and their validation digits, all deskewed when the recipe says so."""
    (x_tr, y_tr), (x_val, y_val) = split(*train_data, hp)
    if hp.style_extras:
        sx, sy = style_copies(x_tr, y_tr, seed=hp.seed)
        x_tr, y_tr = np.concatenate([x_tr, sx]), np.concatenate([y_tr, sy])
    groups = [Group(x_tr, y_tr)]
    if hp.pens and pens:
        (drawings, labels), (pen_val_x, pen_val_y) = pen_sets(hp, pens)
        x_val, y_val = np.concatenate([x_val, pen_val_x]), np.concatenate([y_val, pen_val_y])
        groups.append(Group(drawings, labels, hp.pen_weight))
    if hp.deskew:
        x_val = deskew_digits(x_val)
        groups = [g.deskewed() for g in groups]
    return Pool.of(groups), (x_val, y_val)


def train(
    hp: HyperParams,
    train_data: Split,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    report_every_s: float = 0.5,
    pens: list[PenDigit] | None = None,
) -> TrainResult:
    """Fit a fresh model on `train_data` (uint8 images, int labels) and, with `hp.pens`, the pen digits'
    training writers; never raises for cancel or NaN."""
    hp.validate()
    if hp.pens and not pens:
        raise ValueError("this preset trains on real pen handwriting: set UNIPEN_DATA (or --pens), or turn pens off")
    keras.utils.set_random_seed(hp.seed)
    pool, validation = training_sets(hp, train_data, pens)
    model = build_model(hp)
    fitted = fit(model, pool, hp, validation, on_progress, cancel, report_every_s)
    message = fitted.stopped or (
        f"trained {hp.epochs} epoch{'s' * (hp.epochs != 1)} on {len(pool):,} images in {fitted.seconds:.0f} s"
    )
    return TrainResult(model, hp, fitted.status, message, fitted.seconds, len(pool), len(validation[1]), fitted.history)
