"""Serve a network with NumPy: ~0.5 ms a drawing, and no TensorFlow on the start-up path.

`model.predict` costs ~60 ms a call in per-call overhead and `import tensorflow` ~3 s; the same weights
in NumPy give the same probabilities (checked by the storage tests). `Classifier` is what every reader of
a network uses (serving, reports, fine-tuning's judge, a personal model); `DenseClassifier` here is the
notebook's network, `convnet.ConvClassifier` the convolutional one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.imaging.deskew import deskew

Weights = tuple[np.ndarray, np.ndarray]  # (kernel, bias) of one layer, float32


@dataclass(frozen=True)
class Layer:
    """One row of a network's summary: what the Model tab lists."""

    name: str
    kind: str  # "dense", "conv 3×3", "max-pool 2×2"
    shape: str  # its output, e.g. "2048" or "24×24×32"
    params: int


class Classifier(ABC):
    """A trained network as NumPy arrays: 784 floats in [0, 1] → ten probabilities (dropout off).

    Every network ends alike: its `trunk` (all layers before the last hidden one) → the last hidden layer
    (`last_hidden`, dense, ReLU) → the output layer (`head`, dense) → softmax. So a reading, the inside view and a
    personal memory (in the space of `features`) work the same way on each.
    """

    deskew: bool  # the model was trained on deskewed digits, so it must be fed them too

    @property
    @abstractmethod
    def architecture(self) -> str:
        """The network's kind, as HyperParams.architecture names it: "dense" or "cnn"."""

    @property
    @abstractmethod
    def title(self) -> str:
        """What a person reads: "the dense network"."""

    @abstractmethod
    def trunk(self, x: np.ndarray) -> np.ndarray:
        """(N, 784) first-layer inputs → (N, T) float32, what the last hidden layer receives."""

    @property
    @abstractmethod
    def last_hidden(self) -> Weights:
        """The last hidden layer (ReLU): (T, H) weights and (H,) bias."""

    @property
    @abstractmethod
    def head(self) -> Weights:
        """The output layer: (H, 10) weights and (10,) bias."""

    @abstractmethod
    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, 784) first-layer inputs, as `inputs` makes them → (N, F) float32: what the network sees of a
        drawing before it decides, the space a personal memory compares drawings in."""

    @abstractmethod
    def arrays(self) -> tuple[np.ndarray, ...]:
        """Every weight, in layer order: what ties a personal model to the exact network it was taught on."""

    @abstractmethod
    def summary(self) -> tuple[Layer, ...]:
        """The layers, input to output, with their output shapes and parameters."""

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """(N, 784) first-layer inputs → (N, H) float32, the last hidden layer's ReLU outputs."""
        w, b = self.last_hidden
        h = self.trunk(x) @ w
        h += b
        return np.maximum(h, 0.0, out=h)

    @property
    def params(self) -> int:
        return int(sum(a.size for a in self.arrays()))

    def inputs(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 784) floats in [0, 1] → exactly what the first layer receives, (N, 784)."""
        x = np.asarray(images, dtype=np.float32).reshape(len(images), 28 * 28)
        return deskew(x.reshape(-1, 28, 28)).reshape(len(x), -1) if self.deskew and len(x) else x

    def predict(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 28, 28) or (N, 784) floats in [0, 1] → (N, 10) probabilities."""
        return self.forward(self.inputs(images), batch_size)

    def forward(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 784) first-layer inputs, as `inputs` makes them → (N, 10) probabilities."""
        w, b = self.head
        out = np.empty((len(x), 10), dtype=np.float32)
        for start in range(0, len(x), batch_size):
            out[start : start + batch_size] = softmax(self.hidden(x[start : start + batch_size]) @ w + b)
        return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise, in place: `logits` is overwritten and returned."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


@dataclass(frozen=True)
class DenseClassifier(Classifier):
    """Dense → relu → Dense → relu → Dense → softmax: the notebook's network."""

    layers: tuple[Weights, ...]
    deskew: bool = False
    architecture = "dense"
    title = "the dense network"

    @classmethod
    def from_arrays(cls, arrays: Sequence[np.ndarray], deskew: bool = False) -> DenseClassifier:
        if len(arrays) != 6:
            raise ValueError(f"expected 3 dense layers (6 arrays), got {len(arrays)} arrays")
        pairs = tuple(
            (np.asarray(arrays[i], np.float32), np.asarray(arrays[i + 1], np.float32)) for i in range(0, 6, 2)
        )
        dims = [pairs[0][0].shape[0]] + [w.shape[1] for w, _ in pairs]
        if (
            dims[0] != 784
            or dims[-1] != 10
            or any(
                w.shape != (a, b) or bias.shape != (b,) for (w, bias), a, b in zip(pairs, dims, dims[1:], strict=False)
            )
        ):
            raise ValueError(f"layer shapes {[w.shape for w, _ in pairs]} are not a 784→…→10 dense network")
        return cls(pairs, deskew)

    @property
    def hidden_units(self) -> int:
        return int(self.layers[0][0].shape[1])

    @property
    def last_hidden(self) -> Weights:
        return self.layers[-2]

    @property
    def head(self) -> Weights:
        return self.layers[-1]

    def features(self, x: np.ndarray) -> np.ndarray:
        """The first hidden layer's ReLU outputs (2,048 of them)."""
        w, b = self.layers[0]
        return np.maximum(np.asarray(x, np.float32) @ w + b, 0.0)

    def trunk(self, x: np.ndarray) -> np.ndarray:
        h = self.features(x)
        for w, b in self.layers[1:-2]:
            h = h @ w
            h += b
            np.maximum(h, 0.0, out=h)
        return h

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(a for pair in self.layers for a in pair)

    def summary(self) -> tuple[Layer, ...]:
        rows: list[Layer] = []
        for i, (w, b) in enumerate(self.layers[:-1]):
            rows += [Layer(f"hidden {i + 1}", "dense, relu", str(w.shape[1]), w.size + b.size)]
            rows += [Layer(f"dropout {i + 1}", "dropout (training only)", str(w.shape[1]), 0)]
        w, b = self.head
        return (*rows, Layer("output", "dense, softmax", str(w.shape[1]), w.size + b.size))
