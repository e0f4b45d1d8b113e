"""A fresh machine: no MNIST copy. Offline, Retrain and Fine-tune say what to do in one line before anything runs;
with a download in reach, the run fetches it once, shows how far it is, and the next run reads the kept copy."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import closed_port

from mnist_core.config import SHIPPED_MODEL, preset
from mnist_core.data import download
from mnist_core.drawings.store import DrawingStore
from mnist_core.model.files import read_metadata
from mnist_core.serving.holder import ModelHolder, Served
from mnist_core.serving.jobs import JobManager

FAST = preset("fast")


class Untrained:
    """A trainer that records what it was given and trains nothing: the run stops as cancelled."""

    def __init__(self) -> None:
        self.data: Any = None

    def train(self, hp: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        self.data = data
        stopped = SimpleNamespace(ok=False, status="cancelled", message="stopped by the test")
        return SimpleNamespace(result=stopped, report=None, path=None)

    def finetune(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no fine-tune runs in these tests")


@pytest.fixture
def no_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MNIST_DATA, nothing downloaded before, nothing in Keras' cache."""
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def jobs_with(trainer: Untrained) -> JobManager:
    return JobManager(ModelHolder(Served(SHIPPED_MODEL, None, read_metadata(SHIPPED_MODEL))), trainer=trainer)


def test_offline_retrain_and_finetune_say_what_to_do_before_anything_runs(no_copy, monkeypatch, tmp_path):
    monkeypatch.setenv(download.URL_ENV, f"http://127.0.0.1:{closed_port()}/mnist.npz")
    jobs = jobs_with(Untrained())
    started, line = jobs.start(FAST)
    assert not started and line.startswith("not started: no MNIST on this machine and no internet"), line
    assert "--data PATH" in line and "connect this machine to the internet once" in line and "\n" not in line
    assert jobs.snapshot().state == "idle"  # nothing ran: no job, no "Preparing"
    started, again = jobs.start_finetune(DrawingStore(tmp_path / "drawings.sqlite3"))
    assert not started and again == line
    assert jobs.data_problem() == line.removeprefix("not started: ")  # the Train tab's notice says it on arrival


def test_a_run_downloads_mnist_once_and_shows_how_far(mnist, mirror, no_copy, monkeypatch, caplog):
    monkeypatch.setenv(download.URL_ENV, f"{mirror}/mnist.npz")
    trainer = Untrained()
    jobs = jobs_with(trainer)
    assert jobs.data_problem() is None  # the download's server answers: the tab has nothing to warn about
    said: list[str] = []
    update = jobs._update

    def heard(job_id: int, **changes: Any) -> None:
        said.append(changes.get("message", ""))
        update(job_id, **changes)

    monkeypatch.setattr(jobs, "_update", heard)
    with caplog.at_level(logging.INFO, logger="mnist_demo"):
        assert jobs.start(FAST)[0]
        deadline = time.monotonic() + 120
        while jobs.snapshot().running or len(caplog.records) < 4:  # the job's last line comes after its state
            assert time.monotonic() < deadline, (jobs.snapshot(), caplog.records)
            time.sleep(0.05)
    progress = [m for m in said if m.startswith("downloading MNIST (once):")]
    assert progress and progress[-1].endswith("(100%)"), said
    assert (trainer.data[0][1] == mnist[0][1]).all()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "training #1 started (web demo Train tab)"
    assert lines[1].startswith("downloading MNIST (11 MB, once) from http://127.0.0.1:")
    assert lines[2] == f"MNIST downloaded into {download.downloaded_copy()}"
    assert lines[3].startswith("training #1 cancelled: stopped by the test")
    monkeypatch.setenv(download.URL_ENV, f"http://127.0.0.1:{closed_port()}/mnist.npz")
    assert jobs_with(Untrained()).data_problem() is None  # once: offline now, the kept copy trains
