"""Who is asking and what they may see or do: the browser session, the visitor a limit counts, whether the server's
paths may be shown to them (one filter for every line a visitor reads), whether they may control the server."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_core.drawings.policy import trusted

if TYPE_CHECKING:  # no Gradio import: launch.py reads is_loopback before Gradio loads
    import gradio as gr

    from mnist_ui.server.context import AppContext

LOOPBACK = ("localhost",)
KEPT_HERE = "kept on this server"
# Headers a reverse proxy adds: behind one, a loopback client address says nothing about who is asking.
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded")
# An absolute (or ~) path inside a line of text: a folder and at least one name after it.
PATH_IN_TEXT = re.compile(r"(?<![\w.:/~])(?:~|/)[^\s`'\"/]*(?:/[^\s`'\"/]+)+")


def session_of(request: gr.Request | None) -> str:
    """Whose job it is: the browser session (or API client) that started it, '' when unknown."""
    return (request.session_hash or "") if request is not None else ""


def visitor(request: gr.Request | None) -> str:
    """Who the rate limit counts: the login, else the browser session (or API client), else the address."""
    if request is None:
        return ""
    if request.username:
        return f"user:{request.username}"
    if request.session_hash:
        return f"session:{request.session_hash}"
    return f"host:{request.client.host if request.client else ''}"


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
    """A path as this viewer may read it: itself, or "kept on this server"."""
    return "—" if path is None else str(path) if sees else KEPT_HERE


def without_paths(text: str, sees: bool) -> str:
    """A line (a warning, an error, a command) with each server path cut to its file name for a stranger."""
    return text if sees else PATH_IN_TEXT.sub(lambda m: Path(m.group(0)).name, text)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
