"""The one sidecar writer: what every saved model records about how it was made, and its test report beside it.

A sidecar travels with the model (the shipped one is in the repository), so it names no path of the machine
that trained it: data sources by how they were given, a base model by its file name and digest.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mnist_core.model.files import save_model
from mnist_core.model.reports import Report, save_report


def library_versions() -> dict[str, str]:
    import PIL
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


def metadata(
    hyperparameters: dict[str, Any],
    report: Report,
    *,
    data_source: str,
    train_images: int,
    seconds: float,
    history: list[dict[str, float]],
    command: str,
    pen_report: Report | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The sidecar of a model measured by `report` (MNIST test) and, when given, `pen_report` (real writers)."""
    metrics: dict[str, Any] = {
        "test_accuracy": report.accuracy,
        "test_loss": report.loss,
        "per_class_accuracy": [float(a) for a in report.per_class],
    }
    if pen_report is not None:
        metrics |= {
            "pen_test_accuracy": pen_report.accuracy,
            "pen_test_count": pen_report.count,
            "pen_per_class_accuracy": [float(a) for a in pen_report.per_class],
        }
    return {
        "hyperparameters": hyperparameters,
        "metrics": metrics,
        "params": report.params,
        "data_source": data_source,
        "train_images": train_images,
        "training_seconds": round(seconds, 1),
        "history": history,
        "libraries": library_versions(),
        "command": command,
    } | extra


def save_with_report(
    model: keras.Model,
    out: Path,
    meta: dict[str, Any],
    report: Report,
    test_images: np.ndarray,
    pen_report: Report | None = None,
    pen_images: np.ndarray | None = None,
) -> Path:
    """The model and its sidecar, then its test report (the Model tab reads it instead of re-evaluating)."""
    path = save_model(model, Path(out), meta)
    save_report(path, report, test_images, pen_report=pen_report, pen_images=pen_images)
    return path
