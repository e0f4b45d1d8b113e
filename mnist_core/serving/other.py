"""The other network: the shipped model of the architecture that is not serving, read beside the served one when
a page or a script asks (the Draw tab's second line, the API's `compare=True`), so a learner sees where the
notebook's dense network and the convolutional one differ on their own drawing.

Loaded on first use and kept (NumPy arrays: 1.3 MB for the convolutional network, 23 MB for the dense one);
a shipped file that is missing or unusable means no second reading, said once on stderr, never a failure.
When both networks take their inputs alike (both deskew, or neither), the second reads the 28×28s the first
saw: one more forward pass (`python -m bench.latency`), not a second drawing of the strokes (2–3 ms).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np

from mnist_core.config import SHIPPED_BY_ARCHITECTURE
from mnist_core.imaging.strokes import Drawing
from mnist_core.model.files import ModelError, load_classifier, read_metadata
from mnist_core.model.forward import Classifier
from mnist_core.serving.holder import Served
from mnist_core.serving.readings import Reading, Source, read_digits, read_drawings, read_seen


def other_architecture(architecture: str) -> str:
    return "cnn" if architecture == "dense" else "dense"


class OtherNetwork:
    """The shipped models, each loaded once, handed out as the other network of whatever serves."""

    def __init__(self, shipped: dict[str, Path] | None = None) -> None:
        self.shipped = dict(shipped or SHIPPED_BY_ARCHITECTURE)
        self._loaded: dict[str, Served | None] = {}
        self._lock = threading.Lock()

    def beside(self, served: Served) -> Served | None:
        """The shipped model of the architecture `served` is not; None when nothing serves or it cannot load."""
        if served.classifier is None:
            return None
        return self.shipped_model(other_architecture(served.classifier.architecture))

    def add_to(self, served: Served, readings: Sequence[Reading], drawings: Sequence[Drawing]) -> list[Reading]:
        """`readings` of `drawings` (by `served` or a personal model of it), each one that read a digit with the
        other network's reading of the same drawing as `other_network`."""
        return self._add(served, readings, lambda other, rows: read_drawings(other, [drawings[i] for i in rows]))

    def add_to_images(self, served: Served, readings: Sequence[Reading], sources: Sequence[Source]) -> list[Reading]:
        """The same for pictures (`readings.read_digits`)."""
        return self._add(served, readings, lambda other, rows: read_digits(other, [sources[i] for i in rows], 1))

    def _add(
        self, served: Served, readings: Sequence[Reading], read: Callable[[Classifier, list[int]], list[Reading]]
    ) -> list[Reading]:
        other = self.beside(served)
        rows = [i for i, r in enumerate(readings) if r.status == "ok" and r.image is not None]
        out = list(readings)
        if other is None or other.classifier is None or served.classifier is None or not rows:
            return out
        if other.classifier.deskew == served.classifier.deskew:  # it takes what the first network saw
            theirs = read_seen(other.classifier, np.stack([cast(np.ndarray, readings[i].image) for i in rows]))
        else:
            theirs = read(other.classifier, rows)
        for i, reading in zip(rows, theirs, strict=True):
            out[i] = replace(out[i], other_network=reading if reading.status == "ok" else None)
        return out

    def shipped_model(self, architecture: str) -> Served | None:
        with self._lock:
            if architecture not in self._loaded:
                self._loaded[architecture] = self._load(self.shipped[architecture])
            return self._loaded[architecture]

    @staticmethod
    def _load(path: Path) -> Served | None:
        try:
            return Served(path, load_classifier(path), read_metadata(path))
        except ModelError as exc:
            print(f"warning: no second network to compare with ({exc})", file=sys.stderr)
            return None
