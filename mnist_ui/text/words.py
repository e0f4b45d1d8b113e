"""The page speaks Spanish and English: how a visitor's language is chosen and how every string reaches it.

CHOICE, read in Gradio 6.31's own source (gradio/i18n.py, blocks.py's `launch(i18n=)`, the frontend's
core-*.js and src-*.js) and tried in headless Chromium:
- `gr.I18n(en={...}, es={...})` passed to `launch(i18n=)` sends both tables with the page's config; a component
  prop (label, info, value, choices, tab names, Markdown, HTML) holding `T(key)` is translated in the browser, and
  translated again, in place, when the frontend's locale changes. The browser's language picks the table
  (svelte-i18n's `navigator.language`, "es-MX" falling back to "es"; English for any other language). Gradio's
  own words (footer, upload boxes) follow the same choice, from Gradio's own tables (its aria-labels stay English).
- Only ONE `__i18n__` marker per string is replaced, with no fields, and an update from the server must name its
  marker again: a line the server makes with numbers (status, tables, refusals) is written on the server in the
  visitor's language with `say(lang, key, **fields)`. `lang_of(request)` is the language the page told the server
  (the switch, set on load), else the request's Accept-Language, else English.
- Lines mnist_core and the server's stores write in English (a job's progress, a correction's answer, a refusal)
  are also the API's `message`s, which stay English; the page shows them through `translated`, phrase by phrase
  ("said." entries), so their code has one language and one place. Text no table knows (an exception's) stays.
- The switch (`components/lang_switch.py`): Gradio's settings panel changes the language in place through the
  frontend's `changeLocale`, which nothing else exposes; a reload would lose the drawing on the pad (a `gr.HTML`
  with its own JS). So the switch imports the module the page already loaded and calls that same function: every
  marker is re-translated in place, the pad keeps its strokes, and the server is told, so that what it writes next,
  and the lines it writes again at once (`lang_switch.follow`), are in the new language. The pad, the result
  panel, the inside view and the badges paint their own words in the browser from both tables, by `<html lang>`.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from functools import partial
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


def browser(*prefixes: str) -> str:
    """Both languages' words whose keys start with one of `prefixes`, as JSON, for a component that paints its own
    words in the browser (`components.lang_switch.speaking`)."""
    return json.dumps(
        {lang: {k: v for k, v in table.items() if k.startswith(prefixes)} for lang, table in TABLES.items()},
        ensure_ascii=False,
    )


def T(key: str) -> I18nData:
    """A fixed string for a component prop: the browser shows it in the page's language and follows the switch."""
    if key not in EN:
        raise KeyError(f"no words for {key!r} in mnist_ui/text/en.py")
    return I18N(key)


def say(lang: str | None, key: str, **fields: Any) -> str:
    """What the server writes in `lang` (English if unknown), its `{fields}` filled."""
    text = TABLES.get(lang or "en", EN)[key]
    return text.format(**fields) if fields else text


def _phrases(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """The "said." entries as (English pattern, template in `lang`), longest first so a sentence wins over its
    parts."""
    table = TABLES.get(lang, EN)
    out = []
    for key in sorted((k for k in EN if k.startswith("said.")), key=lambda k: -len(EN[k])):
        pattern = re.sub(r"\\\{(\w+)\\\}", _field, re.escape(EN[key]))
        out.append((re.compile(pattern), table[key]))
    return out


TEXT_FIELDS = {"reason", "why", "label", "whose"}  # a phrase's free text: anything up to what follows it


def _field(match: re.Match[str]) -> str:
    """A `{name}` of a "said." phrase as a regex group: free text for TEXT_FIELDS, else one token (a number, a digit,
    a share), so a phrase never swallows the sentence around it."""
    name = match.group(1)
    return f"(?P<{name}>.+?)" if name in TEXT_FIELDS else f"(?P<{name}>[\\w.,%/–-]+?)"


_PHRASES = {lang: _phrases(lang) for lang in LANGS}


def translated(lang: str | None, text: str) -> str:
    """A line the server's code wrote in English (a status, a refusal, a job's progress; the API keeps it so) in
    `lang`: each known phrase ("said." in the tables) replaced; what no table knows (an exception's text) stays."""
    if not text or lang not in _PHRASES or lang == "en":
        return text
    for pattern, template in _PHRASES[lang]:
        text = pattern.sub(partial(_fill, template), text)
    return text


def _fill(template: str, match: re.Match[str]) -> str:
    return template.format(**match.groupdict())


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
