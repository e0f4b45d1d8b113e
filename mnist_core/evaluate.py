"""Test-set report for a model: accuracy, loss, confusion matrix, per-class accuracy, worst mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .inference import Classifier


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
            "per_class_accuracy": {str(d): float(a) for d, a in enumerate(self.per_class)},
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
