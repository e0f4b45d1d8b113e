"""The other network: the shipped model of the architecture that is not serving, read beside the served one when
a page or a script asks (the Draw tab's second line, the API's `compare=True`), so a learner sees where the
notebook's dense network and the convolutional one differ on their own drawing.

Loaded on first use and kept (NumPy arrays: 1.3 MB for the convolutional network, 23 MB for the dense one);
a shipped file that is missing or unusable means no second reading, said once on stderr, never a failure.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from mnist_core.config import SHIPPED_BY_ARCHITECTURE
from mnist_core.model.files import ModelError, load_classifier, read_metadata
from mnist_core.model.forward import Classifier
from mnist_core.serving.holder import Served


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

    def classifier(self, served: Served) -> Classifier | None:
        other = self.beside(served)
        return other.classifier if other is not None else None

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
