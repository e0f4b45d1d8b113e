"""Other writers' digits, where a personal memory compares drawings: the served network's features, projected.

A person's taught drawing should win a reading only where it is nearer than other people's digits of another
label (`memory`): these digits (MNIST training digits and UNIPEN *training* writers') are that yardstick.
Their features also give the space itself: the served network's `features` (any width: 2,048 for the dense
net) projected onto their first principal axes, so a drawing is 256 floats (a profile's memory a quarter of a
megabyte) and comparing costs a thin matmul. Computed once per served model and shared by every profile.
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
DIMENSIONS = 256  # principal axes kept: measured as good as all 2,048 features (bench.personal's docstring)
AXES_FROM = 1_000  # replayed digits the axes are found from: an SVD of 1,000 × 2,048 takes a fraction of a second


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (an all-zero row stays zero): similarity is then a dot product."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Space:
    """The served network's features projected onto principal axes of other writers' digits."""

    axes: np.ndarray  # (features, dimensions) float32; the identity when the features are few

    def embed(self, classifier: Classifier, x: np.ndarray) -> np.ndarray:
        """(N, …) first-layer inputs, as `classifier.inputs` makes them → (N, dimensions) unit vectors."""
        return unit(classifier.features(x) @ self.axes)

    @classmethod
    def of(cls, features: np.ndarray, dimensions: int = DIMENSIONS) -> Space:
        """The first `dimensions` principal axes (uncentred: the features are non-negative, their mean is part
        of what tells digits apart) of `features` (N, F); all of them when F is already that small."""
        width = features.shape[1]
        if width <= dimensions:
            return cls(np.eye(width, dtype=np.float32))
        _, _, rows = np.linalg.svd(np.asarray(features, np.float32), full_matrices=False)
        return cls(np.ascontiguousarray(rows[:dimensions].T, dtype=np.float32))


@dataclass(frozen=True, eq=False)
class Replay:
    """Other writers' digits in the memory's space, with the space itself."""

    space: Space
    vectors: np.ndarray  # (R, dimensions) unit vectors
    labels: np.ndarray  # (R,) int64

    def __len__(self) -> int:
        return len(self.labels)


def build_replay(classifier: Classifier, images: np.ndarray, labels: np.ndarray, batch_size: int = 1024) -> Replay:
    """`images` (N, 28, 28) uint8 MNIST-like → their features for `classifier`, the space found from `AXES_FROM`
    of them drawn at random (the same every time), and every one placed in it."""
    x = np.asarray(images, np.float32) / 255
    batches = [x[start : start + batch_size] for start in range(0, len(x), batch_size)]
    features = np.concatenate([classifier.features(classifier.inputs(batch)) for batch in batches])
    sample = np.random.default_rng(0).permutation(len(features))[:AXES_FROM]
    space = Space.of(features[np.sort(sample)])
    return Replay(space, unit(features @ space.axes), np.asarray(labels, np.int64))


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
