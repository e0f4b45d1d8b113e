"""The notebook's lesson from the Train tab, in Chromium (issue 33): choosing the seed preset says what its 0.999
split does, and a seed run (one epoch here, to keep the test short; still 60 images and 59,940 that only check)
ends with its accuracy beside the default recipe's and the notebook's. Saves artifacts/train-seed-lesson.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import build_ctx, launched

from mnist_core.config import HOME_ENV, SHIPPED_MODEL
from mnist_ui.testing import REPO

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_MS = 600_000  # a busy CI machine: the run's validation alone reads 59,940 images


@pytest.fixture(scope="module")
def url(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo serving the shipped model, able to train, its versions in a home of its own."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(HOME_ENV, str(tmp_path_factory.mktemp("lesson-home")))
        with launched(build_ctx(SHIPPED_MODEL, data_path=str(mnist_dir))) as running:
            yield running


def test_the_seed_preset_explains_itself_and_its_run_compares(browser: Any, url: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="Train").click()
        page.get_by_label("seed").check()
        lesson = page.locator("#split-lesson")
        expected = "keeps 59,940 of the 60,000 training images only to check the network, so 60 images teach it."
        lesson.get_by_text(expected).wait_for()
        epochs = page.get_by_role("spinbutton", name="number input for Epochs", exact=True)
        epochs.fill("1")
        epochs.press("Enter")
        page.get_by_label("Serve the new model when it finishes").uncheck()
        page.click("#retrain")
        compare = page.locator("#train-compare")
        compare.get_by_text("The notebook's lesson").wait_for(timeout=RUN_MS)
        text = compare.inner_text()
        ran = re.search(r"this run: 60 images\s+(\d+\.\d)%", text)
        assert ran and 10 < float(ran[1]) < 90, text
        assert re.search(r"the default recipe \(the shipped model\)\s+99\.0%", text), text
        assert re.search(r"the notebook's own run\s+58\.6%", text), text
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "artifacts" / "train-seed-lesson.png"), full_page=True)
    finally:
        context.close()
