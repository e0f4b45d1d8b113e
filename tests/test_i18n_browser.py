"""The page in Spanish and in English, in real Chromium at 1280×900 and 390×844: with the browser set to `es` or
`en`, every tab shows only that language (the other language's words, taken from the translation tables
themselves, never appear), and the switch changes the page in place: the drawing on the pad stays. Saves
artifacts/i18n-<lang>-<size>-<tab>.png for a human look."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from mnist_core.config import SHIPPED_MODEL
from mnist_ui.testing import PAD, REPO, SETTLED, SEVEN, App, data_env, draw, origin
from mnist_ui.text.words import TABLES

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER_MS = 30_000
TABS = ("draw", "teach", "upload", "model", "drawings", "train")
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}
# Everything a person can read on the page as it is: the visible text, and every visible control's tooltip and
# text value. (Not the aria-labels: Gradio 6.31 leaves its own in English, "Upload file", "Reset to default value",
# whatever the page's language.)
ON_SCREEN = """() => {
  const controls = [...document.querySelectorAll('button, a, input, select, textarea, [role=button], [role=tab]')]
    .filter((e) => e.checkVisibility())
    .map((e) => [e.title || '', e.type === 'text' ? e.value : ''].join('\\n'));
  return document.body.innerText + '\\n' + controls.join('\\n');
}"""
MARKUP = re.compile(r"\{\w+\}|<[^>]+>|[#*|`\n]|\s—\s|: ")


def foreign(lang: str) -> set[str]:
    """The other language's words that cannot appear on a page in `lang`: each entry that differs between the two
    tables, cut at its fields and markup into phrases, less any phrase the page's own language also uses."""
    other = TABLES["en" if lang == "es" else "es"]
    own = "\n".join(TABLES[lang].values())
    phrases = set()
    for key, value in other.items():
        if value == TABLES[lang][key]:
            continue
        for piece in MARKUP.split(value):
            piece = piece.strip(" .,:;()[]—–-?¿!¡“”\"'…›↶✕")
            if re.search(r"[^\W\d_]{3}", piece) and not re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", own):
                phrases.add(piece)
    return phrases


def leftovers(text: str, lang: str) -> list[str]:
    """The other language's phrases on the page; a server path (the drawings database's, to a local viewer) is
    a name, not words."""
    text = re.sub(r"\S*/\S+", " ", text)
    return sorted(p for p in foreign(lang) if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text))


@pytest.fixture(scope="module")
def shipped(shared_app_factory: Any) -> App:
    """The demo as a fresh clone serves it (the shipped model), with this run's data for the Train tab."""
    mnist = os.environ.get("MNIST_DATA")
    return shared_app_factory(SHIPPED_MODEL, env=data_env(Path(mnist) if mnist else None))


def open_tab(page: Any, tab: str, lang: str) -> None:
    """The tab's button, in the bar or (a phone) in Gradio's "More tabs" menu, found by its name in `lang`."""
    button = page.locator(f"button#tab-{tab}-button")
    if not button.is_visible():
        page.click('button[aria-label="More tabs"]')
        name = re.compile(f"^{re.escape(TABLES[lang][f'tab.{tab}'])}$")
        button = page.locator(".overflow-dropdown button", has_text=name)
    button.click()
    page.wait_for_function("(t) => document.querySelector('#tab-' + t).checkVisibility()", arg=tab)
    page.wait_for_timeout(1500)  # the tab's own lines come from the server when it opens


def draw_seven(page: Any) -> None:
    page.locator(PAD).scroll_into_view_if_needed()
    draw(page, SEVEN, origin(page), pause_s=0.02)
    page.wait_for_function(
        "() => (document.querySelector('#result .digit') || {}).textContent === '7'", timeout=ANSWER_MS
    )


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_tab_speaks_only_the_browsers_language(browser: Any, shipped: App, lang: str, size: str) -> None:
    context = browser.new_context(locale={"es": "es-MX", "en": "en-US"}[lang], **SIZES[size])
    try:
        page = context.new_page()
        page.goto(shipped.url)
        page.wait_for_selector(PAD, timeout=60_000)
        page.wait_for_function(SETTLED, timeout=60_000)
        page.wait_for_function(f"() => document.querySelector('#lang-switch input[value={lang}]').checked")
        draw_seven(page)
        page.locator("#inside summary").click()  # the inside view, open: its words too
        page.wait_for_function("() => document.querySelector('#inside .inside').classList.contains('has')")
        found = {}
        for tab in TABS:
            if tab != "draw":
                open_tab(page, tab, lang)
            page.screenshot(path=str(REPO / "artifacts" / f"i18n-{lang}-{size}-{tab}.png"), full_page=True)
            found[tab] = leftovers(page.evaluate(ON_SCREEN), lang)
        assert not any(found.values()), found
        assert page.evaluate("document.documentElement.lang") == lang
    finally:
        context.close()


def test_the_switch_changes_the_language_and_keeps_the_drawing(browser: Any, shipped: App) -> None:
    context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(shipped.url)
        page.wait_for_selector(PAD, timeout=60_000)
        page.wait_for_function(SETTLED, timeout=60_000)
        page.wait_for_function("() => document.querySelector('#lang-switch input[value=es]').checked")
        draw_seven(page)
        strokes = page.evaluate("document.querySelector('#pad canvas.pad').toDataURL()")
        page.evaluate("window.__sameDocument = true")  # gone if the switch reloaded the page
        assert "de seguridad" in page.inner_text("#result")
        page.locator("#lang-switch label", has_text="English").click()
        page.wait_for_function("() => document.querySelector('#result .conf').textContent.includes('sure')")
        page.wait_for_function("() => document.querySelector('#tab-train-button').textContent.includes('Train')")
        assert page.evaluate("window.__sameDocument") is True
        assert page.evaluate("document.querySelector('#pad canvas.pad').toDataURL()") == strokes, "the drawing is lost"
        assert page.inner_text("#result .digit") == "7"
        open_tab(page, "train", "en")
        assert "Retrain" in page.inner_text("#tab-train") and not leftovers(page.evaluate(ON_SCREEN), "en")
        page.locator("#lang-switch label", has_text="Español").click()
        page.wait_for_function("() => document.querySelector('#retrain').textContent.includes('Reentrenar')")
        page.wait_for_function("() => document.querySelector('#split-lesson').textContent.includes('imágenes')")
        bar = "(names) => names.every((n) => document.querySelector('.tab-wrapper').innerText.includes(n))"
        page.wait_for_function(bar, arg=[TABLES["es"][f"tab.{tab}"] for tab in TABS])  # the server's lines came too
        assert not leftovers(page.evaluate(ON_SCREEN), "es")
    finally:
        context.close()
