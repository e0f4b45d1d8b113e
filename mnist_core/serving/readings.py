"""Images in, readings out: the one path the CLI `predict` and the web demo share."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from PIL import Image

from mnist_core.imaging import strokes
from mnist_core.imaging.pictures import ImageError, Steps, image_to_mnist
from mnist_core.imaging.strokes import Drawing
from mnist_core.model.forward import UNSURE_BELOW, Classifier

Source = str | os.PathLike | bytes | Image.Image | np.ndarray
Status = Literal["ok", "blank", "error"]  # "blank": nothing to read; "error": not an image, or no model


@dataclass(frozen=True)
class Reading:
    status: Status
    message: str
    image: np.ndarray | None = None  # the 28×28 the model saw
    probabilities: np.ndarray | None = None
    steps: Steps | None = None  # a drawing's pictures on the way to `image` (kept, not made, by the reading)

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
        return {
            **extra,
            "digit": self.digit,
            "probabilities": [round(float(p), 6) for p in probs],
            "confidence": round(self.confidence, 6),
            "unsure": self.unsure,
            "status": self.status,
            "message": self.message,
        }


BLANK_MESSAGE = "nothing to read: draw one digit"
Prepared = tuple[Status, "np.ndarray | Steps | None", str]  # status, the 28×28 or its steps (when "ok"), message


def _prepare(source: Source) -> Prepared:
    try:
        image = image_to_mnist(source)
    except ImageError as exc:
        return "error", None, str(exc)
    return ("blank", None, BLANK_MESSAGE) if image is None else ("ok", image, "")


def _prepare_drawing(drawing: Drawing) -> Prepared:
    steps = strokes.drawing_steps(drawing)
    return ("blank", None, BLANK_MESSAGE) if steps is None else ("ok", steps, "")


def read_digits(classifier: Classifier, sources: Sequence[Source], workers: int = 2) -> list[Reading]:
    """Preprocess every image (in threads: Pillow releases the GIL), then one batched forward pass."""
    if len(sources) > 1 and workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            prepared = list(pool.map(_prepare, sources, chunksize=64))
    else:
        prepared = [_prepare(s) for s in sources]
    return _read(classifier, prepared)


def read_drawings(classifier: Classifier, drawings: Sequence[Drawing]) -> list[Reading]:
    """Pad strokes drawn by the one stroke renderer (as UNIPEN is drawn for training), then one forward pass."""
    return _read(classifier, [_prepare_drawing(d) for d in drawings])


def _read(classifier: Classifier, prepared: list[Prepared]) -> list[Reading]:
    ok = [i for i, (status, _, _) in enumerate(prepared) if status == "ok"]
    made = {i: prepared[i][1] for i in ok}
    steps = {i: found for i, found in made.items() if isinstance(found, Steps)}
    images = [found.centred if isinstance(found, Steps) else cast(np.ndarray, found) for found in made.values()]
    batch = np.stack(images) if ok else np.zeros((0, 28, 28), np.float32)
    seen = classifier.inputs(batch)  # what the first layer receives: deskewed when the model wants it
    probs = classifier.forward(seen)
    readings = [Reading(status, message) for status, _, message in prepared]
    for row, i in enumerate(ok):
        p = probs[row]
        message = f"{int(p.argmax())} ({p.max():.0%})"
        if p.max() < UNSURE_BELOW:
            message = f"not sure: maybe {int(p.argmax())} ({p.max():.0%})"
        readings[i] = Reading("ok", message, seen[row].reshape(28, 28), p, steps.get(i))
    return readings
