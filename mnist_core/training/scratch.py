"""Train the dense network: seeded, cancellable within a batch, reporting progress to any subscriber.

Imports TensorFlow at module level: only training needs it, serving never imports this module.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mnist_core.config import HyperParams
from mnist_core.data.mnist import Split, split
from mnist_core.data.renderings import PAD, Variation, render_digits
from mnist_core.data.unipen import PenDigit, part
from mnist_core.errors import first_line
from mnist_core.imaging.deskew import deskew_digits
from mnist_core.model.network import build_model
from mnist_core.training.augment import augment_batch
from mnist_core.training.bitmap_styles import style_copies


@dataclass(frozen=True)
class Progress:
    """One report: after every few batches (phase "batch") and after every epoch (phase "epoch")."""

    phase: str
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    batches: int
    loss: float
    accuracy: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    fraction: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None


ProgressFn = Callable[[Progress], None]


@dataclass
class TrainResult:
    model: keras.Model
    hp: HyperParams
    status: str  # "completed", "cancelled" or "failed"
    message: str
    seconds: float
    n_train: int
    n_val: int
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "completed"


@keras.saving.register_keras_serializable(package="mnist_core")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then cosine decay to ~0: converges faster and flatter than a constant rate."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.25) -> None:
        self.peak, self.total_steps, self.warmup = peak, total_steps, warmup

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        up = max(1.0, self.warmup * self.total_steps)
        down = max(1.0, self.total_steps - up)
        rising = self.peak / 25 + (self.peak - self.peak / 25) * step / up
        progress = ops.clip((step - up) / down, 0.0, 1.0)
        falling = self.peak * (1e-3 + (1 - 1e-3) * 0.5 * (1 + ops.cos(math.pi * progress)))
        return ops.where(step < up, rising, falling)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup": self.warmup}


@dataclass(frozen=True)
class Pool:
    """Training images as entries that each own `count` images; an epoch draws one of them per entry.

    MNIST digits own one image each; a pen digit owns several pad drawings of itself, so every epoch
    sees a fresh drawing of each writer's digit, not one frozen rendering.
    """

    # (M, 28, 28) 0–255 as given, scaled to [0, 1] in-graph per batch: uint8 (every real caller) holds a quarter
    # of float32's memory, which is most of a default training's peak; floats pass through (the NaN fault).
    images: np.ndarray
    start: np.ndarray  # (E,) index of each entry's first image
    count: np.ndarray  # (E,) how many images the entry owns
    labels: np.ndarray  # (E,) digit of each entry

    @classmethod
    def build(cls, mnist: Split, pens: tuple[np.ndarray, np.ndarray] | None = None, weight: int = 1) -> Pool:
        """mnist: (N, 28, 28) images and labels; pens: (P, K, 28, 28) drawings and labels, listed `weight` times."""
        x, y = mnist
        images = [np.asarray(x).reshape(-1, 28, 28)]
        start, count, labels = [np.arange(len(x))], [np.ones(len(x), np.int64)], [np.asarray(y, np.int64)]
        if pens is not None and len(pens[0]) and weight > 0:
            drawings, pen_labels = pens
            k = drawings.shape[1]
            images.append(np.asarray(drawings).reshape(-1, 28, 28))
            first = len(x) + np.arange(len(drawings)) * k
            start += [first] * weight
            count += [np.full(len(drawings), k, np.int64)] * weight
            labels += [np.asarray(pen_labels, np.int64)] * weight
        return cls(np.concatenate(images), np.concatenate(start), np.concatenate(count), np.concatenate(labels))

    def __len__(self) -> int:
        return len(self.labels)


def make_dataset(x: np.ndarray, y: np.ndarray, hp: HyperParams, training: bool) -> Any:
    """tf.data pipeline over plain images: one image per entry (validation, benches)."""
    return pool_dataset(Pool.build((x, y)), hp, training)


def pool_dataset(pool: Pool, hp: HyperParams, training: bool) -> Any:
    """Shuffle entries, batch, pick one image per entry in-graph, augment whole batches, flatten, prefetch."""
    images = tf.constant(pool.images)
    start, count = tf.constant(pool.start), tf.constant(pool.count)
    labels = tf.constant(np.eye(10, dtype=np.float32)[pool.labels])

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        n = tf.gather(count, idx)
        pick = tf.gather(start, idx) + tf.cast(tf.random.uniform(tf.shape(idx)) * tf.cast(n, tf.float32), tf.int64)
        chosen = tf.gather(images, tf.minimum(pick, tf.gather(start, idx) + n - 1))
        return tf.cast(chosen, tf.float32) / 255.0, tf.gather(labels, idx)

    ds = tf.data.Dataset.range(len(pool))
    if training:
        ds = ds.shuffle(len(pool), seed=hp.seed, reshuffle_each_iteration=True)
    ds = ds.batch(hp.batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if training and hp.augment:
        ds = ds.map(lambda a, b: (augment_batch(a, hp), b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda a, b: (tf.reshape(a, [-1, 784]), b))
    return ds.prefetch(tf.data.AUTOTUNE)


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
    val = render_digits(val_digits, 1, seed=hp.seed + 1, variation=PAD)[:, 0]
    return (drawings, np.array([d.label for d in train_digits], np.uint8)), (
        val,
        np.array([d.label for d in val_digits], np.uint8),
    )


def compile_model(model: keras.Model, hp: HyperParams, total_steps: int) -> None:
    lr = OneCycle(hp.learning_rate, total_steps) if hp.lr_schedule == "one_cycle" else hp.learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=hp.label_smoothing),
        metrics=["accuracy"],
        jit_compile=True,  # XLA fuses the dense+relu+dropout chain; measured by bench/train_throughput.py
    )


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
    (x_tr, y_tr), (x_val, y_val) = split(*train_data, hp)
    if hp.style_extras:
        sx, sy = style_copies(x_tr, y_tr, seed=hp.seed)
        x_tr, y_tr = np.concatenate([x_tr, sx]), np.concatenate([y_tr, sy])
    pen_train = None
    if hp.pens and pens:
        pen_train, (pen_val_x, pen_val_y) = pen_sets(hp, pens)
        x_val, y_val = np.concatenate([x_val, pen_val_x]), np.concatenate([y_val, pen_val_y])
    if hp.deskew:
        x_tr, x_val = deskew_digits(x_tr), deskew_digits(x_val)
        if pen_train is not None:
            pen_train = (deskew_digits(pen_train[0].reshape(-1, 28, 28)).reshape(pen_train[0].shape), pen_train[1])
    pool = Pool.build((x_tr, y_tr), pen_train, hp.pen_weight)
    steps = math.ceil(len(pool) / hp.batch_size)
    model = build_model(hp)
    compile_model(model, hp, steps * hp.epochs)
    watcher = _Watcher(hp, steps, on_progress, cancel, report_every_s)
    val = make_dataset(x_val, y_val, hp, training=False) if len(x_val) else None
    started = time.perf_counter()
    try:
        model.fit(
            pool_dataset(pool, hp, training=True),
            epochs=hp.epochs,
            validation_data=val,
            callbacks=[watcher],
            verbose=0,
            shuffle=False,
        )
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the caller keeps its old model
        watcher.failure = f"training failed: {type(exc).__name__}: {first_line(exc)}"
    seconds = time.perf_counter() - started
    if watcher.failure:
        status, message = "failed", watcher.failure
    elif cancel is not None and cancel.is_set():
        status, message = "cancelled", f"cancelled after {len(watcher.history)} of {hp.epochs} epochs"
    else:
        status, message = (
            "completed",
            f"trained {hp.epochs} epoch{'s' * (hp.epochs != 1)} on {len(pool):,} images in {seconds:.0f} s",
        )
    return TrainResult(model, hp, status, message, seconds, len(pool), len(x_val), watcher.history)


class _Stop(Exception):
    """Raised from a callback to leave `fit` at once, between two batches."""


class _Watcher(keras.callbacks.Callback):
    """Progress reports, the cancel flag checked after every batch, NaN detection."""

    def __init__(
        self,
        hp: HyperParams,
        steps: int,
        on_progress: ProgressFn | None,
        cancel: threading.Event | None,
        report_every_s: float,
    ) -> None:
        super().__init__()
        self.hp, self.steps, self.on_progress, self.cancel = hp, steps, on_progress, cancel
        self.report_every_s = report_every_s
        self.history: list[dict[str, float]] = []
        self.failure: str | None = None
        self.epoch = 0
        self.started = time.perf_counter()
        self.last_report = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def _progress(self, phase: str, batch: int, logs: dict) -> Progress:
        done = self.epoch * self.steps + batch
        total = self.hp.epochs * self.steps
        elapsed = time.perf_counter() - self.started
        fraction = done / total
        return Progress(
            phase=phase,
            epoch=self.epoch + 1,
            epochs=self.hp.epochs,
            batch=batch,
            batches=self.steps,
            loss=float(logs.get("loss", math.nan)),
            accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=_opt(logs.get("val_loss")),
            val_accuracy=_opt(logs.get("val_accuracy")),
            fraction=fraction,
            elapsed_s=elapsed,
            eta_s=elapsed * (1 - fraction) / fraction if fraction > 0 else None,
        )

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (
                f"loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}; lower the learning rate"
            )
            raise _Stop
        if self.cancel is not None and self.cancel.is_set():
            raise _Stop  # not stop_training: that would still run this epoch's validation
        now = time.perf_counter()
        if self.on_progress and now - self.last_report >= self.report_every_s:
            self.last_report = now
            self.on_progress(self._progress("batch", batch + 1, logs))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        if self.failure or (self.cancel is not None and self.cancel.is_set()):
            return
        self.history.append({k: float(v) for k, v in logs.items()} | {"epoch": epoch + 1})
        if self.on_progress:
            self.on_progress(self._progress("epoch", self.steps, logs))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
