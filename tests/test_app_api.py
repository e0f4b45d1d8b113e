"""The web demo's API from a real client: /predict (sketchpad value), /predict_image, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_helpers import REPO, App, running_app, served_model
from conftest import digit_on_canvas

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return served_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def app(demo_model: Path, tmp_path_factory: pytest.TempPathFactory):
    with running_app(demo_model, tmp_path_factory.mktemp("api-home")) as running:
        yield running


@pytest.fixture(scope="module")
def client(app: App) -> Client:
    return Client(app.url, verbose=False)


def sketch(path: Path) -> dict:
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


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
    assert set(answer) >= {"digit", "confidence", "unsure", "probabilities", "message"}
    assert len(answer["probabilities"]) == 10


def test_predict_sketchpad_value(client: Client, digit_pngs) -> None:
    for path, label in digit_pngs:
        answer = client.predict(sketch(path), api_name="/predict")
        check_shape(answer)
        assert answer["digit"] == label, answer
        assert abs(sum(answer["probabilities"]) - 1.0) < 1e-3
        assert answer["confidence"] == pytest.approx(max(answer["probabilities"]), abs=1e-6)


def test_concurrent_predictions_each_get_their_own_answer(app: App, digit_pngs, tmp_path: Path) -> None:
    """/predict batches calls that wait together: every caller must still get the answer for its own image."""
    from concurrent.futures import ThreadPoolExecutor

    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 600), "white").save(blank)
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    cases = [(path, label) for path, label in digit_pngs] * 3 + [(blank, None), (junk, None)] * 2

    def ask(case: tuple[Path, int | None]) -> tuple[dict, int | None, Path]:
        path, label = case
        return Client(app.url, verbose=False).predict(sketch(path), api_name="/predict"), label, path

    with ThreadPoolExecutor(len(cases)) as pool:
        results = list(pool.map(ask, cases))
    for answer, label, path in results:
        assert answer["digit"] == label, (path.name, answer)
        if path == blank:
            assert "nothing to read" in answer["message"]
        if path == junk:
            assert "not a readable image" in answer["message"]


def test_predict_image_file(client: Client, digit_pngs) -> None:
    for path, label in digit_pngs:
        answer = client.predict(handle_file(str(path)), api_name="/predict_image")
        check_shape(answer)
        assert answer["digit"] == label, answer


def test_transparent_png_reads_like_the_canvas(client: Client, digit_pngs, tmp_path: Path) -> None:
    path, label = digit_pngs[0]
    ink = 255 - np.asarray(Image.open(path).convert("L"))
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = ink
    transparent = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(transparent)
    assert client.predict(handle_file(str(transparent)), api_name="/predict_image")["digit"] == label


def test_blank_canvas_reads_nothing(client: Client, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (600, 600), "white").save(blank)
    for answer in (client.predict(sketch(blank), api_name="/predict"),
                   client.predict({"background": None, "layers": [], "composite": None}, api_name="/predict")):
        check_shape(answer)
        assert answer["digit"] is None
        assert "nothing to read" in answer["message"]


def test_non_image_gets_a_message_and_server_keeps_serving(client: Client, digit_pngs, tmp_path: Path) -> None:
    junk = tmp_path / "notes.png"
    junk.write_text("this is not an image")
    for answer in (client.predict(handle_file(str(junk)), api_name="/predict_image"),
                   client.predict(sketch(junk), api_name="/predict")):
        assert answer["digit"] is None
        assert "not a readable image" in answer["message"]
        assert "Traceback" not in answer["message"]
    path, label = digit_pngs[1]
    assert client.predict(handle_file(str(path)), api_name="/predict_image")["digit"] == label


def test_huge_upload_is_read(client: Client, mnist, tmp_path: Path) -> None:
    (_, _), (x_test, y_test) = mnist
    big = tmp_path / "big.png"
    Image.fromarray(digit_on_canvas(x_test[3], size=4000, box=(800, 1000, 2000))).save(big)
    assert client.predict(handle_file(str(big)), api_name="/predict_image")["digit"] == int(y_test[3])


def readme_api_example() -> str:
    """The first Python block of the README's API section, exactly as a reader would copy it."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### API"):]
    return section[section.index("```python") + len("```python"):section.index("```", section.index("```python") + 3)]


def test_readme_api_example_works_as_written(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    code = readme_api_example()
    assert "http://127.0.0.1:7860/" in code
    tree = ast.parse(code.replace("http://127.0.0.1:7860/", app.url))
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    answers = []
    for node in tree.body:  # run it statement by statement, keeping what each bare call returns
        if isinstance(node, ast.Expr):
            answers.append(eval(compile(ast.Expression(node.value), "README", "eval"), namespace))
        else:
            exec(compile(ast.Module([node], []), "README", "exec"), namespace)
    assert len(answers) == 2
    for answer in answers:
        check_shape(answer)
        assert answer["digit"] == 3, answer  # the example image is a 3, as the README's comment shows


def test_ui_internal_events_are_not_in_the_api(client: Client) -> None:
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/predict", "/predict_image", "/retrain", "/cancel", "/watch"} <= names
    assert not any(name.startswith("/lambda") for name in names)
    assert "/predict_sketch" not in names and "/on_load" not in names


def test_corrupt_model_falls_back_with_a_warning(demo_model: Path, tmp_path: Path, digit_pngs) -> None:
    from mnist_core.config import SHIPPED_MODEL

    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip")
    with running_app(bad, tmp_path / "home") as running:
        answer = Client(running.url, verbose=False).predict(handle_file(str(digit_pngs[0][0])),
                                                           api_name="/predict_image")
        log = running.output()
    assert "broken.keras is not a usable .keras model" in log
    if SHIPPED_MODEL.is_file():
        assert answer["digit"] == digit_pngs[0][1]
    else:
        assert answer["digit"] is None and "no model is loaded" in answer["message"]


def test_auth_flags(tmp_path: Path) -> None:
    import demo

    logins = tmp_path / "logins"
    logins.write_text("# team\nann:s3cret\n\nbob:pa:ss\n")
    args = demo._parser().parse_args(["--auth", "eve:x", "--auth-file", str(logins)])
    assert demo.read_auth(args) == [("eve", "x"), ("ann", "s3cret"), ("bob", "pa:ss")]
    with pytest.raises(SystemExit, match="user:password"):
        demo.read_auth(demo._parser().parse_args(["--auth", "nopassword"]))
    assert demo.is_loopback("127.0.0.1") and demo.is_loopback("localhost") and not demo.is_loopback("0.0.0.0")
