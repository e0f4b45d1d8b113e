"""A cap on every request body, enforced by the app itself (issue #36): not only behind nginx's 12 MB, but on
`--share` and a public `--host` too, where nothing else stands in front.

ASGI middleware: a body announced larger than its route's cap is refused from its Content-Length before a byte
of it is read; a body sent without one (chunked) is counted as it arrives and refused once past the cap. The
refusal is HTTP 413 with one line (`{"detail": …, "error": …}`), and the connection is closed so the rest of
the body is never read. Without the cap, five 100 MB bodies to the pad's server function took the server to
~2 GB, and a 1e6-point stroke dict cost 3.9 s of parsing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mnist_core.config import MAX_TEACH_BYTES
from mnist_core.imaging.strokes import MAX_JSON_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024
UPLOAD_MB = 10  # a phone photo is a few MB; Gradio refuses a bigger file itself (launch's max_file_size)
UPLOAD_BYTES = (UPLOAD_MB + 1) * MIB  # the files and their multipart wrapping
PAD_BYTES = 2 * MAX_JSON_BYTES  # the pad's server function: one drawing's strokes (the reader refuses past half)
API_BYTES = MAX_TEACH_BYTES + MIB  # any other call: the largest, /personalize, carries up to MAX_TEACH_BYTES


def body_cap(path: str) -> tuple[int, str]:
    """(the most bytes a request body to `path` may hold, the one line a larger one is refused with)."""
    if "/gradio_api/upload" in path:
        return (
            UPLOAD_BYTES,
            f"the upload is too large (the maximum allowed size is {UPLOAD_MB} MB); send a smaller file",
        )
    if "/component_server" in path:
        return PAD_BYTES, f"the drawing is too large (at most {PAD_BYTES // 1000:,} KB); draw one digit"
    return API_BYTES, f"the request is too large (at most {API_BYTES / 1e6:.1f} MB); send less at once"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, line: str) -> None:
    body = json.dumps({"detail": line, "error": line}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyCap:
    """ASGI middleware: request bodies over `body_cap(path)` are refused with 413 and one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        cap, line = body_cap(scope.get("path", ""))
        length = _content_length(scope)
        if length is not None and length > cap:
            await _refuse(send, line)
            return
        seen, answered, refused = 0, False, False

        async def counted() -> Message:
            """The body as it arrives; past the cap, the refusal goes out and the app is told the client left."""
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > cap:
                    refused = True
                    if not answered:
                        await _refuse(send, line)
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            if refused:
                return  # the app's answer to a body it never got: the refusal went out instead
            answered = True
            await send(message)

        await self.app(scope, counted, sending)
