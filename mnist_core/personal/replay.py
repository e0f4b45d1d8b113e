"""Digits other people drew, replayed while a personal model is taught so it keeps reading them.

What the base's last hidden layer receives (`Classifier.trunk`: the dense network's first layer's activations)
and that layer's pre-activations, for the replay set, are computed once per process and shared by every
profile: each adaptation then touches only the adapted layers, never the 2048×2048 matmul nor a convolution.
Kept as float16 (dense network: 2 × 4,000 × 2,048 × 2 B ≈ 33 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.data.renderings import Variation, render_fixed
from mnist_core.data.unipen import PenDigit, part
from mnist_core.model.forward import Classifier

MNIST_REPLAYED = 3_000
PENS_REPLAYED = 1_000


@dataclass(frozen=True, eq=False)
class Replay:
    h1: np.ndarray  # (R, trunk) float16: classifier.trunk(x), e.g. relu(x @ W1 + b1)
    z2: np.ndarray  # (R, hidden) float16: h1 @ W2 + b2 of classifier.last_hidden, before the relu
    labels: np.ndarray  # (R,) int64

    def __len__(self) -> int:
        return len(self.labels)


def features(classifier: Classifier, images: np.ndarray, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) floats in [0, 1] → the base's (h1, z2), float32: (N, trunk) and (N, hidden)."""
    w2, b2 = classifier.last_hidden
    x = classifier.inputs(images)
    h1 = np.empty((len(x), w2.shape[0]), np.float32)
    z2 = np.empty((len(x), w2.shape[1]), np.float32)
    for start in range(0, len(x), batch_size):
        h = classifier.trunk(x[start : start + batch_size])
        h1[start : start + len(h)] = h
        z2[start : start + len(h)] = h @ w2 + b2
    return h1, z2


def build_replay(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> Replay:
    """`images` (N, 28, 28) uint8 MNIST-like → the replay features for `classifier`."""
    h1, z2 = features(classifier, np.asarray(images, np.float32) / 255)
    return Replay(h1.astype(np.float16), z2.astype(np.float16), np.asarray(labels, np.int64))


def replay_images(
    mnist_train: tuple[np.ndarray, np.ndarray],
    pens: Sequence[PenDigit],
    n_mnist: int = MNIST_REPLAYED,
    n_pens: int = PENS_REPLAYED,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A random draw of MNIST training digits and UNIPEN training writers' digits (drawn with a day's spread).

    Only UNIPEN's "train" writers are used, so a bench on its validation or test writers never replays them.
    """
    rng = np.random.default_rng(seed)
    x, y = mnist_train
    pick = rng.choice(len(x), size=min(n_mnist, len(x)), replace=False)
    train = part(pens, "train")
    chosen = [train[i] for i in rng.choice(len(train), size=min(n_pens, len(train)), replace=False)] if train else []
    drawn = render_fixed(chosen, 1, seed, Variation())[:, 0]
    images = np.concatenate([np.asarray(x[pick], np.uint8).reshape(-1, 28, 28), drawn])
    labels = np.concatenate([np.asarray(y[pick], np.int64), np.array([d.label for d in chosen], np.int64)])
    return images, labels
