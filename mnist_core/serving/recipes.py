"""The server's two job recipes, a retrain and a fine-tune, and the trainer that runs them.

A recipe gathers what its run needs, hands it to the trainer and judges the saved model with the one serve
gate; the job runner (jobs.py) does the rest alike for both. The trainer is passed in: the real one imports
TensorFlow inside the worker thread, on first use; tests pass a scripted one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import numpy as np

from mnist_core import tf_logs
from mnist_core.config import HyperParams
from mnist_core.data.mnist import DataError
from mnist_core.data.unipen import PenDigit
from mnist_core.model.reports import Scores, Verdict, judge
from mnist_core.model.versions import new_version_path
from mnist_core.serving.snapshot import FinetuneSnapshot, Snapshot, TrainSnapshot

if TYPE_CHECKING:
    from mnist_core.drawings.store import DrawingStore
    from mnist_core.serving.holder import Served
    from mnist_core.training.finetune import FinetuneOutcome
    from mnist_core.training.fit import ProgressFn
    from mnist_core.training.workflow import Data, Outcome

FAULT_ENV = "MNIST_DEMO_FAULT"  # test hook: "nan" poisons the training images, "error" raises mid-run
DRAWING_VARIANTS = 4  # a full retrain lists each collected drawing this many times, redrawn from its strokes


class Trainer(Protocol):
    """What runs a recipe: training.workflow's `train_evaluate_save` and `finetune_evaluate_save` (their
    arguments), or a test's script."""

    def train(self, *args: Any, **kwargs: Any) -> Outcome: ...

    def finetune(self, *args: Any, **kwargs: Any) -> FinetuneOutcome: ...


class Workflows:
    """The real trainer: TensorFlow is imported here, in the job's worker thread, never at import time."""

    def train(self, *args: Any, **kwargs: Any) -> Outcome:
        with tf_logs.importing():
            from mnist_core.training.workflow import train_evaluate_save

        return train_evaluate_save(*args, **kwargs)

    def finetune(self, *args: Any, **kwargs: Any) -> FinetuneOutcome:
        with tf_logs.importing():
            from mnist_core.training.workflow import finetune_evaluate_save

        return finetune_evaluate_save(*args, **kwargs)


@dataclass(frozen=True)
class Stopped:
    """A run that ended without a new model: nothing was saved and the serving model is unchanged."""

    state: Literal["cancelled", "failed"]
    message: str


@dataclass(frozen=True)
class Saved:
    """A run's saved model, judged by the serve gate: what the shared finish path serves (or not) and shows."""

    path: Path
    summary: str  # "trained 2 epochs on 1,000 images in 9 s; MNIST test accuracy 97.00%"
    verdict: Verdict
    accuracy: float
    per_class: tuple[float, ...]
    fields: dict[str, Any] = field(default_factory=dict)  # the job kind's own snapshot fields


@dataclass
class Run:
    """One job's run as a recipe sees it: the server's data and models, and the job's own callbacks."""

    data: Callable[[], Data]
    pens: Callable[[], list[PenDigit] | None]
    old_scores: Callable[[Served], tuple[Scores, tuple[float, ...]]]
    serving: Callable[[], Served]
    trainer: Trainer
    data_source: str
    command: str
    cancel: threading.Event
    update: Callable[..., None]
    on_progress: ProgressFn
    commit: Callable[[], bool]


class Recipe(Protocol):
    snapshot: ClassVar[type[Snapshot]]  # the job's snapshot class: its kind and its own fields

    def run(self, run: Run) -> Saved | Stopped: ...


@dataclass(frozen=True)
class Retrain:
    """A new model from scratch with `hp`, with the collected drawings (not the held-out ones) when given."""

    hp: HyperParams
    drawings: DrawingStore | None = None
    snapshot: ClassVar[type[Snapshot]] = TrainSnapshot

    def run(self, run: Run) -> Saved | Stopped:
        try:
            data, pens = run.data(), run.pens()
        except DataError as exc:
            return Stopped("failed", f"no training data: {exc}")
        command = run.command
        if self.drawings is not None:
            data, added = _with_drawings(data, self.drawings)
            run.update(drawings=added)
            command += f" (+ {added:,} collected drawings, {DRAWING_VARIANTS} drawings each)"
        if self.hp.pens and not pens:
            return Stopped(
                "failed", "no real pen handwriting on this server: start it with UNIPEN_DATA, or turn pens off"
            )
        old = run.serving()
        before, old_per_class = run.old_scores(old)
        run.update(
            state="training",
            message="building the model",
            old_label=old.label,
            old_accuracy=before.mnist,
            old_per_class=old_per_class,
            old_pen_accuracy=before.pens,
        )
        data = _poisoned(data, self.hp) if os.environ.get(FAULT_ENV) == "nan" else data
        out = run.trainer.train(
            self.hp, data, new_version_path(), run.data_source, command, run.on_progress, run.cancel, pens, run.commit
        )
        result, report = out.result, out.report
        if not result.ok or report is None or out.path is None:
            return Stopped("failed" if result.status == "failed" else "cancelled", result.message)
        pen_accuracy = out.pen_report.accuracy if out.pen_report is not None else None
        summary = f"{result.message}; MNIST test accuracy {report.accuracy:.2%}"
        summary += f", real handwriting {pen_accuracy:.2%}" if pen_accuracy is not None else ""
        verdict = judge(before, Scores(report.accuracy, pens=pen_accuracy))
        per_class = tuple(float(a) for a in report.per_class)
        return Saved(out.path, summary, verdict, report.accuracy, per_class, {"new_pen_accuracy": pen_accuracy})


@dataclass(frozen=True)
class Finetune:
    """The serving model, fine-tuned for `epochs` on the collected drawings and judged on the held-out ones."""

    drawings: DrawingStore
    epochs: int
    snapshot: ClassVar[type[Snapshot]] = FinetuneSnapshot

    @staticmethod
    def problem(total: int, holdout: int) -> str:
        """Why `total` collected drawings, `holdout` of them held out, cannot be fine-tuned on ('' if they can)."""
        if total - holdout < 1:
            return "no collected drawings to learn from yet; correct a few readings first"
        if holdout < 1:
            return (
                "none of the collected drawings is held out to judge the result yet (about one in five is); "
                "collect a few more"
            )
        return ""

    def run(self, run: Run) -> Saved | Stopped:
        try:
            data, pens = run.data(), run.pens()
        except DataError as exc:
            return Stopped("failed", f"no MNIST data to replay and test on: {exc}")
        base = run.serving()
        if base.path is None:
            return Stopped("failed", "no model is being served, so there is nothing to fine-tune")
        run.update(state="training", message="redrawing the collected drawings", old_label=base.label)
        out = run.trainer.finetune(
            base.path, self.drawings, data, new_version_path(), run.command, pens, self.epochs,
            run.on_progress, run.cancel, run.commit,
        )  # fmt: skip
        if out.status != "completed" or out.after is None or out.report is None or out.path is None:
            return Stopped("failed" if out.status == "failed" else "cancelled", out.reason)
        n = out.counts["collected"]
        summary = (
            f"fine-tuned {out.hp.epochs} epoch{'s' * (out.hp.epochs != 1)} on {n:,} collected "
            f"drawing{'s' * (n != 1)} in {out.seconds:.0f} s"
        )
        fields = {
            "old_accuracy": out.before.mnist,
            "old_per_class": run.old_scores(base)[1],
            "old_holdout": out.before.holdout,
            "new_holdout": out.after.holdout,
            "holdout_count": out.counts["holdout"],
            "drawings": n,
        }
        per_class = tuple(float(a) for a in out.report.per_class)
        return Saved(out.path, summary, out.verdict, out.report.accuracy, per_class, fields)


def _with_drawings(data: Data, drawings: DrawingStore) -> tuple[Data, int]:
    """MNIST's training images with the collected ones (not the held-out fifth) in front, so a train_subset
    keeps them and the validation split (the last fraction) never takes them; and how many drawings."""
    images, labels = drawings.training_images(DRAWING_VARIANTS)
    (x, y), test = data
    extra = images.reshape(-1, 28, 28)
    extra_labels = np.repeat(labels, DRAWING_VARIANTS).astype(y.dtype)
    return ((np.concatenate([extra, x]), np.concatenate([extra_labels, y])), test), len(labels)


def _poisoned(data: Data, hp: HyperParams) -> Data:
    """The NaN fault: float images with NaNs, so the loss turns NaN on the first batches."""
    (x_train, y_train), test = data
    n = hp.train_subset or len(x_train)
    x = x_train[:n].astype(np.float32)
    x[:, 0, 0] = np.nan
    return (x, y_train[:n]), test
