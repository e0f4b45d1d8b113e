"""A newcomer in real Chromium: the Train tab on a fresh machine offline, the page training with --data (the fast
preset's announced images, served, then a run cancelled), a scribble answered "not a digit", and the phone's Teach
flow with prompt, pad and Next on one 390×844 screen at every step. Screenshots go to artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import StartApp

from mnist_core.config import mnist_images, preset
from mnist_ui.testing import NO_DATA, ONE, REPO, SETTLED, STILL, App, data_env, draw, origin, polyline

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
PHONE = {"width": 390, "height": 844}
TRAINED_S = 600  # generous: a fast-preset training on a busy CI machine
# Back and forth over the pad, the way a person scribbles something out.
SCRIBBLE = [polyline([(120 + 210 * (i % 2), 100 + 20 * i) for i in range(13)], per_segment=6)]


def new_page(browser: Any, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:
    page = new_page(browser, {"width": 1280, "height": 900})
    yield page
    page.context.close()


def open_tab(page: Any, app: App, tab: str) -> None:
    page.goto(app.url)
    page.wait_for_selector("#pad canvas.pad")
    page.get_by_role("tab", name=tab).click()


def test_offline_without_data_the_train_tab_says_what_to_do_before_a_run(
    app_factory: StartApp, desk: Any, tmp_path: Path
) -> None:
    app = app_factory(None, env=NO_DATA | {"KERAS_HOME": str(tmp_path / "keras")})
    open_tab(desk, app, "Train")
    notice = desk.locator("#tab-train .warning-banner")
    notice.wait_for()
    assert "--data PATH" in notice.inner_text() and "connect this machine to the internet once" in notice.inner_text()
    desk.click("#retrain")
    desk.wait_for_selector("#train-status >> text=not started: no MNIST on this machine")
    status = desk.inner_text("#train-status")
    assert "--data PATH" in status and "Preparing" not in status and "Training" not in status, status
    assert desk.locator("#finetune").is_disabled()  # nothing collected: nothing to fine-tune yet
    ARTIFACTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(ARTIFACTS / "train_offline.png"), full_page=True)


def test_with_data_the_page_trains_the_announced_images_serves_and_cancels(
    app_factory: StartApp, weak: Path, mnist_dir: Path, desk: Any
) -> None:
    app = app_factory(weak, env=data_env(mnist_dir))
    open_tab(desk, app, "Train")
    desk.click("#retrain")  # the fast preset, as the tab opens
    desk.wait_for_selector("#train-status >> text=Done", timeout=TRAINED_S * 1000)
    status = desk.inner_text("#train-status")
    assert "now serving it" in status, status  # anything trained reads better than the notebook's 60 images
    (trained,) = (app.home / "models").glob("mnist-*.keras")
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    assert sidecar["train_images"] == mnist_images(preset("fast")) == 10_800
    desk.click("#retrain")
    desk.wait_for_selector("#train-status >> text=/batch \\d+\\/\\d+/", timeout=TRAINED_S * 1000)
    desk.click("#cancel")
    desk.wait_for_selector("#train-status >> text=Cancelled", timeout=60_000)
    assert list((app.home / "models").glob("mnist-*.keras")) == [trained]  # a cancelled run keeps nothing


def test_a_scribble_reads_not_a_digit(app: App, desk: Any) -> None:
    desk.goto(app.url)
    desk.wait_for_selector("#pad canvas.pad")
    desk.evaluate(SETTLED)
    draw(desk, SCRIBBLE)
    desk.wait_for_selector("#verdict .nodigit")
    assert "Not a digit" in desk.inner_text("#verdict")
    desk.click("#pad .pad-clear")
    draw(desk, ONE)
    desk.wait_for_selector("#verdict .digit")
    assert desk.inner_text("#verdict .digit").startswith("1")


def on_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= -1 and box["y"] + box["height"] <= PHONE["height"]  # -1: sub-pixels


def test_the_phone_teach_flow_fits_one_screen_at_every_step(personal_app: App, browser: Any) -> None:
    page = new_page(browser, PHONE, has_touch=True, is_mobile=True)
    open_tab(page, personal_app, "Teach it")
    page.locator("#teach-times").get_by_label("1", exact=True).check()  # one drawing of each digit: ten steps
    for step in range(10):
        page.wait_for_selector(f"#teach-prompt >> text={step + 1} of 10")
        page.evaluate(STILL, "#teach-next")
        together = ("#teach-prompt", "#teach-pad canvas.pad", "#teach-next")
        assert all(on_screen(page, part) for part in together), (
            step,
            [page.locator(p).bounding_box() for p in together],
        )
        if step == 0:
            page.screenshot(path=str(ARTIFACTS / "teach_phone.png"))
        draw(page, ONE, at=origin(page, "#teach-pad canvas.pad"))
        page.click("#teach-next")
    page.wait_for_selector("#teach-status .done", timeout=60_000)
    page.locator("#teach-now").scroll_into_view_if_needed()
    now = page.locator("#teach-now").bounding_box()
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('#teach-now') !== null",
        [now["x"] + now["width"] / 2, now["y"] + now["height"] / 2],
    )
    assert hit, "something covers Teach now"
    assert page.locator("#teach-forget").is_visible()  # a model now: Forget me is offered
    page.context.close()
