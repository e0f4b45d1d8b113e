"""Each recipe's whole run, train (or fine-tune) → evaluate on the test sets → save with its sidecar: shared by
the CLI and the server's job runner. `commit` is asked once training is done: False (a cancel that came in
time) saves nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mnist_core.config import HyperParams
from mnist_core.data.renderings import test_drawings
from mnist_core.data.unipen import PenDigit
from mnist_core.drawings.store import DrawingStore
from mnist_core.model.assemble import classifier_from_keras
from mnist_core.model.reports import Report, Verdict, evaluate
from mnist_core.training.finetune import FinetuneOutcome, finetune, save_finetuned
from mnist_core.training.fit import ProgressFn
from mnist_core.training.scratch import TrainResult, train
from mnist_core.training.sidecar import metadata, save_with_report

Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Outcome:
    result: TrainResult
    report: Report | None = None
    pen_report: Report | None = None  # on UNIPEN's held-out writers, when pen data was given
    path: Path | None = None


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
    """
    (x_train, y_train), (x_test, y_test) = data
    outcome = Outcome(train(hp, (x_train, y_train), on_progress=on_progress, cancel=cancel, pens=pens))
    if outcome.result.ok and commit is not None and not commit():
        outcome.result = replace(
            outcome.result, status="cancelled", message=f"cancelled after all {hp.epochs} epochs, before saving"
        )
    if not outcome.result.ok:
        return outcome
    result = outcome.result
    classifier = classifier_from_keras(result.model, deskew=hp.deskew)
    outcome.report = evaluate(classifier, x_test, y_test)
    pen_images = None
    if pens:
        pen_images, pen_labels = test_drawings(pens)
        outcome.pen_report = evaluate(classifier, pen_images, pen_labels)
    meta = metadata(
        hp.to_dict(),
        outcome.report,
        data_source=data_source,
        train_images=result.n_train,
        seconds=result.seconds,
        history=result.history,
        command=command,
        pen_report=outcome.pen_report,
        validation_images=result.n_val,
    )
    outcome.path = save_with_report(result.model, out, meta, outcome.report, x_test, outcome.pen_report, pen_images)
    return outcome


def finetune_evaluate_save(
    base: Path,
    drawings: DrawingStore,
    data: Data,
    out: Path,
    command: str,
    pens: Sequence[PenDigit] | None = None,
    epochs: int = 3,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    commit: Callable[[], bool] | None = None,
) -> FinetuneOutcome:
    """`finetune.finetune`, then (if completed and committed) `save_finetuned`; `outcome.path` says if it saved."""
    outcome = finetune(base, drawings, data, pens=pens, epochs=epochs, on_progress=on_progress, cancel=cancel)
    if outcome.status == "completed" and commit is not None and not commit():
        outcome.status, outcome.verdict = "cancelled", Verdict(False, "cancelled after the last epoch, before saving")
    if outcome.status == "completed":
        save_finetuned(outcome, out, command)
    return outcome
