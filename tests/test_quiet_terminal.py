"""A quiet terminal: a server's first training prints one line per event a person needs, and none of TensorFlow's
own lines unless it was started with --verbose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mnist_core.tf_logs import NATIVE_LINE
from mnist_ui.testing import NO_NETWORK, data_env, running_app

pytest.importorskip("gradio_client")
from gradio_client import Client

pytestmark = pytest.mark.slow
TINY = {"epochs": 1, "train_subset": 1000}


def first_training(mnist_dir: Path, home: Path, *flags: str) -> list[str]:
    """Start `python demo.py` as a person does (TensorFlow's log level not set), run one training through the API,
    stop it; the lines it printed."""
    env = data_env(mnist_dir) | NO_NETWORK | {"TF_CPP_MIN_LOG_LEVEL": ""}
    with running_app(None, home, flags, env=env) as app:
        final = Client(app.url, verbose=False).predict(TINY, "fast", False, api_name="/retrain")
        assert final["state"] == "completed", final
    return [line for line in app.output().splitlines() if line.strip()]


def test_a_first_training_prints_its_events_and_no_tensorflow_line(mnist_dir, tmp_path):
    lines = first_training(mnist_dir, tmp_path / "home")
    assert not [line for line in lines if NATIVE_LINE.match(line)], lines
    assert re.fullmatch(r"serving at http://127\.0\.0\.1:\d+", lines[0]), lines
    assert lines[1] == "training #1 started (web demo Train tab)", lines
    assert lines[2].startswith("training #1 completed: trained 1 epoch on 900 images in "), lines
    assert len(lines) == 3, lines


def test_verbose_shows_what_tensorflow_says(mnist_dir, tmp_path):
    lines = first_training(mnist_dir, tmp_path / "home", "--verbose")
    assert [line for line in lines if NATIVE_LINE.match(line)], lines
