"""The one fit loop of every recipe: compile, fit a pool, report progress, stop within a batch on cancel or NaN.

Imports TensorFlow at module level: only training needs it, serving never imports this module.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mnist_core.config import HyperParams
from mnist_core.errors import first_line
from mnist_core.training.pool import Pool, plain_dataset, pool_dataset

Status = Literal["completed", "cancelled", "failed"]


@dataclass(frozen=True)
class Progress:
    """One report: after every few batches (phase "batch") and after every epoch (phase "epoch")."""

    phase: Literal["batch", "epoch"]
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


@dataclass(frozen=True)
class Fitted:
    """How a fit ended: `stopped` is the one-line reason when it did not complete, '' when it did."""

    status: Status
    stopped: str
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


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


@keras.saving.register_keras_serializable(package="mnist_core")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam (same formula, no amsgrad) as TensorFlow's one fused kernel per weight: without XLA, Keras'
    update is eight elementwise passes over each weight and its two moments, a quarter of a bfloat16 step."""

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        index = self._get_variable_index(variable)
        step = ops.cast(self.iterations + 1, variable.dtype)

        def const(value: Any) -> Any:
            return ops.cast(value, variable.dtype)

        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=ops.power(const(self.beta_1), step),
            beta2_power=ops.power(const(self.beta_2), step),
            lr=const(learning_rate),
            beta1=const(self.beta_1),
            beta2=const(self.beta_2),
            epsilon=const(self.epsilon),
            grad=const(gradient),
        )


class ByteDropout(keras.layers.Layer):
    """Keras' Dropout with one random byte per unit instead of one random float: after the matmuls, Keras' masks
    were a bfloat16 step's largest cost (`python -m bench.train_throughput --steps` times one layer both ways).
    The rate is rounded to 1/256 (0.5 is exact) and kept units are scaled by 256 / (256 - cut), so the expected
    activation is unchanged all the same."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed
        self.cut = round(rate * 256)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.cut == 0:
            return inputs
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
        shape = tf.shape(inputs)
        words = tf.random.stateless_uniform([(tf.size(inputs) + 3) // 4], seed, None, None, tf.uint32)
        noise = tf.reshape(tf.bitcast(words, tf.uint8), [-1])[: tf.size(inputs)]
        keep = tf.cast(tf.reshape(noise, shape) >= self.cut, inputs.dtype)
        return inputs * keep * tf.cast(256 / (256 - self.cut), inputs.dtype)


def compile_model(model: keras.Model, hp: HyperParams, total_steps: int) -> None:
    lr = OneCycle(hp.learning_rate, total_steps) if hp.lr_schedule == "one_cycle" else hp.learning_rate
    adam = FusedAdam if hp.bf16 else keras.optimizers.Adam  # float32: XLA fuses Keras' Adam itself
    model.compile(
        optimizer=adam(learning_rate=lr),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=hp.label_smoothing),
        metrics=["accuracy"],
        # float32: XLA fuses the dense+relu+dropout chain and Adam's updates. bfloat16: XLA's CPU matmuls run at
        # float32 speed; oneDNN's use the CPU's bf16 instructions (AVX-512 BF16 on this EPYC, AMX on recent Xeons).
        # The convolutional network never: XLA's CPU convolutions made a float32 step cost 1.9× the plain fit's CPU
        # (`python -m bench.train_throughput --architecture cnn`), oneDNN's are the plain fit's own
        jit_compile=not hp.bf16 and hp.architecture == "dense",
    )


def training_twin(model: keras.Model, hp: HyperParams) -> keras.Model:
    """The model that `fit` trains: `model` itself, or with hp.bf16 a copy whose hidden layers compute in
    bfloat16 (weights stay float32) and drop out by ByteDropout, so saved models, their evaluation and the
    NumPy server stay float32 and plain Keras."""
    if not hp.bf16:
        return model
    output = model.layers[-1]

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.layers.Dropout):
            return ByteDropout(layer.rate, layer.seed, name=layer.name, dtype="mixed_bfloat16")
        config = layer.get_config() | ({} if layer is output else {"dtype": "mixed_bfloat16"})
        return layer.__class__.from_config(config)

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def fit(
    model: keras.Model,
    pool: Pool,
    hp: HyperParams,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    report_every_s: float = 0.5,
    what: str = "training",
) -> Fitted:
    """Train `model` in place for hp.epochs over `pool`; never raises: a failure or a cancel is the result."""
    steps = math.ceil(len(pool) / hp.batch_size)
    trained = training_twin(model, hp)
    compile_model(trained, hp, steps * hp.epochs)
    watcher = _Watcher(hp, steps, on_progress, cancel, report_every_s)
    val = plain_dataset(*validation, hp) if validation is not None and len(validation[1]) else None
    started = time.perf_counter()
    try:
        trained.fit(
            pool_dataset(pool, hp, training=True),
            epochs=hp.epochs,
            validation_data=val,
            callbacks=[watcher],
            verbose=0,
            shuffle=False,  # pool_dataset shuffles; Keras would only warn that it ignores its own
        )
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the caller keeps its old model
        watcher.failure = f"{what} failed: {type(exc).__name__}: {first_line(exc)}"
    seconds = time.perf_counter() - started
    if trained is not model:
        model.set_weights(trained.get_weights())
    if watcher.failure:
        return Fitted("failed", watcher.failure, seconds, watcher.history)
    if cancel is not None and cancel.is_set():
        return Fitted("cancelled", f"cancelled after {len(watcher.history)} of {hp.epochs} epochs", seconds)
    return Fitted("completed", "", seconds, watcher.history)


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

    def _progress(self, phase: Literal["batch", "epoch"], batch: int, logs: dict) -> Progress:
        fraction = (self.epoch * self.steps + batch) / (self.hp.epochs * self.steps)
        elapsed = time.perf_counter() - self.started
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
        if not all(np.isfinite(v.numpy()).all() for v in self.model.trainable_variables):
            # bfloat16 ReLUs turn NaN into 0, so NaN weights can leave the loss finite: checked once an epoch
            self.failure = f"the weights became nan in epoch {epoch + 1}; lower the learning rate"
            raise _Stop
        self.history.append({k: float(v) for k, v in logs.items()} | {"epoch": epoch + 1})
        if self.on_progress:
            self.on_progress(self._progress("epoch", self.steps, logs))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
