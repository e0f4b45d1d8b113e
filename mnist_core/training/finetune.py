"""Teach the serving model the drawings people corrected, without making it forget MNIST.

Starts from the serving model's weights and trains a few epochs at a low constant rate on the
collected drawings (each redrawn several ways from its strokes) mixed with a fresh random sample of
MNIST training images, and real pen handwriting when given: replaying old data alongside the new is
what keeps old skills. The result is judged before vs after on MNIST test and on the held-out fifth
of the collected drawings (never trained on); `serve` says whether it is at least as good on both.
Imports TensorFlow: only the fine-tune job needs this module, serving never imports it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_core.config import HyperParams
from mnist_core.data.renderings import render_digits
from mnist_core.data.unipen import PenDigit, part
from mnist_core.drawings.store import DrawingStore
from mnist_core.errors import first_line
from mnist_core.imaging.deskew import deskew_digits
from mnist_core.model.files import file_digest, load_classifier, load_keras, read_metadata, save_model
from mnist_core.model.forward import Classifier
from mnist_core.model.reports import Report, report_from_probs, save_report
from mnist_core.training.bitmap_styles import style_copies
from mnist_core.training.scratch import Pool, ProgressFn, _Stop, _Watcher, compile_model, pool_dataset
from mnist_core.training.workflow import library_versions

LEARNING_RATE = 2e-4  # a tenth of the default preset's peak: nudge the weights, do not retrain them
VARIANTS = 6  # drawings made of each collected stroke drawing; every epoch sees one of them
RENDER_BUDGET = 6_000  # redrawings per fine-tune (~2 ms each): many collected drawings get fewer variants each
REPLAY = 12_000  # MNIST training images replayed: 8,000 cost 0.19 MNIST points, 12,000 0.07 (bench/finetune.py)
PEN_REPLAY = 1_000  # UNIPEN training writers' digits replayed, two drawings each, when pens are given
COLLECTED_SHARE = 0.2  # of each epoch, roughly: the collected drawings' weight is chosen to reach it
MAX_WEIGHT = 8  # times one collected drawing may be listed per epoch
MAX_MNIST_DROP_POINTS = 0.3  # the new model may lose at most this much MNIST test accuracy (points)
MAX_EPOCHS = 20

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class FinetuneError(ValueError):
    """Nothing to fine-tune on, bad settings, or nothing to save; one line for the UI."""


@dataclass(frozen=True)
class Collected:
    """Collected drawings as arrays: training drawings several ways each, held-out ones as the model saw them."""

    train: np.ndarray  # (N, K, 28, 28) uint8
    train_labels: np.ndarray  # (N,)
    holdout: np.ndarray  # (H, 28, 28) uint8
    holdout_labels: np.ndarray  # (H,)

    @classmethod
    def from_store(cls, store: DrawingStore, variants: int | None = None, seed: int = 0) -> Collected:
        """`variants` defaults to VARIANTS, fewer (at least 2) when the drawings would take over RENDER_BUDGET."""
        if variants is None:
            counts = store.counts()
            variants = min(VARIANTS, max(2, RENDER_BUDGET // max(1, counts.total - counts.holdout)))
        train, labels = store.training_images(variants, seed)
        return cls(train, labels, *store.holdout_set())


@dataclass(frozen=True)
class Scores:
    mnist: float  # accuracy on MNIST test
    holdout: float | None  # accuracy on the held-out collected drawings; None when there are none


@dataclass
class FinetuneOutcome:
    model: keras.Model
    status: str  # "completed", "cancelled" or "failed"
    serve: bool  # at least as good as the base on MNIST test (within 0.3 points) and on held-out drawings
    reason: str  # one line: why (not) serve it, or why it stopped
    before: Scores
    after: Scores | None
    base_path: Path
    base_hp: HyperParams  # how the base was trained (its deskew contract included)
    hp: HyperParams  # what the fine-tune ran with
    counts: dict[str, int]
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    report: Report | None = None  # the new model on MNIST test, for its sidecar and evaluation cache
    test_images: np.ndarray | None = field(default=None, repr=False)


def decide(before: Scores, after: Scores, max_drop_points: float = MAX_MNIST_DROP_POINTS) -> tuple[bool, str]:
    """Serve only a model that is not worse: MNIST test within `max_drop_points`, held-out drawings not lower."""
    drop = (before.mnist - after.mnist) * 100
    mnist = f"MNIST test {before.mnist:.2%} → {after.mnist:.2%}"
    if before.holdout is None or after.holdout is None:
        return False, f"keep the current model: no held-out drawings to check it on yet ({mnist})"
    held = f"held-out drawings {before.holdout:.1%} → {after.holdout:.1%}"
    if drop > max_drop_points:
        return False, f"keep the current model: {mnist} fell {drop:.2f} points (at most {max_drop_points}); {held}"
    if after.holdout < before.holdout:
        return False, f"keep the current model: {held} got worse; {mnist}"
    return True, f"serve the new model: {held}, {mnist}"


def finetune(
    base_model_path: str | Path,
    store_or_arrays: DrawingStore | Collected,
    mnist_data: Data,
    pens: Sequence[PenDigit] | None = None,
    epochs: int = 3,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    *,
    variants: int | None = None,
    replay: int = REPLAY,
    pen_replay: int = PEN_REPLAY,
    weight: int | None = None,
    learning_rate: float = LEARNING_RATE,
    batch_size: int = 128,
    seed: int = 0,
) -> FinetuneOutcome:
    """Fine-tune the model at `base_model_path`; never saves (see `save_finetuned`), never raises for cancel or NaN.

    `mnist_data` is what `data.load_mnist` returns. Raises FinetuneError (nothing collected, bad settings)
    and storage.ModelError (unusable base model).
    """
    started = time.perf_counter()
    if not 1 <= epochs <= MAX_EPOCHS:
        raise FinetuneError(f"epochs must be 1–{MAX_EPOCHS}")
    collected = (
        store_or_arrays
        if isinstance(store_or_arrays, Collected)
        else Collected.from_store(store_or_arrays, variants, seed)
    )
    if not len(collected.train_labels):
        raise FinetuneError("no collected drawings to learn from yet; correct a few readings first")
    base = Path(base_model_path)
    served = load_classifier(base)
    base_hp, hp = _settings(base, served, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = mnist_data
    test_inputs = served.inputs(x_test.astype(np.float32) / 255.0)  # deskewed once for before and after
    before = Scores(_accuracy(served.forward(test_inputs), y_test), _holdout_accuracy(served, collected))
    pool, counts = replay_pool(collected, (x_train, y_train), pens, hp, replay, pen_replay, weight)
    outcome = FinetuneOutcome(
        load_keras(base), "completed", False, "", before, None, base, base_hp, hp, counts, 0.0, test_images=x_test
    )
    _fit(outcome, pool, on_progress, cancel)
    if outcome.status == "completed":
        tuned = Classifier.from_arrays(outcome.model.get_weights(), deskew=served.deskew)
        outcome.report = report_from_probs(tuned.forward(test_inputs), y_test, tuned.params)
        outcome.after = Scores(outcome.report.accuracy, _holdout_accuracy(tuned, collected))
        outcome.serve, outcome.reason = decide(before, outcome.after)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _settings(base: Path, served: Classifier, **changes: Any) -> tuple[HyperParams, HyperParams]:
    """How the base was trained (its deskew contract as served) and what the fine-tune runs with: the base's
    recipe at a constant low rate, no validation split, every image; FinetuneError (one line) if out of range."""
    base_hp = HyperParams.from_dict(read_metadata(base).get("hyperparameters", {})).replace(deskew=served.deskew)
    hp = base_hp.replace(lr_schedule="constant", validation_split=0.0, train_subset=0, **changes)
    try:
        hp.validate()
    except ValueError as exc:
        raise FinetuneError(str(exc)) from None
    return base_hp, hp


def _accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels)))


def _holdout_accuracy(classifier: Classifier, collected: Collected) -> float | None:
    if not len(collected.holdout_labels):
        return None
    return _accuracy(classifier.predict(collected.holdout.astype(np.float32) / 255.0), collected.holdout_labels)


def replay_pool(
    collected: Collected,
    mnist_train: tuple[np.ndarray, np.ndarray],
    pens: Sequence[PenDigit] | None,
    hp: HyperParams,
    replay: int,
    pen_replay: int,
    weight: int | None,
) -> tuple[Pool, dict[str, int]]:
    """The collected drawings plus what the base learnt from, sampled: MNIST (with the base's extra styles
    when it had them) and pen handwriting. The collected drawings are listed `weight` times an epoch, by
    default enough to be about a fifth of it: few drawings must be seen often to be learnt at a low rate.
    """
    rng = np.random.default_rng(hp.seed)
    x, y = mnist_train
    pick = rng.choice(len(x), size=min(replay, len(x)), replace=False)
    old_x, old_y = x[pick], y[pick]
    if hp.style_extras:
        sx, sy = style_copies(old_x, old_y, seed=hp.seed)
        old_x, old_y = np.concatenate([old_x, sx]), np.concatenate([old_y, sy])
    groups = [(old_x[:, None], old_y)]
    n_pens = 0
    if pens and pen_replay:
        writers = part(pens, "train")
        chosen = [writers[i] for i in rng.choice(len(writers), size=min(pen_replay, len(writers)), replace=False)]
        groups.append((render_digits(chosen, 2, seed=hp.seed), np.array([d.label for d in chosen], np.uint8)))
        n_pens = len(chosen)
    replayed = sum(len(labels) for _, labels in groups)
    n = len(collected.train_labels)
    weight = weight or int(np.clip(round(COLLECTED_SHARE * replayed / ((1 - COLLECTED_SHARE) * n)), 1, MAX_WEIGHT))
    groups.append((collected.train, collected.train_labels))
    if hp.deskew:
        groups = [(deskew_digits(d.reshape(-1, 28, 28)).reshape(d.shape), labels) for d, labels in groups]
    counts = {
        "collected": n,
        "collected_variants": int(collected.train.shape[1]),
        "collected_weight": weight,
        "holdout": len(collected.holdout_labels),
        "replay_mnist": len(old_y),
        "replay_pens": n_pens,
    }
    pool = _pool(groups, [1] * (len(groups) - 1) + [weight])
    counts["pool"] = len(pool)
    return pool, counts


def _pool(groups: list[tuple[np.ndarray, np.ndarray]], weights: list[int]) -> Pool:
    """train.Pool's layout for any number of groups of (N, K, 28, 28) drawings, each listed `weight` times."""
    images, start, count, labels = [], [], [], []
    offset = 0
    for (drawings, group_labels), weight in zip(groups, weights, strict=True):
        n, k = drawings.shape[:2]
        images.append(np.asarray(drawings).reshape(-1, 28, 28))
        start += [offset + np.arange(n, dtype=np.int64) * k] * weight
        count += [np.full(n, k, np.int64)] * weight
        labels += [np.asarray(group_labels, np.int64)] * weight
        offset += n * k
    return Pool(np.concatenate(images), np.concatenate(start), np.concatenate(count), np.concatenate(labels))


def _fit(outcome: FinetuneOutcome, pool: Pool, on_progress: ProgressFn | None, cancel: threading.Event | None) -> None:
    """Train in place with train.py's progress, cancel and NaN handling; sets status and reason."""
    hp = outcome.hp
    steps = math.ceil(len(pool) / hp.batch_size)
    compile_model(outcome.model, hp, steps * hp.epochs)
    watcher = _Watcher(hp, steps, on_progress, cancel, 0.5)
    try:
        outcome.model.fit(
            pool_dataset(pool, hp, training=True), epochs=hp.epochs, callbacks=[watcher], verbose=0, shuffle=False
        )  # pool_dataset shuffles
    except _Stop:
        pass
    except Exception as exc:  # noqa: BLE001 - a failed fine-tune is reported; the old model keeps serving
        watcher.failure = f"fine-tuning failed: {type(exc).__name__}: {first_line(exc)}"
    outcome.history = watcher.history
    if watcher.failure:
        outcome.status, outcome.reason = "failed", watcher.failure
    elif cancel is not None and cancel.is_set():
        outcome.status = "cancelled"
        outcome.reason = f"cancelled after {len(watcher.history)} of {hp.epochs} epochs; nothing changed"


def save_finetuned(outcome: FinetuneOutcome, path: str | Path, command: str) -> Path:
    """Write the fine-tuned model with a sidecar like workflow.metadata's (the base's hyper-parameters, so
    serving keeps its deskew contract) plus a "finetune" section, and its MNIST test report beside it."""
    if outcome.status != "completed" or outcome.report is None or outcome.after is None:
        raise FinetuneError(f"nothing to save: the fine-tune was {outcome.status}")
    report, base_meta = outcome.report, read_metadata(outcome.base_path)
    hyperparameters = dict(base_meta.get("hyperparameters") or outcome.base_hp.to_dict())
    hyperparameters["deskew"] = outcome.base_hp.deskew  # what load_classifier reads to feed it deskewed digits
    meta: dict[str, Any] = {
        "hyperparameters": hyperparameters,
        "metrics": {
            "test_accuracy": report.accuracy,
            "test_loss": report.loss,
            "per_class_accuracy": [float(a) for a in report.per_class],
        },
        "params": report.params,
        "data_source": base_meta.get("data_source", ""),
        "train_images": outcome.counts["pool"],
        "training_seconds": round(outcome.seconds, 1),
        "history": outcome.history,
        "libraries": library_versions(),
        "command": command,
        "finetune": {
            "base_model": str(outcome.base_path),
            "base_sha256": file_digest(outcome.base_path),
            "epochs": outcome.hp.epochs,
            "learning_rate": outcome.hp.learning_rate,
            "batch_size": outcome.hp.batch_size,
            "seed": outcome.hp.seed,
            "counts": outcome.counts,
            "before": outcome.before.__dict__,
            "after": outcome.after.__dict__,
            "serve": outcome.serve,
            "reason": outcome.reason,
        },
    }
    path = save_model(outcome.model, Path(path), meta)
    if outcome.test_images is not None:
        save_report(path, report, outcome.test_images)
    return path
