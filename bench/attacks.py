"""What one hostile client of a public demo sends, each as a function of a running server's URL (issue #36).

`bench.abuse` replays them and prints what they cost; `tests/test_capacity_server.py` holds each to a bar.
Loopback only, every loop bounded. Raw HTTP where Gradio's client would not send it (no session hash, a
chosen `X-Forwarded-For`, a body larger than the server may read).
"""

from __future__ import annotations

import csv
import io
import json
import random
import secrets
import select
import socket
import zipfile
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from PIL import Image

API = "gradio_api"


def component_id(url: str, elem_id: str = "pad") -> int:
    """The id Gradio gave the component with `elem_id` (the stroke pad's server function lives on it)."""
    config = httpx.get(f"{url}config", timeout=30).json()
    return next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)


def fresh_sessions(url: str, count: int, workers: int = 8) -> Counter[int]:
    """`count` requests to the server-function route, each with a new session hash and a function that does not
    exist: every one used to leave a session of ~276 KB behind. Returns how many got each HTTP status."""

    def one(http: httpx.Client) -> int:
        body = {"data": [], "component_id": 1, "fn_name": "no_such_function", "session_hash": secrets.token_hex(8)}
        return http.post(f"{url}{API}/component_server/", json=body).status_code

    with httpx.Client(timeout=60) as http, ThreadPoolExecutor(workers) as pool:
        return Counter(pool.map(lambda _: one(http), range(count)))


def call(
    http: httpx.Client, url: str, api_name: str, data: list[Any], headers: dict[str, str] | None = None
) -> tuple[str, Any]:
    """One call through the documented two-step route (`/gradio_api/call/<name>`, no session hash, as curl makes
    it): (the last event's name, its data). A refused request body is ("refused", its one line)."""
    posted = http.post(f"{url}{API}/call/{api_name}", json={"data": data}, headers=headers)
    if posted.status_code != 200:
        return "refused", _detail(posted)
    event, payload = "", None
    with http.stream("GET", f"{url}{API}/call/{api_name}/{posted.json()['event_id']}", headers=headers) as answer:
        for line in answer.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                payload = json.loads(line[5:].strip() or "null")
    return event, payload


def _detail(response: httpx.Response) -> str:
    try:
        found = response.json()
    except ValueError:
        return response.text[:200]
    return str(found.get("detail") or found.get("error") or found) if isinstance(found, dict) else str(found)


def plain_calls(url: str, api_name: str, data: list[Any], count: int, workers: int = 4) -> Counter[str]:
    """`count` two-step calls, each a fresh session; how many ended with each event."""
    with httpx.Client(timeout=120) as http, ThreadPoolExecutor(workers) as pool:
        return Counter(event for event, _ in pool.map(lambda _: call(http, url, api_name, data), range(count)))


def oversized(url: str, path: str, size: int, chunked: bool = False, timeout: float = 20.0) -> tuple[int, str, int]:
    """POST a `size`-byte JSON body (whitespace after an opening brace) to `path` over a raw socket, stopping as
    soon as the server answers: (HTTP status, the answer's body, bytes of body sent). With a Content-Length
    only the first 64 KB is sent and the server must answer from the header; chunked, it must stop reading
    once past its cap. Status 0: no answer within `timeout` (the server was waiting for the rest)."""
    parts = urlsplit(url)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
    block = b"{" + b" " * (65_536 - 1)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        try:
            while sent < size and not select.select([sock], [], [], 0)[0]:
                piece = block[: min(len(block), size - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                if not chunked:
                    break  # the rest is never sent: a server that waits for it has read nothing yet
        except OSError:
            pass  # the server closed its side after answering
        return (*_response(sock), sent)


def _response(sock: socket.socket) -> tuple[int, str]:
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < 1 << 16:
            got = sock.recv(65_536)
            if not got:
                break
            data += got
            head, _, body = data.partition(b"\r\n\r\n")
            if head and b"content-length" in head.lower() and len(body) >= _length(head):
                break
    except OSError:
        pass
    if not data.startswith(b"HTTP/"):
        return 0, ""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def padded_png(pad_bytes: int, seed: int = 0) -> bytes:
    """A valid 28×28 PNG (a few random ink pixels) carrying `pad_bytes` of zeros in a private chunk: small once
    zipped, large once stored."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((28, 28), np.uint8)
    pixels[rng.integers(4, 24, 20), rng.integers(4, 24, 20)] = 255
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    png = buf.getvalue()
    data = b"\0" * pad_bytes
    chunk = len(data).to_bytes(4, "big") + b"prVt" + data + zlib.crc32(b"prVt" + data).to_bytes(4, "big")
    return png[:-12] + chunk + png[-12:]  # before IEND


def padded_export(rows: int, pad_bytes: int, first_id: int = 1, model_version: str = "") -> bytes:
    """A zip in the export's layout: `rows` image rows, each PNG padded by `pad_bytes`."""
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["id", "label", "predicted", "kind", "created", "model_version", "probabilities"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rid in range(first_id, first_id + rows):
            zf.writestr(f"digits/{rid}_{rid % 10}.png", padded_png(pad_bytes, rid))
            writer.writerow([rid, rid % 10, "", "image", "", model_version, ""])
        zf.writestr("labels.csv", table.getvalue())
    return buf.getvalue()


def long_labels_zip(rows: int, distinct: bool = True) -> bytes:
    """A small zip whose labels.csv holds `rows` rows (none with a picture): cheap to send, dear to read. Not
    `distinct`, every row is the same 4 bytes and 3.97 M of them zip to about 20 KB."""
    table = "id,label\n" + ("".join(f"{i},{i % 10}\n" for i in range(rows)) if distinct else "0,0\n" * rows)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labels.csv", table)
    return buf.getvalue()


def corrupted(data: bytes, flips: int = 200, seed: int = 0) -> bytes:
    """`data` with `flips` bytes set at random: a zip that breaks in whichever way the flips choose."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def varied_one(seed: int) -> str:
    """The pad's value for a 1 drawn a little differently each time: every correction a different drawing."""
    from mnist_ui.testing import ONE, pad_value

    rng = np.random.default_rng(seed)
    value = pad_value(ONE)
    value["strokes"] = [[[x + rng.normal(0, 2), y + rng.normal(0, 2)] for x, y in s] for s in value["strokes"]]
    return json.dumps(value)


def forwarded(address: str) -> dict[str, str]:
    """What nginx sends for a visitor from `address` (deploy/nginx.conf.template: $proxy_add_x_forwarded_for)."""
    return {"X-Forwarded-For": address}


def maximal_drawing(side: float = 448.0) -> str:
    """The largest drawing the pad's reader accepts: 64 strokes, 4,992 points in all, inside the pad."""
    rng = np.random.default_rng(0)
    strokes = [np.round(rng.uniform(10, side - 10, (78, 2)), 1).tolist() for _ in range(64)]
    return json.dumps({"v": 1, "width": side, "height": side, "strokes": strokes})


def read_pad(
    http: httpx.Client, url: str, pad: int, value: Any, final: bool = True, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """What the pad does on each stroke: its server function with `[value, final, profile, compare]`; (HTTP
    status, the answer the result panel paints, or the refusal's line)."""
    body = {"data": [value, final, None, False], "component_id": pad, "fn_name": "read_pad", "session_hash": "pad"}
    answer = http.post(f"{url}{API}/component_server/", json=body, headers=headers)
    return answer.status_code, answer.json() if answer.status_code == 200 else _detail(answer)
