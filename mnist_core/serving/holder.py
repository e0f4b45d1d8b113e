"""The model the web demo serves right now: one lock-protected reference, swapped whole.

Requests read `holder.current` once and use that snapshot to the end, so a swap in the middle of a
prediction never mixes two models. Servers that share a models folder follow its served-model choice, so a
switch on any of them serves everywhere. NumPy only: no TensorFlow on the serving path.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_core.config import POINTER_POLL_S, SHIPPED_MODEL, is_shipped, shipped_name
from mnist_core.data.mnist import DataError
from mnist_core.imaging.strokes import Drawing
from mnist_core.model.files import ModelError, load_classifier, read_metadata
from mnist_core.model.forward import Classifier
from mnist_core.model.versions import pointer_stamp, serving_path, set_serving
from mnist_core.serving.readings import Reading, read_digits, read_drawings


@dataclass(frozen=True)
class Served:
    """One loaded model with what the UI says about it; `classifier` is None when nothing could be loaded."""

    path: Path | None
    classifier: Classifier | None
    metadata: dict[str, Any] = field(default_factory=dict)
    warning: str = ""

    @property
    def shipped(self) -> bool:
        return self.path is not None and is_shipped(self.path)

    @property
    def label(self) -> str:
        if self.path is None:
            return "no model"
        return shipped_label(self.path) or f"trained version {self.path.stem}"

    @property
    def test_accuracy(self) -> float | None:
        value = self.metadata.get("metrics", {}).get("test_accuracy")
        return float(value) if value is not None else None


def shipped_label(path: Path) -> str:
    """What a person reads for a shipped model ("shipped model", "shipped convolutional model"); '' for others."""
    return {"shipped": "shipped model", "shipped-cnn": "shipped convolutional model"}.get(shipped_name(path) or "", "")


def load_served(path: Path) -> Served:
    """Raise ModelError (one line) when the file is missing or unusable."""
    path = Path(path)
    return Served(path, load_classifier(path), read_metadata(path))


def open_initial(requested: Path | None, fallback: Path | None = None) -> Served:
    """The requested model, else the shipped one, else an empty holder that explains itself.

    A bad `--model` must not stop the demo: it falls back and carries a warning for the page and stderr.
    """
    fallback = fallback or SHIPPED_MODEL
    problems: list[str] = []
    for candidate in ([Path(requested)] if requested else []) + [Path(fallback)]:
        try:
            served = load_served(candidate)
        except ModelError as exc:
            problems.append(str(exc))
            continue
        if problems:
            return Served(
                served.path, served.classifier, served.metadata, f"{problems[0]} — serving the {served.label} instead"
            )
        return served
    return Served(None, None, {}, f"{'; '.join(problems)} — no model is loaded, so nothing can be read")


class ModelHolder:
    """The serving reference; `swap` is atomic and loading happens before the lock is taken."""

    def __init__(self, served: Served) -> None:
        self._lock = threading.Lock()
        self._switching = threading.Lock()  # one switch at a time: this server's own, or one made elsewhere
        self._served = served
        self._reports: dict[tuple[str, float], dict[str, Any]] = {}
        self._report_lock = threading.Lock()

    @property
    def current(self) -> Served:
        with self._lock:
            return self._served

    def swap(self, served: Served) -> Served:
        with self._lock:
            old, self._served = self._served, served
        return old

    def switch_to(self, path: Path, remember: bool = True) -> Served:
        """Load first (slow, may fail), then swap; `remember` writes the choice for the next start."""
        with self._switching:
            served = load_served(path)
            if remember:
                set_serving(Path(path))
            self.swap(served)
        return served

    def follow(self, folder: Path | None = None, every_s: float = POINTER_POLL_S) -> threading.Event:
        """Serve whatever the served-model choice in `folder` (default: models_dir()) names each time any process
        changes it, checked with one stat every `every_s` in a thread of its own; set the event to stop.

        Before the first change the model the server started with keeps serving (a --model stays in force)."""
        stop = threading.Event()
        seen = pointer_stamp(folder)

        def watch() -> None:
            nonlocal seen
            while not stop.wait(every_s):
                stamp = pointer_stamp(folder)
                if stamp != seen:
                    seen = stamp
                    self._adopt(folder)

        threading.Thread(target=watch, name="serving-choice", daemon=True).start()
        return stop

    def _adopt(self, folder: Path | None) -> None:
        """Serve what the choice names now, unless it serves already; a file that cannot be served leaves the current
        model, said once. The choice is read under the switch lock: read before it, a switch made meanwhile on
        this server would be undone by the older choice."""
        with self._switching:
            path = serving_path(folder)
            current = self.current.path
            if current is not None and current.resolve() == path.resolve():
                return
            try:
                self.swap(load_served(path))
            except (ModelError, OSError) as exc:
                print(
                    f"warning: the chosen model cannot be served ({exc}); still serving the {self.current.label}",
                    file=sys.stderr,
                )

    def read_many(self, sources: list[Any]) -> list[Reading]:
        """Never raises: bad images or a missing model become Readings with a message. One forward pass
        for all, which concurrent API calls share when Gradio batches them."""
        served = self.current
        if served.classifier is None:
            return [Reading("error", served.warning or "no model is loaded") for _ in sources]
        return read_digits(served.classifier, sources, workers=1)

    def read_drawings(self, drawings: list[Drawing]) -> list[Reading]:
        """Pad strokes → readings, like `read_many`; never raises."""
        served = self.current
        if served.classifier is None:
            return [Reading("error", served.warning or "no model is loaded") for _ in drawings]
        return read_drawings(served.classifier, drawings)

    def report(self, served: Served | None = None, data_path: str | None = None) -> dict[str, Any]:
        """The test report of a model, computed once per file and kept in memory after that.

        Raises DataError when there is no cached report and no data to compute one.
        """
        from mnist_core.model.reports import cached_report

        served = served or self.current
        if served.path is None or served.classifier is None:
            raise DataError("no model is loaded, so there is nothing to evaluate")
        key = (str(served.path.resolve()), served.path.stat().st_mtime)
        with self._report_lock:
            if key not in self._reports:
                self._reports[key] = cached_report(served.path, served.classifier, data_path, write=not served.shipped)
            return self._reports[key]
