"""Test helpers: the servers tests run (launched by bench/server.py), models to serve, strokes to draw."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.server import App as App  # re-exported: the tests' one import for servers
from bench.server import data_env
from bench.server import free_port as free_port
from bench.server import running_app as running_app
from bench.strokes import DIGIT_STROKES as DIGIT_STROKES  # re-exported: the digits tests draw
from bench.strokes import FOUR as FOUR
from bench.strokes import ONE as ONE
from bench.strokes import PAD_SIDE as PAD_SIDE
from bench.strokes import SEVEN as SEVEN
from bench.strokes import ZERO as ZERO
from bench.strokes import oval as oval
from bench.strokes import pad_value as pad_value
from bench.strokes import polyline as polyline

REPO = Path(__file__).resolve().parent.parent


def served_model(tmp_root: Path) -> Path:
    """The shipped model when it exists, else a fast model trained once per session into `tmp_root` (~30–60 s).

    Pass the session's base temp dir so every test module shares the one fast model.
    """
    from mnist_core.config import SHIPPED_MODEL

    if SHIPPED_MODEL.is_file():
        return SHIPPED_MODEL
    out = tmp_root / "fast.keras"
    if not out.is_file():
        subprocess.run(
            [sys.executable, "-m", "mnist_core", "train", "--preset", "fast", "--out", str(out)],
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return out


def weak_model(tmp_root: Path, mnist_dir: Path) -> Path:
    """The notebook's recipe (`--preset seed`: 60 training images, ~50% on MNIST test), trained once per session.

    Any quick retrain reads better than it, so a server started with it must serve the new model.
    """
    out = tmp_root / "weak" / "weak.keras"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "mnist_core", "train", "--preset", "seed", "--out", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, **data_env(mnist_dir), "MNIST_DEMO_HOME": str(out.parent)},
        )
        if done.returncode != 0:
            raise RuntimeError(f"training the weak model failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return out
