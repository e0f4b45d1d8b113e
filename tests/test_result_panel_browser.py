"""The result panel in real Chromium: painted from one small JSON value, no chart, no picture file, no queue.

Draws on the pad and uploads a picture, then reads the panel as a person (the digit, ten bars in 0–9
order, the 28×28 on its canvas) and as a screen reader (the live text) would, and checks what went over
the network: the pad's readings only, one at a time. Saves the Draw tab's desktop screenshot as
artifacts/draw-tab.png and a phone one beside it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mnist_ui.testing import ONE, PAD, REPO, SETTLED, SEVEN, App, draw, origin

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER_MS = 30_000  # generous: the CI machine is busy
EXAMPLE = REPO / "assets" / "examples" / "mnist_test_0012_digit_9.png"

# Every request the page makes, and how many pad readings were in flight at once; `delay` ms more per reading.
TRAFFIC = """(delay) => {
  const T = window.__traffic = {urls: [], open: 0, most: 0};
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : (input.url || String(input));
    const reading = url.includes('component_server');
    T.urls.push(url);
    if (reading) { T.open++; T.most = Math.max(T.most, T.open); }
    try {
      if (reading && delay) await new Promise((r) => setTimeout(r, delay));
      return await original(input, init);
    } finally { if (reading) T.open--; }
  };
}"""
BARS = """(panel) => [...document.querySelectorAll(panel + ' .col')].map(c => ({
  label: c.querySelector('span').textContent, height: parseFloat(c.querySelector('.fill').style.height) }))"""
SEEN_INK = """(panel) => { const c = document.querySelector(panel + ' figure canvas');
  const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
  let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 64) n++; return n; }"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ANSWER_MS)
    yield page
    context.close()


def open_draw(page: Any, app: App) -> None:
    page.goto(app.url)
    page.wait_for_selector(PAD)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad').tabIndex === 0")
    page.wait_for_selector("#verdict .hint")
    page.evaluate(SETTLED)


def wait_digit(page: Any, digit: str, panel: str = "#result") -> None:
    page.wait_for_function(
        "([p, d]) => { const e = document.querySelector(p + ' .digit'); return e && e.textContent.startsWith(d); }",
        arg=[panel, digit],
    )


def check_panel(page: Any, panel: str, digit: str) -> None:
    """What a person and a screen reader get: the digit, ten bars in 0–9 order, the 28×28, the live text."""
    bars = page.evaluate(BARS, panel)
    assert [b["label"] for b in bars] == [str(d) for d in range(10)]
    heights = [b["height"] for b in bars]
    assert max(range(10), key=lambda d: heights[d]) == int(digit), heights
    assert 95 <= sum(heights) <= 105, f"the bars are probabilities on a fixed 0–100% axis: {heights}"
    assert page.evaluate(SEEN_INK, panel) > 20, "the 28×28 the model saw should show the digit's ink"
    live = page.locator(f"{panel} [aria-live]")
    assert live.get_attribute("aria-live") == "polite"
    text = live.text_content()
    assert text.startswith(f"Read as {digit}"), text
    assert re.findall(r"(\d): \d+%", text) == [str(d) for d in range(10)], text


def test_draw_paints_the_panel_from_the_pads_own_readings(page: Any, app: App) -> None:
    open_draw(page, app)
    page.evaluate(TRAFFIC, 0)
    draw(page, SEVEN, pause_s=0.03)
    wait_digit(page, "7")
    page.wait_for_timeout(500)  # the pen-up answer lands after any in-between one
    check_panel(page, "#result", "7")
    traffic = page.evaluate("window.__traffic")
    readings = [u for u in traffic["urls"] if "component_server" in u]
    assert len(readings) >= 2, "the pad should read the drawing while the pen moves and on pen-up"
    assert traffic["most"] == 1, "one reading in flight per tab"
    since_drawing = traffic["urls"][traffic["urls"].index(readings[0]) :]  # a late page-load event may come before
    assert not [u for u in since_drawing if "queue/join" in u or "/file=" in u], traffic["urls"]
    (REPO / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(REPO / "artifacts" / "draw-tab.png"))


def test_a_slow_server_gets_fewer_drawings(page: Any, app: App) -> None:
    """Round trips over 300 ms: the pad waits for each answer (and longer) before it sends the next drawing."""
    open_draw(page, app)
    page.evaluate(TRAFFIC, 300)
    started = time.monotonic()
    draw(page, ONE, pause_s=0.08)
    drawing_s = time.monotonic() - started
    wait_digit(page, "1")
    page.wait_for_timeout(1000)
    traffic = page.evaluate("window.__traffic")
    readings = len([u for u in traffic["urls"] if "component_server" in u])
    assert traffic["most"] == 1
    assert 2 <= readings <= drawing_s / 0.3 + 1, f"{readings} readings in a {drawing_s:.1f} s stroke"
    check_panel(page, "#result", "1")


def test_upload_paints_the_same_panel(page: Any, app: App) -> None:
    open_draw(page, app)
    page.get_by_role("tab", name="Upload").click()
    page.set_input_files("#upload-image input[type=file]", str(EXAMPLE))
    wait_digit(page, "9", "#up-result")
    check_panel(page, "#up-result", "9")
    assert page.locator("#up-right").is_visible(), "the correct buttons stay under the panel"


def test_phone_layout(browser: Any, app: App) -> None:
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_MS)
        open_draw(page, app)
        draw(page, SEVEN, origin(page), pause_s=0.02, touch=context.new_cdp_session(page))
        wait_digit(page, "7")
        page.wait_for_timeout(500)
        check_panel(page, "#result", "7")
        box = page.locator("#result .result-panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the panel should fit the phone's width: {box}"
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "artifacts" / "phone_result_panel.png"), full_page=True)
    finally:
        context.close()
