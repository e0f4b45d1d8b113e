"""The page's two languages (mnist_ui/text/en.py and es.py): the same keys, no empty words, the same `{fields}`,
and the server's English lines they translate kept equal to what the server really writes."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_core.data import mnist
from mnist_core.serving import nondigit, readings
from mnist_ui.components import fast_read
from mnist_ui.server import collect, reading, transfers
from mnist_ui.tabs import draw, teach, upload
from mnist_ui.text.en import WORDS as EN
from mnist_ui.text.es import WORDS as ES
from mnist_ui.text.words import T, best, lang_of, remember, say, translated

FIELD = re.compile(r"\{(\w+)\}")


def test_both_languages_have_the_same_keys_and_no_empty_words() -> None:
    assert set(EN) == set(ES), sorted(set(EN) ^ set(ES))
    empty = [f"{lang}:{k}" for lang, table in (("en", EN), ("es", ES)) for k, v in table.items() if not v.strip()]
    assert not empty, empty


def test_each_entry_has_the_same_fields_in_both_languages() -> None:
    differ = {k: (FIELD.findall(EN[k]), FIELD.findall(ES[k])) for k in EN}
    assert not {k: f for k, f in differ.items() if sorted(f[0]) != sorted(f[1])}


def test_the_server_lines_the_page_translates_are_the_servers_own() -> None:
    """The result panel shows a reading's message in the page's language by finding its English here: a server
    line changed without its entry would show in English on a Spanish page."""
    server = {
        "msg.blank": readings.BLANK_MESSAGE,
        "msg.blank_picture": readings.BLANK_PICTURE,
        "msg.unsure": nondigit.UNSURE,
        "msg.busy": fast_read.BUSY,
        "msg.too_many": fast_read.TOO_MANY,
        "msg.unreadable": reading.UNREADABLE,
        "msg.hint_draw": draw.HINT,
        "msg.hint_upload": upload.HINT,
        "msg.hint_teach": teach.HINT,
        "said.private": transfers.PRIVATE,
        "said.nothing_save": collect.NOTHING,
        "said.learns": collect.LEARNS,
        "said.offline": mnist.OFFLINE,
        "said.no_mnist": f"no MNIST on this machine: {mnist._HINT}",
    }
    assert {key: EN[key] for key in server} == server
    # every reason a drawing is "not a digit", as nondigit.py writes them
    source = Path(nondigit.__file__).read_text()
    reasons = re.findall(r'return "([a-z][^"]*)"', source) + re.findall(r'^\s+\(.*, "([a-z][^"]*)"\),$', source, re.M)
    assert len(set(reasons)) >= 8 and set(reasons) <= {v for k, v in EN.items() if k.startswith("msg.")}, reasons


def test_server_lines_are_translated_by_phrase_and_unknown_text_stays() -> None:
    assert translated(
        "es", "kept as an 8 — the shared model learns from it when it is fine-tuned (3 drawings collected)"
    ) == ("guardado como 8 — el modelo compartido aprende de él cuando se le hace un ajuste fino (3 dibujos recogidos)")
    assert (
        translated("es", "epoch 2/5, batch 40/94 (47%), about 30 s left")
        == "época 2/5, lote 40/94 (47%), quedan unos 30 s"
    )
    assert translated("es", "not started: epochs must be 1–40") == "no se inició: las épocas deben ser de 1 a 40"
    assert translated("es", "RuntimeError: boom") == "RuntimeError: boom"
    assert translated("en", "kept as a 7") == "kept as a 7"


def test_words_for_the_page_and_for_the_server() -> None:
    assert say("es", "train.elapsed", seconds=3) == "tiempo transcurrido: 3 s"
    assert say(None, "train.retrain") == say("fr", "train.retrain") == "Retrain"
    assert T("train.retrain").key == "train.retrain"
    with pytest.raises(KeyError, match="no words for"):
        T("train.no_such_thing")


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9", "en"),
        ("fr;q=0.9,es;q=0.8,en;q=0.5", "es"),
        ("", "en"),
        ("en;q=0.2, es;q=0.7", "es"),
        ("es;q=bad", "en"),
    ],
)
def test_the_browsers_language_picks_ours_or_english(header: str, lang: str) -> None:
    assert best(header) == lang


def test_a_tab_that_chose_its_language_keeps_it() -> None:
    asked = SimpleNamespace(session_hash="tab-1", headers={"accept-language": "en-US"})
    assert lang_of(asked) == "en"
    remember(asked, "es")  # type: ignore[arg-type]
    assert lang_of(asked) == "es"  # type: ignore[arg-type]
    assert lang_of(SimpleNamespace(session_hash=None, headers={"accept-language": "es"})) == "es"  # type: ignore[arg-type]
    assert lang_of(None) == "en"
