"""Teaching the demo in real Chromium: draw on the pad, click "Wrong? It is a:" 7, see it read 7 at once, change it,
undo it; see the count grow; then the Drawings tab shows it. Screenshots go to artifacts/ for a human look."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import StartApp

from mnist_ui.testing import NO_DATA, ONE, REPO, SETTLED, STILL, App, Strokes, draw

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"


@pytest.fixture
def app(app_factory: StartApp, demo_model: Path) -> App:
    """A server of its own: the test counts the drawings it collects from zero."""
    return app_factory(demo_model, env=NO_DATA)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def draw_one(page: Any, strokes: Strokes = ONE) -> None:
    """A digit on the pad with the mouse, then wait for the model's answer."""
    page.evaluate(SETTLED)
    draw(page, strokes)
    page.wait_for_selector("#verdict .digit")
    page.evaluate(STILL, "#is-7")  # the final answer can still move the buttons: a click must not land on the old spot


def says(page: Any, words: str) -> str:
    """Wait until the status line holds `words`; the line."""
    try:
        page.wait_for_function("(w) => document.querySelector('#correct-status').textContent.includes(w)", arg=words)
    except sync_api.TimeoutError:
        page.screenshot(path=str(ARTIFACTS / "teach_not_saved.png"), full_page=True)
        raise AssertionError(f"no {words!r}; the status says {page.inner_text('#correct-status')!r}") from None
    return page.inner_text("#correct-status")


def labels(app: App) -> list[int]:
    with sqlite3.connect(app.home / "drawings.sqlite3") as conn:
        return [label for (label,) in conn.execute("SELECT label FROM drawings ORDER BY id")]


def test_one_drawing_one_label_read_again_at_once_and_undone(app: App, page: Any) -> None:
    """Draw a 1, say it is a 7: the page now reads 7 with the visitor's own model; 7 again, then 1: one row, labelled
    1; Undo: none. The buttons show only once something is drawn."""
    page.goto(app.url)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad')?.tabIndex === 0")
    assert page.locator("#is-7").is_hidden() and page.locator("#correct-undo").is_hidden()
    draw_one(page)
    assert page.inner_text("#verdict .digit").startswith("1") and page.locator("#correct-undo").is_hidden()
    page.click("#is-7")
    line = says(page, "kept as a 7")
    assert "your model now reads this 7; the shared model learns from it when it is fine-tuned" in line, line
    page.wait_for_function("() => document.querySelector('#verdict .digit').textContent.startsWith('7')")
    page.wait_for_function("() => document.querySelector('#model-who').innerText === 'Answered by your model'")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teach_draw_corrected.png"), full_page=True)
    page.click("#is-7")
    page.click("#is-1")
    says(page, "changed to a 1 — your model now reads this 1")
    assert labels(app) == [1]
    page.click("#correct-undo")
    says(page, "undone — this drawing is no longer kept; your model forgot it")
    assert labels(app) == [] and page.locator("#correct-undo").is_hidden()

    page.click("#pad .pad-clear")
    page.wait_for_function("() => document.querySelector('#correct-status').textContent.trim() === ''")
    assert page.locator("#is-7").is_hidden()


def test_draw_then_say_it_is_a_seven_and_the_count_grows(app: App, page: Any) -> None:
    page.goto(app.url)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad')?.tabIndex === 0")
    # The file is named once the page has asked who is looking (a local visitor here): access.sees_paths.
    page.wait_for_function("() => document.querySelector('#collect-where').innerText.includes('drawings.sqlite3')")
    where = page.inner_text("#collect-where")
    assert "drawings.sqlite3" in where and "keeps the drawing" in where
    for n, strokes in enumerate((ONE, [[[x + 40, y + 10] for x, y in ONE[0]]]), 1):
        if n > 1:
            page.click("#pad .pad-clear")
        draw_one(page, strokes)
        page.click("#is-7")
        says(page, "kept as a 7")
        assert labels(app) == [7] * n

    page.get_by_role("tab", name="Drawings").click()
    page.wait_for_function("() => document.querySelectorAll('#drawings-gallery img').length >= 2")
    counts = page.inner_text("#drawings-counts")
    per_digit = dict(re.findall(r"^(\d|all)\s+(\d+)\s*$", counts, re.M))  # a row per digit: it fits a phone
    assert per_digit == {**{str(d): "0" for d in range(10)}, "7": "2", "all": "2"}, counts
    captions = page.inner_text("#drawings-gallery")
    assert "7 (read 1)" in captions, captions
    time.sleep(0.5)
    page.screenshot(path=str(ARTIFACTS / "teach_drawings_tab.png"), full_page=True)
