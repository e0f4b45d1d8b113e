"""Teach it your handwriting, in real Chromium: draw the sequence the page asks for on its pad, teach, and the
Draw tab answers with "your model"; a reload keeps it, "It is a 7" teaches it too, Compare shows the shared
model's reading beside it, "Forget me" hands the page back to the shared model. Screenshots (1280×900 and
390×844) go to artifacts/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from mnist_ui.testing import (
    FOUR,
    ONE,
    REPO,
    SETTLED,
    SEVEN,
    ZERO,
    App,
    Strokes,
    draw,
    origin,
    oval,
    polyline,
)

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
TEACH_PAD = "#teach-pad canvas.pad"
DIGITS: dict[int, Strokes] = {
    0: ZERO,
    1: ONE,
    2: [polyline([(140, 150), (224, 90), (300, 150), (150, 350), (320, 350)])],
    3: [polyline([(150, 100), (290, 110), (210, 210), (300, 280), (160, 350)])],
    4: FOUR,
    5: [polyline([(300, 100), (160, 100), (150, 210), (280, 220), (290, 320), (150, 350)])],
    6: [polyline([(280, 90), (170, 220), (170, 330), (280, 330), (280, 240), (170, 240)])],
    7: SEVEN,
    8: [oval(224, 160, 60, 65), oval(224, 290, 70, 70)],
    9: [oval(224, 160, 65, 65), polyline([(289, 160), (260, 360)])],
}


@pytest.fixture(scope="module")
def app(personal_app: App) -> App:
    return personal_app


def open_tab(page: Any, app: App, tab: str, pad: str) -> None:
    """The tab opened from the tab bar, or from its "More tabs" menu where the bar is too narrow (a phone)."""
    page.goto(app.url)
    page.wait_for_selector("#pad canvas.pad")
    button = page.get_by_role("tab", name=tab, exact=True)
    if button.count() and button.is_visible():
        button.click()
    else:
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button, .overflow-menu button").filter(has_text=tab).first.click()
    page.wait_for_selector(pad)
    page.evaluate(SETTLED.replace("#pad canvas.pad", pad))


def teach_sequence(page: Any, skip: int) -> None:
    """One drawing of each digit as the page asks for it ("Draw a 3"), skipping `skip`."""
    page.get_by_label("1", exact=True).check()
    page.wait_for_function("document.querySelector('#teach-prompt .count')?.innerText === '1 of 10'")
    for digit in range(10):
        asked = page.locator("#teach-prompt .ask")
        assert re.fullmatch(rf"Draw a {digit}", asked.inner_text().strip()), asked.inner_text()
        assert page.locator("#teach-prompt .count").inner_text() == f"{digit + 1} of 10"
        if digit == skip:
            page.locator("#teach-skip").click()
        else:
            draw(page, DIGITS[digit], at=origin(page, TEACH_PAD))
            page.wait_for_function("document.querySelector('#teach-reading').innerText.includes('reads')")
            page.locator("#teach-next").click()
        if digit < 9:
            page.wait_for_function(f"document.querySelector('#teach-prompt .count')?.innerText === '{digit + 2} of 10'")


def test_teach_then_the_draw_tab_answers_with_your_model(browser: Any, app: App) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_tab(page, app, "Teach it", TEACH_PAD)
    page.screenshot(path=str(ARTIFACTS / "teach-tab-1280.png"))
    teach_sequence(page, skip=5)
    status = page.locator("#teach-status .done")
    status.wait_for()
    assert re.search(r"a new model of your own remembers 9 more drawings", status.inner_text()), status.inner_text()
    page.screenshot(path=str(ARTIFACTS / "teach-tab-taught-1280.png"))

    page.reload()  # the key is in the browser: a reload keeps the model
    page.wait_for_selector("#pad canvas.pad")
    page.evaluate(SETTLED)
    draw(page, [[[x + 20, y] for x, y in stroke] for stroke in SEVEN])  # not the 7 taught: that would be relabelled
    page.wait_for_function("document.querySelector('#model-who').innerText === 'Answered by your model'")
    page.locator("#is-7").click()  # a correction teaches the visitor's model too
    page.wait_for_function("document.querySelector('#correct-status').innerText.includes('your model now reads')")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_function("document.querySelector('#model-said').innerText.startsWith('The shared model reads')")
    page.get_by_role("button", name="Shared model").click()
    page.wait_for_function("document.querySelector('#model-who').innerText === 'Answered by the shared model'")
    page.screenshot(path=str(ARTIFACTS / "draw-tab-personal-1280.png"))

    page.get_by_role("tab", name="Teach it", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#teach-status').innerText.includes('remembers 10 of your drawings')"
    )
    page.locator("#teach-forget").click()
    page.wait_for_function("document.querySelector('#teach-status').innerText.startsWith('forgotten')")
    page.get_by_role("tab", name="Draw", exact=True).click()
    assert page.locator("#model-badge .model-badge").is_hidden()
    context.close()


def test_teach_now_shows_per_digit_what_each_model_read_of_the_drawings_held_back(browser: Any, app: App) -> None:
    """Two of a 0 and two of a 1, then "Teach now": the second of each is held back and its readings shown."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_tab(page, app, "Teach it", TEACH_PAD)
    page.get_by_label("2", exact=True).check()
    page.wait_for_function("document.querySelector('#teach-prompt .count')?.innerText === '1 of 20'")
    for step, (digit, dx) in enumerate(((0, 0), (0, 25), (1, 0), (1, 25))):
        if step == 2:  # on to the 1s: skip the 0s' remaining steps the page still asks (none with two each)
            page.wait_for_function("document.querySelector('#teach-prompt .ask b')?.innerText === '1'")
        moved = [[[x + dx, y] for x, y in stroke] for stroke in DIGITS[digit]]
        draw(page, moved, at=origin(page, TEACH_PAD))
        page.wait_for_function("document.querySelector('#teach-reading').innerText.includes('reads')")
        page.locator("#teach-next").click()
        page.wait_for_function(f"document.querySelector('#teach-prompt .count')?.innerText === '{step + 2} of 20'")
    page.locator("#teach-now").click()
    page.locator("#teach-status table.checks").wait_for()
    rows = page.locator("#teach-status table.checks tr").all_inner_texts()
    assert [r.split()[0] for r in rows[1:]] == ["0", "1"], rows
    assert "held back to check" in page.inner_text("#teach-status")
    page.screenshot(path=str(ARTIFACTS / "teach-tab-held-back-1280.png"))
    context.close()


def test_the_teach_tab_on_a_phone(browser: Any, app: App) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    open_tab(page, app, "Teach it", TEACH_PAD)
    box = page.locator(TEACH_PAD).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.screenshot(path=str(ARTIFACTS / "teach-tab-390.png"), full_page=True)
    context.close()
