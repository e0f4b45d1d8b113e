"""Train → evaluate on the test set → save with its sidecar: shared by the CLI and the Train tab."""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mnist_core.config import HyperParams
from mnist_core.data.renderings import test_drawings
from mnist_core.data.unipen import PenDigit
from mnist_core.model.files import save_model
from mnist_core.model.forward import Classifier
from mnist_core.model.reports import Report, evaluate, save_report
from mnist_core.training.scratch import ProgressFn, TrainResult, train

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Outcome:
    result: TrainResult
    report: Report | None = None
    pen_report: Report | None = None  # on UNIPEN's held-out writers, when pen data was given
    path: Path | None = None


def library_versions() -> dict[str, str]:
    import keras
    import PIL
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


def metadata(outcome: Outcome, data_source: str, command: str) -> dict[str, Any]:
    result, report, pens = outcome.result, outcome.report, outcome.pen_report
    assert report is not None
    metrics: dict[str, Any] = {
        "test_accuracy": report.accuracy,
        "test_loss": report.loss,
        "per_class_accuracy": [float(a) for a in report.per_class],
    }
    if pens is not None:
        metrics |= {
            "pen_test_accuracy": pens.accuracy,
            "pen_test_count": pens.count,
            "pen_per_class_accuracy": [float(a) for a in pens.per_class],
        }
    return {
        "hyperparameters": result.hp.to_dict(),
        "metrics": metrics,
        "params": report.params,
        "data_source": data_source,
        "train_images": result.n_train,
        "validation_images": result.n_val,
        "training_seconds": round(result.seconds, 1),
        "history": result.history,
        "libraries": library_versions(),
        "command": command,
    }


def train_evaluate_save(
    hp: HyperParams,
    data: Data,
    out: Path,
    data_source: str,
    command: str,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    pens: list[PenDigit] | None = None,
    commit: Callable[[], bool] | None = None,
) -> Outcome:
    """Only a completed run is evaluated and saved; a cancelled or failed one leaves every file as it was.

    With `pens`, the model is also measured on UNIPEN's held-out writers (whether or not it trained on pens).
    `commit` is asked once training is done: False (a cancel that came in time) saves nothing.
    """
    (x_train, y_train), (x_test, y_test) = data
    outcome = Outcome(train(hp, (x_train, y_train), on_progress=on_progress, cancel=cancel, pens=pens))
    if outcome.result.ok and commit is not None and not commit():
        outcome.result = replace(
            outcome.result, status="cancelled", message=f"cancelled after all {hp.epochs} epochs, before saving"
        )
    if not outcome.result.ok:
        return outcome
    classifier = Classifier.from_arrays(outcome.result.model.get_weights(), deskew=hp.deskew)
    outcome.report = evaluate(classifier, x_test, y_test)
    pen_images = None
    if pens:
        pen_images, pen_labels = test_drawings(pens)
        outcome.pen_report = evaluate(classifier, pen_images, pen_labels)
    outcome.path = save_model(outcome.result.model, out, metadata(outcome, data_source, command))
    # the Model tab reads it instead of re-evaluating
    save_report(outcome.path, outcome.report, x_test, pen_report=outcome.pen_report, pen_images=pen_images)
    return outcome
