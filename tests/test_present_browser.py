"""Presentation mode (issue 33) at 1280×900 and 390×844: a big pad, a big answer, the bars and the open inside view;
no server path, no line about the drawings database, no delete, export or import control anywhere on screen.
The same page outside presentation mode shows the database's path to this local viewer, so the checks can see
what they look for. Saves artifacts/present-desktop.png and artifacts/present-phone.png."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mnist_ui.server.access import PATH_IN_TEXT
from mnist_ui.testing import PAD, REPO, SETTLED, SEVEN, App, draw, origin

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER_MS = 30_000
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "has_touch": True,
        "is_mobile": True,
        "device_scale_factor": 2,
    },
}
FORBIDDEN = re.compile(r"database|sqlite|\.keras|delete|export|import|forget", re.IGNORECASE)
# Everything a person can see or press: the page's visible text, every visible control's words and label.
ON_SCREEN = """() => {
  const controls = [...document.querySelectorAll('button, a, input, select, textarea, [role=button], [role=tab]')]
    .filter((e) => e.checkVisibility())
    .map((e) => [e.innerText || '', e.getAttribute('aria-label') || '', e.title || '', e.value || ''].join(' ').trim());
  return {text: document.body.innerText, controls};
}"""


def look(page: Any) -> dict[str, Any]:
    seen = page.evaluate(ON_SCREEN)
    return {
        "paths": PATH_IN_TEXT.findall(seen["text"]),
        "forbidden": FORBIDDEN.findall(seen["text"]) + [c for c in seen["controls"] if FORBIDDEN.search(c)],
        "controls": seen["controls"],
    }


def draw_seven(page: Any, touch: Any) -> None:
    page.locator(PAD).scroll_into_view_if_needed()
    draw(page, SEVEN, origin(page), pause_s=0.02, touch=touch)
    page.wait_for_function("() => (document.querySelector('#result .digit') || {}).textContent === '7'")
    page.wait_for_function("() => document.querySelector('#inside .inside').classList.contains('has')")
    page.wait_for_timeout(500)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_presentation_mode_shows_the_lesson_and_nothing_of_the_server(browser: Any, app: App, size: str) -> None:
    context = browser.new_context(**SIZES[size])
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_MS)
        touch = context.new_cdp_session(page) if size == "phone" else None
        page.goto(app.url + "?present=1")
        page.wait_for_selector(PAD)
        page.evaluate(SETTLED)
        assert page.evaluate("document.body.classList.contains('present')")
        draw_seven(page, touch)

        shown = look(page)
        assert not shown["paths"] and not shown["forbidden"], shown
        assert not page.locator("#intro").is_visible() and not page.get_by_role("tab", name="Drawings").is_visible()
        assert page.locator("#inside details").evaluate("d => d.open"), "the inside view is open"
        for part in ("#inside .path img", "#inside .units img", "#inside .why img", "#result .col"):
            assert page.locator(part).first.is_visible(), part
        digit = page.locator("#result .digit").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        pad = page.locator(PAD).bounding_box()
        width = SIZES[size]["viewport"]["width"]
        assert digit >= (140 if size == "phone" else 200), f"the answer reads from the back of a room: {digit}px"
        assert pad["width"] >= (0.8 * width if size == "phone" else 600), f"a big pad: {pad}"
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "artifacts" / f"present-{size}.png"), full_page=True)

        page.click(".present-toggle")  # leave: the page comes back, drawing and all
        assert "present" not in page.url
        page.wait_for_function("() => document.querySelector('#collect-where').checkVisibility()")
        assert look(page)["paths"], "this local viewer sees the database's path outside presentation mode"
        assert page.locator("#result .digit").text_content() == "7" and page.locator("#pad .pad-wrap.drawn").count()

        page.click(".present-toggle")  # and the toggle enters it as ?present=1 does
        assert page.url.endswith("?present=1")
        page.wait_for_function("() => !document.querySelector('#collect-where').checkVisibility()")
        shown = look(page)
        assert not shown["paths"] and not shown["forbidden"], shown
    finally:
        context.close()
