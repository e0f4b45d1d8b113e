"""A correction on the Draw tab, in process (no server, no browser): one drawing, one label, in the shared collection
and in the visitor's own memory; the same drawing read again answers what was said; undo takes it out of both."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import build_ctx

from mnist_core.config import SHIPPED_MODEL
from mnist_core.imaging.strokes import parse
from mnist_ui.server.collect import Collector
from mnist_ui.server.context import AppContext, Settings
from mnist_ui.server.corrections import correct_drawing, undo_drawing
from mnist_ui.server.personal import PersonalModels
from mnist_ui.testing import ONE, SEVEN, pad_value

pytestmark = pytest.mark.slow  # the replay set is built once per context (about a second)


def context(tmp_path: Path, collect: bool = True) -> AppContext:
    path = tmp_path / "drawings.sqlite3"
    ctx = build_ctx(SHIPPED_MODEL, Settings(True, "", not collect), collector=Collector(path, enabled=collect))
    return dataclasses.replace(ctx, personal=PersonalModels(ctx.holder, path))


def rows(path: Path) -> list[tuple[str, int]]:
    """(table, label) of every kept drawing, the collection's and the profiles'."""
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        found = [("personal", label) for (label,) in conn.execute("SELECT label FROM personal_drawings")]
        if "drawings" in tables:  # a server that does not collect never makes the collection's table
            found += [("drawings", label) for (label,) in conn.execute("SELECT label FROM drawings")]
    return found


def reads(ctx: AppContext, value: str, key: str | None) -> tuple[str, int | None]:
    assert ctx.personal is not None
    answer = ctx.personal.read_drawings([parse(value)], [key])[0]
    return answer.model, answer.reading.digit


def test_one_drawing_corrected_7_7_1_keeps_one_row_labelled_1_and_undo_empties_it(tmp_path: Path) -> None:
    ctx, value = context(tmp_path), json.dumps(pad_value(ONE))
    first = correct_drawing(ctx, 7, value, None, "a")
    assert first.kept and first.profile, first
    expected = "kept as a 7 — your model now reads this 7; the shared model learns from it when it is fine-tuned"
    assert first.message == expected
    assert reads(ctx, value, first.profile) == ("personal", 7)  # the very drawing, read again at once
    assert reads(ctx, value, None) == ("shared", 1)
    again = correct_drawing(ctx, 7, value, first.profile, "a")
    assert again.message.startswith("kept as a 7") and again.profile == first.profile
    last = correct_drawing(ctx, 1, value, first.profile, "a")
    assert last.message.startswith("changed to a 1 — your model now reads this 1")
    assert sorted(rows(tmp_path / "drawings.sqlite3")) == [("drawings", 1), ("personal", 1)]
    assert reads(ctx, value, first.profile) == ("personal", 1)
    undone = undo_drawing(ctx, value, first.profile, "a")
    assert undone.message == "undone — this drawing is no longer kept; your model forgot it" and not undone.kept
    assert rows(tmp_path / "drawings.sqlite3") == []
    assert reads(ctx, value, first.profile)[0] == "shared"
    assert undo_drawing(ctx, value, first.profile, "a").message == "nothing to undo: this drawing is not kept"


def test_right_keeps_what_the_visitor_was_shown_and_a_server_that_does_not_collect_still_teaches(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path, collect=False)
    seven, one = json.dumps(pad_value(SEVEN)), json.dumps(pad_value(ONE))
    taught = correct_drawing(ctx, 4, one, None, "a")
    assert taught.message == (
        "kept as a 4 — your model now reads this 4; this server does not collect drawings for the shared model"
    )
    right = correct_drawing(ctx, None, seven, taught.profile, "a")
    assert right.kept and right.message.startswith("kept as a 7") and right.profile == taught.profile
    assert sorted(rows(tmp_path / "drawings.sqlite3")) == [("personal", 4), ("personal", 7)]
    refused = correct_drawing(ctx, 3, json.dumps({"v": 1, "width": 448, "height": 448, "strokes": []}), None, "a")
    assert not refused.kept and "\n" not in refused.message
