"""Train → evaluate on the test set → save with its sidecar: shared by the CLI and the Train tab."""

from __future__ import annotations

import platform
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import HyperParams
from .evaluate import Report, evaluate, save_report
from .inference import Classifier
from .storage import save_model
from .train import ProgressFn, TrainResult, train

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Outcome:
    result: TrainResult
    report: Report | None = None
    path: Path | None = None


def library_versions() -> dict[str, str]:
    import keras
    import PIL
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__}


def metadata(outcome: Outcome, data_source: str, command: str) -> dict[str, Any]:
    result, report = outcome.result, outcome.report
    assert report is not None
    return {
        "hyperparameters": result.hp.to_dict(),
        "metrics": {"test_accuracy": report.accuracy, "test_loss": report.loss,
                    "per_class_accuracy": [float(a) for a in report.per_class]},
        "params": report.params,
        "data_source": data_source,
        "train_images": result.n_train,
        "validation_images": result.n_val,
        "training_seconds": round(result.seconds, 1),
        "history": result.history,
        "libraries": library_versions(),
        "command": command,
    }


def train_evaluate_save(hp: HyperParams, data: Data, out: Path, data_source: str, command: str,
                        on_progress: ProgressFn | None = None,
                        cancel: threading.Event | None = None) -> Outcome:
    """Only a completed run is evaluated and saved; a cancelled or failed one leaves every file as it was."""
    (x_train, y_train), (x_test, y_test) = data
    outcome = Outcome(train(hp, (x_train, y_train), on_progress=on_progress, cancel=cancel))
    if not outcome.result.ok:
        return outcome
    outcome.report = evaluate(Classifier.from_arrays(outcome.result.model.get_weights(), deskew=hp.deskew), x_test, y_test)
    outcome.path = save_model(outcome.result.model, out, metadata(outcome, data_source, command))
    save_report(outcome.path, outcome.report, x_test)  # the Model tab reads it instead of re-evaluating
    return outcome
