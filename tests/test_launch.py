"""`python demo.py` from a terminal: quick --help without Gradio, one-line errors for bad flags and a busy
port, an honest line when --share cannot reach the internet, and the --auth / public-server decisions."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_ui.launch import decide, parser, read_auth, stop_signals
from mnist_ui.server.access import is_loopback
from mnist_ui.server.context import Settings
from mnist_ui.testing import NO_DATA, REPO, free_port, running_app

HEAVY = ("gradio", "gradio_client", "tensorflow", "keras", "pandas", "h5py")


Run = subprocess.CompletedProcess


def demo(*args: str, python_flags: tuple[str, ...] = ()) -> tuple[Run, float]:
    """Run `python demo.py ARGS` as a user would; (the finished process, seconds it took)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *python_flags, "demo.py", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    return done, time.monotonic() - started


def test_help_is_quick_and_imports_no_gradio() -> None:
    done, took = demo("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python demo.py") and "--port" in done.stdout and "--auth" in done.stdout
    assert done.stderr == ""
    assert took < 3.0, f"--help took {took:.2f} s"
    timed, _ = demo("--help", python_flags=("-X", "importtime"))
    imported = {line.split("|")[-1].strip() for line in timed.stderr.splitlines() if line.startswith("import time:")}
    assert imported, timed.stderr[-500:]
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not heavy, f"--help imported {heavy}"


def test_the_flag_parser_alone_imports_no_gradio() -> None:
    """In a fresh interpreter: mnist_ui.launch and its parser, nothing heavy in sys.modules afterwards."""
    code = (
        "import sys; from mnist_ui.launch import parser; parser().parse_args(['--port', '8000']); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_gradio_loads_without_its_stub_writer() -> None:
    """mnist_ui swaps Gradio's per-import .pyi rewriting (a third of a start's CPU) for a no-op, before any
    component class is made; the components still build. If this fails after a Gradio upgrade, Gradio dropped
    or renamed the writer: check `python -m bench.cold_start`, then drop mnist_ui/gradio_stubs.py or follow it."""
    code = (
        "import mnist_ui, gradio as gr, gradio.component_meta as meta\n"
        "from mnist_ui.gradio_stubs import _no_stub\n"
        "assert meta.create_or_modify_pyi is _no_stub, meta.create_or_modify_pyi\n"
        "with gr.Blocks():\n    gr.Textbox(label='x')\n"
        "print('built')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "built", done.stderr[-2000:]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("99999", "99999 is not a port: use 1–65535"),
        ("0", "0 is not a port: use 1–65535"),
        ("http", "'http' is not a port number"),
    ],
)
def test_a_bad_port_is_a_one_line_argparse_error(value: str, error: str) -> None:
    done, took = demo("--port", value)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors == [f"python demo.py: error: argument --port: {error}"], done.stderr
    assert done.stderr.startswith("usage: python demo.py") and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert took < 3.0, f"took {took:.2f} s"


def test_a_port_in_use_is_one_line_and_exit_code_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done, took = demo("--port", str(port))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} is already in use" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert took < 10.0, f"took {took:.2f} s: the port should be checked before the heavy imports"


def test_bad_auth_is_one_line(tmp_path: Path) -> None:
    for args, message in (
        (("--auth", "nopassword"), "error: auth entries must look like user:password"),
        (("--auth-file", str(tmp_path / "missing")), "error: cannot read --auth-file"),
    ):
        done, took = demo("--port", str(free_port()), *args)
        assert done.returncode != 0 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), done.stderr
        assert took < 3.0


@pytest.mark.slow  # starts the whole demo and waits for the share attempt to fail
def test_share_offline_says_so_in_one_line(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Gradio prints a misleading "Missing file: frpc…" when the tunnel cannot be made; the demo says what happened."""
    with running_app(demo_model, tmp_path_factory.mktemp("share-home"), extra_args=("--share",), env=NO_DATA) as app:
        deadline = time.monotonic() + 90
        while not re.search(r"^(serving at|share link)", app.output(), re.M) and time.monotonic() < deadline:
            time.sleep(0.2)
        output = app.output()
    if re.search(r"publicly at https://", output):
        pytest.skip("this machine reached gradio.live: --share made a real link")
    about_share = [line for line in output.splitlines() if "share link" in line and "unavailable" in line]
    assert len(about_share) == 1, output
    assert about_share[0].startswith("share link unavailable") and app.url.rstrip("/") in about_share[0]
    assert "frpc" not in output.lower(), output
    assert "Traceback" not in output


def test_auth_flags_and_files(tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_text("# team\nann:s3cret\n\n  bob:pa:ss  \n")
    args = parser().parse_args(["--auth", "eve:x", "--auth-file", str(logins)])
    assert read_auth(args) == [("eve", "x"), ("ann", "s3cret"), ("bob", "pa:ss")]
    assert read_auth(parser().parse_args([])) == []
    for bad in ("nopassword", ":x", "user:"):
        with pytest.raises(SystemExit, match="user:password"):
            read_auth(parser().parse_args(["--auth", bad]))
    with pytest.raises(SystemExit, match="cannot read --auth-file"):
        read_auth(parser().parse_args(["--auth-file", str(tmp_path / "missing")]))


def test_flags_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SHARE", "1")
    monkeypatch.setenv("MNIST_DEMO_AUTH", "ann:s3cret")
    args = parser().parse_args([])
    assert (args.port, args.host, args.share, read_auth(args)) == (8123, "0.0.0.0", True, [("ann", "s3cret")])
    assert parser().parse_args(["--port", "9000"]).port == 9000


def test_loopback_hosts() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.20", "::", "example.com", ""):
        assert not is_loopback(host), host


def test_who_may_retrain() -> None:
    local, warnings = decide(parser().parse_args([]), [])
    assert local == Settings(True, "", False) and warnings == []
    public, warnings = decide(parser().parse_args(["--host", "0.0.0.0"]), [])
    assert not public.retrain_allowed and public.public and "--auth" in public.retrain_reason
    assert len(warnings) == 1 and "host 0.0.0.0 without --auth" in warnings[0]
    assert decide(parser().parse_args(["--host", "0.0.0.0"]), [("u", "p")]) == (Settings(True, "", True), [])
    shared, warnings = decide(parser().parse_args(["--share"]), [])
    assert not shared.retrain_allowed and "a share link without --auth" in warnings[0]
    allowed, warnings = decide(parser().parse_args(["--share", "--allow-public-retrain"]), [])
    assert allowed.retrain_allowed and allowed.public and "--allow-public-retrain" in warnings[0]


def test_a_replica_behind_a_public_proxy_is_public() -> None:
    """deploy/run.sh passes --public when nginx listens beyond loopback: the replica itself binds 127.0.0.1."""
    from mnist_ui.launch import collecting

    behind, warnings = decide(parser().parse_args(["--public"]), [])
    assert behind.public and not behind.retrain_allowed
    assert len(warnings) == 1 and "a public proxy without --auth" in warnings[0]
    assert collecting(parser().parse_args(["--public"]))[0] is False
    assert collecting(parser().parse_args(["--public", "--collect"]))[0] is True


def test_a_stop_while_the_demo_starts_is_a_clean_stop() -> None:
    """demo.py installs these before `launch`: Ctrl+C or SIGTERM during start-up set the event (the demo then
    stops as usual) instead of raising KeyboardInterrupt out of whatever Gradio is doing (CI once saw a
    traceback from its start-up page check)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for signum in before:
            stop = stop_signals()
            os.kill(os.getpid(), signum)
            assert stop.wait(5), signal.Signals(signum).name
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
