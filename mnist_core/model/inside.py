"""What a served network does with one drawing, in NumPy: its first layer's strongest units and how many fire,
and which pixels pushed the answer against the runner-up.

The push map is gradient × input of the margin `logit[answer] - logit[runner-up]` (= log(p[answer] / p[runner-up])):
each inked pixel's share of that margin, > 0 where it pushed toward the answer, < 0 toward the runner-up.
`tests/test_inside.py` checks the gradient against finite differences of the served forward pass.

Only the rows that carry signal are touched: a layer's input is zero at blank pixels and at units that do not
fire (most of them), so each matmul takes just the weight rows of the non-zero inputs, and the backward pass
reuses those rows: the whole look costs less than the reading's own forward pass (`bench/stroke_latency.py` times
pen-up → answer with the inside view open and closed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.model.forward import DenseClassifier

TOP_UNITS = 8  # first-layer units shown: two rows of four on a phone
SIDE = 28


@dataclass(frozen=True)
class FirstLayer:
    """The first hidden layer for one drawing: the units that fired most, what each looks for, how many fire."""

    units: np.ndarray  # (k,) unit numbers, strongest first
    activations: np.ndarray  # (k,) their outputs (after ReLU)
    on: int  # units whose output is above zero for this drawing
    total: int


@dataclass(frozen=True)
class Inside:
    probabilities: np.ndarray  # (10,) float64, the network's softmax
    first: FirstLayer
    push: np.ndarray  # (28, 28) float32: > 0 pushed toward `answer`, < 0 toward `runner_up`

    @property
    def answer(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probabilities)[-2])


# One layer of the forward pass, kept for the backward: the input positions that were not zero and the weight
# rows for them, and the layer's output before ReLU.
_Step = tuple[np.ndarray, np.ndarray, np.ndarray]


def look_inside(classifier: DenseClassifier, x: np.ndarray, top: int = TOP_UNITS) -> Inside:
    """`x`: the 784 first-layer inputs of one drawing, as `classifier.inputs` makes them (the 28×28 it saw)."""
    x = np.asarray(x, np.float32).reshape(-1)
    steps = _forward(classifier, x)
    probabilities = _softmax(steps[-1][2])
    order = np.argsort(probabilities)
    first = _first_layer(steps, top)
    rows, weights, _ = steps[0]
    toward = _backward(steps, int(order[-1]), int(order[-2]))
    push = np.zeros(SIDE * SIDE, np.float32)
    push[rows] = x[rows] * (weights @ toward)
    return Inside(probabilities, first, push.reshape(SIDE, SIDE))


def margin_gradient(classifier: DenseClassifier, x: np.ndarray, toward: int, against: int) -> np.ndarray:
    """d(logit[toward] - logit[against]) / dx over all 784 inputs, blank pixels included."""
    steps = _forward(classifier, np.asarray(x, np.float32).reshape(-1))
    return classifier.layers[0][0] @ _backward(steps, toward, against)


def _forward(classifier: DenseClassifier, x: np.ndarray) -> list[_Step]:
    """Every layer's output (logits last), each layer reading only the weight rows of its non-zero inputs."""
    steps: list[_Step] = []
    h = x
    for i, (w, b) in enumerate(classifier.layers):
        rows = np.flatnonzero(h)
        weights = w[rows]
        out = h[rows] @ weights + b
        steps.append((rows, weights, out))
        if i < len(classifier.layers) - 1:
            h = np.maximum(out, 0.0)
    return steps


def _backward(steps: list[_Step], toward: int, against: int) -> np.ndarray:
    """d(margin) / d(the first layer's output before ReLU), one value per first-layer unit.

    A layer's non-zero inputs are exactly the previous layer's units with a positive output, where ReLU passes
    the gradient unchanged; everywhere else it is zero."""
    grad = np.zeros(len(steps[-1][2]), np.float32)
    grad[toward], grad[against] = 1.0, -1.0
    for (_, _, below), (rows, weights, _) in zip(steps[-2::-1], steps[:0:-1], strict=True):
        upper = grad
        grad = np.zeros(len(below), np.float32)
        grad[rows] = weights @ upper
    return grad


def unit_picture(classifier: DenseClassifier, unit: int) -> np.ndarray:
    """What a first-layer unit looks for: its weight on each pixel of the 28×28 it receives, (28, 28).

    Apart from `look_inside`: a unit's picture is the same for every drawing, so a page keeps it once made."""
    return classifier.layers[0][0][:, unit].reshape(SIDE, SIDE)


def _first_layer(steps: list[_Step], top: int) -> FirstLayer:
    out = np.maximum(steps[0][2], 0.0)
    k = min(top, len(out))
    strongest = np.argpartition(out, -k)[-k:]
    units = strongest[np.argsort(out[strongest])[::-1]]
    return FirstLayer(units, out[units], int(np.count_nonzero(out)), len(out))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64) - float(np.max(logits))
    e = np.exp(z)
    return e / e.sum()
