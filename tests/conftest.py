"""Shared fixtures: real MNIST from $MNIST_DATA and one small model trained once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$MNIST_DATA, or (with internet) Keras' download written out as a local mnist.npz."""
    path = os.environ.get("MNIST_DATA")
    if path:
        return Path(path)
    from mnist_core.data.mnist import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    npz = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return npz


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path):
    from mnist_core.data.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the developer's own trained models."""
    home = tmp_path_factory.mktemp("demo-home")
    monkeypatch.setenv("MNIST_DEMO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def small_model(mnist, tmp_path_factory: pytest.TempPathFactory):
    """One epoch on 6,000 images: a real, quickly trained model for storage and CLI tests."""
    from mnist_core.config import preset
    from mnist_core.training.workflow import train_evaluate_save

    out = tmp_path_factory.mktemp("models") / "small.keras"
    hp = preset("fast").replace(epochs=1, train_subset=6000, lr_schedule="one_cycle")  # saves the custom schedule too
    outcome = train_evaluate_save(hp, mnist, out, "test fixture", "pytest fixture")
    assert outcome.result.ok, outcome.result.message
    return outcome


def digit_on_canvas(
    digit: np.ndarray, size: int = 600, box: tuple[int, int, int] = (100, 150, 300), ink_dark: bool = True
) -> np.ndarray:
    """An MNIST digit scaled up onto a large white (or black) canvas, as a person might draw it."""
    from PIL import Image

    top, left, side = box
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    canvas = np.zeros((size, size), np.uint8)
    canvas[top : top + side, left : left + side] = big
    return 255 - canvas if ink_dark else canvas
