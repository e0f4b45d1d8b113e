"""Command-line flags and launch decisions: no Gradio import here, so `python demo.py --help` is instant."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from mnist_core.drawings.policy import trusted_proxies
from mnist_core.errors import first_line
from mnist_ui.server.access import is_loopback
from mnist_ui.server.bodies import UPLOAD_MB
from mnist_ui.server.context import Settings

MAX_UPLOAD = f"{UPLOAD_MB}mb"  # Gradio's own refusal of a file past the body cap's share for files
STOP_GRACE_S = 1.0  # on Ctrl+C or SIGTERM, how long open requests (a page following a training) may hold the exit
QUEUE_CONCURRENCY = 4  # events of one handler Gradio's queue runs at once


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 1–65535")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python demo.py", description="Draw-a-digit web demo (Gradio).")
    _network_flags(p)
    _content_flags(p)
    return p


def _network_flags(p: argparse.ArgumentParser) -> None:
    """Where the server listens and who may reach it."""
    env = os.environ.get
    p.add_argument(
        "--host",
        default=env("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="address to bind (env GRADIO_SERVER_NAME; default 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=port,
        default=env("GRADIO_SERVER_PORT", "7860"),
        help="port (env GRADIO_SERVER_PORT; default 7860)",
    )
    p.add_argument(
        "--share",
        action="store_true",
        default=env("GRADIO_SHARE", "").lower() in ("1", "true", "yes"),
        help="ask for a public gradio.live link (env GRADIO_SHARE=1; needs internet)",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="others reach this server through a proxy (deploy/run.sh on a non-loopback address): treat it as "
        "public, as a non-loopback --host is",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[v for v in [env("MNIST_TRUSTED_PROXY")] if v],
        metavar="ADDRESS",
        help="a proxy in front (address or network; repeat or comma-separate) whose X-Forwarded-For names the "
        "client that limits count; from anyone else that header is ignored (env MNIST_TRUSTED_PROXY; "
        "deploy/run.sh sets 127.0.0.1)",
    )
    p.add_argument(
        "--auth", default=env("MNIST_DEMO_AUTH"), help="require a login: user:password (env MNIST_DEMO_AUTH)"
    )
    p.add_argument("--auth-file", help="require a login: a file with one user:password per line")


def _content_flags(p: argparse.ArgumentParser) -> None:
    """What it serves, trains on and keeps."""
    p.add_argument(
        "--model",
        help="a .keras file to serve (default: the version chosen with `python -m mnist_core "
        "models use`, else the shipped model)",
    )
    p.add_argument("--data", help="MNIST folder or mnist.npz for retraining and the test report (default: $MNIST_DATA)")
    p.add_argument("--pens", help="UNIPEN file or folder for retraining on real handwriting (default: $UNIPEN_DATA)")
    p.add_argument(
        "--allow-public-retrain",
        action="store_true",
        help="allow retraining on a shared or non-loopback server without --auth",
    )
    p.add_argument(
        "--collect",
        action="store_true",
        help="keep the drawings visitors correct even on a public server (always on for a local demo)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also print TensorFlow's own logs (off by default: the terminal gets one line per event)",
    )
    p.add_argument(
        "--database",
        "--drawings",
        dest="database",
        metavar="DB",
        help="where corrected drawings, personal models and rate limits are kept: a SQLite file, or a "
        "postgresql:// URL that several servers share (default: $MNIST_DEMO_DATABASE, else "
        "$MNIST_DEMO_HOME/drawings.sqlite3)",
    )


def read_auth(args: argparse.Namespace) -> list[tuple[str, str]]:
    """user:password pairs from --auth and --auth-file; a malformed line is a one-line error."""
    pairs: list[str] = [args.auth] if args.auth else []
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"error: cannot read --auth-file {args.auth_file}: {exc.strerror}") from None
        pairs += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    result = []
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise SystemExit("error: auth entries must look like user:password")
        result.append((user, password))
    return result


def is_public(args: argparse.Namespace) -> bool:
    """Visitors are strangers to each other: a share link, a non-loopback host, or a public proxy in front."""
    return bool(args.share or args.public or not is_loopback(args.host))


def proxies(args: argparse.Namespace) -> tuple[Any, ...]:
    """The --trusted-proxy networks; a malformed one is a one-line error."""
    try:
        return trusted_proxies(args.trusted_proxy or [])
    except ValueError as exc:
        raise SystemExit(f"error: --trusted-proxy: {exc}") from None


def decide(args: argparse.Namespace, auth: list[tuple[str, str]]) -> tuple[Settings, list[str]]:
    """Who may retrain, whose forwarded address counts, and the warnings to print before serving."""
    public, behind = is_public(args), proxies(args)
    if not public or auth:
        return Settings(True, "", public, behind), []
    where = "a share link" if args.share else f"host {args.host}" if not is_loopback(args.host) else "a public proxy"
    warning = f"warning: serving on {where} without --auth: anyone who can reach it can use the demo"
    if args.allow_public_retrain:
        return Settings(True, "", public, behind), [
            warning + ", and retrain and switch its model (--allow-public-retrain)"
        ]
    reason = (
        "the demo is public (--share, a non-loopback --host or --public) without a login; restart it with "
        "--auth user:password or --allow-public-retrain"
    )
    return Settings(False, reason, public, behind), [warning + "; the Train tab is disabled (add --auth to enable it)"]


def collecting(args: argparse.Namespace) -> tuple[bool, str]:
    """Whether corrected drawings are kept: on for a local demo, off on a public one unless --collect.

    The second value is the page's one line when they are not kept.
    """
    if args.collect or not is_public(args):
        return True, ""
    return False, (
        "this demo is public (--share, a non-loopback --host or --public), so corrected drawings are not kept; "
        "its owner can restart it with --collect to keep them"
    )


def port_problem(host: str, number: int) -> str | None:
    """One line when the port cannot be bound, checked before Gradio tries (its error is a traceback)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the server binds (uvicorn sets it): a port whose last server just stopped is free, not "in use".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, number))
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            return f"error: port {number} is already in use; pick another with --port N or stop the other server"
        return f"error: cannot listen on {host}:{number} ({exc.strerror}); check --host and --port"
    return None


def start(demo: Any, host: str, port: int, auth: list[tuple[str, str]] | None = None, share: bool = False) -> None:
    """Queue and launch `demo` without blocking: the one place for Gradio's serving settings, for demo.py and for
    the tests that launch the same app in their own process."""
    from starlette.middleware import Middleware

    from mnist_ui.app import CSS
    from mnist_ui.server.auth import gradio_auth
    from mnist_ui.server.bodies import BodyCap
    from mnist_ui.server.sessions import SESSIONS, lean_sessions
    from mnist_ui.text.words import I18N

    lean_sessions()
    # Uvicorn believes any loopback client's X-Forwarded-For by default, and Gradio's share tunnel arrives from
    # loopback: a visitor could name any address and get a fresh limit. Only --trusted-proxy decides (access.py).
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY)
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=gradio_auth(auth) if auth else None,
        prevent_thread_lock=True,
        css=CSS,
        i18n=I18N,
        show_error=False,
        quiet=True,
        footer_links=["api"],
        max_file_size=MAX_UPLOAD,
        state_session_capacity=SESSIONS,
        app_kwargs={"middleware": [Middleware(BodyCap)]},
        allowed_paths=_exports_served(),
    )


def _exports_served() -> list[str]:
    """The export folder, made private before anyone asks, for Gradio to serve exports from (none if it is unfit)."""
    from mnist_ui.server.transfers import export_root

    try:
        return [str(export_root())]
    except OSError as exc:
        logging.getLogger(__name__).warning("%s; exporting drawings fails until it is fixed", first_line(exc))
        return []


def stop_signals() -> threading.Event:
    """Ctrl+C and SIGTERM set the returned event instead of interrupting whatever runs. Installed before the launch:
    a stop that comes while Gradio is still starting (it checks its own page first) is then a clean stop too,
    not a KeyboardInterrupt traceback out of that check."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def serve_until_stopped(demo: Any, stop: threading.Event) -> None:
    """Serve until `stop` is set (`stop_signals`), then stop within a few seconds and delete what visitors uploaded.

    Gradio's own `block_thread` prints "Keyboard interruption in main thread" and leaves the deleting to the
    server thread's shutdown, which waits for every open connection: on a busy machine the process ended
    (or was killed) first and the uploads stayed. Here open requests get STOP_GRACE_S, then the files go.
    """
    from gradio.route_utils import delete_files_created_by_app

    while demo.is_running and not stop.wait(0.2):
        pass
    # Requests still open after the grace are cancelled on purpose: their tracebacks are not news.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    if demo.server is not None:
        demo.server.config.timeout_graceful_shutdown = STOP_GRACE_S
    demo.close(verbose=False)
    delete_files_created_by_app(demo, age=None)
