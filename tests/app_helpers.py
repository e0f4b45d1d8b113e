"""Test helpers: the servers tests run (launched by bench/server.py), models to serve, strokes to draw."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.server import App as App  # re-exported: the tests' one import for servers
from bench.server import data_env
from bench.server import free_port as free_port
from bench.server import running_app as running_app

REPO = Path(__file__).resolve().parent.parent
PAD_SIDE = 448  # the stroke pad's side in CSS pixels on a desktop; stroke helpers draw in this space


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


# Digits as pad strokes, in a 448-pixel pad's coordinates; each reads right with the shipped model
# (checked through mnist_core.strokes, the renderer the server uses).
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


ONE = [polyline([(224, 100), (224, 340)])]
ZERO = [oval(224, 224, 80, 120)]
SEVEN = [polyline([(130, 110), (320, 110), (200, 360)])]
# Two strokes, the bar first: without the second (an undo) what is left reads as a 1.
FOUR = [polyline([(260, 170), (260, 380)]), polyline([(250, 90), (130, 270), (330, 270)])]
DIGIT_STROKES = {"1": ONE, "0": ZERO, "7": SEVEN, "4": FOUR}


def pad_value(strokes: list[list[list[float]]], side: float = PAD_SIDE) -> dict:
    """What a `side`-pixel stroke pad sends for strokes drawn in 448-pixel coordinates."""
    f = side / PAD_SIDE
    return {"v": 1, "width": side, "height": side, "strokes": [[[x * f, y * f] for x, y in s] for s in strokes]}
