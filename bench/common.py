"""What several benches share: the popular demos' naive baseline, MNIST's stroke width, test-time augmentation."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_core.imaging.pictures import OVERSAMPLE, SIDE, box_patch, ink_image, load_image, stroke_width
from mnist_core.model.forward import Classifier
from mnist_core.serving.readings import Source

TTA_ANGLES = (-8.0, 8.0)


def naive_resize(source: Source) -> np.ndarray:
    """What popular demos do (whole canvas → 28×28, inverted): the baseline our preprocessing beats."""
    gray = np.asarray(load_image(source).convert("L").resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float32)
    return 1.0 - gray / 255.0


def patch_stroke_width(source: Source) -> float:
    """Stroke width in pixels of the 20×20 box, measured exactly where preprocessing evens it out."""
    patch = box_patch(ink_image(load_image(source)))
    return 0.0 if patch is None else stroke_width(np.asarray(patch) > 127) / OVERSAMPLE


def tta_variants(image: np.ndarray) -> np.ndarray:
    """The image and slightly rotated copies (test-time augmentation, measured and not used in serving)."""
    base = Image.fromarray(image.astype(np.float32), mode="F")
    rotated = [
        np.asarray(base.rotate(a, resample=Image.Resampling.BILINEAR, center=(14, 14)), np.float32) for a in TTA_ANGLES
    ]
    return np.stack([image, *rotated])


def classify(classifier: Classifier, images: np.ndarray, tta: bool = False) -> np.ndarray:
    """(N, 28, 28) → (N, 10); with `tta`, the mean over each image's rotated variants."""
    if not tta or len(images) == 0:
        return classifier.predict(images)
    variants = np.concatenate([tta_variants(img) for img in images])
    k = 1 + len(TTA_ANGLES)
    return classifier.predict(variants).reshape(len(images), k, 10).mean(axis=1)
