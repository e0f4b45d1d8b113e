"""/personalize, /forget_profile and readings with a profile, through gradio_client against `python demo.py`.

The demo is started with no data (as the README's first command starts it), so it replays the shipped sample
(assets/replay.npz). Each visitor teaches with the pad's own format; readings say which model answered.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mnist_core.config import MAX_TEACH_BYTES
from mnist_ui.testing import ONE, REPO, SEVEN, ZERO, App, Strokes, pad_value, polyline

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow
EXAMPLE = REPO / "assets/examples/mnist_test_0030_digit_3.png"


@pytest.fixture(scope="module")
def app(personal_app: App) -> App:
    return personal_app


@pytest.fixture(scope="module")
def client(app: App) -> Client:
    return Client(app.url, verbose=False)


def moved(strokes: Strokes, dx: float, dy: float) -> Strokes:
    return [[[x + dx, y + dy] for x, y in stroke] for stroke in strokes]


def lesson(strokes: Strokes, label: int, times: int = 3) -> list[dict[str, Any]]:
    """`times` drawings of `strokes` taught as `label`, each a little elsewhere on the pad, as a hand draws."""
    return [{"label": label, "strokes": pad_value(moved(strokes, 12 * k, -9 * k))} for k in range(times)]


def read(client: Client, strokes: Strokes, profile: str | None = None) -> dict[str, Any]:
    return client.predict(json.dumps(pad_value(strokes)), profile, api_name="/predict_strokes")


def rows(app: App, key: str) -> list[int]:
    with sqlite3.connect(app.home / "drawings.sqlite3") as conn:
        return [
            conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (key,)).fetchone()[0]
            for table, column in (("profiles", "key"), ("personal_drawings", "profile"))
        ]


def test_a_personal_model_answers_for_its_visitor_and_forget_deletes_everything(app: App, client: Client) -> None:
    taught = client.predict(lesson(SEVEN, 7) + lesson(ONE, 1), None, api_name="/personalize")
    assert taught["profile"] and taught["drawings"] == 6 and taught["seconds"] > 0, taught
    assert "remembers 6 more drawings" in taught["message"] and "\n" not in taught["message"]
    key = taught["profile"]
    assert read(client, SEVEN, key)["model"] == "personal"
    assert read(client, SEVEN)["model"] == "shared"
    image = client.predict(handle_file(str(EXAMPLE)), key, api_name="/predict_image")
    assert (image["model"], image["digit"]) == ("personal", 3), image
    more = client.predict(lesson(ZERO, 0), key, api_name="/personalize")
    assert (more["profile"], more["drawings"]) == (key, 9), more
    assert rows(app, key) == [1, 9]
    assert "forgotten" in client.predict(key, api_name="/forget_profile")
    assert rows(app, key) == [0, 0]
    after = read(client, SEVEN, key)
    assert after["model"] == "shared" and "no personal model" in after["message"] and "\n" not in after["message"]


def test_two_visitors_models_never_mix(client: Client) -> None:
    """Visitor A says a straight stroke is a 7, visitor B says it is a 1: each model keeps its teacher's word."""
    a = client.predict(lesson(ONE, 7) + lesson(SEVEN, 7), None, api_name="/personalize")["profile"]
    a_before = read(client, ONE, a)["probabilities"]
    b = client.predict(lesson(ONE, 1, 5) + lesson(ZERO, 0), None, api_name="/personalize")["profile"]
    assert a and b and a != b
    assert read(client, ONE, a)["probabilities"] == a_before
    assert read(client, ONE, b)["probabilities"] != a_before
    assert read(client, ONE, a)["probabilities"][7] > read(client, ONE, b)["probabilities"][7]


def test_a_corrupt_or_unknown_profile_reads_with_the_shared_model_and_one_line(app: App, client: Client) -> None:
    shared = read(client, SEVEN)
    with sqlite3.connect(app.home / "drawings.sqlite3") as conn:
        conn.execute("INSERT INTO profiles (key, created, last_used) VALUES ('corrupt-profile-key-0123', 'x', 0)")
        conn.execute(
            "INSERT INTO personal_drawings (profile, label, strokes, created) VALUES (?, 7, ?, 'x')",
            ("corrupt-profile-key-0123", b"not a drawing"),
        )
    for key, words in (("corrupt-profile-key-0123", "could not be read"), ("never-made-key-456789", "no personal")):
        answer = read(client, SEVEN, key)
        assert answer["model"] == "shared" and words in answer["message"] and "\n" not in answer["message"]
        assert answer["probabilities"] == shared["probabilities"]
    image = client.predict(None, "never-made-key-456789", api_name="/predict_image")
    assert image["model"] == "shared" and image["status"] == "blank"


@pytest.mark.parametrize(
    ("drawings", "words"),
    [
        ([{"label": 12, "strokes": pad_value(ONE)}], "label must be a digit"),
        ([{"label": 1, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": []}}], "no strokes"),
        ("not json", "not valid JSON"),
        ([{"label": 1, "strokes": pad_value(ONE)}] * 201, "too many drawings"),
        ("x" * (MAX_TEACH_BYTES + 1), "too large"),
        ([{"label": 1, "strokes": pad_value([polyline([(0, 0), (400, 400)], 6000)])}], "points"),
    ],
)
def test_bad_teaching_is_refused_in_one_line(app: App, drawings: Any, words: str) -> None:
    """Each from a visitor of its own: a refused call counts towards the rate limit too."""
    answer = Client(app.url, verbose=False).predict(drawings, None, api_name="/personalize")
    assert answer["profile"] is None and words in answer["message"] and "\n" not in answer["message"], answer


def test_teaching_is_rate_limited_per_visitor(app: App) -> None:
    """A fresh client is a fresh visitor: six teachings a minute, then one line saying to wait."""
    visitor = Client(app.url, verbose=False)
    answers = [visitor.predict(lesson(ONE, 1, 1), None, api_name="/personalize") for _ in range(7)]
    assert all(a["profile"] for a in answers[:6])
    assert answers[6]["profile"] is None and "a minute" in answers[6]["message"]
    assert Path(app.home / "drawings.sqlite3").is_file()


def test_one_drawing_corrected_7_7_1_keeps_one_row_labelled_1_and_undo_empties_it(client: Client) -> None:
    drawing = json.dumps(pad_value(moved(ONE, 31, 17)))
    before = client.predict(api_name="/drawings")
    answers = [client.predict(label, drawing, api_name="/correct") for label in (7, 7, 1)]
    assert [a["saved"] for a in answers] == [True] * 3 and len({a["id"] for a in answers}) == 1, answers
    assert answers[0]["message"].startswith("kept as a 7 — the shared model learns from it")
    assert answers[2]["relabelled"] and answers[2]["message"].startswith("changed to a 1")
    after = client.predict(api_name="/drawings")
    assert after["total"] == before["total"] + 1 and after["per_digit"][1] == before["per_digit"][1] + 1
    undone = client.predict(drawing, api_name="/undo_correct")
    assert undone == {"undone": True, "message": "undone — this drawing is no longer kept"}
    assert client.predict(api_name="/drawings")["total"] == before["total"]


def test_a_correction_with_a_profile_reads_right_at_once(client: Client) -> None:
    """The Draw tab's "Wrong? It is a 7" through the API: the same drawing read again answers 7."""
    key = client.predict(lesson(ZERO, 0), None, api_name="/personalize")["profile"]
    drawing = moved(ONE, -23, 11)
    assert read(client, drawing, key)["digit"] == 1
    kept = client.predict(7, json.dumps(pad_value(drawing)), None, key, api_name="/correct")
    assert kept["profile"] == key and kept["saved"], kept
    assert kept["message"].startswith("kept as a 7 — your model now reads this 7;")
    assert (read(client, drawing, key)["digit"], read(client, drawing)["digit"]) == (7, 1)
    undone = client.predict(json.dumps(pad_value(drawing)), None, key, api_name="/undo_correct")
    assert undone["undone"] and "your model forgot it" in undone["message"]
    assert read(client, drawing, key)["digit"] == 1
