"""UNIPEN real pen handwriting: the loader's errors, the writer split the headline measure rests on, pad drawings."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mnist_core.config import REPO_DIR
from mnist_core.data import renderings, unipen
from mnist_core.data.mnist import DataError
from mnist_core.data.renderings import Variation
from mnist_core.data.unipen import PenDigit


def unipen_file() -> Path:
    """$UNIPEN_DATA (CI sets it: a wrong path fails), else the project's shared copy, else skip."""
    if os.environ.get(unipen.PENS_ENV):
        return unipen.pens_path()
    shared = REPO_DIR.parent / "shared" / "data" / "unipen" / unipen.FILE_NAME
    if not shared.is_file():
        pytest.skip(f"no UNIPEN data: set {unipen.PENS_ENV}")
    return shared


@pytest.fixture(scope="module")
def digits() -> list[PenDigit]:
    return unipen.load_unipen(unipen_file())


def test_the_real_file_loads_as_the_readme_describes_it(digits: list[PenDigit]):
    assert len(digits) == 15_309
    assert Counter(d.label for d in digits) == {
        0: 1575,
        1: 1682,
        2: 1583,
        3: 1524,
        4: 1567,
        5: 1462,
        6: 1456,
        7: 1481,
        8: 1495,
        9: 1484,
    }
    writers = {d.writer for d in digits}
    assert len(writers) == 203 and len({d.source for d in digits}) == 13
    assert all(re.fullmatch(r"[a-z]+/\S+", d.writer) and d.writer.startswith(d.source + "/") for d in digits)
    assert Counter(d.source for d in digits)["syn"] == 4554
    first = digits[0].strokes
    assert first and all(s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 2 and len(s) for s in first)


def test_a_folder_holding_the_file_is_read_too():
    file = unipen_file()
    assert unipen.pens_path(file.parent) == file


def write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)
    return path


RECORD = json.dumps({"label": 7, "source": "gmd", "writer": "gmd/ab", "strokes": [[[0, 0], [5, 9]]]})


def test_a_small_valid_file_loads(tmp_path: Path):
    (digit,) = unipen.load_unipen(write_gz(tmp_path / "one.jsonl.gz", RECORD + "\n"))
    assert (digit.label, digit.source, digit.writer) == (7, "gmd", "gmd/ab")
    np.testing.assert_array_equal(digit.strokes[0], [[0, 0], [5, 9]])


def bad_files(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"this is not gzip at all\n" * 10)
    rng = np.random.default_rng(0)
    records = "".join(RECORD.replace("[5, 9]", str(rng.integers(0, 999, 2).tolist())) + "\n" for _ in range(2000))
    whole = write_gz(tmp_path / "whole.gz", records).read_bytes()
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    return {
        "missing file": tmp_path / "nope.jsonl.gz",
        "folder without the file": tmp_path,
        "not gzip": garbage,
        "truncated gzip": truncated,
        "a line that is not JSON": write_gz(tmp_path / "text.gz", RECORD + "\nhello\n"),
        "a record without strokes": write_gz(tmp_path / "nostrokes.gz", RECORD + '\n{"label": 3}\n'),
        "a label that is no digit": write_gz(tmp_path / "label.gz", RECORD.replace('"label": 7', '"label": 12')),
        "a record with no ink": write_gz(tmp_path / "noink.gz", RECORD.replace("[[[0, 0], [5, 9]]]", "[[]]")),
        "a JSON list, not a record": write_gz(tmp_path / "list.gz", "[1, 2]\n"),
        "points that are not pairs": write_gz(tmp_path / "odd.gz", RECORD.replace("[5, 9]", "[5, 9, 1]")),
        "an empty file": write_gz(tmp_path / "empty.gz", ""),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "folder without the file",
        "not gzip",
        "truncated gzip",
        "a line that is not JSON",
        "a record without strokes",
        "a label that is no digit",
        "a record with no ink",
        "a JSON list, not a record",
        "points that are not pairs",
        "an empty file",
    ],
)
def test_a_missing_or_corrupt_file_is_a_one_line_data_error(tmp_path: Path, case: str):
    path = bad_files(tmp_path)[case]
    with pytest.raises(DataError) as caught:
        unipen.load_unipen(path)
    message = str(caught.value)
    assert "\n" not in message and unipen.PENS_ENV in message
    if case == "a record without strokes":
        assert "line 2" in message  # says where, so a hand-edited file can be fixed


def test_without_a_file_given_the_shipped_copy_is_read(monkeypatch: pytest.MonkeyPatch):
    """A fresh clone trains on real pens: the file ships in assets/, the same file the shared copy holds."""
    monkeypatch.delenv(unipen.PENS_ENV, raising=False)
    assert unipen.pens_path() == unipen.SHIPPED_PENS
    assert hashlib.md5(unipen.SHIPPED_PENS.read_bytes()).hexdigest() == "12346d0b54312986a35c28c553ef3593"
    assert "Creative Commons Attribution 4.0" in (unipen.SHIPPED_PENS.parent / "unipen.md").read_text()
    assert len(unipen.load_unipen()) == 15_309


def test_the_writer_split_is_a_rule_anyone_can_rerun(digits: list[PenDigit]):
    split = unipen.writer_split(digits)
    assert unipen.writer_split(digits) == split
    assert unipen.writer_split(digits[::-1]) == split  # the order of the file does not matter …
    assert unipen.writer_split(digits, seed=1) != split  # … the seed does
    assert Counter(split.values()) == {"train": 143, "val": 18, "test": 42}
    assert len(unipen.part(digits, "test")) == 3147  # the headline figure's denominator: change it knowingly


def test_no_writer_is_on_two_sides_and_every_digit_is_on_one(digits: list[PenDigit]):
    sides = {name: unipen.part(digits, name) for name in ("train", "val", "test")}
    writers = {name: {d.writer for d in part} for name, part in sides.items()}
    assert not writers["train"] & writers["val"] and not writers["train"] & writers["test"]
    assert not writers["val"] & writers["test"]
    assert sum(len(part) for part in sides.values()) == len(digits)


def test_every_site_with_two_writers_has_a_test_writer_and_a_fifth_are_test(digits: list[PenDigit]):
    split = unipen.writer_split(digits)
    by_site: dict[str, set[str]] = {}
    for d in digits:
        by_site.setdefault(d.source, set()).add(d.writer)
    for site, writers in by_site.items():
        tested = [w for w in writers if split[w] == "test"]
        assert (len(tested) >= 1) == (len(writers) >= 2), site
        if len(writers) >= 10:
            assert abs(len(tested) / len(writers) - unipen.TEST_FRACTION) <= 0.05, site
    assert 0.17 <= Counter(split.values())["test"] / len(split) <= 0.23


def test_a_subset_of_the_digits_keeps_every_writers_side(digits: list[PenDigit]):
    """train(..., pens=subset) must not train on a writer the full file holds out.

    Fix in the report: stamp each digit's side at load time (split over the whole file) and filter on it.
    """
    full = unipen.writer_split(digits)
    test = [d for d in digits if full[d.writer] == "test"]
    mix = test + [d for d in digits if full[d.writer] == "train"][:2000]
    assert {d.writer for d in unipen.part(mix, "test")} == {d.writer for d in test}


def inside_box(drawing, variation: Variation, side: float) -> None:
    points = np.concatenate(drawing.strokes)
    assert points.min() >= -1e-3 and points.max() <= side + 1e-3
    extent = float(np.ptp(points, axis=0).max())
    assert variation.box[0] * side - 1e-3 <= extent <= variation.box[1] * side + 1e-3
    assert variation.pen[0] * side - 1e-3 <= drawing.pen <= variation.pen[1] * side + 1e-3


@pytest.mark.parametrize(
    "variation",
    [Variation(), renderings.PAD, Variation(box=(0.9, 0.95), slant=0.5, stretch=0.3)],
    ids=["default", "pad", "large and slanted"],
)
def test_a_pad_drawing_stays_in_the_pad_at_the_size_asked(digits: list[PenDigit], variation: Variation):
    rng = np.random.default_rng(3)
    for digit in digits[::150]:
        for side in (448, 300):
            drawing = renderings.pad_drawing(digit.strokes, rng, variation, side=side)
            assert (drawing.width, drawing.height) == (side, side)
            inside_box(drawing, variation, side)


def test_pad_drawings_vary_and_keep_the_writers_strokes(digits: list[PenDigit]):
    digit = digits[0]
    a, b = (renderings.pad_drawing(digit.strokes, np.random.default_rng(k)) for k in (1, 2))
    assert [
        len(s) for s in renderings.pad_drawing(digit.strokes, np.random.default_rng(0), renderings.PAD).strokes
    ] == [len(s) for s in digit.strokes]  # PAD redraws the writer's path as it was, point for point
    assert not np.array_equal(np.concatenate(a.strokes)[:5], np.concatenate(b.strokes)[:5])


def test_render_digits_depends_on_the_seed_not_on_the_workers(digits: list[PenDigit]):
    sample = digits[::150][:90]  # over 64 digits: the two-worker call really uses a process pool
    one = renderings.render_digits(sample, 2, seed=5, workers=1)
    assert one.shape == (len(sample), 2, 28, 28) and one.dtype == np.uint8
    np.testing.assert_array_equal(renderings.render_digits(sample, 2, seed=5, workers=2), one)
    assert not np.array_equal(renderings.render_digits(sample[:8], 2, seed=6, workers=1), one[:8])
    assert not np.array_equal(one[:, 0], one[:, 1])  # each variant is a fresh drawing
    assert (one.reshape(len(sample), -1).max(axis=1) > 200).mean() > 0.95  # ink, not blanks


def test_the_drawing_processes_are_not_forked_from_the_caller():
    """A fork copies locks that the caller's other threads hold (a server's, a training's); a child that needs
    one waits forever. The pool's processes come from a fork server instead, so their parent is not us."""
    with renderings.pool_of(2) as pool:
        parents = {pool.submit(os.getppid).result() for _ in range(4)}
    assert parents and os.getpid() not in parents


def test_test_drawings_are_the_held_out_writers_in_order(digits: list[PenDigit]):
    few = [d for d in digits if d.source in ("imp", "art")]  # whole sites: the same split as the full file
    images, labels = renderings.test_drawings(few)
    test = unipen.part(few, "test")
    assert len(images) == len(test) > 0 and labels.tolist() == [d.label for d in test]
    again = renderings.render_digits(test, 1, renderings.TEST_SEED, renderings.PAD, workers=1)[:, 0]
    np.testing.assert_array_equal(images, again)


@pytest.mark.slow
@pytest.mark.parametrize("with_val", [False, True])
def test_a_short_training_mixes_mnist_and_training_writers_only(
    mnist, digits: list[PenDigit], monkeypatch: pytest.MonkeyPatch, with_val: bool
):
    """Whole sites (so the split is the full file's); a spy sees every pen digit training draws.

    The validation writers are measured, or (the shipped fit) trained on; the test writers never appear."""
    import mnist_core.training.scratch as training
    from mnist_core.config import preset

    full = unipen.writer_split(digits)
    sites = ("apa", "aga", "imp", "art")
    given = [d for d in digits if d.source in sites]
    assert {full[d.writer] for d in given} == {"train", "val", "test"}  # test writers are there to be leaked
    drawn: list[tuple[list[PenDigit], int]] = []

    def spying(draw):
        def spy(chosen, variants, *args, **kwargs):
            drawn.append((list(chosen), variants))
            return draw(chosen, variants, *args, **kwargs)

        return spy

    monkeypatch.setattr(training, "render_digits", spying(renderings.render_digits))  # the training writers
    monkeypatch.setattr(training, "render_fixed", spying(renderings.render_fixed))  # the validation writers
    (x, y), _ = mnist
    hp = preset("fast").replace(epochs=1, train_subset=3000, pens=True, pen_variants=2, pen_val_writers=with_val)
    result = training.train(hp, (x, y), pens=given)
    assert result.ok, result.message
    (train_call, variants), (val_call, _) = drawn
    assert variants == 2 and train_call
    if with_val:
        assert {full[d.writer] for d in train_call} == {"train", "val"} and not val_call
    else:
        assert {full[d.writer] for d in train_call} == {"train"} and {full[d.writer] for d in val_call} == {"val"}
    mnist_part = int(3000 * (1 - hp.validation_split))
    assert result.n_train == mnist_part + hp.pen_weight * len(train_call)
    assert result.n_val == 3000 - mnist_part + len(val_call)
