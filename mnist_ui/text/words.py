"""The page speaks Spanish and English: how a visitor's language is chosen and how every string reaches it.

CHOICE, read in Gradio 6.31's own source (gradio/i18n.py, blocks.py's `launch(i18n=)`, the frontend's
core-*.js and src-*.js) and tried in headless Chromium:
- `gr.I18n(en={...}, es={...})` passed to `launch(i18n=)` sends both tables with the page's config; a component
  prop (label, info, value, choices, tab names, Markdown) holding `I18N(key)` is translated in the browser. The
  browser's language picks the table (svelte-i18n's `navigator.language`, "es-MX" falling back to "es"), with
  English for any other language. Gradio's own words (footer, upload boxes) follow the same choice.
- Only ONE `__i18n__` marker per string is replaced, with no fields: a string the server makes with numbers
  (status lines, refusals, tables) cannot be a marker. Those are made on the server in the visitor's language
  with `say(lang, key, **fields)`; `lang_of(request)` is the language the page told the server (the switch), else
  the request's Accept-Language (what the browser sends: also an API client's), else English. The API's machine
  fields stay English.
- The switch: Gradio's settings panel changes the language in place through the frontend's `changeLocale`;
  nothing else is public. A reload would lose the drawing on the pad, so our switch (`switch.py`) imports that
  same module the page already loaded and calls it: every marker is re-translated in place, the pad keeps its
  strokes, and the server is told so that what it makes next, and the views it re-renders at once, follow.
  The pad and the inside view paint their own words in the browser from both tables, by `<html lang>`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from mnist_ui.text.en import WORDS as EN
from mnist_ui.text.es import WORDS as ES

LANGS = ("es", "en")
TABLES: dict[str, dict[str, str]] = {"en": EN, "es": ES}
I18N = gr.I18n(en=EN, es=ES)
SESSIONS = 2_000  # languages remembered per browser tab (as many as Gradio's sessions), least recent forgotten
_chosen: OrderedDict[str, str] = OrderedDict()


def T(key: str) -> I18nData:
    """A fixed string for a component prop: the browser shows it in the page's language and follows the switch."""
    if key not in EN:
        raise KeyError(f"no words for {key!r} in mnist_ui/text/en.py")
    return I18N(key)


def say(lang: str | None, key: str, **fields: Any) -> str:
    """What the server writes in `lang` (English if unknown), its `{fields}` filled."""
    text = TABLES.get(lang or "en", EN)[key]
    return text.format(**fields) if fields else text


def best(accept: str | None) -> str:
    """The first of our languages an Accept-Language header (or `navigator.language`) asks for; English if none."""
    tags = []
    for i, part in enumerate((accept or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            tags.append((-float(q or 1), i, tag.split("-")[0].lower()))
        except ValueError:
            continue
    return next((tag for _, _, tag in sorted(tags) if tag in LANGS), "en")


def remember(request: gr.Request | None, lang: str) -> str:
    """The switch (or the page on load) told the server this tab's language."""
    lang = lang if lang in LANGS else "en"
    session = getattr(request, "session_hash", None)
    if session:
        _chosen[session] = lang
        _chosen.move_to_end(session)
        while len(_chosen) > SESSIONS:
            _chosen.popitem(last=False)
    return lang


def lang_of(request: gr.Request | None) -> str:
    """The language a request's answer is written in."""
    if request is None:
        return "en"
    session = getattr(request, "session_hash", None)
    if session and session in _chosen:
        return _chosen[session]
    headers = getattr(request, "headers", None) or {}
    return best(headers.get("accept-language"))
