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
