"""Corrected drawings for the whole server: the store behind the Right / Wrong buttons, `/correct` and the
Drawings tab, keeping to the limits of `mnist_core.drawings.policy`.

No Gradio here: every function takes plain values and returns one line for the page, so the handlers are
tested without a browser. The reading is computed again on the server from what was sent (never taken
from the caller), so a stored row says what the serving model really read.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mnist_core.config import MAX_DB_BYTES, MAX_DRAWING_BYTES, MAX_ROWS, PER_MINUTE
from mnist_core.drawings.policy import RateLimiter, as_label, room_left
from mnist_core.drawings.store import (
    PNG_SIGNATURE,
    Counts,
    DrawingError,
    DrawingStore,
    StoreError,
    StoreFull,
    database_bytes,
    default_path,
)
from mnist_core.errors import first_line
from mnist_core.imaging import strokes
from mnist_core.imaging.pictures import ImageError, image_to_mnist, load_image
from mnist_core.serving.holder import Served

PNG_SIDES = (1024, 768, 512, 384, 256, 128)  # an upload too big to keep as sent is kept as a PNG this size
NOTHING = "nothing to save: draw (or upload) one digit first"


@dataclass(frozen=True)
class Correction:
    """What saving one correction did; `message` is the line the page shows."""

    saved: bool
    message: str
    id: int | None = None
    label: int | None = None
    predicted: int | None = None
    total: int = 0
    of_label: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def saved_message(counts: Counts, label: int) -> str:
    total = counts.total
    return f"saved — {total:,} drawing{'s' * (total != 1)} collected ({counts.per_digit[label]:,} of {label})"


def model_version(served: Served) -> str:
    if served.path is None:
        return ""
    return "shipped" if served.shipped else served.path.stem


def stroke_source(value: Any) -> tuple[strokes.Drawing, np.ndarray]:
    """The pad's value → (its strokes, the 28×28 the model sees); DrawingError (one line) when unusable."""
    try:
        drawing = strokes.parse(value)
    except strokes.StrokeError as exc:
        raise DrawingError(str(exc)) from None
    image = strokes.drawing_to_mnist(drawing)
    if image is None:
        raise DrawingError(NOTHING)
    return drawing, image


def image_source(path: str, max_bytes: int = MAX_DRAWING_BYTES) -> tuple[bytes, np.ndarray]:
    """An uploaded file → (a PNG of it, the 28×28 the model sees). A PNG small enough is kept byte for byte;
    any other picture (a JPEG, a big photo) is kept as a PNG at most 1024 pixels a side."""
    try:
        picture = load_image(path)  # decoded once: the 28×28 and any re-encoded copy both come from it
        image = image_to_mnist(picture)
        if image is None:
            raise DrawingError(NOTHING)
        data = Path(path).read_bytes()
        if data.startswith(PNG_SIGNATURE) and len(data) <= max_bytes:
            return data, image
    except (ImageError, OSError) as exc:
        raise DrawingError(first_line(exc).replace(str(path), Path(path).name)) from None
    for side in PNG_SIDES:
        copy = picture.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        copy.save(buf, "PNG", optimize=True)
        if buf.tell() <= max_bytes:
            return buf.getvalue(), image
    raise DrawingError("the picture is too detailed to keep even at 128 pixels a side; crop it to the digit")


class Collector:
    """The server's drawings store, opened lazily and again after a failure; never raises into a page.

    `enabled` is False on a public demo started without --collect: nothing is kept, the page says so.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        enabled: bool = True,
        disabled_reason: str = "",
        per_minute: int = PER_MINUTE,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_DB_BYTES,
    ) -> None:
        self.path = Path(path).expanduser() if path else default_path()
        self.enabled, self.disabled_reason = enabled, disabled_reason
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.limiter = RateLimiter(per_minute)
        self.problem = ""  # why the store cannot be used right now ('' when it can)
        self._store: DrawingStore | None = None
        self._lock = threading.Lock()
        if enabled:
            self.try_store()

    def store(self) -> DrawingStore:
        """The open store; raises StoreError (one line) when disabled, corrupt or locked."""
        if not self.enabled:
            raise StoreError(self.disabled_reason or "corrected drawings are not kept on this server")
        with self._lock:
            if self._store is None:
                try:
                    self._store = DrawingStore(self.path, max_rows=self.max_rows)
                except StoreError as exc:
                    self.problem = str(exc)
                    raise
            self.problem = ""
            return self._store

    def try_store(self) -> DrawingStore | None:
        try:
            return self.store()
        except StoreError:
            return None

    def failed(self, exc: StoreError) -> str:
        """Remember a database failure for the banner (the next use opens the file afresh, so a corrupt file
        moved aside is replaced by a new one); the line for the page."""
        self.problem = str(exc)
        with self._lock:
            self._store = None
        return str(exc)

    def size(self) -> int:
        """Bytes the database takes on disk, its write-ahead log included."""
        return database_bytes(self.path)

    def warning(self) -> str:
        """The banner's line when collecting is on but the database cannot be used ('' when it can)."""
        return f"corrected drawings cannot be kept: {self.problem}" if self.enabled and self.problem else ""

    def where(self, sees_path: bool = False) -> str:
        """One line for the page: whether drawings you correct are kept, and where (the file only to a viewer
        who may see the server's paths: `mnist_ui.server.access.sees_paths`)."""
        if not self.enabled:
            reason = self.disabled_reason or "corrected drawings are not kept on this server"
            return f"{reason[0].upper()}{reason[1:]}."
        place = f"on this server in `{self.path}`" if sees_path else "on this server"
        return (
            f"Right or a digit keeps the drawing, what the model read and your label {place} "
            "(Drawings tab: see, export, delete)."
        )

    def counts(self) -> Counts | None:
        store = self.try_store()
        if store is None:
            return None
        try:
            return store.counts()
        except StoreError as exc:
            self.failed(exc)
            return None

    def correct(self, served: Served, label: Any, source: dict[str, Any], client: str) -> Correction:
        """Save one correction. `source` is {"strokes": pad value} or {"image": uploaded file path}; `label`
        None means "Right": the digit the serving model reads.

        Every refusal (collecting off, bad label, rate, nothing drawn, too big, database full, corrupt or
        locked) is a Correction with saved=False and one line naming the fix; nothing raises.
        """
        if not self.enabled:
            return Correction(False, f"not saved: {self.disabled_reason or 'collecting is off on this server'}")
        digit = None if label is None else as_label(label)
        if label is not None and digit is None:
            return Correction(False, f"not saved: the label must be a digit 0–9, got {str(label)[:20]!r}")
        if not self.limiter.allow(client or "anonymous"):
            return Correction(
                False, f"not saved: at most {self.limiter.per_minute} corrections a minute; wait a moment"
            )
        try:
            row_id, digit, predicted = self._add(served, digit, source)
            counts = self.store().counts()
        except DrawingError as exc:
            return Correction(False, str(exc) if str(exc) == NOTHING else f"not saved: {exc}")
        except StoreError as exc:
            return Correction(False, f"not saved: {self.failed(exc)}")
        return Correction(
            True, saved_message(counts, digit), row_id, digit, predicted, counts.total, counts.per_digit[digit]
        )

    def _add(self, served: Served, label: int | None, source: dict[str, Any]) -> tuple[int, int, int | None]:
        """(row id, label, what the model read); DrawingError or StoreError when it cannot be kept."""
        store = self.store()
        if full := room_left(self.size(), self.max_bytes):
            raise StoreFull(full)
        kept: dict[str, Any] = {}
        if source.get("strokes") is not None:
            kept["strokes"], image = stroke_source(source["strokes"])
        elif source.get("image"):
            kept["png"], image = image_source(str(source["image"]), store.max_drawing_bytes)
        else:
            raise DrawingError(NOTHING)
        predicted, probs = None, None
        if served.classifier is not None:
            probs = served.classifier.predict(image[None])[0]
            predicted = int(probs.argmax())
        label = predicted if label is None else label
        if label is None:
            raise DrawingError("no model is loaded to say what it read; press the right digit instead")
        version = model_version(served)
        row_id = store.add(label, image, predicted=predicted, probabilities=probs, model_version=version, **kept)
        return row_id, label, predicted
