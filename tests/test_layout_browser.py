"""Every tab fits a phone (390×844, touch) and a desktop (1280×900): no element wider than the screen, buttons
a finger can hit, the pad and its answer in the first screen. Screenshots of each tab go to artifacts/ (CI keeps
them) for a human look.

Tabs are found on the page (Gradio moves the ones that do not fit into a "More tabs" menu), never listed here.
Buttons: at least 44×44 CSS px on the Draw and Upload tabs at both sizes (they are what people tap while
drawing) and on every tab on the phone (a finger is the only pointer there); on a desktop the other tabs keep
Gradio's 40-px buttons, which a mouse hits fine.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from mnist_ui.components.style import TAP
from mnist_ui.testing import ONE, PAD, REPO, SETTLED, App, draw, origin

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "has_touch": True,
        "is_mobile": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
FINGER_TABS = ("Draw", "Upload")  # every button on these at least TAP px at any size
TAB_NAMES = "() => [...document.querySelectorAll('.tab-container.visually-hidden button')].map(b => b.innerText.trim())"
# Visible elements reaching past either side of the screen (the hidden copy of the tab bar excluded).
TOO_WIDE = """() => {
  const w = document.documentElement.clientWidth, out = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || e.closest('.visually-hidden, .sr-only') || !e.checkVisibility()) continue;
    const name = `${e.tagName}#${e.id}.${String(e.className).slice(0, 40)}`;
    if (r.right > w + 1 || r.left < -1) out.push(`${name} ${Math.round(r.left)}–${Math.round(r.right)}`);
  }
  return {scroll: document.documentElement.scrollWidth, width: w, wide: out.slice(0, 10)};
}"""
SMALL_BUTTONS = """(tap) => [...document.querySelectorAll('button')]
  .filter((b) => b.checkVisibility() && !b.closest('.visually-hidden'))
  .map((b) => [b.innerText.trim().slice(0, 24) || b.getAttribute('aria-label'), b.getBoundingClientRect()])
  .filter(([, r]) => r.width && r.height && (r.width < tap - 0.5 || r.height < tap - 0.5))
  .map(([name, r]) => `${name} ${Math.round(r.width)}×${Math.round(r.height)}`)"""
# Visible buttons whose words are cut off (a tab bar squeezed to fit once read "Uploa", "Drawir").
CLIPPED = """() => [...document.querySelectorAll('button')]
  .filter((b) => b.checkVisibility() && !b.closest('.visually-hidden') && b.clientWidth)
  .filter((b) => b.scrollWidth > b.clientWidth + 1)
  .map((b) => `${b.innerText.trim().slice(0, 24)} ${b.clientWidth}<${b.scrollWidth}`)"""
# Text lighter than 4.5:1 against the page (WCAG AA): the answer's confidence and the hints around the pad.
FAINT = """(selectors) => {
  const lum = (rgb) => { const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const page = lum(getComputedStyle(document.body).backgroundColor);
  return selectors.flatMap((s) => [...document.querySelectorAll(s)].map((e) => {
    const text = lum(getComputedStyle(e).color), hi = Math.max(page, text), lo = Math.min(page, text);
    return [s, Math.round(100 * (hi + 0.05) / (lo + 0.05)) / 100];
  })).filter(([, ratio]) => ratio < 4.5);
}"""
HINTS = [
    "#verdict .conf",
    "#seen figcaption",
    ".result-panel figcaption",
    ".pad-hint",
    "#collect-where",
    "#up-verdict .hint",
]
# Scrolls through the page so its lazy images load (a full-page screenshot does not), then back to the top.
LOADED = """async () => {
  for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y); await new Promise((r) => setTimeout(r, 50)); }
  const pending = [...document.images].filter((i) => i.checkVisibility() && !i.complete);
  await Promise.race([Promise.all(pending.map((i) => new Promise((r) => { i.onload = i.onerror = r; }))),
                      new Promise((r) => setTimeout(r, 5000))]);
  window.scrollTo(0, 0);
}"""
# Resolves when the page's height has not changed for a second: a tab that fetches its content has drawn it.
STILL = """() => new Promise((resolve) => {
  let last = -1, same = 0;
  const tick = () => { const h = document.body.scrollHeight; same = h === last ? same + 1 : 0; last = h;
                       if (same >= 4) resolve(h); else setTimeout(tick, 250); };
  tick();
})"""


def open_tab(page: Any, name: str) -> None:
    """Its button in the tab bar, or in the "More tabs" menu when the bar has no room for it."""
    button = page.get_by_role("tab", name=name, exact=True)
    if not (button.count() and button.is_visible()):
        page.click('button[aria-label="More tabs"]')
        button = page.locator(".overflow-dropdown button", has_text=re.compile(f"^{re.escape(name)}$"))
    button.click()
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('[role=tab][aria-selected=true]')].some(b => b.innerText.trim() === n)"
        " || !!document.querySelector('.overflow-item-selected')",
        arg=name,
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    page.evaluate(STILL)


def in_first_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    height = page.evaluate("() => window.innerHeight")
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


@pytest.mark.parametrize("size", list(SIZES))
def test_every_tab_fits_the_screen(browser: Any, app: App, size: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(**SIZES[size])
    problems: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app.url)
        page.wait_for_function("() => document.querySelector('#pad canvas.pad')?.tabIndex === 0")
        page.evaluate(SETTLED)
        touch = context.new_cdp_session(page) if size == "phone" else None
        draw(page, ONE, origin(page), touch=touch)
        page.wait_for_selector("#verdict .digit", timeout=30_000)
        for part in (PAD, "#verdict", "#pad .pad-clear"):
            if not in_first_screen(page, part):
                problems.append(f"{size}: {part} is not in the first screen")
        if faint := page.evaluate(FAINT, HINTS):
            problems.append(f"{size}: text under 4.5:1 against the page: {faint}")
        names = page.evaluate(TAB_NAMES)
        assert len(names) >= 5 and "Draw" in names, names
        for name in names:
            open_tab(page, name)
            slug = re.sub(r"\W+", "_", name.lower()).strip("_")
            page.evaluate(LOADED)
            page.screenshot(path=str(ARTIFACTS / f"layout_{size}_{slug}.png"), full_page=True)
            fit = page.evaluate(TOO_WIDE)
            if fit["scroll"] > fit["width"] or fit["wide"]:
                problems.append(f"{size} {name}: wider than the screen ({fit})")
            if clipped := page.evaluate(CLIPPED):
                problems.append(f"{size} {name}: button text cut off: {clipped}")
            if (size == "phone" or name in FINGER_TABS) and (small := page.evaluate(SMALL_BUTTONS, TAP)):
                problems.append(f"{size} {name}: buttons under {TAP}×{TAP} px: {small}")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
