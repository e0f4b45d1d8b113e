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

from .augment import augment_batch
from .config import HyperParams
from .data import Split, split
from .model import build_model
from .preprocess import deskew_digits
from .styles import style_copies


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


def make_dataset(x: np.ndarray, y: np.ndarray, hp: HyperParams, training: bool) -> Any:
    """tf.data pipeline: shuffle, batch, augment whole batches in-graph, flatten, prefetch."""
    images = x.astype(np.float32) / 255.0
    labels = np.eye(10, dtype=np.float32)[y]
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        ds = ds.shuffle(len(images), seed=hp.seed, reshuffle_each_iteration=True)
    ds = ds.batch(hp.batch_size)
    if training and hp.augment:
        ds = ds.map(lambda a, b: (augment_batch(a, hp), b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda a, b: (tf.reshape(a, [-1, 784]), b))
    return ds.prefetch(tf.data.AUTOTUNE)


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
) -> TrainResult:
    """Fit a fresh model on `train_data` (uint8 images, int labels); never raises for cancel or NaN."""
    hp.validate()
    keras.utils.set_random_seed(hp.seed)
    (x_tr, y_tr), (x_val, y_val) = split(*train_data, hp)
    if hp.style_extras:
        sx, sy = style_copies(x_tr, y_tr, seed=hp.seed)
        x_tr, y_tr = np.concatenate([x_tr, sx]), np.concatenate([y_tr, sy])
    if hp.deskew:
        x_tr, x_val = deskew_digits(x_tr), deskew_digits(x_val)
    steps = math.ceil(len(x_tr) / hp.batch_size)
    model = build_model(hp)
    compile_model(model, hp, steps * hp.epochs)
    watcher = _Watcher(hp, steps, on_progress, cancel, report_every_s)
    val = make_dataset(x_val, y_val, hp, training=False) if len(x_val) else None
    started = time.perf_counter()
    try:
        model.fit(make_dataset(x_tr, y_tr, hp, training=True), epochs=hp.epochs, validation_data=val,
                  callbacks=[watcher], verbose=0, shuffle=False)
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the caller keeps its old model
        watcher.failure = f"training failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    seconds = time.perf_counter() - started
    if watcher.failure:
        status, message = "failed", watcher.failure
    elif cancel is not None and cancel.is_set():
        status, message = "cancelled", f"cancelled after {len(watcher.history)} of {hp.epochs} epochs"
    else:
        status, message = "completed", f"trained {hp.epochs} epoch{'s' * (hp.epochs != 1)} on {len(x_tr):,} images in {seconds:.0f} s"
    return TrainResult(model, hp, status, message, seconds, len(x_tr), len(x_val), watcher.history)


class _Stop(Exception):
    """Raised from a callback to leave `fit` at once, between two batches."""


class _Watcher(keras.callbacks.Callback):
    """Progress reports, the cancel flag checked after every batch, NaN detection."""

    def __init__(self, hp: HyperParams, steps: int, on_progress: ProgressFn | None,
                 cancel: threading.Event | None, report_every_s: float) -> None:
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
            phase=phase, epoch=self.epoch + 1, epochs=self.hp.epochs, batch=batch, batches=self.steps,
            loss=float(logs.get("loss", math.nan)), accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=_opt(logs.get("val_loss")), val_accuracy=_opt(logs.get("val_accuracy")),
            fraction=fraction, elapsed_s=elapsed,
            eta_s=elapsed * (1 - fraction) / fraction if fraction > 0 else None)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = f"loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}; lower the learning rate"
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
