"""Fixed sets of pen drawings kept on disk: read back identical, drawn afresh when anything that makes them
changes, never trusted when damaged, and never in the way (switched off, or a folder that cannot be written)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mnist_core.data import render_cache, renderings
from mnist_core.data.renderings import PAD, Variation
from mnist_core.data.unipen import PenDigit

SEVEN = (np.array([[0, 0], [10, 0], [4, 12]], np.float32),)
ONE = (np.array([[5, 0], [5, 12]], np.float32),)
DIGITS = [PenDigit(7, "t", "t/a", SEVEN, "test"), PenDigit(1, "t", "t/a", ONE, "test")]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(render_cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Counting:
    """A drawing function that says how often it was asked to draw."""

    def __init__(self, digits: list[PenDigit], variants: int = 2, seed: int = 3, variation: Variation = PAD):
        self.args, self.calls = (digits, variants, seed, variation), 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return renderings.render_digits(*self.args, workers=1)

    def drawn(self) -> np.ndarray:
        return render_cache.drawn(*self.args, self)


def test_a_set_is_drawn_once_then_read_back_identical(folder: Path):
    draw = Counting(DIGITS)
    first = draw.drawn()
    assert first.shape == (2, 2, 28, 28) and first.dtype == np.uint8 and first.max() > 200
    assert len(list(folder.glob("*.npy"))) == 1 and not list(folder.glob("*.tmp"))
    np.testing.assert_array_equal(draw.drawn(), first)
    assert draw.calls == 1


@pytest.mark.parametrize(
    "changed",
    [
        Counting(DIGITS, variants=3),
        Counting(DIGITS, seed=4),
        Counting(DIGITS, variation=Variation()),
        Counting([DIGITS[0], PenDigit(4, "t", "t/a", ONE, "test")]),  # a label
        Counting([DIGITS[0], PenDigit(1, "t", "t/a", (ONE[0] * 2,), "test")]),  # a stroke
        Counting(DIGITS[::-1]),  # the order
    ],
    ids=["variants", "seed", "variation", "label", "stroke", "order"],
)
def test_anything_that_makes_the_set_draws_it_afresh(folder: Path, changed: Counting):
    Counting(DIGITS).drawn()
    changed.drawn()
    assert changed.calls == 1 and len(list(folder.glob("*.npy"))) == 2


def test_other_drawing_code_draws_it_afresh(folder: Path, monkeypatch: pytest.MonkeyPatch):
    assert len(render_cache.code_digest()) == 64
    Counting(DIGITS).drawn()
    monkeypatch.setattr(render_cache, "code_digest", lambda: "an edited imaging/strokes.py")
    again = Counting(DIGITS)
    again.drawn()
    assert again.calls == 1


@pytest.mark.parametrize("damage", [b"", b"not an array", None], ids=["empty", "garbage", "another shape"])
def test_a_damaged_file_is_drawn_again_and_replaced(folder: Path, damage: bytes | None):
    draw = Counting(DIGITS)
    first = draw.drawn()
    (path,) = folder.glob("*.npy")
    if damage is None:
        np.save(path, first[:1])
    else:
        path.write_bytes(damage)
    np.testing.assert_array_equal(draw.drawn(), first)
    assert draw.calls == 2
    np.testing.assert_array_equal(np.load(path), first)


def test_off_keeps_nothing(isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(render_cache.CACHE_ENV, render_cache.OFF)
    draw = Counting(DIGITS)
    draw.drawn()
    draw.drawn()
    assert draw.calls == 2 and render_cache.cache_dir() is None and not list(isolated_home.rglob("*"))


def test_the_default_folder_is_in_the_demos_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(render_cache.CACHE_ENV, raising=False)
    assert render_cache.cache_dir() == isolated_home / "cache"


def test_a_folder_that_cannot_be_written_costs_only_the_drawing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocker = tmp_path / "a file"
    blocker.write_text("where the cache folder should be")
    monkeypatch.setenv(render_cache.CACHE_ENV, str(blocker / "cache"))
    draw = Counting(DIGITS)
    np.testing.assert_array_equal(draw.drawn(), draw.drawn())
    assert draw.calls == 2


def test_a_cache_that_cannot_be_written_is_still_read(folder: Path, monkeypatch: pytest.MonkeyPatch):
    first = Counting(DIGITS).drawn()

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refused)
    again = Counting(DIGITS)
    np.testing.assert_array_equal(again.drawn(), first)
    assert again.calls == 0


def test_only_the_most_recently_used_sets_are_kept(folder: Path):
    oldest, used_again = Counting(DIGITS, seed=0), Counting(DIGITS, seed=1)
    oldest.drawn()
    used_again.drawn()
    for path in folder.glob("*.npy"):
        os.utime(path, (0, 0))  # both drawn long ago
    used_again.drawn()  # read today
    for seed in range(2, render_cache.KEEP + 1):
        Counting(DIGITS, seed=seed).drawn()
    assert len(list(folder.glob("*.npy"))) == render_cache.KEEP
    used_again.drawn()
    oldest.drawn()
    assert used_again.calls == 1 and oldest.calls == 2


def test_a_temporary_file_left_by_a_killed_process_goes(folder: Path):
    Counting(DIGITS).drawn()
    stale, fresh = folder / "killed.tmp", folder / "being-written.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a set")
    os.utime(stale, (0, 0))
    Counting(DIGITS, seed=9).drawn()
    assert not stale.exists() and fresh.exists()


def test_the_held_out_set_is_the_same_from_the_cache(folder: Path):
    held_out = [PenDigit(d.label, d.source, d.writer, d.strokes, "test") for d in DIGITS * 40]  # a process pool
    images, labels = renderings.test_drawings(held_out)
    again, _ = renderings.test_drawings(held_out)
    direct = renderings.render_digits(held_out, 1, renderings.TEST_SEED, PAD, workers=1)[:, 0]
    np.testing.assert_array_equal(images, direct)
    np.testing.assert_array_equal(again, direct)
    assert labels.tolist() == [7, 1] * 40 and len(list(folder.glob("*.npy"))) == 1
