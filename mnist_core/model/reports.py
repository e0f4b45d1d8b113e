"""Test-set report for a model: accuracy, loss, confusion matrix, per-class accuracy, worst mistakes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_core.atomic_files import atomic_write_bytes
from mnist_core.model.files import cache_path, file_digest
from mnist_core.model.forward import Classifier


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the test set
    label: int
    predicted: int
    confidence: float


@dataclass(frozen=True)
class Report:
    accuracy: float
    loss: float
    confusion: np.ndarray  # confusion[true, predicted], 10×10 counts
    per_class: np.ndarray  # recall of each digit
    mistakes: tuple[Mistake, ...]  # most confidently wrong first
    count: int
    params: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "count": self.count,
            "params": self.params,
            "per_class_accuracy": [float(a) for a in self.per_class],  # index = digit, as in the sidecar
            "confusion_matrix": self.confusion.tolist(),
            "most_confident_mistakes": [m.__dict__ for m in self.mistakes],
        }


def evaluate(classifier: Classifier, x_test: np.ndarray, y_test: np.ndarray, worst: int = 24) -> Report:
    """x_test: uint8 (N, 28, 28) as loaded; scaled to [0, 1] exactly as in training."""
    probs = classifier.predict(x_test.astype(np.float32) / 255.0)
    return report_from_probs(probs, y_test, classifier.params, worst)


def report_from_probs(probs: np.ndarray, labels: np.ndarray, params: int, worst: int = 24) -> Report:
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probs.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))))
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:worst]
    mistakes = tuple(Mistake(int(i), int(labels[i]), int(predicted[i]), float(probs[i, predicted[i]])) for i in order)
    return Report(float(np.mean(predicted == labels)), loss, confusion, per_class, mistakes, len(labels), params)


REPORT_FORMAT = 2  # 2: per_class_accuracy is a list indexed by digit (1 held a dict keyed by "0".."9")


def cached_report(
    model_path: Path, classifier: Classifier, data_path: str | None = None, write: bool = True
) -> dict[str, Any]:
    """The model's test report, computed once and kept beside the model (the shipped one ships it).

    The cache holds the mistakes' 28×28 images too, so a gallery needs no data at start-up. With
    `write=False` a missing or outdated cache is recomputed but not written (the demo never writes into
    assets/). Raises DataError when there is no cache and no data to compute one.
    """
    from mnist_core.data.mnist import load_mnist

    model_path = Path(model_path)
    digest = file_digest(model_path)
    try:
        cached = json.loads(cache_path(model_path).read_text())
        if cached.get("file_sha256") == digest and cached.get("format") == REPORT_FORMAT:
            return cached
    except (OSError, ValueError):
        pass
    _, (x_test, y_test) = load_mnist(data_path)
    report = evaluate(classifier, x_test, y_test)
    if not write:
        return with_images(report, x_test)
    return save_report(model_path, report, x_test, digest)


def with_images(report: Report, images: np.ndarray) -> dict[str, Any]:
    """The report as a dict, each mistake carrying its 28×28 so a gallery needs no data."""
    data = report.to_dict()
    for mistake in data["most_confident_mistakes"]:
        mistake["image"] = np.asarray(images[mistake["index"]]).tolist()
    return data


def save_report(
    model_path: Path,
    report: Report,
    x_test: np.ndarray,
    digest: str | None = None,
    pen_report: Report | None = None,
    pen_images: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the report (with the mistakes' images) beside the model; the dict is what the UI reads.

    `pen_report` (UNIPEN's held-out writers) goes in under "real_handwriting".
    """
    data = with_images(report, x_test)
    if pen_report is not None and pen_images is not None:
        data["real_handwriting"] = with_images(pen_report, pen_images)
    data["file_sha256"] = digest or file_digest(model_path)
    data["format"] = REPORT_FORMAT
    try:
        atomic_write_bytes(cache_path(model_path), json.dumps(data).encode())
    except OSError:
        pass  # a read-only install still serves the report from memory
    return data


# The one serve gate, for a retrain and a fine-tune alike: a new model replaces the serving one only if it reads
# no worse. MNIST test may drop at most this many points (its 10,000 digits move ~0.1 point between two runs of
# one recipe; a fine-tune trades up to this much for the drawings people corrected); real handwriting and the
# held-out collected drawings must not read lower, each where both models were measured on it.
MAX_MNIST_DROP_POINTS = 0.3


@dataclass(frozen=True)
class Scores:
    """A model's accuracies on what the gate compares; None where it was not measured."""

    mnist: float | None  # MNIST test
    pens: float | None = None  # UNIPEN's held-out writers, drawn as the pad draws
    holdout: float | None = None  # the held-out fifth of the collected drawings, never trained on


@dataclass(frozen=True)
class Verdict:
    serve: bool
    why: str  # one line, no leading verdict

    @property
    def reason(self) -> str:
        return f"{'serve the new model' if self.serve else 'keep the current model'}: {self.why}"


def judge(before: Scores, after: Scores, must_measure: tuple[str, ...] = ()) -> Verdict:
    """The serve gate (policy above). `must_measure` names measures without which nothing serves: a fine-tune,
    whose point is the collected drawings, is judged on its held-out ones or not at all."""
    names = {"mnist": "MNIST test", "pens": "real handwriting", "holdout": "held-out drawings"}
    compared = [(k, getattr(before, k), getattr(after, k)) for k in names]
    measured = [(k, old, new) for k, old, new in compared if old is not None and new is not None]
    lines = [f"{names[k]} {old:.2%} → {new:.2%}" for k, old, new in measured]
    missing = [names[k] for k in must_measure if k not in {m[0] for m in measured}]
    if missing:
        return Verdict(
            False, f"no {' or '.join(missing)} to check it on yet ({', '.join(lines) or 'nothing measured'})"
        )
    for key, old, new in measured:
        drop = (old - new) * 100
        allowed = MAX_MNIST_DROP_POINTS if key == "mnist" else 0.0
        if drop > allowed + 1e-9:
            return Verdict(
                False,
                f"it reads {names[key]} worse ({old:.2%} → {new:.2%}, {drop:.2f} points lower; {allowed} allowed)",
            )
    return Verdict(True, ", ".join(lines) or "nothing to compare it with")
