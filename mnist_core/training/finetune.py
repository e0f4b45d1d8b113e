"""Teach the serving model the drawings people corrected, without making it forget MNIST.

Starts from the serving model's weights and trains a few epochs at a low constant rate on the
collected drawings (each redrawn several ways from its strokes) mixed with a fresh random sample of
MNIST training images, and real pen handwriting when given: replaying old data alongside the new is
what keeps old skills. The result is judged before vs after on MNIST test and on the held-out fifth
of the collected drawings (never trained on), and the one serve gate (`model.reports.judge`) says whether
to serve it. Imports TensorFlow: only the fine-tune job needs this module, serving never imports it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_core.config import BF16_NATIVE, FINETUNE_LIMITS, HyperParams
from mnist_core.data.renderings import render_fixed
from mnist_core.data.unipen import PenDigit, part
from mnist_core.drawings.store import DrawingStore
from mnist_core.model.assemble import classifier_from_keras
from mnist_core.model.files import file_digest, load_classifier, load_keras, read_metadata
from mnist_core.model.forward import Classifier
from mnist_core.model.reports import Report, Scores, Verdict, judge, report_from_probs
from mnist_core.training.bitmap_styles import style_copies
from mnist_core.training.fit import ProgressFn, Status, fit
from mnist_core.training.pool import Group, Pool
from mnist_core.training.sidecar import metadata, save_with_report

LEARNING_RATE = 2e-4  # a tenth of the default preset's peak: nudge the weights, do not retrain them
VARIANTS = 6  # drawings made of each collected stroke drawing; every epoch sees one of them
RENDER_BUDGET = 6_000  # redrawings per fine-tune (~2 ms each): many collected drawings get fewer variants each
REPLAY = 12_000  # MNIST training images replayed: 8,000 cost 0.19 MNIST points, 12,000 0.07 (bench/finetune.py)
PEN_REPLAY = 1_000  # UNIPEN training writers' digits replayed, two drawings each, when pens are given
COLLECTED_SHARE = 0.2  # of each epoch, roughly: the collected drawings' weight is chosen to reach it
MAX_WEIGHT = 8  # times one collected drawing may be listed per epoch

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


@dataclass
class FinetuneOutcome:
    model: keras.Model
    status: Status
    verdict: Verdict  # the serve gate's, once completed; why it stopped otherwise
    before: Scores
    after: Scores | None
    base_path: Path
    base_hp: HyperParams  # how the base was trained (its deskew contract included)
    hp: HyperParams  # what the fine-tune ran with
    counts: dict[str, int]
    test_images: np.ndarray = field(repr=False)  # MNIST test, for the report's mistakes
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    report: Report | None = None  # the new model on MNIST test, for its sidecar and evaluation cache
    path: Path | None = None  # where it was saved, once it was

    @property
    def serve(self) -> bool:
        return self.verdict.serve

    @property
    def reason(self) -> str:
        """One line: why (not) serve it, or why it stopped."""
        return self.verdict.reason if self.status == "completed" else self.verdict.why


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
    and ModelError (unusable base model).
    """
    started = time.perf_counter()
    collected = _collected(store_or_arrays, epochs, variants, seed)
    base = Path(base_model_path)
    served = load_classifier(base)
    base_hp, hp = _settings(base, served, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = mnist_data
    test_inputs = served.inputs(x_test.astype(np.float32) / 255.0)  # deskewed once for before and after
    before = Scores(_accuracy(served.forward(test_inputs), y_test), holdout=_holdout_accuracy(served, collected))
    pool, counts = replay_pool(collected, (x_train, y_train), pens, hp, replay, pen_replay, weight)
    model = load_keras(base)
    fitted = fit(model, pool, hp, on_progress=on_progress, cancel=cancel, what="fine-tuning")
    stopped = f"{fitted.stopped}; nothing changed" if fitted.status == "cancelled" else fitted.stopped
    outcome = FinetuneOutcome(
        model, fitted.status, Verdict(False, stopped), before, None, base, base_hp, hp, counts, x_test,
        history=fitted.history,
    )  # fmt: skip
    if fitted.status == "completed":
        tuned = classifier_from_keras(model, deskew=served.deskew)
        outcome.report = report_from_probs(tuned.forward(test_inputs), y_test, tuned.params)
        outcome.after = Scores(outcome.report.accuracy, holdout=_holdout_accuracy(tuned, collected))
        outcome.verdict = judge(before, outcome.after, must_measure=("holdout",))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _collected(store_or_arrays: DrawingStore | Collected, epochs: int, variants: int | None, seed: int) -> Collected:
    """The drawings to learn from, once the settings are known to be in range; FinetuneError (one line) if not."""
    try:
        FINETUNE_LIMITS.check_epochs(epochs)
    except ValueError as exc:
        raise FinetuneError(str(exc)) from None
    collected = (
        store_or_arrays
        if isinstance(store_or_arrays, Collected)
        else Collected.from_store(store_or_arrays, variants, seed)
    )
    if not len(collected.train_labels):
        raise FinetuneError("no collected drawings to learn from yet; correct a few readings first")
    return collected


def _settings(base: Path, served: Classifier, **changes: Any) -> tuple[HyperParams, HyperParams]:
    """How the base was trained (its deskew contract as served) and what the fine-tune runs with: the base's
    recipe at a constant low rate, no validation split, every image, in bfloat16 where the CPU has it (whatever
    the base was trained in: the weights stay float32); FinetuneError (one line) if out of range."""
    base_hp = HyperParams.from_dict(read_metadata(base).get("hyperparameters", {})).replace(deskew=served.deskew)
    hp = base_hp.replace(lr_schedule="constant", validation_split=0.0, train_subset=0, bf16=BF16_NATIVE, **changes)
    try:
        hp.validate(FINETUNE_LIMITS)
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
    groups = [Group(old_x, old_y)]
    n_pens = 0
    if pens and pen_replay:
        writers = part(pens, "train")
        chosen = [writers[i] for i in rng.choice(len(writers), size=min(pen_replay, len(writers)), replace=False)]
        groups.append(Group(render_fixed(chosen, 2, seed=hp.seed), np.array([d.label for d in chosen], np.uint8)))
        n_pens = len(chosen)
    replayed = sum(len(g.labels) for g in groups)
    n = len(collected.train_labels)
    weight = weight or int(np.clip(round(COLLECTED_SHARE * replayed / ((1 - COLLECTED_SHARE) * n)), 1, MAX_WEIGHT))
    groups.append(Group(collected.train, collected.train_labels, weight))
    if hp.deskew:
        groups = [g.deskewed() for g in groups]
    counts = {
        "collected": n,
        "collected_variants": int(collected.train.shape[1]),
        "collected_weight": weight,
        "holdout": len(collected.holdout_labels),
        "replay_mnist": len(old_y),
        "replay_pens": n_pens,
    }
    pool = Pool.of(groups)
    counts["pool"] = len(pool)
    return pool, counts


def save_finetuned(outcome: FinetuneOutcome, path: str | Path, command: str) -> Path:
    """Write the fine-tuned model with the base's hyper-parameters (so serving keeps its deskew contract), a
    "finetune" section, and its MNIST test report beside it; sets and returns `outcome.path`."""
    if outcome.status != "completed" or outcome.report is None or outcome.after is None:
        raise FinetuneError(f"nothing to save: the fine-tune was {outcome.status}")
    base_meta = read_metadata(outcome.base_path)
    hyperparameters = dict(base_meta.get("hyperparameters") or outcome.base_hp.to_dict())
    hyperparameters["deskew"] = outcome.base_hp.deskew  # what load_classifier reads to feed it deskewed digits
    section = {
        "base_model": outcome.base_path.name,  # a file name and its digest: no path of this machine
        "base_sha256": file_digest(outcome.base_path),
        "epochs": outcome.hp.epochs,
        "learning_rate": outcome.hp.learning_rate,
        "batch_size": outcome.hp.batch_size,
        "seed": outcome.hp.seed,
        "bf16": outcome.hp.bf16,
        "counts": outcome.counts,
        "before": outcome.before.__dict__,
        "after": outcome.after.__dict__,
        "serve": outcome.serve,
        "reason": outcome.reason,
    }
    meta = metadata(
        hyperparameters,
        outcome.report,
        data_source=base_meta.get("data_source", ""),
        train_images=outcome.counts["pool"],
        seconds=outcome.seconds,
        history=outcome.history,
        command=command,
        finetune=section,
    )
    outcome.path = save_with_report(outcome.model, Path(path), meta, outcome.report, outcome.test_images)
    return outcome.path
