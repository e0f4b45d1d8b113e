"""Inside the network in real Chromium: collapsed until one click, then painted from the pad's own readings (no
request of its own), with the pipeline's pictures, the first layer's strongest units, the push map and ten
probabilities; served the convolutional network, its first convolution's filters instead of units. Saves
artifacts/inside-view.png (desktop), artifacts/inside-view-phone.png and artifacts/inside-view-cnn(-phone).png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import StartApp

from mnist_core.config import SHIPPED_CNN
from mnist_ui.testing import PAD, REPO, SETTLED, SEVEN, ZERO, App, draw, origin

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER_MS = 30_000
# Every pad reading the page asks for (which server function, whether it asked for the insides), and every
# painting of the inside view.
WATCH = """() => {
  const T = window.__inside = {calls: [], other: [], painted: 0};
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : (input.url || String(input));
    if (!url.includes('component_server')) {
      if (url.includes('queue/join') || url.includes('/file=')) T.other.push(url);
      return original(input, init);
    }
    const call = JSON.parse(init.body), response = await original(input, init);
    const answer = await response.clone().json();
    T.calls.push({fn: call.fn_name, inside: call.data[4], read: answer.status === 'ok', brought: !!answer.inside});
    return response;
  };
  new MutationObserver((records) => { T.painted += records.length; })
    .observe(document.querySelector('#inside'), {subtree: true, attributes: true, attributeFilter: ['data-painted']});
}"""
# What the open view shows: every picture decoded (its pixel size), the texts, the ten rows.
SHOWN = """() => {
  const v = document.querySelector('#inside .inside');
  const sizes = (sel) => [...v.querySelectorAll(sel)].map((i) => [i.naturalWidth, i.naturalHeight]);
  return {
    has: v.classList.contains('has'),
    path: sizes('.path img'), captions: [...v.querySelectorAll('.path figcaption')].map((c) => c.textContent),
    units: sizes('.units img'), on: v.querySelector('.units .on').textContent,
    heat: sizes('.why img'), why: v.querySelector('.why h4').textContent,
    rows: [...v.querySelectorAll('.prow')].map((r) => r.innerText.replace(/\\s+/g, ' ').trim()),
    answer: v.querySelector('.prow.answer span').textContent,
  };
}"""


def open_draw(page: Any, app: App) -> None:
    page.goto(app.url)
    page.wait_for_selector(PAD)
    page.wait_for_function("() => document.querySelector('#pad canvas.pad').tabIndex === 0")
    page.evaluate(SETTLED)


def wait_digit(page: Any, digit: str) -> None:
    page.wait_for_function(
        "(d) => { const e = document.querySelector('#result .digit'); return e && e.textContent.startsWith(d); }",
        arg=digit,
    )


def settled(page: Any) -> dict[str, Any]:
    """The traffic once the pen-up answer has landed (it comes after any in-between one)."""
    page.wait_for_timeout(600)
    return page.evaluate("window.__inside")


def check_view(page: Any, digit: str) -> dict[str, Any]:
    shown = page.evaluate(SHOWN)
    assert shown["has"], shown
    assert len(shown["path"]) in (4, 5) and all(w > 0 for w, _ in shown["path"]), shown["path"]
    assert shown["path"][-2] == [28, 28] and max(shown["path"][2]) == 20, "the 20×20 fit, then the 28×28"
    assert shown["captions"][-1].endswith("what the network reads"), shown["captions"]
    assert len(shown["units"]) == 8 and all(size == [28, 28] for size in shown["units"]), shown["units"]
    assert re.fullmatch(r"[\d,]+ of [\d,]+ units fire for this drawing \(\d+%\)\.", shown["on"]), shown["on"]
    assert shown["heat"] == [[28, 28]] and shown["why"].startswith(f"Why {digit} and not ")
    assert [row.split(" ")[0] for row in shown["rows"]] == [str(d) for d in range(10)]
    assert all(re.search(r"(\d+%|<1%|>99%)$", row) for row in shown["rows"]), shown["rows"]
    assert shown["answer"] == digit
    return shown


def test_the_inside_view_opens_with_one_click_and_rides_on_the_pads_readings(browser: Any, app: App) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_MS)
        open_draw(page, app)
        assert not page.locator("#inside details").evaluate("d => d.open"), "collapsed by default"
        assert not page.locator("#inside .units").is_visible()
        page.evaluate(WATCH)
        draw(page, SEVEN, pause_s=0.03)
        wait_digit(page, "7")
        closed = settled(page)
        assert closed["calls"] and not any(c["inside"] for c in closed["calls"]), "closed: no insides asked for"

        page.click("#inside summary")
        page.wait_for_function("() => document.querySelector('#inside .inside').classList.contains('has')")
        reread = settled(page)
        assert len(reread["calls"]) == len(closed["calls"]) + 1, "opening reads the drawing once more"
        check_view(page, "7")

        page.click("#pad .pad-clear")
        page.wait_for_function("() => !document.querySelector('#inside .inside').classList.contains('has')")
        before = settled(page)
        draw(page, ZERO, pause_s=0.03)
        wait_digit(page, "0")
        after = settled(page)
        calls = after["calls"][len(before["calls"]) :]
        assert calls and all(c["fn"] == "read_pad" and c["inside"] is True for c in calls), calls
        assert all(c["brought"] == c["read"] for c in calls), "every reading of a digit brings the insides with it"
        brought = sum(c["brought"] for c in calls)
        painted = after["painted"] - before["painted"]
        assert painted == brought > 0, "the view paints what the readings bring, with no request of its own"
        others = after["other"][len(before["other"]) :]  # a busy machine may send a page-load event late
        assert not others, others
        check_view(page, "0")
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "artifacts" / "inside-view.png"), full_page=True)
    finally:
        context.close()


def test_the_inside_view_on_a_phone(browser: Any, app: App) -> None:
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_MS)
        open_draw(page, app)
        page.locator("#inside summary").tap()
        page.locator(PAD).scroll_into_view_if_needed()  # the tap scrolled down to the view
        draw(page, SEVEN, origin(page), pause_s=0.02, touch=context.new_cdp_session(page))
        wait_digit(page, "7")
        page.wait_for_function("() => document.querySelector('#inside .inside').classList.contains('has')")
        check_view(page, "7")
        box = page.locator("#inside .inside").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the view fits the phone: {box}"
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "artifacts" / "inside-view-phone.png"), full_page=True)
    finally:
        context.close()


# The first layer as the convolutional network shows it: each filter's map (where it fired) and its 3×3 pattern.
FILTERS = """() => {
  const v = document.querySelector('#inside .inside .units');
  const sizes = (sel) => [...v.querySelectorAll(sel)].map((i) => [i.naturalWidth, i.naturalHeight]);
  const conv = v.querySelector('.conv');
  return {
    title: v.querySelector('h4').textContent, conv: conv.hidden ? '' : conv.textContent,
    on: v.querySelector('.on').textContent, legend: v.querySelector('.legend').textContent,
    maps: sizes('figure > img'), kernels: sizes('img.kernel'),
    shown: [...v.querySelectorAll('img.kernel')].map((i) => i.getBoundingClientRect().width),
    numbers: [...v.querySelectorAll('figcaption span')].map((c) => c.textContent),
  };
}"""


@pytest.fixture(scope="module")
def cnn_app(shared_app_factory: StartApp) -> App:
    return shared_app_factory(SHIPPED_CNN)


def check_filters(page: Any) -> None:
    first = page.evaluate(FILTERS)
    assert first["title"] == "The first convolution" and first["conv"].startswith("A convolution slides"), first
    assert re.fullmatch(r"[\d,]+ of 21,632 filter positions fire for this drawing \(\d+%\)\.", first["on"]), first
    assert first["legend"].startswith("The 8 filters that fire most"), first["legend"]
    assert first["maps"] == [[26, 26]] * 8 and first["kernels"] == [[3, 3]] * 8, first
    assert all(width >= 18 for width in first["shown"]), "a 3×3 pattern is drawn large enough to see"
    assert all(re.fullmatch(r"\d+\.\d\d", n) for n in first["numbers"]), first["numbers"]


@pytest.mark.parametrize(
    ("size", "name"), [((1280, 900), "inside-view-cnn.png"), ((390, 844), "inside-view-cnn-phone.png")]
)
def test_the_inside_view_shows_the_convolutional_networks_filters(
    browser: Any, cnn_app: App, size: tuple[int, int], name: str
) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_MS)
        open_draw(page, cnn_app)
        page.click("#inside summary")
        page.locator(PAD).scroll_into_view_if_needed()
        page.evaluate(WATCH)
        draw(page, SEVEN, origin(page), pause_s=0.03)
        wait_digit(page, "7")
        page.wait_for_function("() => document.querySelector('#inside .inside').classList.contains('has')")
        traffic = settled(page)
        # Every pad call asks for the insides. That they bring no other request is the dense test's to say,
        # counted from its second drawing on: a page-load event may still be on its way during the first one.
        assert all(c["inside"] is True for c in traffic["calls"]), traffic
        shown = page.evaluate(SHOWN)
        assert shown["heat"] == [[28, 28]] and shown["why"].startswith("Why 7 and not "), shown
        assert shown["captions"][-1].endswith("what the network reads") and shown["answer"] == "7", shown
        check_filters(page)
        box = page.locator("#inside .inside").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"the view fits the page: {box}"
        (REPO / "artifacts").mkdir(exist_ok=True)
        page.locator("#inside").scroll_into_view_if_needed()
        page.screenshot(path=str(REPO / "artifacts" / name), full_page=True)
    finally:
        context.close()
