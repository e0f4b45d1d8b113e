"""The page's language switch: Español | English, first set to the browser's language, changed without a reload.

How and why (Gradio's i18n, what it covers, the server's part): mnist_ui/text/words.py. A reload would lose the
drawing on the pad, so the switch calls the frontend's own `changeLocale`, from the module the page loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.context import Context

from mnist_ui.text.words import T, browser

CHOICES = [("Español", "es"), ("English", "en")]
# The browser's language as Gradio's frontend picks it (navigator.language, "es-MX" → "es"), ours or English.
DETECT_JS = "() => ((navigator.language || 'en').toLowerCase().split('-')[0] === 'es' ? 'es' : 'en')"
# Gradio 6 exports `changeLocale` from its core module (its settings panel imports it from there): importing the
# same URL gives the same module, so every translated prop on the page changes in place. `<html lang>` tells
# the pad and the inside view, which paint their own words.
SWITCH_JS = """
async (lang, ...rest) => {
  const url = [...document.querySelectorAll('script[src], link[href]')]
    .map((e) => e.src || e.href).find((u) => /\\/assets\\/core-[^/]*\\.js(\\?|$)/.test(u));
  if (url && lang) { try { (await import(url)).changeLocale(lang); } catch (e) { console.warn(e); } }
  if (lang) { document.documentElement.lang = lang; document.dispatchEvent(new Event('mnist-lang')); }
  return [lang, ...rest];
}
"""
# Put before a component's own JS (`speaking`): `W.key` is the word in the page's language (its own prefix left
# out: `W.hint` is "pad.hint"; a key of another prefix is written whole, `W['msg.blank']`); elements with
# data-w (text), data-w-title, data-w-aria take theirs, and again at every change of language, when the
# component's own `repaint()` (if it has one) runs too.
SPEAK_JS = """
const WORDS = __WORDS__, OWN = '__PREFIX__';
const here = () => WORDS[(document.documentElement.lang || 'en').split('-')[0]] || WORDS.en;
const word = (table, key) => (OWN + key in table ? table[OWN + key] : table[key]);
const W = new Proxy({}, {get: (_, key) => word(here(), key) ?? word(WORDS.en, key)});
function relabel() {
  element.querySelectorAll('[data-w]').forEach((el) => {
    if (el.textContent !== W[el.dataset.w]) el.textContent = W[el.dataset.w];
  });
  element.querySelectorAll('[data-w-title]').forEach((el) => { el.title = W[el.dataset.wTitle]; });
  element.querySelectorAll('[data-w-aria]').forEach((el) => { el.setAttribute('aria-label', W[el.dataset.wAria]); });
}
document.addEventListener('mnist-lang', () => { relabel(); if (typeof repaint === 'function') repaint(); });
relabel();
"""

CSS = """
#page-head { flex-wrap: nowrap; }
#page-head > #intro { flex: 1 1 300px; min-width: 0; }
#lang-switch { flex: 0 0 250px; width: 250px !important; min-width: 0; margin-left: auto; }
#lang-switch .wrap { flex-wrap: nowrap; }
@media (max-width: 640px) {  /* a phone: the switch small, in the corner, so the pad stays in the first screen */
  #page-head { position: relative; }
  #page-head > #intro h1 { font-size: 24px !important; padding-right: 168px !important; margin-bottom: 4px !important; }
  #page-head > #intro p { font-size: 13.5px !important; line-height: 1.4 !important; }
  #page-head #lang-switch { position: absolute !important; top: 0; right: 0; width: auto !important; z-index: 2; }
  #page-head #lang-switch .wrap { gap: 4px; }
  #page-head #lang-switch label { padding: 4px 7px !important; font-size: 13px; }
  #page-head #lang-switch input { display: none; }
  #page-head #lang-switch label.selected { border-color: var(--color-accent) !important; font-weight: 600; }
}
"""


def speaking(js: str, *prefixes: str) -> str:
    """A component's JS with `W`, its words under `prefixes` in the page's language (mnist_ui/text/); the first
    prefix is its own."""
    return SPEAK_JS.replace("__WORDS__", browser(*prefixes)).replace("__PREFIX__", prefixes[0]) + js


_building: list[tuple[Any, gr.Radio]] = []  # the page being built and its switch: `header` makes it before the tabs


def header(intro: Any) -> gr.Radio:
    """The page's title and introduction, the switch beside them (above them on a phone)."""
    with gr.Row(equal_height=False, elem_id="page-head"):
        gr.Markdown(intro, elem_id="intro")
        radio = gr.Radio(CHOICES, value=None, label=T("page.language"), elem_id="lang-switch", container=False)
    _building[:] = [(Context.root_block, radio)]
    return radio


def follow(fn: Callable[..., Any], inputs: list[Any], outputs: list[Any], name: str) -> None:
    """A part of the page whose lines the server writes: when the switch changes, `fn(lang, *inputs, request)`
    writes them again in the new language (the browser translates the fixed words itself)."""
    if _building and _building[0][0] is Context.root_block:  # a part built on a page of its own follows nothing
        switch = _building[0][1]
        switch.input(fn, [switch, *inputs], outputs, api_name=name, api_visibility="private", show_progress="hidden")
