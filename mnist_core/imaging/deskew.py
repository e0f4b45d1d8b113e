"""Slant correction of 28×28 digits, shared by training (its images) and serving (each drawing)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_core.imaging.pictures import SIDE

_GRID = np.indices((SIDE, SIDE), dtype=np.float32)


def deskew(images: np.ndarray) -> np.ndarray:
    """Shear each 28×28 image about its centre of mass so its main axis is upright.

    Writers slant their digits in their own way; taking the slant out of training and drawn digits
    alike leaves the network one source of variation fewer (used when the model was trained with
    `HyperParams.deskew`). Float images in [0, 1], shape (28, 28) or (N, 28, 28); the same shape back.
    """
    batch = np.asarray(images, dtype=np.float32)
    single = batch.ndim == 2
    batch = batch.reshape(-1, SIDE, SIDE)
    ys, xs = _GRID
    total = batch.sum(axis=(1, 2))
    safe = np.maximum(total, 1e-6)
    cy = (batch * ys).sum(axis=(1, 2)) / safe
    cx = (batch * xs).sum(axis=(1, 2)) / safe
    dy = ys[None] - cy[:, None, None]
    var_y = (batch * dy**2).sum(axis=(1, 2)) / safe
    cov = (batch * (xs[None] - cx[:, None, None]) * dy).sum(axis=(1, 2)) / safe
    alpha = np.where((total > 0) & (var_y > 1e-3), cov / np.maximum(var_y, 1e-3), 0.0)
    out = np.empty_like(batch)
    for i, (img, a, y0) in enumerate(zip(batch, alpha, cy, strict=False)):
        sheared = Image.fromarray(img, mode="F").transform(
            (SIDE, SIDE),
            Image.Transform.AFFINE,
            (1, float(a), -float(a) * float(y0), 0, 1, 0),
            resample=Image.Resampling.BILINEAR,
        )
        out[i] = np.asarray(sheared, dtype=np.float32)
    np.clip(out, 0.0, 1.0, out=out)
    return out[0] if single else out


def deskew_digits(digits: np.ndarray) -> np.ndarray:
    """`deskew` for 0–255 MNIST arrays, as training stores them (uint8 stays uint8, floats stay floats)."""
    out = deskew(digits.astype(np.float32) / 255.0).reshape(digits.shape) * 255.0
    return np.round(out).astype(np.uint8) if digits.dtype == np.uint8 else out.astype(digits.dtype)
