"""Training images as a pool of entries, and the tf.data pipeline that draws one image of each entry per epoch.

Imports TensorFlow at module level: only training needs it, serving never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from mnist_core.config import HyperParams
from mnist_core.imaging.deskew import deskew_digits
from mnist_core.training.augment import augment_batch


@dataclass(frozen=True)
class Group:
    """Images that train together: (N, K, 28, 28), K drawings of each of N entries, or (N, 28, 28), one each."""

    images: np.ndarray
    labels: np.ndarray
    weight: int = 1  # times each entry is listed per epoch, each time drawing one of its K images

    def deskewed(self) -> Group:
        """The same group with every image slant-corrected, for a model whose contract is deskewed inputs."""
        images = np.asarray(self.images)
        return Group(deskew_digits(images.reshape(-1, 28, 28)).reshape(images.shape), self.labels, self.weight)


@dataclass(frozen=True)
class Pool:
    """Training images as entries that each own `count` images; an epoch draws one of them per entry.

    MNIST digits own one image each; a pen digit owns several pad drawings of itself, so every epoch
    sees a fresh drawing of each writer's digit, not one frozen rendering.
    """

    # (M, 28, 28) 0–255 as given, scaled to [0, 1] per batch: uint8 (every real caller) holds a quarter of
    # float32's memory, which is most of a default training's peak; floats pass through (the NaN fault).
    images: np.ndarray
    start: np.ndarray  # (E,) index of each entry's first image
    count: np.ndarray  # (E,) how many images the entry owns
    labels: np.ndarray  # (E,) digit of each entry

    @classmethod
    def of(cls, groups: Sequence[Group]) -> Pool:
        """One pool of any number of groups, in order; a group of weight 0 is left out."""
        images, start, count, labels = [], [], [], []
        offset = 0
        for group in (g for g in groups if g.weight > 0):
            drawings = np.asarray(group.images)
            drawings = drawings[:, None] if drawings.ndim == 3 else drawings
            n, k = drawings.shape[:2]
            images.append(drawings.reshape(-1, 28, 28))
            start += [offset + np.arange(n, dtype=np.int64) * k] * group.weight
            count += [np.full(n, k, np.int64)] * group.weight
            labels += [np.asarray(group.labels, np.int64)] * group.weight
            offset += n * k
        return cls(np.concatenate(images), np.concatenate(start), np.concatenate(count), np.concatenate(labels))

    def __len__(self) -> int:
        return len(self.labels)


def plain_dataset(x: np.ndarray, y: np.ndarray, hp: HyperParams) -> Any:
    """Plain images, one per entry, in order and unaugmented: validation sets, benches."""
    return pool_dataset(Pool.of([Group(x, y)]), hp, training=False)


def pool_dataset(pool: Pool, hp: HyperParams, training: bool) -> Any:
    """Shuffle entries, batch, pick one image per entry in-graph, augment whole batches, flatten, prefetch."""
    images = tf.constant(pool.images)
    start, count = tf.constant(pool.start), tf.constant(pool.count)
    labels = tf.constant(np.eye(10, dtype=np.float32)[pool.labels])

    def gather(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        n = tf.gather(count, idx)
        pick = tf.gather(start, idx) + tf.cast(tf.random.uniform(tf.shape(idx)) * tf.cast(n, tf.float32), tf.int64)
        chosen = tf.gather(images, tf.minimum(pick, tf.gather(start, idx) + n - 1))
        return tf.cast(chosen, tf.float32) / 255.0, tf.gather(labels, idx)

    ds = tf.data.Dataset.range(len(pool))
    if training:
        ds = ds.shuffle(len(pool), seed=hp.seed, reshuffle_each_iteration=True)
    ds = ds.batch(hp.batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if training and hp.augment:
        ds = ds.map(lambda a, b: (augment_batch(a, hp), b), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda a, b: (tf.reshape(a, [-1, 784]), b))
    # No autotuning: with it, every other epoch's iterator waited on its tuning thread to close, which halved
    # alternate rounds of bench.train_throughput on 8,800 images; without it the AUTOTUNE values mean one call per core.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)
