"""Start `demo.py` in a subprocess on a free loopback port, the way a user would, and stop it by PID.

Shared by the benches that measure a running server and by the tests (tests/app_helpers.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "assets" / "model.keras"
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    url: str
    process: subprocess.Popen
    log: Path

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


def data_env(mnist_dir: Path | None = None) -> dict[str, str]:
    """MNIST_DATA for a server that trains or reports, plus UNIPEN_DATA when this test run has it."""
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
        time.sleep(0.1)
    raise RuntimeError(f"demo did not serve {url} within {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def running_app(
    model: Path | None,
    home: Path,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Iterator[App]:
    """`python demo.py --port N [--model M]` with its own MNIST_DEMO_HOME; always stopped afterwards.

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
        yield App(url, process, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
