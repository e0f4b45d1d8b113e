"""The web demo's named API from a real client: readings from a sketch-pad value, an image file and pen
strokes; refusals (malformed strokes, files the client never uploaded); what the API does not offer."""

from __future__ import annotations

import ast
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import digit_on_canvas
from PIL import Image

from mnist_ui.testing import NO_DATA, ONE, REPO, SEVEN, ZERO, App, pad_value, polyline, running_app

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow

ENDPOINTS = {
    "/predict",
    "/predict_image",
    "/predict_strokes",
    "/retrain",
    "/watch",
    "/cancel",
    "/switch_version",
    "/correct",
    "/undo_correct",
    "/drawings",
    "/import_drawings",
    "/export_drawings",
    "/export_drawings_idx",
    "/personalize",
    "/forget_profile",
    "/finetune",
}


@pytest.fixture(scope="module")
def client(app: App) -> Client:
    return Client(app.url, verbose=False)


def sketch(path: Path | dict | None) -> dict:
    """A sketch-pad value: {"background", "layers", "composite"}, the composite being an uploaded file."""
    composite = path if isinstance(path, dict) or path is None else handle_file(str(path))
    return {"background": None, "layers": [], "composite": composite}


@pytest.fixture(scope="module")
def digit_pngs(mnist, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, int]]:
    """Three real test digits, big, black on a white 600×600 canvas."""
    (_, _), (x_test, y_test) = mnist
    folder = tmp_path_factory.mktemp("digits")
    out = []
    for i in (0, 1, 2):
        path = folder / f"test{i}.png"
        Image.fromarray(digit_on_canvas(x_test[i])).save(path)
        out.append((path, int(y_test[i])))
    return out


def check_shape(answer: dict) -> None:
    assert set(answer) >= {"digit", "confidence", "unsure", "probabilities", "status", "message"}, answer
    assert len(answer["probabilities"]) == 10


def check_refusal(answer: dict, *words: str) -> None:
    """A reading that refuses: status "error", no digit, one short line that names the problem."""
    check_shape(answer)
    message = answer["message"]
    assert answer["status"] == "error" and answer["digit"] is None, answer
    assert message and "\n" not in message and len(message) < 200, message
    assert "Traceback" not in message and 'File "' not in message, message
    for word in words:
        assert word in message, message


def test_predict_sketchpad_value(client: Client, digit_pngs) -> None:
    for path, label in digit_pngs:
        answer = client.predict(sketch(path), api_name="/predict")
        check_shape(answer)
        assert answer["status"] == "ok" and answer["digit"] == label, answer
        assert abs(sum(answer["probabilities"]) - 1.0) < 1e-3
        assert answer["confidence"] == pytest.approx(max(answer["probabilities"]), abs=1e-6)


def test_concurrent_predictions_each_get_their_own_answer(app: App, digit_pngs, tmp_path: Path) -> None:
    """/predict batches calls that wait together: every caller must still get the answer for its own input."""
    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 600), "white").save(blank)
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    cases: list[tuple[str, Any, int | None]] = [("/predict", path, label) for path, label in digit_pngs] * 3
    cases += [("/predict", blank, None), ("/predict", junk, None)] * 2
    cases += [("/predict_strokes", pad_value(ONE), 1), ("/predict_strokes", pad_value(ZERO), 0)] * 2

    def ask(case: tuple[str, Any, int | None]) -> tuple[dict, tuple[str, Any, int | None]]:
        api, value, _ = case
        payload = sketch(value) if api == "/predict" else value
        return Client(app.url, verbose=False).predict(payload, api_name=api), case

    with ThreadPoolExecutor(len(cases)) as pool:
        results = list(pool.map(ask, cases))
    for answer, (api, value, label) in results:
        name = value.name if isinstance(value, Path) else api
        assert answer["digit"] == label, (name, answer)
        if value == blank:
            assert answer["status"] == "blank" and "nothing to read" in answer["message"]
        if value == junk:
            assert answer["status"] == "error" and "not a readable image" in answer["message"]


def test_predict_image_file(client: Client, digit_pngs) -> None:
    for path, label in digit_pngs:
        answer = client.predict(handle_file(str(path)), api_name="/predict_image")
        check_shape(answer)
        assert answer["status"] == "ok" and answer["digit"] == label, answer


def test_transparent_png_reads_like_the_canvas(client: Client, digit_pngs, tmp_path: Path) -> None:
    path, label = digit_pngs[0]
    ink = 255 - np.asarray(Image.open(path).convert("L"))
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = ink
    transparent = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(transparent)
    assert client.predict(handle_file(str(transparent)), api_name="/predict_image")["digit"] == label


def test_blank_inputs_read_nothing(client: Client, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 600), "white").save(blank)
    answers = [
        client.predict(sketch(blank), api_name="/predict"),
        client.predict(sketch(None), api_name="/predict"),
        client.predict(handle_file(str(blank)), api_name="/predict_image"),
        client.predict(pad_value([]), api_name="/predict_strokes"),
        client.predict("", api_name="/predict_strokes"),
    ]
    for answer in answers:
        check_shape(answer)
        assert answer["status"] == "blank" and answer["digit"] is None, answer
        assert "nothing to read" in answer["message"]


def test_non_image_gets_a_message_and_server_keeps_serving(client: Client, digit_pngs, tmp_path: Path) -> None:
    junk = tmp_path / "notes.png"
    junk.write_text("this is not an image")
    for answer in (
        client.predict(handle_file(str(junk)), api_name="/predict_image"),
        client.predict(sketch(junk), api_name="/predict"),
    ):
        check_refusal(answer, "not a readable image")
        assert str(tmp_path) not in answer["message"]  # no server paths in what a stranger is told
    path, label = digit_pngs[1]
    assert client.predict(handle_file(str(path)), api_name="/predict_image")["digit"] == label


def test_huge_upload_is_read(client: Client, mnist, tmp_path: Path) -> None:
    (_, _), (x_test, y_test) = mnist
    big = tmp_path / "big.png"
    Image.fromarray(digit_on_canvas(x_test[3], size=4000, box=(800, 1000, 2000))).save(big)
    assert client.predict(handle_file(str(big)), api_name="/predict_image")["digit"] == int(y_test[3])


@pytest.mark.parametrize(("digit", "strokes"), [(1, ONE), (0, ZERO), (7, SEVEN)], ids=["one", "zero", "seven"])
def test_predict_strokes_reads_drawn_digits(client: Client, digit: int, strokes: list) -> None:
    """As a dict and as the JSON string the pad sends, on a desktop pad and a phone-sized one."""
    for value in (pad_value(strokes), json.dumps(pad_value(strokes, side=300))):
        answer = client.predict(value, api_name="/predict_strokes")
        check_shape(answer)
        assert answer["status"] == "ok" and answer["digit"] == digit, answer
        assert answer["confidence"] > 0.5 and answer["message"].startswith(str(digit))


def too_many_points() -> dict:
    return pad_value([polyline([(100, 100), (300, 300)], per_segment=2600), polyline([(300, 100), (100, 300)], 2600)])


MALFORMED_STROKES: dict[str, Any] = {
    "bad JSON": '{"v": 1, "width": 448, "strokes": [[[1, 2]',
    "deeply nested JSON": "[" * 100_000,
    "not an object": [[[[100, 100], [200, 200]]]],
    "wrong version": {**pad_value(ONE), "v": 2},
    "NaN in a raw JSON string": '{"v": 1, "width": 448, "height": 448, "strokes": [[[NaN, 10], [20, 30]]]}',
    "Infinity width": '{"v": 1, "width": Infinity, "height": 448, "strokes": [[[10, 10]]]}',
    "too many strokes": pad_value([[[100.0, 100.0], [110.0, 110.0]]] * 65),
    "too many points": too_many_points(),
    "out-of-range coordinates": pad_value([[[100, 100], [2000, 100]]]),
    "negative coordinates": pad_value([[[-900, 100], [100, 100]]]),
    "a pad of 5 pixels": {"v": 1, "width": 5, "height": 5, "strokes": [[[1, 1], [4, 4]]]},
    "huge string": json.dumps(pad_value(ONE)) + " " * 1_000_000,
}


def test_malformed_strokes_get_a_one_line_message_and_the_server_keeps_serving(client: Client) -> None:
    for name, value in MALFORMED_STROKES.items():
        started = time.monotonic()
        answer = client.predict(value, api_name="/predict_strokes")
        check_refusal(answer)
        assert time.monotonic() - started < 30, f"{name}: took {time.monotonic() - started:.1f} s"
    assert client.predict(pad_value(ONE), api_name="/predict_strokes")["digit"] == 1


def test_numbers_too_big_for_a_float_get_a_message(client: Client) -> None:
    """JSON allows a 400-digit integer; it must be refused like any bad number, not crash the endpoint."""
    big = "9" * 400
    for raw in (
        f'{{"v": 1, "width": {big}, "height": 448, "strokes": []}}',
        f'{{"v": 1, "width": 448, "height": 448, "strokes": [[[{big}, 10], [20, 30]]]}}',
    ):
        check_refusal(client.predict(raw, api_name="/predict_strokes"))


def test_files_the_client_never_uploaded_are_refused(app: App, client: Client) -> None:
    """Naming a path on the server (gradio_client sends a bare {"path"} dict as it is) must not read that file."""
    example = REPO / "assets" / "examples" / "mnist_test_0030_digit_3.png"  # a readable image, on the server
    for path in ("/etc/passwd", str(example)):
        check_refusal(client.predict({"path": path}, api_name="/predict_image"), "not uploaded")
        check_refusal(client.predict(path, api_name="/predict_image"), "not uploaded")
        check_refusal(client.predict(sketch({"path": path}), api_name="/predict"), "not uploaded")
        layered = {"background": {"path": path}, "layers": [{"path": path}], "composite": None}
        check_refusal(client.predict(layered, api_name="/predict"), "not uploaded")
    # The raw protocol with Gradio's file marker: refused before our code, or by it; never read.
    marked = {"path": str(example), "meta": {"_type": "gradio.FileData"}}
    for api, payload in (("predict_image", marked), ("predict", sketch(marked))):
        event, data = raw_call(app, api, [payload])
        assert event == "error" or (data and data[0]["digit"] is None), (api, event, data)
    assert client.predict(handle_file(str(example)), api_name="/predict_image")["digit"] == 3


def raw_call(app: App, api: str, data: list) -> tuple[str, Any]:
    """POST /gradio_api/call/<api> and read its event stream: (last event name, its data)."""
    import httpx

    base = f"{app.url}gradio_api/call/{api}"
    event_id = httpx.post(base, json={"data": data}, timeout=30).json()["event_id"]
    text = httpx.get(f"{base}/{event_id}", timeout=60).text
    events = re.findall(r"event: (\w+)\ndata: (.*)", text)
    assert events, text
    name, payload = events[-1]
    return name, json.loads(payload)


def test_ui_internal_events_are_not_in_the_api(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == ENDPOINTS
    assert not api["unnamed_endpoints"]


def test_the_image_editor_blob_endpoint_is_gone(app: App) -> None:
    """Gradio's image editors accept blobs at /component_server, holding memory for good; no component may."""
    import httpx

    config = httpx.get(f"{app.url}config", timeout=30).json()
    kinds = {c["type"] for c in config["components"]}
    assert not kinds & {"imageeditor", "sketchpad", "paint"}, kinds
    settle_rss(app)
    before = app.rss_mb()
    statuses = set()
    for component in config["components"]:
        fields = {
            "session_hash": "abuse",
            "component_id": str(component["id"]),
            "fn_name": "accept_blobs",
            "type": "layer",
            "index": "20000000",
            "id": "blob",
        }
        response = httpx.post(
            f"{app.url}gradio_api/component_server",
            data=fields,
            timeout=30,
            files={"files": ("blob.png", b"\x89PNG" + b"x" * 1000, "image/png")},
        )
        statuses.add(response.status_code)
    after = settle_rss(app)
    assert 200 not in statuses, statuses
    assert after - before < 64, f"the server grew from {before:.0f} MB to {after:.0f} MB"
    assert app.process.poll() is None


def settle_rss(app: App, timeout: float = 60.0) -> float:
    """The server's RSS once it stops moving (start-up work such as the report warm-up ends first)."""
    deadline = time.monotonic() + timeout
    last = app.rss_mb()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = app.rss_mb()
        if abs(now - last) < 2:
            return now
        last = now
    return last


def readme_api_example() -> str:
    """The first Python block of docs/api.md (the README links it), exactly as a reader would copy it."""
    section = (REPO / "docs" / "api.md").read_text()
    start = section.index("```python") + len("```python")
    return section[start : section.index("```", start)]


def stated_digit(lines: list[str], after: int) -> int | None:
    """The digit a README comment right after line `after` (1-based) shows, as in `# {'digit': 3, ...}`."""
    for line in lines[after:]:
        if not line.strip().startswith("#"):
            break
        match = re.search(r"""["']?digit["']?\s*[:=]\s*(\d)""", line)
        if match:
            return int(match.group(1))
    return None


def strokes_digit(model: Path, value: Any) -> int | None:
    """What the served model reads from strokes through the library (the API must give the same)."""
    from mnist_core.imaging.strokes import parse
    from mnist_core.model.files import load_classifier
    from mnist_core.serving.readings import read_drawings

    return read_drawings(load_classifier(model), [parse(value)])[0].digit


def test_readme_api_example_works_as_written(app: App, demo_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the README's example statement by statement against a live server: every reading it asks for must be
    the example image's 3 (and agree with any comment showing the answer) or, for strokes, the drawn digit."""
    code = readme_api_example()
    assert "http://127.0.0.1:7860/" in code
    lines = code.splitlines()
    tree = ast.parse(code.replace("http://127.0.0.1:7860/", app.url))
    calls: list[tuple[str, Any, dict]] = []  # api name, the value sent, the answer
    real_predict = Client.predict

    def recording_predict(self: Client, *args: Any, **kwargs: Any) -> Any:
        answer = real_predict(self, *args, **kwargs)
        sent = args[0] if args else next(iter(v for k, v in kwargs.items() if k != "api_name"), None)
        calls.append((kwargs.get("api_name", ""), sent, answer))
        return answer

    monkeypatch.setattr(Client, "predict", recording_predict)
    monkeypatch.chdir(REPO)
    namespace: dict[str, Any] = {}
    checked = []
    for node in tree.body:
        made = len(calls)
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), "README", "eval"), namespace)
            if isinstance(value, dict) and "digit" in value:
                checked.append(value)
        else:
            exec(compile(ast.Module([node], []), "README", "exec"), namespace)
        comment = stated_digit(lines, node.end_lineno or node.lineno)
        for api, sent, answer in calls[made:]:
            check_shape(answer)
            expected = strokes_digit(demo_model, sent) if api == "/predict_strokes" else 3
            assert answer["status"] == "ok" and answer["digit"] == expected, (api, answer)
            if comment is not None and len(calls) - made == 1:
                assert comment == answer["digit"], f"the README shows {comment} for {api}, the server said {answer}"
    assert {api for api, _, _ in calls} >= {"/predict_image", "/predict", "/predict_strokes"}, calls
    assert checked, "the example should show an answer (a bare call a reader sees printed)"


def test_corrupt_model_falls_back_with_a_warning(tmp_path: Path, digit_pngs) -> None:
    from mnist_core.config import SHIPPED_MODEL

    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip")
    with running_app(bad, tmp_path / "home", env=NO_DATA) as running:
        answer = Client(running.url, verbose=False).predict(
            handle_file(str(digit_pngs[0][0])), api_name="/predict_image"
        )
        log = running.output()
    assert "broken.keras is not a usable .keras model" in log
    if SHIPPED_MODEL.is_file():
        assert answer["digit"] == digit_pngs[0][1]
    else:
        assert answer["digit"] is None and "no model is loaded" in answer["message"]
