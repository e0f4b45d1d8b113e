"""Images in, readings out: the one path the CLI `predict` and the web demo share."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .inference import UNSURE_BELOW, Classifier
from .preprocess import ImageError, to_mnist

Source = str | os.PathLike | bytes | Image.Image | np.ndarray


@dataclass(frozen=True)
class Reading:
    status: str  # "ok", "blank" (nothing to read) or "error" (not an image)
    message: str
    image: np.ndarray | None = None  # the 28×28 the model saw
    probabilities: np.ndarray | None = None

    @property
    def digit(self) -> int | None:
        return None if self.probabilities is None else int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(self.probabilities.max())

    @property
    def unsure(self) -> bool:
        return self.probabilities is not None and self.confidence < UNSURE_BELOW

    def to_json(self, **extra: Any) -> dict[str, Any]:
        probs = self.probabilities if self.probabilities is not None else np.zeros(10)
        return {**extra, "digit": self.digit, "probabilities": [round(float(p), 6) for p in probs],
                "confidence": round(self.confidence, 6), "unsure": self.unsure, "status": self.status,
                "message": self.message}


BLANK_MESSAGE = "nothing to read: draw one digit"


def _prepare(source: Source) -> tuple[str, np.ndarray | None, str]:
    try:
        image = to_mnist(source)
    except ImageError as exc:
        return "error", None, str(exc)
    if image is None:
        return "blank", None, BLANK_MESSAGE
    return "ok", image, ""


TTA_ANGLES = (-8.0, 8.0)


def tta_variants(image: np.ndarray) -> np.ndarray:
    """The image and slightly rotated copies: writers slant, and one slant the model misreads is rare."""
    base = Image.fromarray(image.astype(np.float32), mode="F")
    rotated = [np.asarray(base.rotate(a, resample=Image.Resampling.BILINEAR, center=(14, 14)), np.float32)
               for a in TTA_ANGLES]
    return np.stack([image, *rotated])


def classify(classifier: Classifier, images: np.ndarray, tta: bool = False) -> np.ndarray:
    """(N, 28, 28) → (N, 10); with `tta`, the mean over each image's rotated variants."""
    if not tta or len(images) == 0:
        return classifier.predict(images)
    variants = np.concatenate([tta_variants(img) for img in images])
    k = 1 + len(TTA_ANGLES)
    return classifier.predict(variants).reshape(len(images), k, 10).mean(axis=1)


def read_digits(classifier: Classifier, sources: Sequence[Source], workers: int = 2,
                tta: bool = False) -> list[Reading]:
    """Preprocess every image (in threads: Pillow releases the GIL), then one batched forward pass."""
    if len(sources) > 1 and workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            prepared = list(pool.map(_prepare, sources, chunksize=64))
    else:
        prepared = [_prepare(s) for s in sources]
    ok = [i for i, (status, _, _) in enumerate(prepared) if status == "ok"]
    batch = np.stack([prepared[i][1] for i in ok]) if ok else np.zeros((0, 28, 28), np.float32)
    seen = classifier.inputs(batch)  # what the first layer receives: deskewed when the model wants it
    probs = classify(classifier, batch, tta) if tta else classifier.forward(seen)
    readings = [Reading(status, message) for status, _, message in prepared]
    for row, i in enumerate(ok):
        p = probs[row]
        message = f"{int(p.argmax())} ({p.max():.0%})"
        if p.max() < UNSURE_BELOW:
            message = f"not sure: maybe {int(p.argmax())} ({p.max():.0%})"
        readings[i] = Reading("ok", message, seen[row].reshape(28, 28), p)
    return readings


def read_digit(classifier: Classifier, source: Source) -> Reading:
    return read_digits(classifier, [source], workers=1)[0]
