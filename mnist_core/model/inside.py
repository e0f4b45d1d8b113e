"""What a served network does with one drawing, in NumPy: its first layer's strongest units (the dense network's) or
filters (the convolutional network's first convolution) and how much of it fires, and which pixels pushed the answer
against the runner-up.

The push map is gradient × input of the margin `logit[answer] - logit[runner-up]` (= log(p[answer] / p[runner-up])):
each inked pixel's share of that margin, > 0 where it pushed toward the answer, < 0 toward the runner-up. Both kinds
get it from an exact backward pass, the convolutional one through its convolutions and pools too (each stage's
`backward` in `model.convnet`). CHOICE: gradient × input, not an occlusion map, for the CNN too: one backward pass
costs about what the forward pass does (the same matmuls, transposed), where hiding each 4×4 patch of the 28×28 in
turn would cost 49 forward passes; and it is the same map the dense network shows, so the two read alike.
`tests/test_inside.py` checks the gradient against finite differences of the served forward pass, for both kinds.

Blank regions make equal values inside a max-pool (the same blank patch gives the same output everywhere), where the
margin has no gradient, only one-sided slopes; the pool then passes the gradient to the first of the equal places, as
TensorFlow does. The finite-difference test of the CNN therefore reads drawings on a faint random background, where
no two places are equal.

Dense layers touch only the rows that carry signal: a layer's input is zero at blank pixels and at units that do not
fire (most of them), so each matmul takes just the weight rows of the non-zero inputs, and the backward pass reuses
those rows (`bench/stroke_latency.py` times pen-up → answer with the inside view open and closed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import singledispatch

import numpy as np

from mnist_core.model.convnet import Conv, ConvClassifier
from mnist_core.model.forward import Classifier, DenseClassifier, Weights

TOP_UNITS = 8  # first-layer units (or filters) shown: two rows of four on a phone
SIDE = 28


@dataclass(frozen=True)
class FirstLayer:
    """The first layer for one drawing: what fired most, what each looks for, how much of the layer fires."""

    kind: str  # "units" (a dense layer's) or "filters" (a convolution's: each one pattern slid over the drawing)
    units: np.ndarray  # (k,) unit or filter numbers, strongest first
    activations: np.ndarray  # (k,) their outputs after ReLU; a filter's at the place it fired most
    on: int  # outputs above zero for this drawing: units, or a filter at a place
    total: int
    maps: np.ndarray | None  # (k, H, W) for filters: each one's output at every place of the drawing


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


def look_inside(classifier: Classifier, x: np.ndarray, top: int = TOP_UNITS) -> Inside:
    """`x`: the 784 first-layer inputs of one drawing, as `classifier.inputs` makes them (the 28×28 it saw)."""
    x = np.asarray(x, np.float32).reshape(-1)
    run = _run(classifier, x)
    probabilities = _softmax(run.logits)
    order = np.argsort(probabilities)
    push = x * run.gradient(int(order[-1]), int(order[-2]))
    return Inside(probabilities, _strongest(run.kind, run.first, top), push.reshape(SIDE, SIDE))


def margin_gradient(classifier: Classifier, x: np.ndarray, toward: int, against: int) -> np.ndarray:
    """d(logit[toward] - logit[against]) / dx over all 784 inputs, blank pixels included."""
    return _run(classifier, np.asarray(x, np.float32).reshape(-1)).gradient(toward, against, everywhere=True)


@singledispatch
def unit_picture(classifier: Classifier, unit: int) -> np.ndarray:
    """What a first-layer unit looks for: its weight on each pixel it reads. Apart from `look_inside`: a unit's
    picture is the same for every drawing, so a page keeps it once made."""
    raise TypeError(f"no first-layer pictures for {classifier.title}")


@unit_picture.register
def _(classifier: DenseClassifier, unit: int) -> np.ndarray:
    return classifier.layers[0][0][:, unit].reshape(SIDE, SIDE)  # (28, 28): a weight per pixel of the drawing


@unit_picture.register
def _(classifier: ConvClassifier, unit: int) -> np.ndarray:
    return _first_conv(classifier)[1].kernel[:, :, 0, unit]  # (k, k): the pattern the filter slides over the drawing


class _Run(ABC):
    """One drawing's forward pass, kept for the backward."""

    kind: str
    logits: np.ndarray
    first: np.ndarray  # the first layer's outputs after ReLU: (units,) or (H, W, filters)

    @abstractmethod
    def gradient(self, toward: int, against: int, everywhere: bool = False) -> np.ndarray:
        """d(logit[toward] - logit[against]) / dx, (784,): at every pixel, or at least at the inked ones."""


@singledispatch
def _run(classifier: Classifier, x: np.ndarray) -> _Run:
    raise TypeError(f"cannot look inside {classifier.title}")


@_run.register
def _(classifier: DenseClassifier, x: np.ndarray) -> _Run:
    return _DenseRun(classifier.layers, x)


@_run.register
def _(classifier: ConvClassifier, x: np.ndarray) -> _Run:
    return _ConvRun(classifier, x)


# One dense layer of the forward pass, kept for the backward: the input positions that were not zero and the weight
# rows for them, and the layer's output before ReLU.
_Step = tuple[np.ndarray, np.ndarray, np.ndarray]


class _DenseRun(_Run):
    """Dense ReLU layers, then the output layer, on one input vector: the dense network, or a CNN's dense end."""

    kind = "units"

    def __init__(self, layers: tuple[Weights, ...], h: np.ndarray) -> None:
        self.layers, self.steps = layers, list[_Step]()
        for i, (w, b) in enumerate(layers):
            rows = np.flatnonzero(h)
            weights = w[rows]
            out = h[rows] @ weights + b
            self.steps.append((rows, weights, out))
            if i < len(layers) - 1:
                h = np.maximum(out, 0.0)
        self.logits, self.first = self.steps[-1][2], np.maximum(self.steps[0][2], 0.0)

    def gradient(self, toward: int, against: int, everywhere: bool = False) -> np.ndarray:
        """At the non-zero inputs (everywhere: at all of them)."""
        grad = self._first_gradient(toward, against)
        if everywhere:
            return self.layers[0][0] @ grad
        rows, weights, _ = self.steps[0]
        out = np.zeros(len(self.layers[0][0]), np.float32)
        out[rows] = weights @ grad
        return out

    def _first_gradient(self, toward: int, against: int) -> np.ndarray:
        """d(margin) / d(the first layer's output before ReLU), one value per first-layer unit.

        A layer's non-zero inputs are exactly the previous layer's units with a positive output, where ReLU passes
        the gradient unchanged; everywhere else it is zero."""
        grad = np.zeros(len(self.logits), np.float32)
        grad[toward], grad[against] = 1.0, -1.0
        for (_, _, below), (rows, weights, _) in zip(self.steps[-2::-1], self.steps[:0:-1], strict=True):
            upper = grad
            grad = np.zeros(len(below), np.float32)
            grad[rows] = weights @ upper
        return grad


class _ConvRun(_Run):
    """The convolutions and pools, every stage's output kept, then the dense end as `_DenseRun`."""

    kind = "filters"

    def __init__(self, classifier: ConvClassifier, x: np.ndarray) -> None:
        self.stages, self.outs = classifier.stages, [x.reshape(1, SIDE, SIDE, 1)]
        for stage in self.stages:
            self.outs.append(stage(self.outs[-1]))
        self.dense = _DenseRun(classifier.dense, self.outs[-1].reshape(-1))
        self.logits, self.first = self.dense.logits, self.outs[_first_conv(classifier)[0] + 1][0]

    def gradient(self, toward: int, against: int, everywhere: bool = False) -> np.ndarray:
        """At every pixel. The maps' zero entries need no gradient: each is a ReLU that did not pass (or a pool of
        them), where the gradient is zero anyway."""
        grad = self.dense.gradient(toward, against).reshape(self.outs[-1].shape)
        for stage, a, out in zip(self.stages[::-1], self.outs[-2::-1], self.outs[:0:-1], strict=True):
            grad = stage.backward(a, out, grad)
        return grad.reshape(-1)


def _first_conv(classifier: ConvClassifier) -> tuple[int, Conv]:
    """The first convolution and its place among the stages (a pool could come before it)."""
    return next((i, s) for i, s in enumerate(classifier.stages) if isinstance(s, Conv))


def _strongest(kind: str, outputs: np.ndarray, top: int) -> FirstLayer:
    """The `top` units (or filters: the last axis) that fired most, a filter by its strongest place."""
    per_unit = outputs.reshape(-1, outputs.shape[-1]).max(axis=0)
    k = min(top, len(per_unit))
    strongest = np.argpartition(per_unit, -k)[-k:]
    units = strongest[np.argsort(per_unit[strongest])[::-1]]
    maps = np.moveaxis(outputs[..., units], -1, 0) if outputs.ndim == 3 else None
    return FirstLayer(kind, units, per_unit[units], int(np.count_nonzero(outputs)), outputs.size, maps)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64) - float(np.max(logits))
    e = np.exp(z)
    return e / e.sum()
