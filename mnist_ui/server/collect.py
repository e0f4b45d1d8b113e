"""Corrected drawings for the whole server: the store behind the Right / Wrong buttons, `/correct` and the
Drawings tab, keeping to the limits of `mnist_ui.server.limits` (per visitor, for everyone, the byte cap).

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

from mnist_core.config import MAX_DB_BYTES, MAX_DRAWING_BYTES, MAX_ROWS, shipped_name
from mnist_core.drawings.engine import Location, locate, shown
from mnist_core.drawings.policy import as_label
from mnist_core.drawings.store import (
    PNG_SIGNATURE,
    Counts,
    DrawingError,
    DrawingStore,
    StoreError,
    StoreFull,
)
from mnist_core.errors import first_line
from mnist_core.imaging import strokes
from mnist_core.imaging.pictures import ImageError, image_to_mnist, load_image
from mnist_core.serving.holder import Served
from mnist_ui.server.limits import CORRECTIONS, Budget, Gate
from mnist_ui.text.words import say

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
    relabelled: bool = False  # the drawing was kept already: its label changed, no row was added

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


LEARNS = "the shared model learns from it when it is fine-tuned"


def a_digit(label: int) -> str:
    """ "a 7", "an 8": how a sentence names a digit."""
    return f"{'an' if label == 8 else 'a'} {label}"


def saved_message(counts: Counts, label: int, relabelled: bool) -> str:
    """What keeping a correction did, in words: "kept as a 7 — the shared model learns from it … (37 collected)"."""
    what = f"changed to {a_digit(label)}" if relabelled else f"kept as {a_digit(label)}"
    return f"{what} — {LEARNS} ({counts.total:,} drawing{'s' * (counts.total != 1)} collected)"


def model_version(served: Served) -> str:
    if served.path is None:
        return ""
    return shipped_name(served.path) or served.path.stem


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
        budget: Budget = CORRECTIONS,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_DB_BYTES,
    ) -> None:
        self.path: Location = locate(path)  # a SQLite file or a postgresql:// URL
        self.enabled, self.disabled_reason = enabled, disabled_reason
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.budget, self.gate = budget, Gate(self.path, max_bytes)
        self.problem = ""  # why the store cannot be used right now ('' when it can)
        self._store: DrawingStore | None = None
        self._lock = threading.Lock()
        self._keeping = threading.Lock()  # one correction at a time finds or adds its drawing's row
        if enabled:
            self.try_store()

    def store(self) -> DrawingStore:
        """The open store; raises StoreError (one line) when disabled, corrupt or locked."""
        if not self.enabled:
            raise StoreError(self.disabled_reason or "corrected drawings are not kept on this server")
        with self._lock:
            if self._store is None:
                try:
                    self._store = DrawingStore(self.path, max_rows=self.max_rows, max_bytes=self.max_bytes)
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

    def warning(self) -> str:
        """The banner's line when collecting is on but the database cannot be used ('' when it can)."""
        return f"corrected drawings cannot be kept: {self.problem}" if self.enabled and self.problem else ""

    def where(self, sees_path: bool = False, lang: str | None = None) -> str:
        """One line for the page: whether drawings you correct are kept, and where (the file only to a viewer
        who may see the server's paths: `mnist_ui.server.access.sees_paths`)."""
        if not self.enabled:
            reason = self.disabled_reason or say(lang, "correct.not_kept")
            return f"{reason[0].upper()}{reason[1:]}."
        place = say(lang, "correct.place_file", path=shown(self.path)) if sees_path else say(lang, "correct.place")
        return say(lang, "correct.where", place=place)

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
        try:
            if refused := self.gate.refusal(self.budget, client):
                return Correction(False, f"not saved: {refused}")
            row_id, digit, predicted, again = self._keep(served, digit, source)
            counts = self.store().counts()
        except DrawingError as exc:
            return Correction(False, str(exc) if str(exc) == NOTHING else f"not saved: {exc}")
        except StoreFull as exc:
            return Correction(False, f"not saved: {exc}")
        except StoreError as exc:
            return Correction(False, f"not saved: {self.failed(exc)}")
        message = saved_message(counts, digit, again)
        return Correction(True, message, row_id, digit, predicted, counts.total, counts.per_digit[digit], again)

    def undo(self, source: dict[str, Any], client: str) -> Correction:
        """Forget the row that keeps this very drawing; `saved` False either way, `id` the row removed (if any)."""
        if not self.enabled:
            return Correction(False, "nothing to undo: corrections are not kept on this server")
        try:
            if refused := self.gate.refusal(self.budget, client):
                return Correction(False, f"not undone: {refused}")
            store = self.store()
            row_id = store.kept_as(**self._drawing(source, store)[0])
            gone = row_id is not None and store.delete(row_id)
        except DrawingError as exc:
            return Correction(False, f"nothing to undo: {exc}")
        except StoreError as exc:
            return Correction(False, f"not undone: {self.failed(exc)}")
        if not gone:
            return Correction(False, "nothing to undo: this drawing is not kept")
        return Correction(False, "undone — this drawing is no longer kept", row_id)

    @staticmethod
    def _drawing(source: dict[str, Any], store: DrawingStore) -> tuple[dict[str, Any], np.ndarray]:
        """{"strokes": …} or {"png": …} as the store keeps it, and the 28×28 the model sees; DrawingError if none."""
        if source.get("strokes") is not None:
            drawing, image = stroke_source(source["strokes"])
            return {"strokes": drawing}, image
        if source.get("image"):
            png, image = image_source(str(source["image"]), store.max_drawing_bytes)
            return {"png": png}, image
        raise DrawingError(NOTHING)

    def _keep(self, served: Served, label: int | None, source: dict[str, Any]) -> tuple[int, int, int | None, bool]:
        """(row id, label, what the model read, whether the drawing was kept already and only relabelled);
        DrawingError or StoreError when it cannot be kept."""
        store = self.store()
        kept, image = self._drawing(source, store)
        predicted, probs = None, None
        if served.classifier is not None:
            probs = served.classifier.predict(image[None])[0]
            predicted = int(probs.argmax())
        label = predicted if label is None else label
        if label is None:
            raise DrawingError("no model is loaded to say what it read; press the right digit instead")
        with self._keeping:  # a double click: the second finds the first's row, never adds its own
            found = store.kept_as(**kept)
            row = store.get(found) if found is not None else None
            if row is not None and store.relabel(row.id, label):
                return row.id, label, predicted, row.label != label
            version = model_version(served)
            row_id = store.add(label, image, predicted=predicted, probabilities=probs, model_version=version, **kept)
        return row_id, label, predicted, False
