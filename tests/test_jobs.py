"""Issue #14, the training job and the Train tab without TensorFlow: the job runner is given a scripted trainer
instead of training.workflow's, so each test drives the real JobManager (start, cancel, commit, finish, prune)
and the tab's module-level handlers in well under a second.

Items: 5 (cancel only by the starter or a logged-in user, a worse run not served, versions pruned), 6 (cancel
during evaluate/save refused honestly), 9 (an unwritable models folder refused before training; /switch_version
there answers in one line), 14 (the progress line is derived from the state).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import build_ctx

from mnist_core import config
from mnist_core.config import SHIPPED_MODEL, preset
from mnist_core.model import versions
from mnist_core.model.files import read_metadata
from mnist_core.model.reports import Scores, judge
from mnist_core.serving.holder import ModelHolder, Served, load_served
from mnist_core.serving.jobs import JobManager, Snapshot
from mnist_core.serving.snapshot import FinetuneSnapshot
from mnist_ui.server.access import may_control
from mnist_ui.server.actions import switch_version
from mnist_ui.server.context import AppContext, Settings
from mnist_ui.tabs import train as train_tab
from mnist_ui.tabs.train import TrainPage, status_html

REPO = Path(__file__).resolve().parent.parent
HP = preset("fast").replace(epochs=2, pens=False, train_subset=100)
TINY_DATA = (
    (np.zeros((10, 28, 28), np.uint8), np.zeros(10, np.uint8)),
    (np.zeros((10, 28, 28), np.uint8), np.zeros(10)),
)
# What a finished (or stopped) run looked like in its last progress report: the fields a stale line would show.
LAST_BATCH = {"epoch": 2, "epochs": 2, "batch": 10, "batches": 10, "fraction": 1.0, "eta_s": 0.0, "elapsed_s": 9.0}
STALE = ("epoch 2/2", "s left", "starting", "building the model", "<progress")


class ScriptedTrainer:
    """Stands in for training.workflow as the job runner's trainer: reports the last batch, then waits for the
    test at two points — after training (before `commit`) and after committing (while "evaluating and saving")."""

    def __init__(self, accuracy: float) -> None:
        self.accuracy = accuracy
        self.trained, self.go_commit = threading.Event(), threading.Event()
        self.committed, self.go_save = threading.Event(), threading.Event()

    def train(self, hp, data, out, source, command, on_progress=None, cancel=None, pens=None, commit=None):
        assert on_progress is not None and commit is not None
        on_progress(
            SimpleNamespace(phase="epoch", loss=0.3, accuracy=0.9, val_loss=0.3, val_accuracy=0.9, **LAST_BATCH)
        )
        self.trained.set()
        assert self.go_commit.wait(10)
        if not commit():
            message = f"cancelled after all {hp.epochs} epochs, before saving"
            return SimpleNamespace(result=SimpleNamespace(ok=False, status="cancelled", message=message), report=None)
        self.committed.set()
        assert self.go_save.wait(10)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"a model")
        out.with_suffix(".json").write_text(json.dumps({"metrics": {"test_accuracy": self.accuracy}}))
        return SimpleNamespace(
            result=SimpleNamespace(ok=True, status="completed", message="trained 2 epochs in 9 s"),
            report=SimpleNamespace(accuracy=self.accuracy, per_class=[self.accuracy] * 10),
            pen_report=None,
            path=out,
        )

    def finetune(
        self, base, drawings, data, out, command, pens=None, epochs=3, on_progress=None, cancel=None, commit=None
    ):
        assert commit is not None and commit()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"a fine-tuned model")
        before, after = Scores(0.990, holdout=0.5), Scores(self.accuracy, holdout=0.9)
        verdict = judge(before, after, must_measure=("holdout",))
        return SimpleNamespace(
            status="completed",
            before=before,
            after=after,
            verdict=verdict,
            reason=verdict.reason,
            report=SimpleNamespace(accuracy=self.accuracy, per_class=[self.accuracy] * 10),
            path=out,
            counts={"collected": 8, "holdout": 2},
            hp=SimpleNamespace(epochs=epochs),
            seconds=3.0,
        )


def shipped_holder() -> ModelHolder:
    """The shipped model's metadata (its MNIST test accuracy) without loading its weights: nothing here predicts."""
    return ModelHolder(Served(SHIPPED_MODEL, None, read_metadata(SHIPPED_MODEL)))


def job_manager(monkeypatch: pytest.MonkeyPatch, trainer: ScriptedTrainer) -> JobManager:
    jobs = JobManager(shipped_holder(), trainer=trainer)
    monkeypatch.setattr(jobs.sets, "mnist", lambda on_progress=None: TINY_DATA)
    monkeypatch.setattr(jobs.sets, "pens", lambda: None)
    monkeypatch.setattr(jobs.sets, "problem", lambda fresh=False: None)
    return jobs


def wait_until(check: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def finished(jobs: JobManager) -> Snapshot:
    wait_until(lambda: not jobs.snapshot().running, "the job did not end")
    return jobs.snapshot()


def assert_line_is_the_outcome(snap: Snapshot) -> None:
    """Item 14: once a run has ended, its line (page and API) is its outcome, never its last progress report."""
    assert not snap.running
    assert snap.where() == snap.message == snap.to_json()["where"]
    page = status_html(snap)
    for stale in STALE:
        assert stale not in page, (stale, page)


def version(folder: Path, name: str, age_s: float) -> Path:
    path = folder / f"{name}.keras"
    path.write_bytes(b"an older version")
    path.with_suffix(".json").write_text(json.dumps({"metrics": {"test_accuracy": 0.9}}))
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_cancel_before_saving_stops_the_run_and_only_its_starter_may_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items 5 and 6: a stranger's cancel is refused; the starter's, before evaluate/save, keeps nothing."""
    trainer = ScriptedTrainer(accuracy=0.999)
    jobs = job_manager(monkeypatch, trainer)
    assert jobs.start(HP, activate=True, owner="starter") == (True, "training #1 started")
    assert trainer.trained.wait(10)
    assert jobs.snapshot().where().startswith("epoch 2/2")
    stranger = jobs.cancel(who="stranger")
    assert stranger.startswith("not cancelled: only the visitor who started this training"), stranger
    assert jobs.snapshot().running
    assert jobs.cancel(who="starter") == "cancelling training #1…"
    trainer.go_commit.set()
    final = finished(jobs)
    assert final.state == "cancelled" and "the serving model was not changed" in final.message, final
    assert not final.activated and not final.new_path
    assert versions.list_versions() == [] and jobs.holder.current.path == SHIPPED_MODEL
    assert_line_is_the_outcome(final)
    assert jobs.cancel(who="starter") == "nothing to cancel: no training is running"


def test_cancel_while_evaluating_and_saving_is_refused_and_the_run_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 6: past the commit, /cancel says so instead of "cancelling…", and the run ends as it says.
    Item 5: a run reading worse than the serving model is kept but not served; versions beyond ten are pruned,
    never the served one. Item 14: "Done" never comes with "epoch 2/2 … 0 s left"."""
    folder = config.models_dir()
    folder.mkdir(parents=True)
    old = [version(folder, f"mnist-old-{i:02d}", age_s=200 - i) for i in range(versions.MAX_VERSIONS + 1)]
    versions.set_serving(old[0])  # the oldest is the one chosen to serve at the next start: never pruned
    trainer = ScriptedTrainer(accuracy=0.5)  # far below the shipped model's 99%
    jobs = job_manager(monkeypatch, trainer)
    assert jobs.start(HP, activate=True, owner="starter")[0]
    assert trainer.trained.wait(10)
    trainer.go_commit.set()
    assert trainer.committed.wait(10)
    saving = jobs.snapshot()
    assert saving.state == "saving" and saving.where() == "evaluating on the test sets and saving"
    answer = jobs.cancel(who="starter")
    assert answer.startswith("too late to cancel training #1") and "kept as a version" in answer, answer
    assert not jobs._cancel.is_set()
    trainer.go_save.set()
    final = finished(jobs)
    assert final.state == "completed" and not final.activated, final
    shipped = read_metadata(SHIPPED_MODEL)["metrics"]["test_accuracy"]
    assert f"not served: it reads MNIST test worse ({shipped:.2%} → 50.00%" in final.message, final.message
    assert final.reason.startswith("keep the current model: ") and final.to_json()["new_holdout"] is None
    assert jobs.holder.current.path == SHIPPED_MODEL
    assert_line_is_the_outcome(final)
    assert "<b>Done (training #1)</b>" in status_html(final)
    kept = {v.path for v in versions.list_versions()}
    assert Path(final.new_path) in kept and old[0] in kept
    assert not old[1].exists() and not old[1].with_suffix(".json").exists()  # the oldest unprotected one went
    assert kept == {Path(final.new_path), old[0], *old[2:]}


def test_an_unwritable_models_folder_refuses_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 9: the check comes at start, in one line, and no job is started."""
    blocker = tmp_path / "file"
    blocker.write_text("a file where the demo's home folder should be")  # unwritable for root too
    monkeypatch.setenv("MNIST_DEMO_HOME", str(blocker / "home"))
    trainer = ScriptedTrainer(accuracy=0.999)
    jobs = job_manager(monkeypatch, trainer)
    started, message = jobs.start(HP, owner="starter")
    assert not started and message == (
        f"not started: cannot save models in {blocker / 'home' / 'models'}: not a directory; "
        "set MNIST_DEMO_HOME to a writable folder"
    )
    assert jobs.snapshot() == Snapshot() and not trainer.trained.wait(0.2)


def unserved(tmp_path: Path) -> AppContext:
    """A local demo serving some other model than the shipped one (its weights are never needed here)."""
    other = tmp_path / "other.keras"
    other.write_bytes(b"stands in for a trained version")
    holder = ModelHolder(Served(other, None, {}))
    return build_ctx(holder=holder)


def test_switch_version_in_an_unwritable_models_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 9: switching writes the serving pointer; when the folder refuses, the answer is one line and
    the model serving before keeps serving. Relative paths (item 11) resolve against the working directory."""
    monkeypatch.chdir(REPO)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MNIST_DEMO_HOME", str(blocker / "home"))
    ctx = unserved(tmp_path)
    answer = switch_version(ctx, "assets/model.keras")
    assert answer.startswith("not switched: ") and "\n" not in answer and len(answer) < 300, answer
    assert "Traceback" not in answer and ctx.holder.current.path == tmp_path / "other.keras"

    monkeypatch.setenv("MNIST_DEMO_HOME", str(tmp_path / "home"))

    def read_only(path: Path, data: bytes) -> None:  # what a read-only folder does to the pointer's write
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path.with_name(f".{path.name}.tmp-1")))

    monkeypatch.setattr(versions, "atomic_write_bytes", read_only)
    answer = switch_version(ctx, "assets/model.keras")
    assert answer.startswith("not switched: ") and "\n" not in answer and "ermission denied" in answer, answer
    assert ctx.holder.current.path == tmp_path / "other.keras"


def test_only_a_logged_in_user_may_control_a_public_demo() -> None:
    """Item 5: on a public demo, /switch_version and another visitor's /cancel need a login; locally anyone."""
    holder = shipped_holder()
    public = build_ctx(holder=holder, settings=Settings(True, "", public=True))
    local = build_ctx(holder=holder)
    visitor, user = SimpleNamespace(username=None), SimpleNamespace(username="ann")
    assert not may_control(public, visitor) and not may_control(public, None)
    assert may_control(public, user) and may_control(local, visitor)


def running(**fields: Any) -> Snapshot:
    return Snapshot(**({"job_id": 3, "owner": "starter", "message": "training"} | fields))


@pytest.mark.parametrize(
    ("snap", "line"),
    [
        (running(state="loading", message="starting"), "loading the MNIST training data"),
        (running(state="training", message="building the model"), "starting (building the model)"),
        (
            running(state="training", epoch=1, epochs=2, batch=5, batches=10, fraction=0.25, eta_s=30.0),
            "epoch 1/2, batch 5/10 (25%), about 30 s left",
        ),
        (running(state="saving", **LAST_BATCH), "evaluating on the test sets and saving"),
    ],
    ids=["loading", "building", "training", "saving"],
)
def test_a_running_job_shows_where_it_is(snap: Snapshot, line: str) -> None:
    """Item 14: while running, the line follows the state, with a progress bar."""
    assert snap.where() == line and snap.to_json()["where"] == line
    page = status_html(snap)
    assert line in page and "<progress" in page


@pytest.mark.parametrize(
    "snap",
    [
        Snapshot(job_id=3, state="completed", message="trained; MNIST test accuracy 97.00%, now serving", **LAST_BATCH),
        Snapshot(job_id=3, state="cancelled", message="cancelled; the serving model was not changed", **LAST_BATCH),
        Snapshot(job_id=3, state="failed", message="training failed: RuntimeError: boom", epoch=1, epochs=2, batch=3),
        Snapshot(job_id=3, state="failed", message="no training data: MNIST_DATA names no folder"),  # before epoch 1
        Snapshot(job_id=3, state="failed", message="no real pen handwriting on this server: start it with …"),
    ],
    ids=["done", "cancelled", "failed-mid-run", "failed-loading", "failed-no-pens"],
)
def test_an_ended_job_shows_its_outcome_not_its_last_progress(snap: Snapshot) -> None:
    """Item 14: "Done" with "epoch 2/2 … 0 s left", or "starting (building the model)" after a failure."""
    assert_line_is_the_outcome(snap)
    assert snap.message in status_html(snap)


def test_a_refusal_shows_the_reason_and_the_real_state(tmp_path: Path) -> None:
    """Item 14: what the Train tab shows after a refused start: the notice, and the last job as it really is."""
    ctx = unserved(tmp_path)
    page = TrainPage("status", "loss", "acc", "compare", "versions", "cancel", "presets", "split")  # type: ignore[arg-type]
    for last in (
        Snapshot(),
        Snapshot(job_id=2, state="failed", message="training failed: RuntimeError: boom"),
        Snapshot(job_id=2, state="completed", message="trained; kept as a version", **LAST_BATCH),
    ):
        update = page.show(ctx, last, "not started: epochs must be 1–40")
        shown = update["status"]
        assert update["cancel"]["interactive"] is False, "Cancel looks pressable while nothing runs"
        assert "<b>not started: epochs must be 1–40</b>" in shown, shown
        assert (last.message if last.state != "idle" else "No training yet") in shown, shown
        for stale in STALE:
            assert stale not in shown, (stale, shown)
    refused = train_tab.start(ctx, "fast", {"epochs": 99}, True, "visitor")
    assert refused == "not started: epochs must be 1–40" and ctx.jobs.snapshot() == Snapshot()


COLLECTED = SimpleNamespace(counts=lambda: SimpleNamespace(total=10, holdout=2))  # 8 to learn from, 2 to judge


@pytest.mark.parametrize("epochs", [0, 21, 40])
def test_finetune_epochs_out_of_range_are_refused_in_one_line_before_a_job_starts(
    monkeypatch: pytest.MonkeyPatch, epochs: int
) -> None:
    """One cap per recipe (config.FINETUNE_LIMITS): /finetune with epochs=30 no longer starts a job that fails."""
    trainer = ScriptedTrainer(accuracy=0.99)
    jobs = job_manager(monkeypatch, trainer)
    assert jobs.start_finetune(COLLECTED, epochs=epochs) == (False, "not started: epochs must be 1–20")  # type: ignore[arg-type]
    assert jobs.snapshot() == Snapshot()


@pytest.mark.parametrize(("accuracy", "verdict"), [(0.988, "still serving the previous model"), (0.98, "not served")])
def test_a_finetune_takes_the_same_finish_path_and_gate_as_a_retrain(
    monkeypatch: pytest.MonkeyPatch, accuracy: float, verdict: str
) -> None:
    """MNIST test 0.2 points lower is within the gate's 0.3, 1.0 point is not; the snapshot has its own fields."""
    trainer = ScriptedTrainer(accuracy=accuracy)
    jobs = job_manager(monkeypatch, trainer)
    assert jobs.start_finetune(COLLECTED, epochs=2, activate=False, owner="me") == (True, "fine-tune #1 started")  # type: ignore[arg-type]
    final = finished(jobs)
    assert isinstance(final, FinetuneSnapshot) and final.state == "completed", final
    assert (
        final.message.startswith("fine-tuned 2 epochs on 8 collected drawings in 3 s, saved as ")
        and verdict in final.message
    )
    assert final.old_holdout == 0.5 and final.new_holdout == 0.9 and final.holdout_count == 2 and not final.activated
    assert final.to_json()["kind"] == "finetune" and final.to_json()["new_pen_accuracy"] is None
    assert final.reason.startswith("serve" if accuracy > 0.985 else "keep")
    assert_line_is_the_outcome(final)


# ---- Issue #20: replicas sharing one models folder (each JobManager here stands for one server) ------------


def test_one_job_across_servers_sharing_the_folder_watched_and_cancelled_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trainer = ScriptedTrainer(accuracy=0.999)
    here, there = job_manager(monkeypatch, trainer), job_manager(monkeypatch, ScriptedTrainer(accuracy=0.999))
    assert here.start(HP) == (True, "training #1 started")
    assert trainer.trained.wait(10)

    started, refused = there.start(HP)
    assert not started and refused.startswith("a training is running on another server (training #1: epoch 2/2")
    assert there.snapshot().job_id == 1 and there.snapshot().running
    assert there.snapshot().curve == here.snapshot().curve  # the other server shows this one's progress

    assert there.cancel(who="someone else").startswith("not cancelled: only the visitor who started")
    assert there.cancel() == "cancelling training #1 on another server…"
    trainer.go_commit.set()
    wait_until(lambda: here.snapshot().state == "cancelled", "the running server did not see the cancel")
    wait_until(lambda: there.snapshot().state == "cancelled", "the other server did not see the end")
    assert there.start(HP) == (True, "training #2 started")  # the lock was freed: the next job may run anywhere


def test_a_job_whose_server_was_killed_frees_the_lock_and_shows_as_failed(tmp_path: Path) -> None:
    from mnist_core.serving.shared_job import ORPHANED, SharedJob

    lock = tmp_path / config.JOB_LOCK
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        shared = SharedJob(tmp_path)
        assert shared.claim(after=0) is None
        shared.publish(FinetuneSnapshot(job_id=4, state="training", message="training"))
        assert shared.last(fresh=True).state == "training"  # type: ignore[union-attr]
    finally:
        holder.kill()  # SIGKILL: no clean-up runs in the process that held the lock
        holder.wait(10)
    orphan = shared.last(fresh=True)
    assert orphan is not None and (orphan.state, orphan.message) == ("failed", ORPHANED)
    assert shared.claim(after=0) == 5
    shared.release()


HOLD_LOCK = """
import fcntl, sys, time
fd = open(sys.argv[1], "w")
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def models_with_a_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A models folder holding a copy of the shipped model (with its sidecar): a second version to choose."""
    from mnist_core.model.files import sidecar_path

    folder = tmp_path / "models"
    folder.mkdir()
    copy = folder / "mnist-copy.keras"
    copy.write_bytes(SHIPPED_MODEL.read_bytes())
    sidecar_path(copy).write_bytes(sidecar_path(SHIPPED_MODEL).read_bytes())
    return folder, copy


def test_a_server_follows_the_served_model_chosen_elsewhere_and_keeps_its_own_on_a_bad_file(tmp_path: Path) -> None:
    folder, copy = models_with_a_copy(tmp_path)
    holder = ModelHolder(load_served(SHIPPED_MODEL))
    stop = holder.follow(folder, every_s=0.05)
    try:
        versions.set_serving(copy, folder)  # as another server or `models use` would
        wait_until(lambda: holder.current.path == copy, "the choice made elsewhere was not followed")
        broken = folder / "mnist-broken.keras"
        broken.write_bytes(b"half a model")
        versions.set_serving(broken, folder)
        time.sleep(0.5)
        assert holder.current.path == copy
    finally:
        stop.set()


def test_a_switch_made_here_while_the_follower_looks_is_never_undone(tmp_path: Path) -> None:
    """The follower sees a choice made elsewhere while this server is switching (its lock held): once the switch
    is done it must not serve the older choice, not even for a moment (CI once read with the older model)."""
    folder, copy = models_with_a_copy(tmp_path)
    holder = ModelHolder(load_served(SHIPPED_MODEL))
    stop = holder.follow(folder, every_s=0.05)
    try:
        with holder._switching:  # this server's switch_to, in two steps around the follower's look
            versions.set_serving(copy, folder)
            time.sleep(0.3)  # the follower sees the change and waits for the lock
            versions.set_serving(SHIPPED_MODEL, folder)
            holder.swap(load_served(SHIPPED_MODEL))
        served = set()
        for _ in range(60):
            served.add(holder.current.path)
            time.sleep(0.025)
        assert served == {SHIPPED_MODEL}, served
    finally:
        stop.set()


def test_the_shared_state_keeps_the_curve_short_with_its_shape() -> None:
    from mnist_core.serving.snapshot import from_state, thin

    curve = tuple((i / 10, series, float(i)) for i in range(1000) for series in ("train loss", "train accuracy"))
    kept = thin(curve, 100)
    assert 100 <= len(kept) <= 110 and kept[-2:] == curve[-2:] and kept[:2] == curve[:2]
    snap = FinetuneSnapshot(job_id=3, state="training", curve=curve, old_per_class=(0.9,) * 10, drawings=8)
    assert from_state(json.loads(json.dumps(snap.to_state(100)))) == dataclasses.replace(snap, curve=kept)
