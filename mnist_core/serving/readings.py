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
from mnist_core.model.forward import Classifier
from mnist_core.serving.nondigit import UNSURE, UNSURE_BELOW, doubts

Source = str | os.PathLike | bytes | Image.Image | np.ndarray
Status = Literal["ok", "blank", "error"]  # "blank": nothing to read; "error": not an image, or no model


@dataclass(frozen=True)
class Reading:
    status: Status
    message: str
    image: np.ndarray | None = None  # the 28×28 the model saw
    probabilities: np.ndarray | None = None
    network: str = ""  # the architecture that read it ("dense", "cnn"), when it was read
    other_network: Reading | None = None  # the other network's reading of the same drawing, when asked
    doubt: str = ""  # "" a digit; UNSURE a digit, maybe; else why it is not a digit (nondigit.doubts)
    steps: Steps | None = None  # a drawing's pictures on the way to `image` (kept, not made, by the reading)

    @property
    def digit(self) -> int | None:
        return None if self.probabilities is None else int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(self.probabilities.max())

    @property
    def unsure(self) -> bool:
        return self.probabilities is not None and bool(self.doubt)

    @property
    def not_digit(self) -> bool:
        return self.probabilities is not None and self.doubt not in ("", UNSURE)

    def to_json(self, **extra: Any) -> dict[str, Any]:
        """What the API answers; the other network's digit and confidence only when it was asked for."""
        probs = self.probabilities if self.probabilities is not None else np.zeros(10)
        answer = {
            **extra,
            "digit": self.digit,
            "probabilities": [round(float(p), 6) for p in probs],
            "confidence": round(self.confidence, 6),
            "unsure": self.unsure,
            "not_digit": self.not_digit,
            "status": self.status,
            "message": self.message,
        }
        if self.other_network is not None:
            other = self.other_network
            answer["other_network"] = {
                "network": other.network,
                "digit": other.digit,
                "confidence": round(other.confidence, 6),
                "unsure": other.unsure,
            }
        return answer


BLANK_MESSAGE = "nothing to read: draw one digit"
BLANK_PICTURE = "nothing to read in this picture: send a picture of one digit, dark on light or light on dark"
Prepared = tuple[Status, "np.ndarray | Steps | None", str]  # status, the 28×28 or its steps (when "ok"), message


def _prepare(source: Source) -> Prepared:
    try:
        image = image_to_mnist(source)
    except ImageError as exc:
        return "error", None, str(exc)
    return ("blank", None, BLANK_PICTURE) if image is None else ("ok", image, "")


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
    return _read(classifier, [_prepare_drawing(d) for d in drawings], drawings)


def _read(classifier: Classifier, prepared: list[Prepared], drawings: Sequence[Drawing] = ()) -> list[Reading]:
    """One forward pass for every prepared image; each reading judged on its ink (and strokes, when it had them)."""
    ok = [i for i, (status, _, _) in enumerate(prepared) if status == "ok"]
    made = {i: prepared[i][1] for i in ok}
    steps = {i: found for i, found in made.items() if isinstance(found, Steps)}
    images = [found.centred if isinstance(found, Steps) else cast(np.ndarray, found) for found in made.values()]
    batch = np.stack(images) if ok else np.zeros((0, 28, 28), np.float32)
    readings = [Reading(status, message) for status, _, message in prepared]
    seen = classifier.inputs(batch)  # what the first layer receives: deskewed when the model wants it
    probs = classifier.forward(seen)
    strokes = [drawings[i] for i in ok] if drawings else []
    for row, (i, doubt) in enumerate(zip(ok, doubts(batch, probs, strokes), strict=True)):
        image, p = seen[row].reshape(28, 28), probs[row]
        readings[i] = Reading("ok", said(p, doubt), image, p, classifier.architecture, doubt=doubt, steps=steps.get(i))
    return readings


def read_seen(classifier: Classifier, seen: np.ndarray) -> list[Reading]:
    """(N, 784) or (N, 28, 28) images as `classifier.inputs` makes them (deskewed when it wants them) → readings,
    doubted on the network's confidence alone (whether the ink is a digit is the served reading's to say)."""
    seen = np.asarray(seen, np.float32).reshape(len(seen), 28 * 28)
    readings = []
    for image, p in zip(seen, classifier.forward(seen), strict=True):
        doubt = UNSURE if p.max() < UNSURE_BELOW else ""
        readings.append(Reading("ok", said(p, doubt), image.reshape(28, 28), p, classifier.architecture, doubt=doubt))
    return readings


def said(p: np.ndarray, doubt: str) -> str:
    """The reading in one line: '7 (96%)', 'not sure: maybe 7 (38%)' or 'not a digit (a line)'."""
    if doubt == UNSURE:
        return f"not sure: maybe {int(p.argmax())} ({p.max():.0%})"
    return f"not a digit ({doubt})" if doubt else f"{int(p.argmax())} ({p.max():.0%})"
