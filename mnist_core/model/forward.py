"""Serve the dense network with NumPy matmuls: ~0.5 ms a drawing, and no TensorFlow on the start-up path.

`model.predict` costs ~60 ms a call in per-call overhead and `import tensorflow` ~3 s; the same
weights as three matmuls give identical probabilities (checked by the storage tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.imaging.deskew import deskew


@dataclass(frozen=True)
class Classifier:
    """Weights and biases of Dense → relu → Dense → relu → Dense → softmax (dropout is off at inference)."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    deskew: bool = False  # the model was trained on deskewed digits, so it must be fed them too

    @classmethod
    def from_arrays(cls, arrays: Sequence[np.ndarray], deskew: bool = False) -> Classifier:
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
    def params(self) -> int:
        return int(sum(w.size + b.size for w, b in self.layers))

    @property
    def hidden_units(self) -> int:
        return int(self.layers[0][0].shape[1])

    def inputs(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) or (N, 784) floats in [0, 1] → exactly what the first layer receives, (N, 784)."""
        x = np.asarray(images, dtype=np.float32).reshape(len(images), 28 * 28)
        return deskew(x.reshape(-1, 28, 28)).reshape(len(x), -1) if self.deskew and len(x) else x

    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, 784) first-layer inputs, as `inputs` makes them → (N, F) float32: what the network sees of a
        drawing before it decides (here the first hidden layer's ReLU outputs), the space a personal memory
        compares drawings in. Every served architecture has one."""
        w, b = self.layers[0]
        return np.maximum(np.asarray(x, np.float32) @ w + b, 0.0)

    def predict(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 28, 28) or (N, 784) floats in [0, 1] → (N, 10) probabilities."""
        return self.forward(self.inputs(images), batch_size)

    def forward(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 784) first-layer inputs, as `inputs` makes them → (N, 10) probabilities."""
        out = np.empty((len(x), 10), dtype=np.float32)
        for start in range(0, len(x), batch_size):
            h = x[start : start + batch_size]
            for i, (w, b) in enumerate(self.layers):
                h = h @ w + b
                if i < len(self.layers) - 1:
                    np.maximum(h, 0.0, out=h)
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            out[start : start + batch_size] = h / h.sum(axis=1, keepdims=True)
        return out
