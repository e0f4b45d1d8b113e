"""Who is asking and what they may see or do: the browser session, the client's address (through a trusted proxy
only), the visitor a limit counts, whether the server's paths may be shown to them (one filter for every line a
visitor reads), whether they may control the server."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mnist_core.drawings.engine import shown
from mnist_core.drawings.policy import address_key, client_address, trusted

if TYPE_CHECKING:  # no Gradio import: launch.py reads is_loopback before Gradio loads
    import gradio as gr

    from mnist_ui.server.context import AppContext

LOOPBACK = ("localhost",)
KEPT_HERE = "kept on this server"
# Headers a reverse proxy adds: behind one, a loopback client address says nothing about who is asking.
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded")
# An absolute (or ~) path inside a line of text: a folder and at least one name after it.
PATH_IN_TEXT = re.compile(r"(?<![\w.:/~])(?:~|/)[^\s`'\"/]*(?:/[^\s`'\"/]+)+")
# A database server's URL inside a line (the drawings database on PostgreSQL): its host and name are the server's
# own, like a path, and the password it may carry is no one's business (`engine.shown` leaves it out anyway).
URL_IN_TEXT = re.compile(r"postgres(?:ql)?://[^\s`'\"]+")
DATABASE_SERVER = "the database server"
TEXT_KEYS = ("message", "note", "notice")  # the lines in an answer (a reading, a teaching, a job); never its pixels
T = TypeVar("T")


def session_of(request: gr.Request | None) -> str:
    """Whose job it is: the browser session (or API client) that started it, '' when unknown."""
    return (request.session_hash or "") if request is not None else ""


def address(ctx: AppContext, request: gr.Request | None) -> str:
    """The client's address: the connection's, or the one a trusted proxy (`--trusted-proxy`) says it forwards."""
    if request is None:
        return ""
    headers = request.headers if request.headers is not None else {}
    peer = request.client.host if request.client else ""
    return client_address(peer, headers.get("x-forwarded-for"), ctx.settings.trusted_proxies)


def visitor(ctx: AppContext, request: gr.Request | None) -> str:
    """Who a limit counts. A session hash is the client's own choice (a script sends a new one with every call),
    so a stranger is counted by address (an IPv6 /64 as one); a logged-in user by login and browser session (two
    people sharing a login are two visitors); a local viewer (the server's own machine, no proxy) by session."""
    if request is None:
        return ""
    where = address(ctx, request)
    if request.username:
        return f"user:{request.username}|{request.session_hash or where}"
    if sees_paths(ctx, request):
        return f"local:{request.session_hash or where}"
    return f"address:{address_key(where)}"


def may_control(ctx: AppContext, request: gr.Request | None) -> bool:
    """Anyone on a local demo; on a public one only a logged-in user (or the run's starter, checked by the job)."""
    return trusted(ctx.settings.public, request.username if request is not None else None)


def sees_paths(ctx: AppContext, request: gr.Request | None) -> bool:
    """Whether the server's file paths may be shown: they name its user and folders, so only to a logged-in
    user or a local one (a loopback client of a loopback server, no proxy in between); not to a call
    without a request, where who asks is unknown."""
    if request is None:
        return False
    if request.username:
        return True
    if ctx.settings.public:
        return False
    headers = request.headers if request.headers is not None else {}
    if any(name in headers for name in PROXY_HEADERS):
        return False
    return is_loopback(request.client.host if request.client else "")


def shown_path(path: Path | str | None, sees: bool) -> str:
    """A path (or a database URL, without its password) as this viewer may read it: itself, or "kept on this
    server"."""
    return "—" if path is None else shown(path) if sees else KEPT_HERE


def without_paths(text: str, sees: bool) -> str:
    """A line (a warning, an error, a command) with each server path cut to its file name for a stranger."""
    if sees:
        return text
    return PATH_IN_TEXT.sub(lambda m: Path(m.group(0)).name, URL_IN_TEXT.sub(DATABASE_SERVER, text))


def for_visitor(ctx: AppContext, request: gr.Request | None, answer: T) -> T:
    """The one filter on what a visitor reads: a line, or an answer's lines (TEXT_KEYS of a dict), with the
    server's paths cut to file names unless this viewer may see them (`sees_paths`)."""
    if sees_paths(ctx, request):
        return answer
    if isinstance(answer, str):
        return without_paths(answer, False)  # type: ignore[return-value]  # a str in, a str out
    if isinstance(answer, dict):
        lines: dict[str, Any] = {k: without_paths(v, False) for k, v in answer.items() if isinstance(v, str)}
        return answer | {k: v for k, v in lines.items() if k in TEXT_KEYS}  # type: ignore[return-value]
    return answer


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
