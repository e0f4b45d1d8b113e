"""The README and docs/ show what the code really does (issue #22, item 7; issue #14, item 13).

- README.md: its first block is the two commands (CI runs the test one verbatim), it fits a first screen,
  and every link and picture in it and in docs/ resolves to a file and heading that exist.
- docs/api.md: the reading example's printed answers are the shipped model's, field for field; its endpoint
  table and settings list are the app's (`mnist_ui/api.py`, `TUNABLE`); every `api_name` any example calls exists.
- docs/cli.md, docs/demo.md, docs/teaching.md, docs/model-card.md: every `python -m mnist_core …` and
  `python demo.py …` line parses with the real argument parsers; the flag lists are the parsers' own;
  the CLI examples name the data first; every `python -m bench.NAME` is a bench that takes those flags.
- Slow (a live `python demo.py`): docs/teaching.md's script answers as it shows, field for field, and
  docs/api.md's retraining script prints progress in the form it shows.
- docs/public-link.md: the security note says what `mnist_ui.launch.decide` does and states the code's caps.
- Nowhere: a machine's own paths, or a file path of this repository that does not exist.

Fast: the API example runs against the library the endpoints call (tests/test_api.py runs it on a live
server); the app is built once, never launched.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import StartApp, run_data_env

from mnist_core.cli import _parser as cli_parser
from mnist_core.config import SHIPPED_MODEL, TUNABLE
from mnist_core.imaging.pictures import MAX_INPUT_PIXELS
from mnist_core.imaging.strokes import parse
from mnist_core.serving.holder import ModelHolder, load_served
from mnist_ui.launch import MAX_UPLOAD, decide, parser
from mnist_ui.testing import App

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
PLACEHOLDER = "[...10 floats...]"


def text(name: str) -> str:
    return (REPO / name).read_text()


def blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page, re.S | re.M)


def prose(page: str) -> str:
    """The page without its code blocks (a code comment is no heading)."""
    return re.sub(r"^```.*?^```", "", page, flags=re.S | re.M)


def section(page: str, title: str) -> str:
    """The prose from the heading `title` to the next heading of any level."""
    words = prose(page)
    start = words.index(f"\n{title}\n")
    end = words.find("\n#", start + len(title) + 2)
    return words[start : end if end != -1 else None]


def shell_lines() -> list[tuple[str, list[str]]]:
    """(page, words) of every command in a bash block, `&&` chains split, env assignments and comments dropped."""
    found = []
    for page in PAGES:
        for block in blocks(page.read_text(), "bash"):
            for line in block.splitlines():
                for command in line.split("&&"):
                    words = shlex.split(command, comments=True)
                    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                        words.pop(0)
                    if words:
                        found.append((page.name, words))
    return found


class LibraryClient:
    """gradio_client.Client as docs/api.md uses it, answered by the code behind each endpoint (mnist_ui/api.py):
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
            raise AssertionError(f"the reading example calls {api_name}")
        self.calls.append((api_name, answer.to_json(model="shared")))
        return self.calls[-1][1]


def comment_after(lines: list[str], end: int) -> str:
    """The comment lines right after the statement ending on line `end` (1-based), without their '# '."""
    comment = []
    for line in lines[end:]:
        if not line.strip().startswith("#"):
            break
        comment.append(line.strip()[1:].strip())
    return " ".join(comment)


def test_api_example_prints_what_the_shipped_model_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer the example shows (`# {'digit': 3, …, 'confidence': 0.974196, …}`) is the shipped model's,
    field for field; "the same answer" is the same answer."""
    code = blocks(text("docs/api.md"), "python")[0]
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
        exec(compile(ast.Module([node], []), "docs/api.md", "exec"), namespace)
        comment = comment_after(lines, node.end_lineno or node.lineno)
        if len(LibraryClient.calls) == made or not comment:
            continue
        api, answer = LibraryClient.calls[-1]
        if comment.startswith("{"):
            stated = ast.literal_eval(comment[: comment.rindex("}") + 1].replace(PLACEHOLDER, "None"))
            assert stated.pop("probabilities") is None
            assert stated == {k: answer[k] for k in stated}, f"docs show {stated} for {api}; it answers {answer}"
            assert set(stated) == set(answer) - {"probabilities"}, "the example should show every field"
            shown += 1
        elif comment.startswith("the same answer"):
            assert answer == LibraryClient.calls[-2][1], (api, answer, LibraryClient.calls[-2])
            shown += 1
    assert [api for api, _ in LibraryClient.calls] == ["/predict_image", "/predict", "/predict_strokes"]
    assert shown == 3, "each of the three calls should show its answer"


def test_api_example_strokes_are_valid_json_for_the_pad_format() -> None:
    """The strokes example is sent as JSON, as the pad sends it."""
    code = blocks(text("docs/api.md"), "python")[0]
    literal = code[code.index("three = ") + len("three = ") : code.index("}", code.index("three = ")) + 1]
    assert parse(json.dumps(ast.literal_eval(literal))).strokes


def matches(stated: Any, answer: Any) -> bool:
    """`stated` as a page shows it, where "…" in a string (or `...` for a number) stands for whatever the server
    filled in."""
    if stated is Ellipsis:
        return True
    if isinstance(stated, dict):
        return (
            isinstance(answer, dict)
            and stated.keys() == answer.keys()
            and all(matches(v, answer[k]) for k, v in stated.items())
        )
    if isinstance(stated, str) and "…" in stated:
        return isinstance(answer, str) and re.fullmatch(".*".join(map(re.escape, stated.split("…"))), answer, re.S)
    return bool(stated == answer)


@pytest.fixture(scope="module")
def live_app(module_app_factory: StartApp) -> App:
    """`python demo.py` serving the shipped model with this run's data and a fresh drawings store, for the teaching
    script (run first: its counts start from zero) and the retraining script (it adds no drawing, and its 3,000-image
    model reads worse than the shipped one, so the serve gate keeps the shipped model serving)."""
    return module_app_factory(SHIPPED_MODEL, env=run_data_env())


@pytest.mark.slow
def test_teaching_example_answers_as_shown(
    live_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/teaching.md's script against `python demo.py` with a fresh drawings store: each answer it shows is
    the server's, and with its two drawings the fine-tune refuses as the comment says."""
    from gradio_client import Client

    code = blocks(text("docs/teaching.md"), "python")[0]
    lines = code.splitlines()
    answers: list[Any] = []
    real_predict = Client.predict

    def recording_predict(*args: Any, **kwargs: Any) -> Any:
        answers.append(real_predict(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(Client, "predict", recording_predict)
    monkeypatch.chdir(REPO)
    shown = 0
    namespace: dict[str, Any] = {}
    for node in ast.parse(code.replace("http://127.0.0.1:7860/", live_app.url)).body:
        made = len(answers)
        exec(compile(ast.Module([node], []), "docs/teaching.md", "exec"), namespace)
        comment = comment_after(lines, node.end_lineno or node.lineno)
        if comment.startswith(("{", "'")) and len(answers) > made:
            assert matches(ast.literal_eval(comment), answers[-1]), (comment, answers[-1])
            shown += 1
    refusal = re.search(r'with these two drawings: "([^"]+)"', comment)  # the last statement's
    assert refusal is not None and refusal[1] in " ".join(capsys.readouterr().out.split()), refusal
    assert shown == 4, "the two corrections, the counts and the import each show their answer"


@pytest.mark.slow
def test_personal_model_example_answers_as_shown(personal_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/api.md's "A model of your own", after its reading script, against `python demo.py` started with no
    data (it replays the shipped sample): each answer it shows is the server's."""
    from gradio_client import Client

    first, personal = blocks(text("docs/api.md"), "python")[0], blocks(text("docs/api.md"), "python")[2]
    answers: list[Any] = []
    real_predict = Client.predict

    def recording_predict(*args: Any, **kwargs: Any) -> Any:
        answers.append(real_predict(*args, **kwargs))
        return answers[-1]

    monkeypatch.chdir(REPO)
    shown = 0
    namespace: dict[str, Any] = {}
    exec(compile(first.replace("http://127.0.0.1:7860/", personal_app.url), "docs/api.md", "exec"), namespace)
    monkeypatch.setattr(Client, "predict", recording_predict)
    lines = personal.splitlines()
    for node in ast.parse(personal).body:
        made = len(answers)
        exec(compile(ast.Module([node], []), "docs/api.md", "exec"), namespace)
        comment = comment_after(lines, node.end_lineno or node.lineno).replace(PLACEHOLDER, "...")
        if comment.startswith(("{", "'")) and len(answers) > made:
            answer = answers[-1]
            value = getattr(node, "value", None)
            if isinstance(value, ast.Subscript):  # the example shows one field of the answer
                answer = answer[ast.literal_eval(value.slice)]
            assert matches(ast.literal_eval(comment), answer), (comment, answer)
            shown += 1
    assert shown == 4, "the teaching, the personal reading, the forgetting and the fallback each show their answer"


@pytest.mark.slow
def test_retrain_example_streams_the_progress_it_shows(
    mnist_dir: Path, live_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/api.md's retraining script, after its reading script, against `python demo.py` with MNIST named:
    it prints the job's progress in the form its comment shows."""
    first, retrain = blocks(text("docs/api.md"), "python")[:2]
    shown = re.search(r'print\(state\["where"\]\)  # "([^"]+)"', retrain)
    assert shown is not None
    form = re.sub(r"\d+", r"\\d+", re.escape(shown[1]))
    monkeypatch.chdir(REPO)
    namespace: dict[str, Any] = {}
    for code in (first, retrain):
        exec(compile(code.replace("http://127.0.0.1:7860/", live_app.url), "docs/api.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert any(re.fullmatch(form, line) for line in printed), (form, printed)


@pytest.fixture(scope="module")
def endpoints() -> set[str]:
    """The named endpoints a client sees, from the app as `python demo.py` builds it (not launched)."""
    from mnist_core.serving.jobs import JobManager
    from mnist_ui.app import build_app
    from mnist_ui.server.context import AppContext, Settings

    holder = ModelHolder(load_served(SHIPPED_MODEL))
    demo = build_app(AppContext(holder, JobManager(holder), Settings(), holder.current.path))
    return set(demo.get_api_info()["named_endpoints"])


def test_api_page_lists_every_endpoint(endpoints: set[str]) -> None:
    table = section(text("docs/api.md"), "## Every endpoint")
    listed = set(re.findall(r"^\| `(/\w+)` \|", table, re.M))
    assert listed == endpoints, f"missing: {sorted(endpoints - listed)}; gone: {sorted(listed - endpoints)}"


def test_examples_call_only_endpoints_that_exist(endpoints: set[str]) -> None:
    called = {name for page in PAGES for name in re.findall(r"api_name=\"(/\w+)\"", page.read_text())}
    assert called and called <= endpoints, sorted(called - endpoints)


def test_api_page_lists_every_retrain_setting() -> None:
    """The settings /retrain takes are `TUNABLE` and `drawings` (mnist_ui/tabs/train.py)."""
    words = section(text("docs/api.md"), "## Retraining from a script")
    paragraph = words[words.index("Settings:") : words.index("the rest comes from the preset")]
    assert set(re.findall(r"`(\w+)`", paragraph)) == {*TUNABLE, "drawings"}, paragraph


def test_cli_examples_name_the_data() -> None:
    """Offline, `train` and `evaluate` need MNIST_DATA (and UNIPEN_DATA for pens): the examples set them first."""
    block = blocks(text("docs/cli.md"), "bash")[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    first_use = next(i for i, c in enumerate(commands) if re.match(r"python -m mnist_core (train|evaluate)", c))
    exports = " ".join(commands[:first_use])
    assert re.search(r"\bexport\b.*\bMNIST_DATA=\S+", exports), commands
    assert re.search(r"\bUNIPEN_DATA=\S+", exports), commands


def test_every_command_line_example_parses() -> None:
    """`python -m mnist_core …` and `python demo.py …` lines parse with the real parsers; a bench line names a
    bench module whose source takes each flag it passes."""
    seen = set()
    for page, words in shell_lines():
        program, rest = " ".join(words[:3]), words[3:]
        if words[:2] == ["python", "demo.py"]:
            program, rest, parse_with = "python demo.py", words[2:], parser()
        elif program == "python -m mnist_core":
            parse_with = cli_parser()
        elif program.startswith("python -m bench."):
            source = (REPO / "bench" / f"{words[2].removeprefix('bench.')}.py").read_text()
            assert all(f'"{w}"' in source for w in rest if w.startswith("--")), (page, words)
            seen.add("bench")
            continue
        else:
            continue
        try:
            parse_with.parse_args(rest)
        except SystemExit:
            pytest.fail(f"{page}: `{' '.join(words)}` does not parse")
        seen.add(program)
    assert seen == {"python demo.py", "python -m mnist_core", "bench"}, seen


def option_strings(p: argparse.ArgumentParser) -> set[str]:
    return {s for a in p._actions for s in a.option_strings if s.startswith("--") and s != "--help"}


def test_flag_lists_are_the_parsers_own() -> None:
    """docs/demo.md's table lists every demo flag, docs/cli.md every `train` flag (`--[no-]x` is both)."""
    table = {f for f in re.findall(r"^\| `(--[\w-]+)", text("docs/demo.md"), re.M)}
    assert table == option_strings(parser()), table ^ option_strings(parser())
    cli = text("docs/cli.md")
    listed = cli[cli.index("It also takes") : cli.index("`evaluate` and `predict`")]
    flags = set()
    for flag in re.findall(r"--(?:\[no-\])?[\w-]+", listed):
        flags |= {flag.replace("[no-]", ""), flag.replace("[no-]", "no-")} if "[no-]" in flag else {flag}
    (commands,) = (a for a in cli_parser()._actions if isinstance(a, argparse._SubParsersAction))
    takes = option_strings(commands.choices["train"]) - {"--preset"}  # the examples above show the presets
    assert flags == takes, flags ^ takes


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    """The first block: install and start the demo, then the tests exactly as .ci/run runs them."""
    readme = text("README.md")
    demo, tests = blocks(readme, "bash")[0].splitlines()
    assert readme.splitlines()[2] == "```bash", "the two commands come right after the title"
    assert demo.split("#")[0].split() == ["pip", "install", "-r", "requirements.txt", "&&", "python", "demo.py"]
    test_command = tests.split("#")[0].split("&&")[1].strip()
    assert "MNIST_DATA=" in test_command and "pytest" in test_command
    assert test_command in text(".ci/run").splitlines(), test_command
    assert len(readme.splitlines()) <= 40, "the README is a first screen; the rest belongs in docs/"
    assert re.search(r"!\[[^\]]+\]\(docs/[\w-]+\.png\)", readme), "one picture of the demo as it is"
    assert "](docs/testing.md)" in readme, "CI and test timings live in docs/testing.md"


def headings(page: Path) -> set[str]:
    """GitHub's anchors for the page's headings."""
    titles = re.findall(r"^#+ (.+)$", prose(page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", t.lower()).replace(" ", "-") for t in titles}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_pictures_resolve(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", page.read_text())
    if page.name == "README.md":
        assert {p.relative_to(REPO).as_posix() for p in DOCS.glob("*.md")} <= {link.partition("#")[0] for link in links}
    for link in links:
        if re.match(r"\w+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_file(), f"{page.name} links {link}: no such file"
        if anchor:
            assert anchor in headings(target), f"{page.name} links {link}: no such heading"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_files_exist_and_no_machine_path_is_shown(page: Path) -> None:
    words = page.read_text()
    assert not re.search(r"(?<![\w.~])/(work|root|home|tmp|usr|Users|var|opt)/", words), "a machine's own path"
    for path in re.findall(r"`((?:mnist_core|mnist_ui|bench|tests|assets|docs)/[^`\s*{]*)`", words):
        assert (REPO / path).exists(), f"{page.name} names {path}, which does not exist"


def security_note() -> str:
    page = text("docs/public-link.md")
    start = page.index("On a public server")
    return " ".join(page[start : page.index("\n\n", start)].split())


@pytest.mark.parametrize("flags", [["--host", "0.0.0.0"], ["--share"]], ids=["host", "share"])
def test_security_note_says_what_the_launch_warns(flags: list[str]) -> None:
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


def test_security_note_states_the_upload_cap() -> None:
    assert "uploads are capped at 10 MB" in security_note() and MAX_UPLOAD == "10mb"


def test_security_note_states_the_pixel_cap() -> None:
    """The cap is MAX_INPUT_PIXELS (52,000,000, so that 50.1 MP phone photos pass), not a round number."""
    match = re.search(r"images over ([\d.,]+) million pixels", security_note())
    assert match is not None
    stated = float(match[1].replace(",", "")) * 1_000_000
    assert stated == MAX_INPUT_PIXELS, f"docs: over {stated:,.0f} pixels; the code refuses over {MAX_INPUT_PIXELS:,}"
