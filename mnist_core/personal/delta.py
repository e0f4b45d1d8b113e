"""A personal model: the serving classifier plus a delta — a change of its output layer and a low-rank change of
its last hidden layer (`Classifier.last_hidden`: the dense network's layer 2, the convolutional one's dense layer).

Only the delta is kept (never a copy of the 2048×2048 layer): for the dense network 90 KB for the last layer
alone (rank 0, what `adapt` chooses), 221 KB at rank 8, whose reading costs two thin extra matmuls. A delta is
tied to the base weights it was adapted from by their digest: one taught on an earlier shared model is
refused, not misapplied.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass

import numpy as np

from mnist_core.model.forward import Classifier

FORMAT = 1
_ARRAYS = ("w3", "b3", "a", "b", "b2")


class DeltaError(ValueError):
    """A stored delta we refuse; one line saying why, so the caller falls back to the shared model."""


def weights_digest(classifier: Classifier) -> str:
    """sha256 of the base weights (and deskew): what a delta was adapted from. ~20 ms; callers keep it. The
    dense network's digest is what it was before other architectures existed, so its profiles stay valid."""
    h = hashlib.sha256(b"mnist-personal-base-v1:" + bytes([classifier.deskew]))
    for array in classifier.arrays():
        h.update(np.ascontiguousarray(array, np.float32).tobytes())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Delta:
    """What a person's drawings changed: the output layer W3 += w3, b3 += b3, and the last hidden layer's
    pre-activation += (h1 @ a) @ b + b2, where h1 is what that layer receives (`Classifier.trunk`)."""

    w3: np.ndarray  # (hidden, 10)
    b3: np.ndarray  # (10,)
    a: np.ndarray  # (trunk, rank); rank 0 means the last layer only
    b: np.ndarray  # (rank, hidden)
    b2: np.ndarray  # (hidden,)
    base: str  # weights_digest of the classifier it was adapted from

    @property
    def rank(self) -> int:
        return int(self.a.shape[1])

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(self, name).nbytes for name in _ARRAYS))

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(out, format=np.array(FORMAT), base=np.array(self.base), **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, classifier: Classifier, base: str) -> Delta:
        """The delta in `data`, checked against `classifier` (whose digest is `base`); DeltaError otherwise."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as found:
                stored = {name: found[name] for name in ("format", "base", *_ARRAYS)}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DeltaError(f"the personal model is unreadable ({type(exc).__name__}); teach it again") from None
        if stored["format"].shape != () or int(stored["format"]) != FORMAT:
            raise DeltaError("the personal model was saved in another format; teach it again")
        if str(stored["base"]) != base:
            raise DeltaError("the personal model was taught on another shared model; teach it again to refresh it")
        delta = cls(stored["w3"], stored["b3"], stored["a"], stored["b"], stored["b2"], base)
        delta.check(classifier)
        return delta

    def check(self, classifier: Classifier) -> None:
        (trunk, hidden), rank = classifier.last_hidden[0].shape, self.a.shape[-1] if self.a.ndim == 2 else -1
        shapes = {"w3": (hidden, 10), "b3": (10,), "a": (trunk, rank), "b": (rank, hidden), "b2": (hidden,)}
        for name, shape in shapes.items():
            arr = getattr(self, name)
            if arr.shape != shape or arr.dtype != np.float32:
                raise DeltaError(f"the personal model's {name} is {arr.dtype}{arr.shape}, not float32{shape}")
            if not np.isfinite(arr).all():
                raise DeltaError(f"the personal model's {name} holds non-finite numbers; teach it again")


class PersonalClassifier:
    """`Classifier`'s `predict`/`forward`, with a person's delta folded in where it is cheap to fold."""

    def __init__(self, base: Classifier, delta: Delta) -> None:
        delta.check(base)
        self.base = base
        (self.w2, b2), (w3, b3) = base.last_hidden, base.head
        self.b2 = b2 + delta.b2
        self.w3, self.b3 = w3 + delta.w3, b3 + delta.b3
        self.a, self.b = delta.a, delta.b
        self.delta = delta

    @property
    def nbytes(self) -> int:
        """Memory this model holds beyond the shared one's arrays."""
        return self.delta.nbytes + self.b2.nbytes + self.w3.nbytes + self.b3.nbytes

    def predict(self, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 28, 28) or (N, 784) floats in [0, 1] → (N, 10) probabilities."""
        return self.forward(self.base.inputs(images), batch_size)

    def forward(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, 784) first-layer inputs, as `Classifier.inputs` makes them → (N, 10) probabilities."""
        out = np.empty((len(x), 10), dtype=np.float32)
        for start in range(0, len(x), batch_size):
            h1 = self.base.trunk(x[start : start + batch_size])
            z2 = h1 @ self.w2 + self.b2
            if self.delta.rank:
                z2 += (h1 @ self.a) @ self.b
            h2 = np.maximum(z2, 0.0, out=z2)
            out[start : start + batch_size] = softmax(h2 @ self.w3 + self.b3)
        return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)
