"""Teaching the demo in real Chromium: draw on the pad, click "Wrong? It is a:" 7, see the count grow; then the
Drawings tab shows it. Screenshots go to artifacts/ for a human look."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import StartApp

from mnist_ui.testing import NO_DATA, ONE, REPO, SETTLED, App, draw

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
# Resolves once the element has kept its place and size for 10 frames (answers arriving re-lay the panel).
STILL = """(sel) => new Promise((resolve) => {
  let last = '', same = 0;
  const tick = () => {
    const e = document.querySelector(sel), r = e && e.getBoundingClientRect();
    const k = r ? [r.x, r.y, r.width, r.height].join() : '';
    same = k && k === last ? same + 1 : 0; last = k;
    if (same >= 10) resolve(k); else requestAnimationFrame(tick);
  };
  tick();
})"""
SAVED = re.compile(r"saved — (\d+) drawings? collected \((\d+) of 7\)")


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


def draw_one(page: Any) -> None:
    """A 1 on the pad with the mouse, then wait for the model's answer."""
    page.evaluate(SETTLED)
    draw(page, ONE)
    page.wait_for_selector("#verdict .digit")
    page.evaluate(STILL, "#is-7")  # the final answer can still move the buttons: a click must not land on the old spot


def saved_count(page: Any, after: int) -> tuple[int, int]:
    """Wait until the status line says a drawing was saved and the total passed `after`; (total, how many 7s)."""
    try:
        page.wait_for_function(
            "(n) => { const m = document.querySelector('#correct-status').textContent.match(/saved — (\\d+)/);"
            " return m && Number(m[1]) > n; }",
            arg=after,
        )
    except sync_api.TimeoutError:
        page.screenshot(path=str(ARTIFACTS / "teach_not_saved.png"), full_page=True)
        raise AssertionError(f"no 'saved' line; the status says {page.inner_text('#correct-status')!r}") from None
    found = SAVED.search(page.inner_text("#correct-status"))
    assert found, page.inner_text("#correct-status")
    return int(found[1]), int(found[2])


def test_draw_then_say_it_is_a_seven_and_the_count_grows(app: App, page: Any) -> None:
    page.goto(app.url)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad')?.tabIndex === 0")
    # The file is named once the page has asked who is looking (a local visitor here): access.sees_paths.
    page.wait_for_function("() => document.querySelector('#collect-where').innerText.includes('drawings.sqlite3')")
    where = page.inner_text("#collect-where")
    assert "drawings.sqlite3" in where and "keeps the drawing" in where
    draw_one(page)
    assert page.inner_text("#verdict .digit").startswith("1")
    page.click("#is-7")
    total, sevens = saved_count(page, 0)
    assert (total, sevens) == (1, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teach_draw_corrected.png"), full_page=True)

    page.click("#pad .pad-clear")
    page.wait_for_function("() => document.querySelector('#correct-status').textContent.trim() === ''")
    draw_one(page)
    page.click("#is-7")
    assert saved_count(page, total) == (2, 2)

    page.get_by_role("tab", name="Drawings").click()
    page.wait_for_function("() => document.querySelectorAll('#drawings-gallery img').length >= 2")
    counts = page.inner_text("#drawings-counts")
    per_digit = dict(re.findall(r"^(\d|all)\s+(\d+)\s*$", counts, re.M))  # a row per digit: it fits a phone
    assert per_digit == {**{str(d): "0" for d in range(10)}, "7": "2", "all": "2"}, counts
    captions = page.inner_text("#drawings-gallery")
    assert "7 (read 1)" in captions, captions
    time.sleep(0.5)
    page.screenshot(path=str(ARTIFACTS / "teach_drawings_tab.png"), full_page=True)
