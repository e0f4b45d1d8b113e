"""Training-time augmentation that covers what people do on a canvas: one TF graph op per batch.

Rotation, scale, aspect, shear and translation are composed into a single projective transform per
image (cheap on 2 cores); stroke thickness is varied with grey-level dilation/erosion. Kept light:
heavy shear/elastic/thickness raised MNIST accuracy but lowered accuracy on real handwriting.
"""

from __future__ import annotations

import math

import tensorflow as tf

from mnist_core.config import HyperParams

_CENTRE = 13.5


def augment_batch(images: tf.Tensor, hp: HyperParams) -> tf.Tensor:
    """images: (B, 28, 28) float32 in [0, 1] → the same shape, randomly transformed."""
    batch = tf.shape(images)[0]
    x = images[..., tf.newaxis]
    x = _affine(x, batch, hp)
    x = _thickness(x, batch, hp.thickness)
    return tf.clip_by_value(x[..., 0], 0.0, 1.0)


def _uniform(batch: tf.Tensor, limit: float) -> tf.Tensor:
    return tf.random.uniform([batch], -limit, limit)


def _affine(x: tf.Tensor, batch: tf.Tensor, hp: HyperParams) -> tf.Tensor:
    angle = _uniform(batch, math.radians(hp.rotation_deg))
    scale = 1.0 + _uniform(batch, hp.scale_range)
    aspect = 1.0 + _uniform(batch, hp.scale_range / 2)
    shear = _uniform(batch, hp.shear)
    tx, ty = _uniform(batch, hp.shift_px), _uniform(batch, hp.shift_px)
    sx, sy = scale * aspect, scale / aspect
    cos, sin = tf.cos(angle), tf.sin(angle)
    # forward map A = R · Shear · S (output = A · (input − c) + c + t); the op wants output → input
    a, b = cos * sx, (cos * shear - sin) * sy
    c, d = sin * sx, (sin * shear + cos) * sy
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    ox = _CENTRE + tx
    oy = _CENTRE + ty
    a2 = _CENTRE - ia * ox - ib * oy
    b2 = _CENTRE - ic * ox - id_ * oy
    zeros = tf.zeros_like(ia)
    transforms = tf.stack([ia, ib, a2, ic, id_, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.constant([28, 28], tf.int32),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _thickness(x: tf.Tensor, batch: tf.Tensor, amount: float) -> tf.Tensor:
    if amount <= 0:
        return x
    t = tf.reshape(_uniform(batch, amount), [-1, 1, 1, 1])
    dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
    return x + tf.nn.relu(t) * (dilated - x) + 0.5 * tf.nn.relu(-t) * (eroded - x)
