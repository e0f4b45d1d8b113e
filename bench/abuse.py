"""Replay what a hostile or clumsy visitor of a public link did to the demo, and print what it cost.

Against `python demo.py` started here (its own MNIST_DEMO_HOME, a login, retraining allowed):

1. Gradio's image-editor blob endpoint (`/gradio_api/component_server`, `accept_blobs`, huge index)
2. decompression bombs: a 15,400² PNG of ~270 KB, 12 at once, through /predict_image and /predict
3. a 100 MB upload to /gradio_api/upload
4. a training with 100 open /watch streams: /predict p95 and /cancel latency meanwhile
5. 20 wrong passwords in a row at /login

Prints the server's resident memory after each step (bars: < 1 GB through the input attacks, < 2.5 GB
while a training runs), the latencies (bars: /predict p95 < 1 s, /cancel < 2 s), and every request
that failed although it should have succeeded.

    MNIST_DATA=../shared/data/mnist python -m bench.abuse [--watchers 100]
"""

from __future__ import annotations

import argparse
import io
import ssl
import tempfile
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from mnist_core.config import SHIPPED_MODEL as SHIPPED
from mnist_ui.testing import App, running_app

USER, PASSWORD = "bench", "not-a-secret"
EXAMPLE = Path(__file__).resolve().parent.parent / "assets" / "examples" / "mnist_test_0030_digit_3.png"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now, or with field="VmHWM" the most it ever held (so a spike between reads counts)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(pid: int) -> str:
    return f"server {rss_mb(pid):.0f} MB (peak so far {rss_mb(pid, 'VmHWM'):.0f} MB)"


def bomb_png(side: int = 15_400) -> bytes:
    """A valid greyscale PNG of side² white pixels that compresses to a few hundred KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    row = b"\x00" + b"\xff" * side
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def client(app: App) -> Any:
    from gradio_client import Client

    return Client(
        app.url, auth=(USER, PASSWORD), ssl_verify=ssl.create_default_context(), verbose=False, max_workers=160
    )


@contextmanager
def logged_in(app: App, timeout: float = 60) -> Iterator[httpx.Client]:
    """An HTTP client past the login wall: the attacks below are what a logged-in visitor could send."""
    with httpx.Client(base_url=app.url, timeout=timeout) as http:
        http.post("login", data={"username": USER, "password": PASSWORD}).raise_for_status()
        yield http


def blob_attack(app: App) -> str:
    with logged_in(app) as http:
        r = http.post(
            "gradio_api/component_server",
            json={
                "data": {"id": "x", "index": 2_000_000_000, "blob": "AAAA"},
                "component_id": 1,
                "fn_name": "accept_blobs",
                "session_hash": "abuse",
            },
        )
    return f"HTTP {r.status_code}"


def bomb_attack(app: App, folder: Path) -> tuple[str, list[str]]:
    from gradio_client import handle_file

    path = folder / "bomb.png"
    path.write_bytes(bomb_png())
    c = client(app)

    def one(i: int) -> dict[str, Any]:
        if i % 2:
            return c.predict(
                {"background": None, "layers": [], "composite": handle_file(str(path))}, api_name="/predict"
            )
        return c.predict(handle_file(str(path)), api_name="/predict_image")

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(12)))
    messages = sorted({a["message"] for a in answers})
    return f"{path.stat().st_size / 1024:.0f} KB PNG, 12 at once", messages


def upload_attack(app: App) -> str:
    big = io.BytesIO(b"\0" * 100 * 1024 * 1024)
    with logged_in(app) as http:
        r = http.post("gradio_api/upload", files={"files": ("big.png", big, "image/png")})
    return f"HTTP {r.status_code}: {r.text[:100]}"


def watchers_and_training(app: App, watchers: int, preset: str) -> dict[str, Any]:
    from gradio_client import handle_file

    trainer, crowd, reader = client(app), client(app), client(app)
    job = trainer.submit(settings={"epochs": 30}, preset=preset, serve=False, api_name="/retrain")
    deadline = time.monotonic() + 600  # the default preset first draws the pen digits (a minute or two)
    # Fitting, not just started: the pen drawings are made and the training tensors built (the memory peak).
    while time.monotonic() < deadline and not any("epoch" in s.get("where", "") for s in job.outputs()):
        time.sleep(0.2)
    streams = [crowd.submit(api_name="/watch") for _ in range(watchers)]
    time.sleep(3)
    image = handle_file(str(EXAMPLE))
    latencies, wrong = [], 0
    for _ in range(40):
        started = time.monotonic()
        answer = reader.predict(image, api_name="/predict_image")
        latencies.append(time.monotonic() - started)
        wrong += answer["digit"] != 3
    started = time.monotonic()
    cancelled = trainer.predict(api_name="/cancel")
    cancel_s = time.monotonic() - started
    for stream in streams:
        stream.cancel()
    return {
        "predict_p50_s": float(np.percentile(latencies, 50)),
        "predict_p95_s": float(np.percentile(latencies, 95)),
        "wrong_answers": wrong,
        "cancel_s": cancel_s,
        "cancel_answer": cancelled,
        "watchers_open": sum(not s.done() for s in streams),
    }


def login_attack(app: App, attempts: int) -> float:
    started = time.monotonic()
    with httpx.Client(base_url=app.url, timeout=120) as http:
        for i in range(attempts):
            http.post("login", data={"username": USER, "password": f"guess{i}"})
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--preset", default="default", help="the training that runs meanwhile (default: the heaviest)")
    parser.add_argument("--logins", type=int, default=6, help="wrong passwords in a row (each doubles the wait)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        flags = ("--auth", f"{USER}:{PASSWORD}")
        with running_app(SHIPPED, folder / "home", extra_args=flags) as app:
            pid = app.process.pid
            print(f"server up: {rss_mb(pid):.0f} MB")
            print(f"1. blob endpoint: {blob_attack(app)}; {memory(pid)}")
            what, messages = bomb_attack(app, folder)
            print(f"2. decompression bombs ({what}): {messages}; {memory(pid)}")
            print(f"3. 100 MB upload: {upload_attack(app)}; {memory(pid)}")
            result = watchers_and_training(app, args.watchers, args.preset)
            print(
                f"4. training ({args.preset}) + {args.watchers} watchers: /predict p50 "
                f"{result['predict_p50_s'] * 1000:.0f} ms, p95 {result['predict_p95_s'] * 1000:.0f} ms "
                f"({result['wrong_answers']} wrong), /cancel {result['cancel_s'] * 1000:.0f} ms "
                f"({result['cancel_answer']!r}); {memory(pid)}"
            )
            took = login_attack(app, args.logins)
            print(
                f"5. {args.logins} wrong passwords in a row: {took:.1f} s "
                f"(without the guard: well under a second); {memory(pid)}"
            )
            leftovers = list((Path(tempfile.gettempdir()) / "gradio").rglob("big.png"))
            print(f"   100 MB upload left on disk: {'yes' if leftovers else 'no'}")


if __name__ == "__main__":
    main()
