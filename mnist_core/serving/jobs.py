"""One training at a time for the whole server, in a background thread, watched by any number of pages.

The web layer only starts, cancels and polls: every request sees an immutable `Snapshot`, so a page
that polls while the worker writes never sees half an update. TensorFlow is imported by the worker
thread when the first training starts, never at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_core.config import UI_LIMITS, HyperParams
from mnist_core.data.mnist import DataError, describe_source, load_mnist
from mnist_core.data.unipen import PenDigit, load_unipen, pens_path
from mnist_core.errors import first_line
from mnist_core.model.files import ModelError
from mnist_core.model.versions import MAX_VERSIONS, check_writable, new_version_path, prune_versions
from mnist_core.serving.holder import ModelHolder, Served

if TYPE_CHECKING:
    from mnist_core.drawings.store import DrawingStore
    from mnist_core.training.finetune import FinetuneOutcome
    from mnist_core.training.scratch import Progress
    from mnist_core.training.workflow import Data, Outcome

FAULT_ENV = "MNIST_DEMO_FAULT"  # test hook: "nan" poisons the training images, "error" raises mid-run
RUNNING = ("loading", "training", "saving")
# A new model is served to everyone only if it reads no worse than the serving one: at most this much
# lower on MNIST test and on real handwriting (when both models were measured on it).
SERVE_TOLERANCE = 0.001
TRAIN_NICE = 10  # training yields the CPU to predictions: the Draw tab must stay quick during a run
DRAWING_VARIANTS = 4  # a full retrain lists each collected drawing this many times, redrawn from its strokes


@dataclass(frozen=True)
class Snapshot:
    """What a page shows about the current (or last) job."""

    job_id: int = 0
    state: str = "idle"  # idle, loading, training, saving, completed, cancelled, failed
    owner: str = ""  # who started it (a browser session or API client): who may cancel it on a public server
    message: str = "no training has run since the server started"
    hp: HyperParams | None = None
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    fraction: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    curve: tuple[tuple[float, str, float], ...] = ()  # (epochs done, series, value)
    old_label: str = ""
    old_accuracy: float | None = None
    old_per_class: tuple[float, ...] = ()
    old_pen_accuracy: float | None = None
    new_path: str = ""
    new_accuracy: float | None = None
    new_per_class: tuple[float, ...] = ()
    new_pen_accuracy: float | None = None
    activated: bool = False
    kind: str = "train"  # "train" (a new model from scratch) or "finetune" (the serving one on collected drawings)
    old_holdout: float | None = None  # fine-tune: accuracy on the held-out collected drawings, before and after
    new_holdout: float | None = None
    holdout_count: int = 0
    drawings: int = 0  # collected drawings the run learnt from
    reason: str = ""  # fine-tune: why the new model is (not) served

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def where(self) -> str:
        """'epoch 2/5, batch 40/94 (47%), about 30 s left' — the one line a watcher wants."""
        if not self.running:
            return self.message
        if self.state == "saving":
            return "evaluating on the test sets and saving"
        if self.state == "loading":
            return "loading the MNIST training data" + (" and the collected drawings" if self.drawings else "")
        if not self.epochs:
            return "starting (building the model)"
        eta = f", about {self.eta_s:.0f} s left" if self.eta_s is not None else ""
        return f"epoch {self.epoch}/{self.epochs}, batch {self.batch}/{self.batches} ({self.fraction:.0%}){eta}"

    def to_json(self) -> dict[str, Any]:
        """The API view: plain numbers and strings."""
        return {
            "job_id": self.job_id,
            "state": self.state,
            "message": self.message,
            "where": self.where(),
            "epoch": self.epoch,
            "epochs": self.epochs,
            "batch": self.batch,
            "batches": self.batches,
            "fraction": round(self.fraction, 4),
            "eta_s": self.eta_s,
            "points": len(self.curve),
            "old_accuracy": self.old_accuracy,
            "new_accuracy": self.new_accuracy,
            "old_pen_accuracy": self.old_pen_accuracy,
            "new_pen_accuracy": self.new_pen_accuracy,
            "new_path": self.new_path,
            "activated": self.activated,
            "kind": self.kind,
            "old_holdout": self.old_holdout,
            "new_holdout": self.new_holdout,
            "holdout_count": self.holdout_count,
            "drawings": self.drawings,
            "reason": self.reason,
        }


class JobManager:
    """Owns the one training thread, the cancel flag and the in-memory copy of MNIST."""

    def __init__(self, holder: ModelHolder, data_path: str | None = None, pen_path: str | None = None) -> None:
        self.holder = holder
        self.data_path = data_path
        self.pen_path = pen_path
        self._pens: list[PenDigit] | None = None
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._cancel = threading.Event()
        self._data: Data | None = None
        self._data_lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def _update(self, job_id: int, **changes: Any) -> None:
        with self._lock:
            if self._snapshot.job_id == job_id:
                self._snapshot = replace(self._snapshot, **changes)

    def start(
        self,
        hp: HyperParams,
        activate: bool = True,
        command: str = "web demo Train tab",
        owner: str = "",
        drawings: DrawingStore | None = None,
    ) -> tuple[bool, str]:
        """Start a run unless one is going; (started, one-line message for the page).

        With `drawings`, the collected drawings that are not held out are trained on too (each listed
        DRAWING_VARIANTS times, redrawn from its strokes); the held-out ones stay out, to measure.
        """
        try:
            hp.validate(UI_LIMITS)
            check_writable()
        except (ValueError, ModelError) as exc:
            return False, f"not started: {exc}"
        return self._launch("training", self._run, (hp, activate, command, drawings), owner, hp=hp)

    def start_finetune(
        self,
        drawings: DrawingStore,
        epochs: int = 3,
        activate: bool = True,
        command: str = "web demo: fine-tune on collected drawings",
        owner: str = "",
    ) -> tuple[bool, str]:
        """Fine-tune the serving model on the collected drawings, as one job like a training."""
        from mnist_core.drawings.store import StoreError

        if self.holder.current.path is None:
            return False, "not started: no model is being served, so there is nothing to fine-tune"
        try:
            check_writable()
            counts = drawings.counts()
        except (ModelError, StoreError) as exc:
            return False, f"not started: {exc}"
        if counts.total - counts.holdout < 1:
            return False, "not started: no collected drawings to learn from yet; correct a few readings first"
        if counts.holdout < 1:
            return False, (
                "not started: none of the collected drawings is held out to judge the result yet "
                "(about one in five is); collect a few more"
            )
        if not 1 <= epochs <= UI_LIMITS.max_epochs:
            return False, f"not started: epochs must be 1–{UI_LIMITS.max_epochs}"
        args = (drawings, epochs, activate, command)
        return self._launch("fine-tune", self._run_finetune, args, owner, kind="finetune", drawings=counts.total)

    def _launch(
        self, what: str, target: Callable[..., None], args: tuple, owner: str, **fields: Any
    ) -> tuple[bool, str]:
        with self._lock:
            if self._snapshot.running:
                return False, f"a training is already running ({self._snapshot.where()}); click Watch to follow it"
            job_id = self._snapshot.job_id + 1
            self._cancel = threading.Event()
            self._snapshot = Snapshot(job_id=job_id, state="loading", message="starting", owner=owner, **fields)
            threading.Thread(
                target=target, args=(job_id, *args, self._cancel), name=f"{what}-{job_id}", daemon=True
            ).start()
        return True, f"{what} #{job_id} started"

    def cancel(self, who: str | None = None) -> str:
        """Stop the run within a batch; `who` (when given) must be the one who started it."""
        with self._lock:
            snap = self._snapshot
            if not snap.running:
                return "nothing to cancel: no training is running"
            if who is not None and who != snap.owner:
                return "not cancelled: only the visitor who started this training (or a logged-in user) may cancel it"
            what = f"{'fine-tune' if snap.kind == 'finetune' else 'training'} #{snap.job_id}"
            if snap.state == "saving":
                return (
                    f"too late to cancel {what}: it finished and is being evaluated and saved; "
                    "it will be kept as a version"
                )
            self._cancel.set()
            return f"cancelling {what}…"

    def data(self) -> Data:
        """MNIST, read once per server and then kept in memory (~55 MB)."""
        with self._data_lock:
            if self._data is None:
                self._data = load_mnist(self.data_path)
            return self._data

    def data_problem(self) -> str | None:
        """None when training data is available, else the one-line DataError text (cheap after the first call)."""
        if self._data is not None:
            return None
        if not (self.data_path or os.environ.get("MNIST_DATA")):
            keras_copy = Path.home() / ".keras" / "datasets" / "mnist.npz"
            if keras_copy.is_file():
                return None
            return (
                "MNIST_DATA is not set and no downloaded copy exists, so retraining will try to download "
                "MNIST (needs internet); to train offline, start the demo with MNIST_DATA pointing at a "
                "folder with the four MNIST IDX files or a mnist.npz"
            )
        try:
            self.data()
        except DataError as exc:
            return str(exc)
        return None

    def _run(
        self,
        job_id: int,
        hp: HyperParams,
        activate: bool,
        command: str,
        drawings: DrawingStore | None,
        cancel: threading.Event,
    ) -> None:
        _lower_priority()
        try:
            self._train(job_id, hp, activate, command, cancel, drawings)
        except Exception as exc:  # noqa: BLE001 - the page must get a message, never a dead job
            message = f"training failed: {type(exc).__name__}: {first_line(exc)}"
            self._update(job_id, state="failed", message=message)

    def _run_finetune(
        self, job_id: int, drawings: DrawingStore, epochs: int, activate: bool, command: str, cancel: threading.Event
    ) -> None:
        _lower_priority()
        try:
            self._finetune(job_id, drawings, epochs, activate, command, cancel)
        except Exception as exc:  # noqa: BLE001 - FinetuneError, StoreError, ModelError or worse: one line
            self._update(job_id, state="failed", message=f"fine-tune failed: {first_line(exc)}; nothing changed")

    def pens(self) -> list[PenDigit] | None:
        """UNIPEN's pen digits when the server was given them (None otherwise), read once and kept."""
        if pens_path(self.pen_path) is None:
            return None
        with self._data_lock:
            if self._pens is None:
                self._pens = load_unipen(self.pen_path)
            return self._pens

    def _train(
        self,
        job_id: int,
        hp: HyperParams,
        activate: bool,
        command: str,
        cancel: threading.Event,
        drawings: DrawingStore | None = None,
    ) -> None:
        try:
            data, pens = self.data(), self.pens()
        except DataError as exc:
            self._update(job_id, state="failed", message=f"no training data: {exc}")
            return
        if drawings is not None:
            data, added = _with_drawings(data, drawings)
            self._update(job_id, drawings=added)
            command += f" (+ {added:,} collected drawings, {DRAWING_VARIANTS} drawings each)"
        if hp.pens and not pens:
            self._update(
                job_id,
                state="failed",
                message="no real pen handwriting on this server: start it with "
                "UNIPEN_DATA set, or untick 'include real pen handwriting'",
            )
            return
        old = self.holder.current
        old_accuracy, old_per_class, old_pens = self._old_metrics(old)
        self._update(
            job_id,
            state="training",
            message="building the model",
            old_label=old.label,
            old_accuracy=old_accuracy,
            old_per_class=old_per_class,
            old_pen_accuracy=old_pens,
        )
        fault = os.environ.get(FAULT_ENV, "")
        data = _poisoned(data, hp) if fault == "nan" else data
        from mnist_core.training.workflow import train_evaluate_save  # imports TensorFlow: only here, in the worker

        outcome = train_evaluate_save(
            hp,
            data,
            new_version_path(),
            describe_source(self.data_path),
            command,
            on_progress=self._progress_reporter(job_id, fault),
            cancel=cancel,
            pens=pens,
            commit=lambda: self._commit(job_id, cancel),
        )
        self._finish(job_id, outcome, activate, old_accuracy, old_pens)

    def _finetune(
        self, job_id: int, drawings: DrawingStore, epochs: int, activate: bool, command: str, cancel: threading.Event
    ) -> None:
        try:
            data, pens = self.data(), self.pens()
        except DataError as exc:
            self._update(job_id, state="failed", message=f"no MNIST data to replay and test on: {exc}")
            return
        base = self.holder.current
        if base.path is None:
            self._update(job_id, state="failed", message="no model is being served, so there is nothing to fine-tune")
            return
        self._update(job_id, state="training", message="redrawing the collected drawings", old_label=base.label)
        from mnist_core.training.finetune import (  # imports TensorFlow: only here, in the worker
            finetune,
            save_finetuned,
        )

        outcome = finetune(
            base.path,
            drawings,
            data,
            pens=pens,
            epochs=epochs,
            on_progress=self._progress_reporter(job_id, os.environ.get(FAULT_ENV, "")),
            cancel=cancel,
        )
        if outcome.status == "completed" and not self._commit(job_id, cancel):
            outcome.status, outcome.reason = "cancelled", "cancelled after the last epoch, before saving"
        if outcome.status != "completed" or outcome.after is None:
            self._update(job_id, state=outcome.status, message=f"{outcome.reason}; the serving model was not changed")
            return
        path = save_finetuned(outcome, new_version_path(), command)
        self._finish_finetune(job_id, outcome, path, activate, self._old_metrics(base)[1])

    def _finish_finetune(
        self, job_id: int, outcome: FinetuneOutcome, path: Path, activate: bool, old_per_class: tuple[float, ...]
    ) -> None:
        """Serve the fine-tuned version only if `finetune.decide` found it no worse; say why either way."""
        assert outcome.after is not None and outcome.report is not None
        n = outcome.counts["collected"]
        message = (
            f"fine-tuned {outcome.hp.epochs} epoch{'s' * (outcome.hp.epochs != 1)} on {n:,} collected "
            f"drawing{'s' * (n != 1)} in {outcome.seconds:.0f} s, saved as {path.stem}"
        )
        activated = False
        if not outcome.serve:
            message += f"; not served: {outcome.reason.removeprefix('keep the current model: ')} (kept as a version)"
        elif not activate:
            message += "; still serving the previous model (pick the new one in the version list to switch)"
        else:
            try:
                self.holder.switch_to(path)
                activated = True
                message += f"; now serving it: {outcome.reason.removeprefix('serve the new model: ')}"
            except ModelError as exc:
                message += f", but it could not be served ({exc})"
        current = self.holder.current.path
        prune_versions(MAX_VERSIONS, protect={path} | ({current} if current else set()))
        self._update(
            job_id,
            state="completed",
            message=message,
            new_path=str(path),
            old_accuracy=outcome.before.mnist,
            old_per_class=old_per_class,
            new_accuracy=outcome.after.mnist,
            new_per_class=tuple(float(a) for a in outcome.report.per_class),
            old_holdout=outcome.before.holdout,
            new_holdout=outcome.after.holdout,
            holdout_count=outcome.counts["holdout"],
            drawings=n,
            reason=outcome.reason,
            activated=activated,
            fraction=1.0,
            eta_s=0.0,
        )

    def _progress_reporter(self, job_id: int, fault: str) -> Callable[[Progress], None]:
        """A callback that turns training progress into the job's snapshot and its growing curve."""
        curve: list[tuple[float, str, float]] = []

        def on_progress(p: Progress) -> None:
            if fault == "error" and p.fraction >= 0.2:
                raise RuntimeError(f"injected failure ({FAULT_ENV}=error)")
            x = round(p.epoch - 1 + p.batch / p.batches, 4)
            curve.extend([(x, "train loss", p.loss), (x, "train accuracy", p.accuracy)])
            if p.phase == "epoch" and p.val_loss is not None and p.val_accuracy is not None:
                curve.extend([(x, "validation loss", p.val_loss), (x, "validation accuracy", p.val_accuracy)])
            self._update(
                job_id,
                message="training",
                epoch=p.epoch,
                epochs=p.epochs,
                batch=p.batch,
                batches=p.batches,
                fraction=p.fraction,
                elapsed_s=p.elapsed_s,
                eta_s=p.eta_s,
                curve=tuple(curve),
            )

        return on_progress

    def _commit(self, job_id: int, cancel: threading.Event) -> bool:
        """Past this point cancel is refused honestly: the finished model is evaluated and kept."""
        with self._lock:
            if cancel.is_set():
                return False
            if self._snapshot.job_id == job_id:
                self._snapshot = replace(self._snapshot, state="saving", fraction=1.0, eta_s=0.0)
            return True

    def _finish(
        self, job_id: int, outcome: Outcome, activate: bool, old_accuracy: float | None, old_pens: float | None
    ) -> None:
        result, report = outcome.result, outcome.report
        if not result.ok or report is None or outcome.path is None:
            self._update(job_id, state=result.status, message=f"{result.message}; the serving model was not changed")
            return
        pens = outcome.pen_report.accuracy if outcome.pen_report is not None else None
        message = f"{result.message}; MNIST test accuracy {report.accuracy:.2%}"
        message += f", real handwriting {pens:.2%}" if pens is not None else ""
        message += f", saved as {outcome.path.stem}"
        worse = _worse(report.accuracy, old_accuracy, "MNIST test") or _worse(pens, old_pens, "real handwriting")
        activated = False
        if not activate:
            message += "; still serving the previous model (pick the new one in the version list to switch)"
        elif worse:
            message += f"; not served: {worse} (it is kept as a version you can switch to)"
        else:
            try:
                self.holder.switch_to(outcome.path)
                activated = True
                message += ", now serving"
            except ModelError as exc:
                message += f", but it could not be served ({exc})"
        current = self.holder.current.path
        prune_versions(MAX_VERSIONS, protect={outcome.path} | ({current} if current else set()))
        self._update(
            job_id,
            state="completed",
            message=message,
            new_path=str(outcome.path),
            new_accuracy=report.accuracy,
            new_per_class=tuple(float(a) for a in report.per_class),
            new_pen_accuracy=pens,
            activated=activated,
            fraction=1.0,
            eta_s=0.0,
        )

    def _old_metrics(self, old: Served) -> tuple[float | None, tuple[float, ...], float | None]:
        pens = old.metadata.get("metrics", {}).get("pen_test_accuracy")
        try:
            report = self.holder.report(old, self.data_path)
        except (DataError, OSError):
            return old.test_accuracy, (), pens
        return float(report["accuracy"]), tuple(float(a) for a in report["per_class_accuracy"]), pens


def _worse(new: float | None, old: float | None, name: str) -> str:
    """Why the new model must not replace the old one on this measure ('' when it may)."""
    if new is None or old is None or new >= old - SERVE_TOLERANCE:
        return ""
    return f"it reads {name} worse than the serving model ({new:.2%} vs {old:.2%})"


def _with_drawings(data: Data, drawings: DrawingStore) -> tuple[Data, int]:
    """MNIST's training images with the collected ones (not the held-out fifth) in front, so a train_subset
    keeps them and the validation split (the last fraction) never takes them; and how many drawings."""
    images, labels = drawings.training_images(DRAWING_VARIANTS)
    (x, y), test = data
    extra = images.reshape(-1, 28, 28)
    extra_labels = np.repeat(labels, DRAWING_VARIANTS).astype(y.dtype)
    return ((np.concatenate([extra, x]), np.concatenate([extra_labels, y])), test), len(labels)


def _lower_priority() -> None:
    """Nice the calling thread; TensorFlow's thread pools, created from it on first use, inherit it (Linux)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAIN_NICE)
    except (AttributeError, OSError):
        pass  # not on Linux, or not allowed: training just competes on equal terms


def _poisoned(data: Data, hp: HyperParams) -> Data:
    """The NaN fault: float images with NaNs, so the loss turns NaN on the first batches."""
    (x_train, y_train), test = data
    n = hp.train_subset or len(x_train)
    x = x_train[:n].astype(np.float32)
    x[:, 0, 0] = np.nan
    return (x, y_train[:n]), test
