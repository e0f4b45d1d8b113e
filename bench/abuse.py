"""Replay what a hostile or clumsy visitor of a public link did to the demo, and print what it cost.

A. Against `python demo.py` started here with a login (its own MNIST_DEMO_HOME, retraining allowed), what a
logged-in visitor could send:

1. Gradio's image-editor blob endpoint (`/gradio_api/component_server`, `accept_blobs`, huge index)
2. decompression bombs: a 15,400² PNG of ~270 KB, 12 at once, through /predict_image and /predict
3. a 100 MB upload to /gradio_api/upload
4. imports (issue #36): a zip of 2,200 image rows padded to 550 MB (the cap is 512 MB), four at once; a
   labels.csv of 3.97 M rows; a zip with 200 bytes spoiled; 375 MB that fit, "Delete all", a correction
5. a training with 100 open /watch streams: /predict p95 and /cancel latency meanwhile
6. wrong passwords in a row at /login

B. Against a public replica (`--public --collect`, nginx's address trusted as deploy/run.sh does), one client
at one address attacking (bench/attacks.py) while another at another address draws a digit every 0.3 s and
corrects one every 3 s (issue #36):

1. 10,000 requests to a server function, each with a fresh session hash; 3,000 plain two-step API calls
2. bodies: five 100 MB ones at once from their header, five sent without a length, a 1e6-point stroke dict
3. 60 s of corrections and 20 s of teachings, each a fresh session and a made-up X-Forwarded-For in front
4. 200 connections posting the largest drawing the pad accepts, pen-up each time, for 20 s
5. a profile sent as a list, a path that is not a string, settings that are not a dict

Prints the server's resident memory after each step and the most it held (bars: ≤ 1 GB through the input
attacks, ≤ 2.5 GB while a training runs), the latencies (bars: /predict p95 < 1 s, /cancel < 2 s; the
reader's pen-up p95 ≤ 1 s), what was refused with which line, and every request of the reader that failed
(bar: none of its corrections refused).

    MNIST_DATA=../shared/data/mnist python -m bench.abuse [--watchers 100] [--skip-training] [--phase A|B]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import ssl
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.attacks import (
    call,
    component_id,
    corrupted,
    forwarded,
    fresh_sessions,
    long_labels_zip,
    maximal_drawing,
    oversized,
    padded_export,
    plain_calls,
    read_pad,
    varied_one,
)
from mnist_core.config import SHIPPED_MODEL as SHIPPED
from mnist_core.drawings.store import DrawingStore
from mnist_ui.testing import NO_DATA, App, running_app

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


# ---- A.4: imports, as a logged-in visitor (issue #36) ----------------------------------------------------


def timed_call(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    answer = work()
    return answer, time.monotonic() - started


def import_attack(app: App, folder: Path) -> list[str]:
    """The lines of each import attack, with the store's size after it. Each step from a browser session of its
    own: a logged-in user's limits count per session."""
    from gradio_client import handle_file

    lines: list[str] = []

    def send(name: str, data: bytes) -> Any:
        (folder / name).write_bytes(data)
        return handle_file(str(folder / name))

    def size() -> str:
        return f"store {sum(f.stat().st_size for f in app.home.glob('drawings.sqlite3*') if f.is_file()) / 1e6:.0f} MB"

    def imported(file: Any) -> str:
        return client(app).predict(file, api_name="/import_drawings")

    padded = send("padded.zip", padded_export(2_200, 250_000))
    zipped = (folder / "padded.zip").stat().st_size / 1e6
    lines.append(f"2,200 rows padded to 550 MB ({zipped:.1f} MB zip): {imported(padded)}; {size()}")
    with ThreadPoolExecutor(4) as pool:
        answers = Counter(pool.map(lambda _: imported(padded)[:60], range(4)))
    lines.append(f"the same, four at once: {dict(answers)}; {size()}")
    long = send("long.zip", long_labels_zip(3_970_000, distinct=False))
    kb = (folder / "long.zip").stat().st_size / 1e3
    lines.append(f"labels.csv of 3.97 M rows ({kb:.0f} KB zip): {imported(long)}")
    lines.append(f"200 bytes spoiled: {imported(send('spoiled.zip', corrupted(padded_export(30, 10))))[:100]}")
    lines.append(f"375 MB that fit: {imported(send('fits.zip', padded_export(1_500, 250_000)))[:40]}; {size()}")
    rows, took = timed_call(lambda: DrawingStore(app.home / "drawings.sqlite3").delete_all())  # the tab's own call
    lines.append(f"Delete all ({rows:,} rows, as the Drawings tab does it): {took:.1f} s; {size()}")
    correction = client(app).predict(1, varied_one(0), api_name="/correct")
    lines.append(f"then a correction: {correction['message']}; {size()}")
    return lines


# ---- B: a public replica, one client attacking and another reading (issue #36) --------------------------


ATTACKER, READER = "203.0.113.7", "198.51.100.2"


class Reader(threading.Thread):
    """An honest visitor at another address: a pen-up every 0.3 s, a correction every 3 s; what each took and
    what was refused."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, threading.Event()
        self.pen_ups: list[float] = []
        self.seen = 0
        self.wrong: list[Any] = []
        self.corrections: Counter[str] = Counter()

    def run(self) -> None:
        pad, who, n = component_id(self.url), forwarded(READER), 0
        with httpx.Client(timeout=300) as http:
            due = time.monotonic()
            while not self.stop.is_set():
                started = time.monotonic()
                status, answer = read_pad(http, self.url, pad, varied_one(n), True, who)
                self.pen_ups.append(time.monotonic() - started)
                if status != 200 or answer.get("digit") != 1:
                    self.wrong.append(answer)
                if time.monotonic() >= due:
                    _, data = call(http, self.url, "correct", [1, varied_one(10_000 + n), None, None], who)
                    self.corrections["saved" if data and data[0]["saved"] else str(data)[:120]] += 1
                    due += 3.0
                n += 1
                self.stop.wait(0.3)

    def since(self) -> str:
        """The pen-ups answered since the last call: how the reader fared during one attack."""
        taken, self.seen = self.pen_ups[self.seen :], len(self.pen_ups)
        if not taken:
            return "reader: no pen-up answered"
        return f"reader's pen-ups p95 {np.percentile(taken, 95) * 1000:.0f} ms ({len(taken)})"

    def summary(self) -> str:
        p50, p95 = (np.percentile(self.pen_ups, q) * 1000 for q in (50, 95))
        return (
            f"reader: {len(self.pen_ups)} pen-ups, p50 {p50:.0f} ms, p95 {p95:.0f} ms, {len(self.wrong)} not read "
            f"as its 1; corrections {dict(self.corrections)}"
        )


class Peak(threading.Thread):
    """The server's resident memory, sampled every 0.2 s: the most it held since the last `take`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.most, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2) and Path(f"/proc/{self.pid}").exists():
            self.most = max(self.most, rss_mb(self.pid))

    def take(self) -> str:
        most, self.most = max(self.most, rss_mb(self.pid)), 0.0
        return f"server {rss_mb(self.pid):.0f} MB now, at most {most:.0f} MB during the step"


def flood(seconds: float, send: Callable[[httpx.Client, int], str], workers: int = 4) -> Counter[str]:
    """`send` from `workers` threads for `seconds`: how many of each answer."""
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    def worker(first: int) -> None:
        with httpx.Client(timeout=300) as http:
            n = first
            while time.monotonic() < deadline:
                counts[send(http, n)] += 1
                n += workers

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))
    return counts


def spoofed(n: int) -> dict[str, str]:
    """The attacker's own made-up address in front of what the proxy appends: rotated every request."""
    return forwarded(f"10.{n % 250}.{n // 250 % 250}.1, {ATTACKER}")


def correcting(url: str) -> Callable[[httpx.Client, int], str]:
    def send(http: httpx.Client, n: int) -> str:
        _, data = call(http, url, "correct", [1, varied_one(n), None, None], spoofed(n))
        return "saved" if data and data[0]["saved"] else str(data[0]["message"] if data else data)

    return send


def teaching(url: str) -> Callable[[httpx.Client, int], str]:
    lesson = [{"label": 1, "strokes": json.loads(varied_one(0))}]

    def send(http: httpx.Client, n: int) -> str:
        _, data = call(http, url, "personalize", [lesson, None], spoofed(n))
        return "taught" if data and data[0]["profile"] else str(data[0]["message"] if data else data)

    return send


def crowding(url: str) -> Callable[[httpx.Client, int], str]:
    pad, heavy = component_id(url), maximal_drawing()

    def send(http: httpx.Client, n: int) -> str:
        status, answer = read_pad(http, url, pad, heavy, True, forwarded(ATTACKER))
        return str(answer.get("message") or answer.get("status")) if status == 200 else f"HTTP {status}"

    return send


def pad_crowd(url: str, seconds: float, connections: int) -> Counter[str]:
    """B.4 in a process of its own, so 200 client threads do not slow the reader's own measuring."""
    return flood(seconds, crowding(url), workers=connections)


def bodies(url: str) -> list[str]:
    with ThreadPoolExecutor(5) as pool:
        headed = Counter(pool.map(lambda _: oversized(url, "/gradio_api/component_server/", 100_000_000)[0], range(5)))
        chunked = Counter(
            pool.map(lambda _: oversized(url, "/gradio_api/queue/join", 100_000_000, chunked=True)[0], range(5))
        )
    points = np.round(np.random.default_rng(0).uniform(0, 448, (1_000_000, 2)), 1).tolist()
    with httpx.Client(timeout=300) as http:
        huge = {"v": 1, "width": 448, "height": 448, "strokes": [points]}
        event, line = call(http, url, "predict_strokes", [huge, None, False])
    return [
        f"five 100 MB bodies from their header: {dict(headed)}",
        f"five sent without a length: {dict(chunked)}",
        f"a 1e6-point stroke dict: {event}: {line}",
    ]


def failures(url: str) -> list[str]:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    c, lines = Client(url, verbose=False, headers=forwarded(ATTACKER)), []
    for args, api in [
        ((varied_one(0), ["a"]), "/predict_strokes"),
        (([1],), "/switch_version"),
        (("x", "fast", True), "/retrain"),
    ]:
        try:
            found = c.predict(*args, api_name=api)
            answer = str(found["message"] if isinstance(found, dict) else found)
        except AppError as exc:
            answer = f"error: {exc}"
        lines.append(f"{api}: {answer}")
    return lines


def public_phase(folder: Path, hashes: int, calls: int, flood_s: float) -> None:
    env = {**NO_DATA, "MNIST_TRUSTED_PROXY": "127.0.0.1"}
    with running_app(SHIPPED, folder / "public-home", ("--public", "--collect"), env=env) as app:
        peak, reader = Peak(app.process.pid), Reader(app.url)
        peak.start()
        reader.start()
        print(f"B. public replica up: {rss_mb(app.process.pid):.0f} MB; a reader at {READER} draws meanwhile")
        sessions = dict(fresh_sessions(app.url, hashes))
        print(f"1. {hashes:,} fresh session hashes: {sessions}; {peak.take()}; {reader.since()}")
        strokes = [varied_one(0), None, False]
        answered = dict(plain_calls(app.url, "predict_strokes", strokes, calls))
        print(f"   {calls:,} plain /call/predict_strokes: {answered}; {peak.take()}; {reader.since()}")
        print(f"2. bodies: {'; '.join(bodies(app.url))}; {peak.take()}; {reader.since()}")
        corrections = dict(flood(flood_s, correcting(app.url)))
        print(f"3. {flood_s:.0f} s of corrections from {ATTACKER}: {corrections}; {peak.take()}; {reader.since()}")
        teachings = dict(flood(20, teaching(app.url)))
        print(f"   20 s of teachings from {ATTACKER}: {teachings}; {peak.take()}; {reader.since()}")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as other:
            crowd = other.submit(pad_crowd, app.url, 20.0, 200).result()  # its own process: not the reader's GIL
        print(f"4. 200 connections at the pad for 20 s: {dict(crowd)}; {peak.take()}; {reader.since()}")
        print(f"5. {'; '.join(failures(app.url))}")
        reader.stop.set()
        reader.join(300)
        peak.stop.set()
        print(f"   {reader.summary()}; server peak {rss_mb(app.process.pid, 'VmHWM'):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--preset", default="default", help="the training that runs meanwhile (default: the heaviest)")
    parser.add_argument("--logins", type=int, default=6, help="wrong passwords in a row (each doubles the wait)")
    parser.add_argument("--skip-training", action="store_true", help="leave out A.5 (the training, minutes)")
    parser.add_argument("--phase", choices=("both", "A", "B"), default="both", help="A (a login) or B (public)")
    parser.add_argument("--hashes", type=int, default=10_000, help="B.1: fresh session hashes")
    parser.add_argument("--calls", type=int, default=3_000, help="B.1: plain two-step API calls")
    parser.add_argument("--flood-s", type=float, default=60.0, help="B.3: seconds of corrections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.phase in ("both", "A"):
            login_phase(folder, args)
        if args.phase in ("both", "B"):
            public_phase(folder, args.hashes, args.calls, args.flood_s)


def login_phase(folder: Path, args: argparse.Namespace) -> None:
    flags, uploads = ("--auth", f"{USER}:{PASSWORD}"), folder / "uploads"
    with running_app(SHIPPED, folder / "home", extra_args=flags, env={"GRADIO_TEMP_DIR": str(uploads)}) as app:
        pid = app.process.pid
        print(f"A. server with a login up: {rss_mb(pid):.0f} MB")
        print(f"1. blob endpoint: {blob_attack(app)}; {memory(pid)}")
        what, messages = bomb_attack(app, folder)
        print(f"2. decompression bombs ({what}): {messages}; {memory(pid)}")
        print(f"3. 100 MB upload: {upload_attack(app)}; {memory(pid)}")
        for line in import_attack(app, folder):
            print(f"4. import: {line}; {memory(pid)}")
        if not args.skip_training:
            result = watchers_and_training(app, args.watchers, args.preset)
            print(
                f"5. training ({args.preset}) + {args.watchers} watchers: /predict p50 "
                f"{result['predict_p50_s'] * 1000:.0f} ms, p95 {result['predict_p95_s'] * 1000:.0f} ms "
                f"({result['wrong_answers']} wrong), /cancel {result['cancel_s'] * 1000:.0f} ms "
                f"({result['cancel_answer']!r}); {memory(pid)}"
            )
        took = login_attack(app, args.logins)  # last: the bench's own login waits after it
        print(f"6. {args.logins} wrong passwords in a row: {took:.1f} s (without the guard: well under a second)")
        leftovers = list(uploads.rglob("big.png"))
        print(f"   100 MB upload left on disk: {'yes' if leftovers else 'no'}")


if __name__ == "__main__":
    main()
