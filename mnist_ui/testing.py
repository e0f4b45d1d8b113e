"""How a client or a browser drives this demo: the tests and the benches share it (neither serves the other).

`running_app` starts `python demo.py` on a free loopback port, waits for its page and stops it by PID; the
digits are pad strokes in a 448-pixel pad's coordinates; `draw` moves a mouse (or one finger) along them in
headless Chromium. Playwright is a dev dependency, imported only inside the functions that drive a browser.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # the Debian package; playwright drives it, never downloads its own
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAD = "#pad canvas.pad"  # the stroke pad's canvas on the demo's page
PAD_SIDE = 448  # the stroke pad's side in CSS pixels on a desktop; the digits below are drawn in this space
# Resolves once the pad has kept its place and size for 10 frames, fonts loaded: a first visit lays out late.
SETTLED = """() => document.fonts.ready.then(() => new Promise((resolve) => {
  let last = '', same = 0;
  const tick = () => {
    const r = document.querySelector('#pad canvas.pad').getBoundingClientRect(), k = [r.x, r.y, r.width].join();
    same = k === last ? same + 1 : 0; last = k;
    if (same >= 10 && r.width > 200) resolve(k); else requestAnimationFrame(tick);
  };
  tick();
}))"""
Strokes = list[list[list[float]]]
Origin = tuple[float, float, float]  # where the 448-pixel stroke square starts on the page, and its scale


# ---- a demo.py server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    url: str
    process: subprocess.Popen
    log: Path
    home: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_mb(self) -> float:
        """The server's resident memory now, from /proc (Linux)."""
        return rss_mb(self.process.pid)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# A loopback port nothing listens on (discard): a download from it fails at once, as with no network.
NO_NETWORK = {"MNIST_URL": "http://127.0.0.1:9/mnist.npz"}
# For a server that neither trains nor reports: it inherits this run's MNIST_DATA and UNIPEN_DATA otherwise, and
# loading them in the background costs each start about 2 CPU s (the personal models' replay reads them). No
# test server reaches for the internet: a fresh clone offline.
NO_DATA = {"MNIST_DATA": "", "UNIPEN_DATA": ""} | NO_NETWORK


def data_env(mnist_dir: Path | None = None) -> dict[str, str]:
    """MNIST_DATA for a server that trains or reports, plus UNIPEN_DATA when this run has it."""
    env = {"MNIST_DATA": str(mnist_dir)} if mnist_dir is not None else {}
    if os.environ.get("UNIPEN_DATA"):
        env["UNIPEN_DATA"] = os.environ["UNIPEN_DATA"]
    return env


def wait_until_served(url: str, process: subprocess.Popen, log: Path, timeout: float) -> float:
    """Seconds until the page answers 200; fails with the server's output if it dies or hangs."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"demo exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"demo did not serve {url} within {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen, signum: int = signal.SIGINT, grace_s: float = 10.0) -> None:
    """Ctrl-C (or `signum`) by PID, as a terminal would; killed if it has not exited within `grace_s`."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# ---- a PostgreSQL server ------------------------------------------------------------------------------

POSTGRES_SH = REPO / "deploy" / "postgres.sh"


def postgres_missing() -> str:
    """'' when deploy/postgres.sh can start a server on this machine, else why not (a skip reason; in CI, where
    .ci/run installs PostgreSQL, the tests fail with it instead, so a missing install step is never green)."""
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and not shutil.which("initdb"):
        return "needs PostgreSQL (Debian: apt-get install postgresql)"
    if os.geteuid() == 0 and subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        return "as root, PostgreSQL runs as the user postgres, and there is none (apt-get install postgresql)"
    return ""


def postgres(action: str, folder: Path, timeout: float = 120.0) -> str:
    """deploy/postgres.sh `action` (start, stop, remove, url) on the server in `folder`; what it printed."""
    done = subprocess.run(
        ["bash", str(POSTGRES_SH), action, str(folder)], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"deploy/postgres.sh {action} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def new_database(server: str, prefix: str = "t") -> str:
    """A new, empty database on the server at URL `server` (deploy/postgres.sh's), as a URL of its own."""
    import secrets

    import psycopg

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rsplit('/', 1)[0]}/{name}"


@contextmanager
def running_app(
    model: Path | None,
    home: Path,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Iterator[App]:
    """`python demo.py --port N [--model M] ARGS` with its own MNIST_DEMO_HOME; always stopped afterwards.

    The server's cwd is the repository root, so relative paths it is sent resolve there.
    """
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"demo-{port}.log"
    args = [sys.executable, str(REPO / "demo.py"), "--host", "127.0.0.1", "--port", str(port), *extra_args]
    if model is not None:
        args += ["--model", str(model)]
    full_env = {
        **os.environ,
        "MNIST_DEMO_HOME": str(home),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(args, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_served(url, process, log, timeout)
        yield App(url, process, log, home)
    finally:
        stop(process)


# ---- replicas behind nginx (deploy/run.sh) --------------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Replicas:
    url: str  # nginx: the one address people open
    replicas: list[str]  # each replica's own address, to check what each one serves
    pids: list[int]
    home: Path
    run: Path
    postgres: Path | None  # deploy/run.sh --postgres: its server's folder (None: the home's SQLite file)

    def database(self) -> str | Path:
        """Where the replicas keep their drawings: the PostgreSQL server's URL, or the home's SQLite file."""
        return postgres("url", self.postgres) if self.postgres else self.home / "drawings.sqlite3"


def consecutive_ports(count: int) -> int:
    """The first of `count` free loopback ports in a row (deploy/run.sh numbers its replicas from it)."""
    for _ in range(50):
        first = free_port()
        if first + count > 65535:
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} free ports in a row")


def wait_for_line(process: subprocess.Popen, log: Path, prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"deploy/run.sh did not say {prefix!r}:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def running_replicas(
    count: int, home: Path, run: Path, pg: Path | None = None, flags: tuple[str, ...] = (), env: dict | None = None
) -> Iterator[Replicas]:
    """`deploy/run.sh COUNT [--postgres] FLAGS` on free loopback ports with its own home and run folder (and
    PostgreSQL folder `pg`, whose server is deleted afterwards); stopped with SIGTERM, as Ctrl+C would. `env`
    adds to or overrides deploy/run.sh's settings (MNIST_REPLICA_HOST, MNIST_UPSTREAMS, MNIST_PROXY=off…)."""
    first, proxy = consecutive_ports(count), free_port()
    full_env = {
        **os.environ,
        "MNIST_DEMO_HOME": str(home),
        "MNIST_DEPLOY_RUN": str(run),
        "MNIST_PROXY": f"127.0.0.1:{proxy}",
        "MNIST_REPLICA_PORT": str(first),
        "MNIST_POSTGRES_DIR": str(pg or ""),
        "MNIST_DEMO_DATABASE": "",  # the home's file, or the server --postgres starts
        "PYTHON": sys.executable,
        "NGINX": NGINX,
        **(env or {}),
    }
    log = run / "run.out"
    with open(log, "wb") as out:
        script = subprocess.Popen(
            ["bash", str(REPO / "deploy" / "run.sh"), str(count), *(["--postgres"] if pg else []), *flags],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    host, first = full_env.get("MNIST_REPLICA_HOST") or "127.0.0.1", int(full_env["MNIST_REPLICA_PORT"])
    try:
        wait_for_line(script, log, "serving at", timeout=300)
        ports = range(first, first + count)
        pids = [int((run / f"replica-{port}.pid").read_text()) for port in ports]
        yield Replicas(f"http://127.0.0.1:{proxy}/", [f"http://{host}:{p}/" for p in ports], pids, home, run, pg)
    finally:
        stop(script, signal.SIGTERM, grace_s=30)
        if pg is not None:
            postgres("remove", pg)
    said = log.read_text(errors="replace")
    assert f"stopped nginx and {count} replicas" in said, said[-2000:]


@contextmanager
def running_source(source: str, timeout: float = 120.0) -> Iterator[tuple[str, int]]:
    """A reference app given as Python source (it reads its port from argv[1]) in its own process: (url, pid).

    Benches measure the demo beside such a minimal app in the same run, never against a remembered number.
    """
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "reference.log"
        with open(log, "wb") as out:
            env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
            server = subprocess.Popen([sys.executable, "-c", source, str(port)], stdout=out, stderr=out, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_served(url, server, log, timeout)
            yield url, server.pid
        finally:
            stop(server)


# ---- digits as pad strokes -----------------------------------------------------------------------------


def polyline(corners: list[tuple[float, float]], per_segment: int = 12) -> list[list[float]]:
    """Points along straight segments between corners, as a pen sampled every few pixels would give."""
    points: list[list[float]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        points += [[x0 + (x1 - x0) * t, y0 + (y1 - y0) * t] for t in np.linspace(0, 1, per_segment)[:-1]]
    points.append([float(corners[-1][0]), float(corners[-1][1])])
    return points


def oval(cx: float, cy: float, rx: float, ry: float, n: int = 30) -> list[list[float]]:
    """A closed loop starting at the top, drawn clockwise like a 0."""
    return [
        [cx + rx * float(np.sin(2 * np.pi * k / n)), cy - ry * float(np.cos(2 * np.pi * k / n))] for k in range(n + 1)
    ]


# Each reads right with the shipped model (checked through mnist_core.imaging.strokes, the server's renderer).
ONE: Strokes = [polyline([(224, 100), (224, 340)])]
ZERO: Strokes = [oval(224, 224, 80, 120)]
SEVEN: Strokes = [polyline([(130, 110), (320, 110), (200, 360)])]
# Two strokes, the bar first: without the second (an undo) what is left reads as a 1.
FOUR: Strokes = [polyline([(260, 170), (260, 380)]), polyline([(250, 90), (130, 270), (330, 270)])]
# Resolves once the element named by the selector has kept its place and size for 10 frames: an answer
# arriving or a new step re-lays the page, and a screenshot or a position read before that is of a moving page.
STILL = """(sel) => new Promise((resolve) => {
  let last = '', same = 0;
  const tick = () => {
    const e = document.querySelector(sel), r = e && e.getBoundingClientRect();
    const k = r ? [r.x, r.y, r.width, r.height].join() : '';
    same = k && k === last ? same + 1 : 0; last = k;
    if (same >= 10) resolve(k); else requestAnimationFrame(tick);
  };
  tick();
})"""

DIGIT_STROKES = {"1": ONE, "0": ZERO, "7": SEVEN, "4": FOUR}


def pad_value(strokes: Strokes, side: float = PAD_SIDE) -> dict:
    """What a `side`-pixel stroke pad sends for strokes drawn in 448-pixel coordinates."""
    f = side / PAD_SIDE
    return {"v": 1, "width": side, "height": side, "strokes": [[[x * f, y * f] for x, y in s] for s in strokes]}


# ---- a browser -----------------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium under playwright (a dev dependency), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def origin(page: Any, surface: str = PAD, square: float = 1.0) -> Origin:
    """Where the stroke square lies on `surface`: centred, `square` of its shorter side (the pad: all of it)."""
    box = page.locator(surface).first.bounding_box()
    side = min(box["width"], box["height"]) * square
    return box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2, side / PAD_SIDE


def draw(
    page: Any,
    strokes: Strokes,
    at: Origin | None = None,
    moves: int = 20,
    pause_s: float = 0.0,
    before_up: Callable[[], Any] | None = None,
    touch: Any = None,
) -> Any:
    """Draw `strokes` with the mouse, or with one finger when `touch` is a CDP session (playwright has no touch drag).

    About `moves` moves per stroke, `pause_s` after each; `before_up` runs with the pen still down on the last
    stroke and its answer is returned. `at` defaults to the pad's place now.
    """
    x0, y0, scale = at if at is not None else origin(page)
    seen = None
    for n, stroke in enumerate(strokes):
        points = [(x0 + x * scale, y0 + y * scale) for x, y in [*stroke[:: max(1, len(stroke) // moves)], stroke[-1]]]
        pen = _Finger(touch) if touch is not None else _Mouse(page)
        pen.down(*points[0])
        for x, y in points[1:]:
            pen.move(x, y)
            if pause_s:
                time.sleep(pause_s)
        if before_up is not None and n == len(strokes) - 1:
            seen = before_up()
        pen.up()
    return seen


class _Mouse:
    def __init__(self, page: Any) -> None:
        self.mouse = page.mouse

    def down(self, x: float, y: float) -> None:
        self.mouse.move(x, y)
        self.mouse.down()

    def move(self, x: float, y: float) -> None:
        self.mouse.move(x, y, steps=2)  # pointermove events between the points, as a real mouse sends

    def up(self) -> None:
        self.mouse.up()


class _Finger:
    def __init__(self, cdp: Any) -> None:
        self.cdp = cdp

    def _send(self, kind: str, points: list[dict[str, float]]) -> None:
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def down(self, x: float, y: float) -> None:
        self._send("touchStart", [{"x": x, "y": y}])

    def move(self, x: float, y: float) -> None:
        self._send("touchMove", [{"x": x, "y": y}])

    def up(self) -> None:
        self._send("touchEnd", [])
