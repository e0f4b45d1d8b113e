"""The demo in a real browser: draw digits with the mouse, read the answer, clear, retrain and watch.

Uses the system Chromium (never `playwright install`). Screenshots go to artifacts/ for a human look.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_helpers import REPO, App, running_app, served_model

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "artifacts"
CANVAS = "#sketch .pixi-target canvas"

# Strokes in pixels from the centre of the drawing surface (the canvas image is centred in it).
ONE = [[(0, -130), (0, 130)]]
ZERO = [[(85 * math.sin(2 * math.pi * k / 14), -125 * math.cos(2 * math.pi * k / 14)) for k in range(15)]]
SEVEN = [[(-95, -120), (95, -120), (-15, 135)]]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Iterator[App]:
    model = served_model(tmp_path_factory.getbasetemp())
    with running_app(model, tmp_path_factory.mktemp("browser-home"), env={"MNIST_DATA": str(mnist_dir)}) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app: App):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def open_draw(page, app: App) -> None:
    page.goto(app.url)
    page.wait_for_selector(CANVAS)
    page.wait_for_selector('#sketch button[aria-label="Brush"]')


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Mouse strokes with few steps per move (software WebGL is slow); no click on the Brush tool first."""
    box = page.locator(CANVAS).first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(cx + x0, cy + y0)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(cx + x, cy + y, steps=3)
        page.mouse.up()


def read_verdict(page, expected: str) -> str:
    """Wait until the page shows a digit, then return it (a wrong digit fails with what was read)."""
    page.wait_for_selector("#verdict .digit")
    page.wait_for_function(
        "(d) => { const e = document.querySelector('#verdict .digit'); return e && e.textContent.startsWith(d); }",
        arg=expected, timeout=15_000) if expected else None
    return page.inner_text("#verdict .digit")


def canvas_clip(page) -> dict[str, float]:
    box = page.locator(CANVAS).first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return {"x": cx - 230, "y": cy - 230, "width": 460, "height": 460}


@pytest.mark.parametrize("digit,strokes", [("1", ONE), ("0", ZERO), ("7", SEVEN)])
def test_draw_read_and_clear(page, app: App, digit: str, strokes) -> None:
    open_draw(page, app)
    draw(page, strokes)
    try:
        shown = read_verdict(page, digit)
    finally:
        page.screenshot(path=str(ARTIFACTS / f"draw_{digit}.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / f"hand_drawn_{digit}.png"), clip=canvas_clip(page))
    assert shown.rstrip("?") == digit
    assert page.locator("#bars").is_visible()
    assert page.locator("#seen img").count() == 1
    page.click("#clear-sketch")
    page.wait_for_selector("#verdict .hint")
    assert page.inner_text("#verdict") == "draw a digit"
    draw(page, ONE)  # still ready to draw after clearing
    assert read_verdict(page, "1") == "1"


def test_model_tab(page, app: App) -> None:
    open_draw(page, app)
    page.get_by_role("tab", name="Model").click()
    page.wait_for_selector("text=5,824,522")
    page.wait_for_selector("text=MNIST test accuracy", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "model_tab.png"), full_page=True)


def test_retrain_curve_grows(page, app: App) -> None:
    page.goto(app.url + "?subset=2000")
    page.wait_for_selector(CANVAS)
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Serve the new model when it finishes").uncheck()
    page.click("#retrain")
    page.wait_for_selector("#train-status >> text=/batch \\d+\\/\\d+/", timeout=120_000)
    first = page.locator("#loss-plot").screenshot()
    first_text = page.inner_text("#train-status")
    page.wait_for_function(
        "(t) => document.querySelector('#train-status').innerText !== t", arg=first_text, timeout=60_000)
    page.wait_for_selector("#train-status >> text=Done", timeout=180_000)
    page.wait_for_selector("text=Old vs new on the MNIST test set")
    page.screenshot(path=str(ARTIFACTS / "train_tab.png"), full_page=True)
    assert page.locator("#loss-plot").screenshot() != first
    assert re.search(r"saved as mnist-\d{8}-\d{6}", page.inner_text("#train-status"))
    assert "still serving the previous model" in page.inner_text("#train-status")


def test_upload_example(page, app: App) -> None:
    open_draw(page, app)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#examples button.gallery-item").last.click()
    page.wait_for_selector("#up-verdict .digit")
    page.screenshot(path=str(ARTIFACTS / "upload_tab.png"), full_page=True)
    assert page.inner_text("#up-verdict .digit").rstrip("?").isdigit()
