"""One job at a time across every server sharing the models folder, in a background thread, watched by any page.

The web layer only starts, cancels and polls. Both recipes (recipes.py) share one run path: load, train,
commit, then the one finish (serve gate, switch, prune, final snapshot). TensorFlow is imported by the
trainer in the worker thread when the first job starts, never at import time. The lock that keeps it to one
job across servers, and the state the others show, are shared_job.py's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mnist_core.config import FINETUNE_LIMITS, HOME_ENV, UI_LIMITS, HyperParams
from mnist_core.data import download
from mnist_core.data.mnist import DataError, describe_source, load_mnist, local_source, missing
from mnist_core.data.unipen import PenDigit, load_unipen
from mnist_core.errors import first_line
from mnist_core.model.files import ModelError
from mnist_core.model.reports import Scores
from mnist_core.model.versions import MAX_VERSIONS, check_writable, prune_versions
from mnist_core.serving.holder import ModelHolder, Served
from mnist_core.serving.recipes import (
    FAULT_ENV,
    Finetune,
    Recipe,
    Retrain,
    Run,
    Saved,
    Stopped,
    Trainer,
    Workflows,
)
from mnist_core.serving.shared_job import SharedJob
from mnist_core.serving.snapshot import DOWNLOADING, WHAT, Snapshot

if TYPE_CHECKING:
    from mnist_core.data.download import Progress as FetchProgress
    from mnist_core.drawings.store import DrawingStore
    from mnist_core.training.fit import Progress, ProgressFn
    from mnist_core.training.workflow import Data

ELSEWHERE = "a training is running on another server"
log = logging.getLogger("mnist_demo")  # the events a person running the server needs, one line each
HOME = f"the models folder ({HOME_ENV})"
TRAIN_NICE = 10  # training yields the CPU to predictions: the Draw tab must stay quick during a run
PROBE_EVERY_S = 60.0  # how long "the download cannot be reached" is believed before it is asked again


class TrainingData:
    """What a job trains on, read once per server and then kept in memory (MNIST: ~55 MB); MNIST is downloaded
    (once, into the home) when the server has no copy, and whether it can be is asked before a run starts."""

    def __init__(self, data_path: str | None, pen_path: str | None) -> None:
        self.data_path, self.pen_path = data_path, pen_path
        self._data: Data | None = None
        self._pens: list[PenDigit] | None = None
        self._lock = threading.Lock()
        self._offline: tuple[float, str | None] | None = None  # (when asked, why MNIST cannot be had)

    def mnist(self, on_progress: FetchProgress | None = None) -> Data:
        with self._lock:
            if self._data is None:
                self._data = load_mnist(self.data_path, fetch=True, on_progress=on_progress)
            return self._data

    def problem(self, fresh: bool = False) -> str | None:
        """None when a run can get MNIST, else the one line that says what to do. A named copy is read (its
        fault is the line); without one, whether the download's server answers is asked at most every
        PROBE_EVERY_S, or now when `fresh` (just before a run starts); a page load never waits on the network
        unless it is the first to ask."""
        if self._data is not None:
            return None
        if local_source(self.data_path) is not None:
            try:
                self.mnist()
            except DataError as exc:
                return str(exc)
            return None
        asked = self._offline
        if fresh or asked is None or time.monotonic() - asked[0] > PROBE_EVERY_S:
            asked = self._offline = (time.monotonic(), missing(self.data_path))
        return asked[1]

    def loader(self, update: Callable[..., None]) -> Callable[[], Data]:
        """A job's MNIST: a download, when there is one to make, shows its progress on the job's page."""
        shown = [-1]

        def fetched(done: int, total: int) -> None:
            percent = 100 * done // total
            if percent != shown[0]:
                shown[0] = percent
                update(message=f"{DOWNLOADING} MNIST (once): {done / 1e6:.1f} of {total / 1e6:.1f} MB ({percent}%)")

        def data() -> Data:
            if local_source(self.data_path) is None:
                log.info("downloading MNIST (11 MB, once) from %s", download.source_url())
            found = self.mnist(fetched)
            if shown[0] >= 0:
                log.info("MNIST downloaded into %s", download.downloaded_copy())
            return found

        return data

    def pens(self) -> list[PenDigit]:
        """UNIPEN's pen digits: the server's copy when given, else the one shipped in assets/."""
        with self._lock:
            if self._pens is None:
                self._pens = load_unipen(self.pen_path)
            return self._pens


class JobManager:
    """Owns this server's job thread and cancel flag, its side of the shared job, and the training data."""

    def __init__(
        self,
        holder: ModelHolder,
        data_path: str | None = None,
        pen_path: str | None = None,
        trainer: Trainer | None = None,
        shared: SharedJob | None = None,
    ) -> None:
        self.holder = holder
        self.shared = shared or SharedJob()
        self.data_path, self.pen_path = data_path, pen_path
        self.trainer: Trainer = trainer or Workflows()
        self.sets = TrainingData(data_path, pen_path)
        self._lock = threading.Lock()
        self._snapshot = Snapshot()
        self._cancel = threading.Event()

    def snapshot(self) -> Snapshot:
        """This server's job while it runs, else the latest job any server sharing the models folder ran."""
        with self._lock:
            own = self._snapshot
        other = None if own.running else self.shared.last()
        return other if other is not None and other.job_id > own.job_id else own

    def _update(self, job_id: int, **changes: Any) -> None:
        """The worker's changes, published for the other servers; a cancel they asked for is picked up here."""
        with self._lock:
            if self._snapshot.job_id != job_id:
                return
            self._snapshot = snap = replace(self._snapshot, **changes)
        self.shared.publish(snap)
        if snap.running and self.shared.cancel_asked(job_id):
            self._cancel.set()

    def start(
        self,
        hp: HyperParams,
        activate: bool = True,
        command: str = "web demo Train tab",
        owner: str = "",
        drawings: DrawingStore | None = None,
    ) -> tuple[bool, str]:
        """Start a retrain unless a job is going; (started, one-line message for the page).

        With `drawings`, the collected drawings that are not held out are trained on too (each listed
        recipes.DRAWING_VARIANTS times, redrawn from its strokes); the held-out ones stay out, to measure.
        """
        try:
            hp.validate(UI_LIMITS)
            check_writable()
        except (ValueError, ModelError) as exc:
            return False, f"not started: {exc}"
        if problem := self.sets.problem(fresh=True):
            return False, f"not started: {problem}"
        return self._launch(Retrain(hp, drawings), activate, command, owner, hp=hp)

    def start_finetune(
        self,
        drawings: DrawingStore,
        epochs: int = 3,
        activate: bool = True,
        command: str = "web demo: fine-tune on collected drawings",
        owner: str = "",
    ) -> tuple[bool, str]:
        """Fine-tune the serving model on the collected drawings, as one job like a retrain."""
        from mnist_core.drawings.store import StoreError

        if self.holder.current.path is None:
            return False, "not started: no model is being served, so there is nothing to fine-tune"
        try:
            FINETUNE_LIMITS.check_epochs(epochs)
            check_writable()
            counts = drawings.counts()
        except (ValueError, ModelError, StoreError) as exc:
            return False, f"not started: {exc}"
        if problem := self.sets.problem(fresh=True) or Finetune.problem(counts.total, counts.holdout):
            return False, f"not started: {problem}"
        return self._launch(Finetune(drawings, epochs), activate, command, owner, drawings=counts.total)

    def _launch(self, recipe: Recipe, activate: bool, command: str, owner: str, **fields: Any) -> tuple[bool, str]:
        with self._lock:
            if self._snapshot.running:
                running = self._snapshot
                return False, f"a training is already running ({running.what}: {running.where()})"
            try:
                job_id = self.shared.claim(after=self._snapshot.job_id)
            except OSError as exc:
                return False, f"not started: cannot lock {self.shared.lock_where()} ({exc.strerror}); check {HOME}"
            except RuntimeError as exc:  # the lock in the database: its one line says why
                return False, f"not started: {exc}"
            if job_id is None:
                return False, elsewhere(self.shared.last(fresh=True))
            self._cancel = threading.Event()
            self._snapshot = recipe.snapshot(job_id=job_id, state="loading", message="starting", owner=owner, **fields)
            self.shared.publish(self._snapshot)
            job = self._snapshot.what
            args = (job_id, recipe, activate, command, self._cancel)
            log.info("%s started (%s)", job, command)
            threading.Thread(target=self._run, args=args, name=job.replace(" #", "-"), daemon=True).start()
        return True, f"{job} started"

    def cancel(self, who: str | None = None) -> str:
        """Stop the run within a batch (another server's within JOB_POLL_S); `who` (when given) must be its starter."""
        with self._lock:
            if self._snapshot.running:
                if refused := cancel_refusal(self._snapshot, who):
                    return refused
                self._cancel.set()
                return f"cancelling {self._snapshot.what}…"
        snap = self.snapshot()
        if refused := cancel_refusal(snap, who):
            return refused
        try:
            self.shared.ask_cancel(snap.job_id)
        except OSError as exc:
            return f"not cancelled: the request cannot be written ({exc.strerror}); check {HOME}"
        return f"cancelling {snap.what} on another server…"

    def data_problem(self) -> str | None:
        return self.sets.problem()

    def _run(self, job_id: int, recipe: Recipe, activate: bool, command: str, cancel: threading.Event) -> None:
        """The worker thread: the recipe's run, then the one finish; every way out ends in a final snapshot,
        published before the shared lock is freed."""
        _lower_priority()
        run = Run(
            self.sets.loader(lambda **changes: self._update(job_id, **changes)),
            self.sets.pens,
            lambda old: old_scores(self.holder, old, self.data_path),
            lambda: self.holder.current,
            self.trainer,
            describe_source(self.data_path),
            command,
            cancel,
            lambda **changes: self._update(job_id, **changes),
            progress_reporter(lambda **changes: self._update(job_id, **changes)),
            lambda: self._commit(job_id, cancel),
        )
        try:
            try:
                done = recipe.run(run)
            except Exception as exc:  # noqa: BLE001 - the page must get a message, never a dead job
                kind = WHAT[recipe.snapshot.kind]
                done = Stopped("failed", f"{kind} failed: {type(exc).__name__}: {first_line(exc)}")
            if isinstance(done, Stopped):
                self._update(job_id, state=done.state, message=f"{done.message}; the serving model was not changed")
            else:
                self._finish(job_id, done, activate)
        finally:
            self.shared.release()
            with self._lock:
                snap = self._snapshot
            log.info("%s %s: %s", snap.what, snap.state, snap.message)

    def _finish(self, job_id: int, done: Saved, activate: bool) -> None:
        """Serve the saved model only if the serve gate let it (and the starter asked); say why either way."""
        message, activated = f"{done.summary}, saved as {done.path.stem}", False
        if not done.verdict.serve:
            message += f"; not served: {done.verdict.why} (kept as a version)"
        elif not activate:
            message += "; still serving the previous model (the new one is kept as a version to switch to)"
        else:
            try:
                self.holder.switch_to(done.path)
                activated = True
                message += f"; now serving it: {done.verdict.why}"
            except ModelError as exc:
                message += f", but it could not be served ({exc})"
        current = self.holder.current.path
        prune_versions(MAX_VERSIONS, protect={done.path} | ({current} if current else set()))
        self._update(
            job_id,
            state="completed",
            message=message,
            new_path=str(done.path),
            new_accuracy=done.accuracy,
            new_per_class=done.per_class,
            activated=activated,
            reason=done.verdict.reason,
            fraction=1.0,
            eta_s=0.0,
            **done.fields,
        )

    def _commit(self, job_id: int, cancel: threading.Event) -> bool:
        """Past this point cancel is refused honestly: the finished model is evaluated and kept."""
        if self.shared.cancel_asked(job_id, fresh=True):
            cancel.set()
        with self._lock:
            if cancel.is_set():
                return False
            if self._snapshot.job_id == job_id:
                self._snapshot = replace(self._snapshot, state="saving", fraction=1.0, eta_s=0.0)
            snap = self._snapshot
        self.shared.publish(snap)
        return True


def cancel_refusal(snap: Snapshot, who: str | None) -> str:
    """Why `who` may not cancel the job `snap` shows ('' when they may); None is someone trusted."""
    if not snap.running:
        return "nothing to cancel: no training is running"
    if who is not None and who != snap.owner:
        return "not cancelled: only the visitor who started this training (or a logged-in user) may cancel it"
    if snap.state == "saving":
        return (
            f"too late to cancel {snap.what}: it finished and is being evaluated and saved; "
            "it will be kept as a version"
        )
    return ""


def elsewhere(snap: Snapshot | None) -> str:
    """The refusal when another server holds the job lock, with where its job is when it says."""
    return f"{ELSEWHERE} ({snap.what}: {snap.where()})" if snap is not None and snap.running else ELSEWHERE


def progress_reporter(update: Callable[..., None]) -> ProgressFn:
    """A callback that turns training progress into the job's snapshot and its growing curve."""
    curve: list[tuple[float, str, float]] = []
    fault = os.environ.get(FAULT_ENV, "")

    def on_progress(p: Progress) -> None:
        if fault == "error" and p.fraction >= 0.2:
            raise RuntimeError(f"injected failure ({FAULT_ENV}=error)")
        x = round(p.epoch - 1 + p.batch / p.batches, 4)
        curve.extend([(x, "train loss", p.loss), (x, "train accuracy", p.accuracy)])
        if p.phase == "epoch" and p.val_loss is not None and p.val_accuracy is not None:
            curve.extend([(x, "validation loss", p.val_loss), (x, "validation accuracy", p.val_accuracy)])
        update(
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


def old_scores(holder: ModelHolder, old: Served, data_path: str | None) -> tuple[Scores, tuple[float, ...]]:
    """The serving model's scores for the gate (MNIST test from its cached report) and its per-digit row."""
    pens = old.metadata.get("metrics", {}).get("pen_test_accuracy")
    try:
        report = holder.report(old, data_path)
    except (DataError, OSError):
        return Scores(old.test_accuracy, pens=pens), ()
    return Scores(float(report["accuracy"]), pens=pens), tuple(float(a) for a in report["per_class_accuracy"])


def _lower_priority() -> None:
    """Nice the calling thread; TensorFlow's thread pools, created from it on first use, inherit it (Linux)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAIN_NICE)
    except (AttributeError, OSError):
        pass  # not on Linux, or not allowed: training just competes on equal terms
