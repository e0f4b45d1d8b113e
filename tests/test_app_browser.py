"""The demo in real Chromium: draw on the stroke pad with a mouse and with touch, answers while the pen moves,
undo and clear, the Model, Upload and Train tabs.

Uses the system Chromium (never `playwright install`). Screenshots go to artifacts/ for a human look:
desktop 1280×900 and phone 390×844.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_helpers import FOUR, ONE, PAD_SIDE, REPO, SEVEN, ZERO, App, data_env, running_app, served_model

from bench.server import CHROMIUM, CHROMIUM_ARGS, PAD, SETTLED

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
ANSWER_S = 30  # generous: the CI machine is busy
Strokes = list[list[list[float]]]

# Records every distinct answer #verdict shows (digit and confidence, or the hint), with its time.
WATCH_VERDICT = """() => {
  const v = document.querySelector('#verdict');
  const key = () => { const d = v.querySelector('.digit'), c = v.querySelector('.conf');
                      return d ? d.textContent + ' ' + (c ? c.textContent : '') : ''; };
  window.__answers = [];
  new MutationObserver(() => {
    const k = key(), all = window.__answers;
    if (k && (!all.length || all[all.length - 1].k !== k)) all.push({k, t: performance.now()});
  }).observe(v, {childList: true, subtree: true, characterData: true});
}"""
# Counts pen events that reach the pad's canvas: when a stroke leaves no ink, this says where it went.
COUNT_PEN = """() => { const c = document.querySelector('#pad canvas.pad'); c.__pen = {down: 0, up: 0};
  c.addEventListener('pointerdown', () => c.__pen.down++); c.addEventListener('pointerup', () => c.__pen.up++); }"""
DIAGNOSE = """() => { const c = document.querySelector('#pad canvas.pad');
  return {pen: c.__pen || 'a new canvas', tabIndex: c.tabIndex, width: c.width, selected: String(getSelection()),
          active: document.activeElement && document.activeElement.className}; }"""
INK = """() => { const c = document.querySelector('#pad canvas.pad');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Iterator[App]:
    model = served_model(tmp_path_factory.getbasetemp())
    with running_app(model, tmp_path_factory.mktemp("browser-home"), env=data_env(mnist_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def open_draw(page: Any, app: App, query: str = "") -> None:
    """The page with its pad ready: the pad's script has run (it makes the canvas focusable last)."""
    page.goto(app.url + query)
    page.wait_for_selector(PAD)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad').tabIndex === 0")
    page.wait_for_selector("#verdict .hint")
    page.evaluate(COUNT_PEN)
    page.evaluate(SETTLED)


def pad_origin(page: Any) -> tuple[float, float, float]:
    """The pad's top-left corner on the page and its scale from the 448-pixel stroke coordinates."""
    box = page.locator(PAD).bounding_box()
    return box["x"], box["y"], box["width"] / PAD_SIDE


def draw(page: Any, strokes: Strokes, pause_s: float = 0.0, before_up: Any = None) -> Any:
    """Mouse strokes (a few steps per move); `before_up` runs with the pen still down on the last stroke."""
    box = page.evaluate(SETTLED)
    x0, y0, scale = pad_origin(page)
    seen = None
    for n, stroke in enumerate(strokes):
        points = [*stroke[:: max(1, len(stroke) // 20)], stroke[-1]]
        page.mouse.move(x0 + points[0][0] * scale, y0 + points[0][1] * scale)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x0 + x * scale, y0 + y * scale, steps=3)
            if pause_s:
                time.sleep(pause_s)
        if before_up is not None and n == len(strokes) - 1:
            seen = before_up()
        page.mouse.up()
    if not page.evaluate(INK):
        shot(page, "no_ink.png", full_page=True)
        raise AssertionError(
            f"the strokes left no ink on the pad (x, y, width before: {box}; now: "
            f"{pad_origin(page)}): {page.evaluate(DIAGNOSE)}"
        )
    return seen


def shown_digit(page: Any, expected: str, where: str = "#verdict") -> str:
    """Wait (generously) until `where` shows `expected`; return what it shows, '?' of an unsure answer dropped."""
    try:
        page.wait_for_function(
            "([w, d]) => { const e = document.querySelector(w + ' .digit'); return e && e.textContent.startsWith(d); }",
            arg=[where, expected],
            timeout=ANSWER_S * 1000,
        )
    except sync_api.TimeoutError:
        pass  # the assertion below says what was shown instead
    digit = page.locator(f"{where} .digit")
    return digit.inner_text().rstrip("?") if digit.count() else page.inner_text(where)


def shot(page: Any, name: str, **kwargs: Any) -> None:
    page.screenshot(path=str(ARTIFACTS / name), **kwargs)


def pad_clip(page: Any) -> dict[str, float]:
    box = page.locator(PAD).bounding_box()
    return {"x": box["x"] - 8, "y": box["y"] - 8, "width": box["width"] + 16, "height": box["height"] + 16}


@pytest.mark.parametrize(
    ("digit", "strokes"),
    [("1", ONE), ("0", ZERO), ("7", SEVEN), ("4", FOUR)],
    ids=["one", "zero", "seven", "four in two strokes"],
)
def test_draw_read_and_clear(page: Any, app: App, digit: str, strokes: Strokes) -> None:
    open_draw(page, app)
    assert page.locator("#pad .pad-clear").is_disabled() and page.locator("#pad .pad-undo").is_disabled()
    draw(page, strokes)
    try:
        shown = shown_digit(page, digit)
    finally:
        shot(page, f"draw_{digit}.png", full_page=True)
        shot(page, f"hand_drawn_{digit}.png", clip=pad_clip(page))
    assert shown == digit
    assert page.locator("#bars").is_visible()
    assert page.locator("#seen img").count() == 1
    page.click("#pad .pad-clear")
    page.wait_for_selector("#verdict .hint")
    assert page.inner_text("#verdict .hint") == "draw a digit"
    assert page.evaluate(INK) == 0 and page.locator("#pad .pad-clear").is_disabled()
    draw(page, ONE)  # still ready to draw after clearing
    assert shown_digit(page, "1") == "1"


def test_answers_arrive_while_the_pen_moves(page: Any, app: App) -> None:
    open_draw(page, app)
    draw(page, SEVEN)  # a first answer warms the server's path up
    shown_digit(page, "7")
    page.click("#pad .pad-clear")
    page.wait_for_selector("#verdict .hint")
    page.evaluate(WATCH_VERDICT)

    def pen_still_down() -> list[dict]:
        time.sleep(0.5)  # answers already on their way may land; none may be sent for a pen-up yet
        return page.evaluate("window.__answers")

    during = draw(page, ONE, pause_s=0.1, before_up=pen_still_down)
    assert shown_digit(page, "1") == "1"
    assert len(during) >= 2, f"the verdict changed {len(during)} times while the pen was down: {during}"
    assert during[-1]["k"].startswith("1"), during


def test_undo_removes_the_last_stroke(page: Any, app: App) -> None:
    open_draw(page, app)
    draw(page, FOUR)
    assert shown_digit(page, "4") == "4"
    ink_of_four = page.evaluate(INK)
    page.click("#pad .pad-undo")
    assert shown_digit(page, "1") == "1", "undo should leave the 4's first stroke, its bar"
    assert 0 < page.evaluate(INK) < ink_of_four
    shot(page, "undo_four.png", clip=pad_clip(page))
    page.click("#pad .pad-undo")
    page.wait_for_selector("#verdict .hint")
    assert page.evaluate(INK) == 0 and page.locator("#pad .pad-undo").is_disabled()


def touch_drag(cdp: Any, points: list[tuple[float, float]], pause_s: float = 0.02) -> None:
    """One finger: touchStart, touchMoves, touchEnd, through the DevTools protocol (Playwright has no touch drag)."""
    start = [{"x": points[0][0], "y": points[0][1]}]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": start})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        time.sleep(pause_s)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_touch_drawing_on_a_phone_reads_and_does_not_scroll(browser: Any, app: App) -> None:
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        open_draw(page, app)
        cdp = context.new_cdp_session(page)
        page.evaluate("() => window.scrollTo(0, 60)")  # room to scroll both ways
        page.wait_for_function("() => window.scrollY > 0")
        scrolled = page.evaluate("() => window.scrollY")
        x0, y0, scale = pad_origin(page)
        assert y0 > 0 and y0 + PAD_SIDE * scale < 844, "the whole pad should be on screen"
        upward_one = [(x0 + x * scale, y0 + y * scale) for x, y in reversed(ONE[0])]  # a finger moving up
        touch_drag(cdp, upward_one)
        shown = shown_digit(page, "1")
        shot(page, "phone_draw_1.png")
        assert shown == "1"
        assert page.evaluate("() => window.scrollY") == scrolled, "drawing on the pad scrolled the page"
        assert page.evaluate("() => document.querySelector('#pad canvas.pad').width") == round(PAD_SIDE * scale * 2)
        # The same upward drag below the pad does scroll: the check above could have failed.
        top, bottom = y0 + PAD_SIDE * scale + 80, 834
        assert bottom - top > 100
        touch_drag(cdp, [(20, bottom - (bottom - top) * k / 12) for k in range(13)])
        page.wait_for_function("(s) => window.scrollY > s", arg=scrolled, timeout=10_000)
    finally:
        context.close()


def test_model_tab(page: Any, app: App) -> None:
    open_draw(page, app)
    page.get_by_role("tab", name="Model").click()
    page.wait_for_selector("#model-arch >> text=5,824,522")
    page.wait_for_selector("#model-mnist >> text=MNIST test accuracy", timeout=120_000)
    page.wait_for_function(
        "() => /real.handwriting/i.test(document.querySelector('#model-pens').innerText)", timeout=60_000
    )
    assert "Serving: shipped model" in page.inner_text("#model-summary")
    assert page.locator("#model-mistakes img").count() > 0
    shot(page, "model_tab.png", full_page=True)


@pytest.mark.parametrize("example", ["mnist_test_0030_digit_3.png", "browser_drawn_7.png"])
def test_upload_example(page: Any, app: App, example: str) -> None:
    label = re.search(r"(\d)\.png$", example)
    assert label, example
    open_draw(page, app)
    page.get_by_role("tab", name="Upload").click()
    page.locator(f'#examples button.gallery-item:has(img[src$="/{example}"])').click()
    shown = shown_digit(page, label.group(1), where="#up-verdict")
    shot(page, f"upload_{example}", full_page=True)
    assert shown == label.group(1)


def test_retrain_curve_grows(page: Any, app: App) -> None:
    open_draw(page, app, "?subset=2000")
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Serve the new model when it finishes").uncheck()
    page.click("#retrain")
    page.wait_for_selector("#train-status >> text=/batch \\d+\\/\\d+/", timeout=180_000)
    page.wait_for_selector("#loss-plot canvas, #loss-plot svg")
    first = page.locator("#loss-plot").screenshot()
    first_text = page.inner_text("#train-status")
    page.wait_for_function(
        "(t) => document.querySelector('#train-status').innerText !== t", arg=first_text, timeout=60_000
    )
    page.wait_for_selector("#train-status >> text=Done", timeout=240_000)
    page.wait_for_selector("text=Old vs new")
    shot(page, "train_tab.png", full_page=True)
    assert page.locator("#loss-plot").screenshot() != first, "the loss curve should have grown"
    status = page.inner_text("#train-status")
    assert re.search(r"saved as mnist-\d{8}-\d{6}", status), status
    assert "still serving the previous model" in status, status
