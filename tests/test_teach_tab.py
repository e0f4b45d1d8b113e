"""The teaching page's steps and the demo's personal models, in process (no server, no browser); the tests that
teach (about a second each on an idle machine, with the replay set built first) are slow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mnist_core.config import SHIPPED_MODEL
from mnist_core.imaging.strokes import parse
from mnist_core.personal.replay_set import SHIPPED_REPLAY, load_replay_images
from mnist_core.serving.holder import ModelHolder, load_served
from mnist_ui.server.personal import PersonalModels
from mnist_ui.tabs.teach import Lesson, keep, prompt
from mnist_ui.testing import ONE, SEVEN, ZERO, pad_value


def test_the_page_asks_for_each_digit_in_turn_with_its_progress() -> None:
    assert "Draw a <b>0</b> <small>(1 of 3)</small>" in prompt(0, 3) and "1 of 30" in prompt(0, 3)
    assert "Draw a <b>5</b> <small>(2 of 3)</small>" in prompt(16, 3) and "17 of 30" in prompt(16, 3)
    assert "Draw a <b>9</b></div>" in prompt(9, 1) and "10 of 10" in prompt(9, 1)
    assert "Done" in prompt(30, 3)


def test_next_keeps_the_drawing_under_the_asked_digit_and_refuses_an_empty_pad() -> None:
    lesson, problem = keep(Lesson(), None, 3)
    assert lesson == Lesson() and problem == "Draw a 0 on the pad first (or skip it)."
    empty = json.dumps({"v": 1, "width": 448, "height": 448, "strokes": []})
    assert keep(Lesson(step=4), empty, 3)[1] == "Draw a 1 on the pad first (or skip it)."
    lesson, problem = keep(Lesson(step=4), json.dumps(pad_value(ONE)), 3)
    assert problem == "" and lesson.step == 5 and [d["label"] for d in lesson.drawings] == [1]
    assert parse(lesson.drawings[0]["strokes"]).strokes


def test_the_shipped_replay_sample_is_small_and_balanced() -> None:
    assert SHIPPED_REPLAY.stat().st_size < 3_000_000
    with np.load(SHIPPED_REPLAY) as found:
        images, labels = found["images"], found["labels"]
    assert images.shape == (4000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).min() > 300


@pytest.mark.slow
def test_replayed_digits_come_from_the_servers_data_when_it_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("MNIST_DATA"):
        pytest.skip("needs MNIST: set MNIST_DATA")
    assert load_replay_images()[2].startswith("MNIST")
    monkeypatch.delenv("MNIST_DATA")
    assert load_replay_images()[2] == "the shipped sample (replay.npz)"


@pytest.fixture
def personal(tmp_path: Path) -> PersonalModels:
    return PersonalModels(ModelHolder(load_served(SHIPPED_MODEL)), tmp_path / "drawings.sqlite3", per_minute=3)


@pytest.mark.slow
def test_a_batch_of_visitors_reads_each_with_their_own_model(personal: PersonalModels) -> None:
    lesson = [{"label": 7, "strokes": pad_value(ONE)}, {"label": 0, "strokes": pad_value(ZERO)}] * 3
    key = personal.teach(lesson, None, "a").profile
    assert key and "taught on 6 of your drawings" in personal.describe(key)
    drawings = [parse(pad_value(s)) for s in (ONE, ONE, SEVEN)]
    answers = personal.read_drawings(drawings, [key, None, "not-a-key-but-long-enough"])
    assert [a.model for a in answers] == ["personal", "shared", "shared"]
    assert answers[0].reading.probabilities[7] > answers[1].reading.probabilities[7]
    assert answers[2].note == "no personal model under this key (forgotten or dropped); using the shared model"
    assert "forgotten" in personal.forget(key) and "gone" in personal.describe(key)


@pytest.mark.slow
def test_teaching_is_limited_per_visitor(personal: PersonalModels) -> None:
    lesson = [{"label": 0, "strokes": pad_value(ZERO)}]
    assert all(personal.teach(lesson, None, "b").profile for _ in range(3))
    refused = personal.teach(lesson, None, "b")
    assert refused.profile is None and "a minute" in refused.message
    assert personal.teach(lesson, None, "c").profile
