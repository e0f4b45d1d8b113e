"""Issue #14, item 13: the README shows what the code really does — the API example's printed answers are the
shipped model's, the command-line examples name the data, the security note says what the launch prints.

Fast: the example runs against the library the endpoints call (tests/test_app_api.py runs it on a live server).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mnist_core.config import SHIPPED_MODEL
from mnist_core.imaging.pictures import MAX_INPUT_PIXELS
from mnist_core.imaging.strokes import parse
from mnist_core.serving.holder import ModelHolder, load_served
from mnist_ui.launch import MAX_UPLOAD, decide, parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
PLACEHOLDER = "[...10 floats...]"


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + len(title) + 2)
    return README[start : end if end != -1 else None]


def first_block(text: str, language: str) -> str:
    start = text.index(f"```{language}") + len(f"```{language}")
    return text[start : text.index("```", start)]


class LibraryClient:
    """gradio_client.Client as the README uses it, answered by the code behind each endpoint (mnist_ui/api.py):
    files and sketch-pad composites through `ModelHolder.read_many`, strokes through `read_drawings`."""

    holder: ClassVar[ModelHolder | None] = None
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def __init__(self, url: str, **_: Any) -> None:
        assert url == "http://127.0.0.1:7860/"

    def predict(self, *args: Any, api_name: str) -> dict[str, Any]:
        assert self.holder is not None
        (value,) = args
        if api_name == "/predict_image":
            answer = self.holder.read_many([value])[0]
        elif api_name == "/predict":
            answer = self.holder.read_many([value["composite"]])[0]
        elif api_name == "/predict_strokes":
            answer = self.holder.read_drawings([parse(value)])[0]
        else:
            raise AssertionError(f"the README example calls {api_name}")
        self.calls.append((api_name, answer.to_json()))
        return answer.to_json()


def comment_after(lines: list[str], end: int) -> str:
    """The comment lines right after the statement ending on line `end` (1-based), without their '# '."""
    comment = []
    for line in lines[end:]:
        if not line.strip().startswith("#"):
            break
        comment.append(line.strip()[1:].strip())
    return " ".join(comment)


def test_readme_api_example_prints_what_the_shipped_model_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer the example shows (`# {'digit': 3, …, 'confidence': 0.951852, …}`) is the shipped model's,
    field for field; "the same answer" is the same answer."""
    code = first_block(section("### API"), "python")
    fake = types.ModuleType("gradio_client")
    fake.Client = LibraryClient  # type: ignore[attr-defined]
    fake.handle_file = lambda path: str(REPO / path)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gradio_client", fake)
    monkeypatch.setattr(LibraryClient, "holder", ModelHolder(load_served(SHIPPED_MODEL)))
    monkeypatch.setattr(LibraryClient, "calls", [])
    lines = code.splitlines()
    namespace: dict[str, Any] = {}
    shown = 0
    for node in ast.parse(code).body:
        made = len(LibraryClient.calls)
        exec(compile(ast.Module([node], []), "README", "exec"), namespace)
        comment = comment_after(lines, node.end_lineno or node.lineno)
        if len(LibraryClient.calls) == made or not comment:
            continue
        api, answer = LibraryClient.calls[-1]
        if comment.startswith("{"):
            stated = ast.literal_eval(comment[: comment.rindex("}") + 1].replace(PLACEHOLDER, "None"))
            assert stated.pop("probabilities") is None
            assert stated == {k: answer[k] for k in stated}, f"README shows {stated} for {api}; it answers {answer}"
            assert set(stated) == set(answer) - {"probabilities"}, "the example should show every field"
            shown += 1
        elif comment.startswith("the same answer"):
            assert answer == LibraryClient.calls[-2][1], (api, answer, LibraryClient.calls[-2])
            shown += 1
    assert [api for api, _ in LibraryClient.calls] == ["/predict_image", "/predict", "/predict_strokes"]
    assert shown == 3, "each of the three calls should show its answer"


def test_readme_api_example_strokes_are_valid_json_for_the_pad_format() -> None:
    """The strokes example is sent as JSON, as the pad sends it."""
    code = first_block(section("### API"), "python")
    literal = code[code.index("three = ") + len("three = ") : code.index("}", code.index("three = ")) + 1]
    value = ast.literal_eval(literal)
    assert parse(json.dumps(value)).strokes


def test_readme_command_line_examples_name_the_data() -> None:
    """Offline, `train` and `evaluate` need MNIST_DATA (and UNIPEN_DATA for pens): the examples set them first."""
    block = first_block(section("## Command line"), "bash")
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    first_use = next(i for i, c in enumerate(commands) if re.match(r"python -m mnist_core (train|evaluate)", c))
    exports = " ".join(commands[:first_use])
    assert re.search(r"\bexport\b.*\bMNIST_DATA=\S+", exports), commands
    assert re.search(r"\bUNIPEN_DATA=\S+", exports), commands
    test_command = first_block(README, "bash")
    assert "MNIST_DATA=" in test_command and "pytest" in test_command


def security_note() -> str:
    start = README.index("On a public server")
    return " ".join(README[start : README.index("\n\n", start)].split())


@pytest.mark.parametrize("flags", [["--host", "0.0.0.0"], ["--share"]], ids=["host", "share"])
def test_readme_security_note_says_what_the_launch_warns(flags: list[str]) -> None:
    """The note: "without `--auth` the demo prints a warning and the Train tab is disabled
    (`--allow-public-retrain` allows it anyway)" — each clause checked against `mnist_ui.launch.decide`."""
    note = security_note()
    assert "without `--auth` the demo prints a warning and the Train tab is disabled" in note, note
    assert "(`--allow-public-retrain` allows it anyway)" in note, note
    settings, warnings = decide(parser().parse_args(flags), [])
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "without --auth" in warnings[0]
    assert "the Train tab is disabled" in warnings[0] and not settings.retrain_allowed
    allowed, warned = decide(parser().parse_args([*flags, "--allow-public-retrain"]), [])
    assert allowed.retrain_allowed and "--allow-public-retrain" in warned[0]
    assert decide(parser().parse_args(flags), [("ann", "s3cret")]) == (settings.__class__(True, "", True), [])
    for quoted in re.findall(r"[\"“]([^\"”]*warning[^\"”]*)[\"”]", note, re.I):  # any warning text it quotes
        assert quoted in warnings[0], (quoted, warnings[0])


def test_readme_security_note_states_the_upload_cap() -> None:
    assert "uploads are capped at 10 MB" in security_note() and MAX_UPLOAD == "10mb"


def test_readme_security_note_states_the_pixel_cap() -> None:
    """The cap is MAX_INPUT_PIXELS (52,000,000, so that 50.1 MP phone photos pass), not the README's round number."""
    match = re.search(r"images over ([\d.,]+) million pixels", security_note())
    assert match is not None
    stated = float(match[1].replace(",", "")) * 1_000_000
    assert stated == MAX_INPUT_PIXELS, f"README: over {stated:,.0f} pixels; the code refuses over {MAX_INPUT_PIXELS:,}"
