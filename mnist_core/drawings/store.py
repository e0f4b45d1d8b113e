"""Drawings people corrected, kept to teach the model: a small SQLite store, safe from many threads.

Each row is one drawing with the label its author gave, what the model said, the drawing as sent
(the pad's strokes, or an uploaded PNG) and the 28×28 the model saw (before any deskew: MNIST's own
format). A fifth of the rows are held out from fine-tuning to measure it; which ones is decided from
the drawing's content when it is stored, so the split never changes and a drawing sent twice lands
on the same side. NumPy/Pillow and the database driver only: the demo imports this without TensorFlow.

The rows live in the drawings database, a SQLite file or a PostgreSQL server (`mnist_core.drawings.database`:
one interface, two engines). Every database problem (corrupt file, locked by another program, a server that
is down, full disk) is one `StoreError` with a one-line message; a refused drawing is a `DrawingError`. The
demo shows either and keeps predicting. The byte cap (`used_bytes`: the data, not the file's high-water mark)
is checked inside every adding transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from mnist_core.config import MAX_DB_BYTES, MAX_DRAWING_BYTES, MAX_PNG_SIDE, MAX_ROWS
from mnist_core.data.renderings import Variation, render_digits
from mnist_core.data.unipen import PenDigit
from mnist_core.drawings.database import Database, Migration, StoreFull
from mnist_core.drawings.database import StoreBusy as StoreBusy  # re-exported: where callers have found them
from mnist_core.drawings.database import StoreError as StoreError
from mnist_core.drawings.engine import Connection
from mnist_core.drawings.policy import as_label, room_left
from mnist_core.drawings.sqlite import database_bytes as database_bytes
from mnist_core.imaging.strokes import Drawing, StrokeError, parse

HOLDOUT_FRACTION = 0.2
KINDS = ("strokes", "image")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CSV_COLUMNS = ("id", "label", "predicted", "kind", "created", "model_version", "probabilities")
REDRAW = Variation()  # how training redraws stroke rows: pens.Variation's day-to-day spread
DIRECT_ROWS = 16  # up to this many rows go in without staging (a temporary table per correction costs more)
ROW_OVERHEAD = 64  # bytes a stored row takes beyond its drawing, its 28×28 and its text, roughly


class DrawingError(ValueError):
    """A drawing, label or import file we refuse; one line that says what is wrong."""


def _schema_v1(conn: Connection) -> None:
    conn.ddl("""
        CREATE TABLE drawings (
            id {id},
            created TEXT NOT NULL,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            predicted INTEGER CHECK (predicted BETWEEN 0 AND 9),
            probabilities TEXT,
            model_version TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL CHECK (kind IN ('strokes', 'image')),
            drawing {blob} NOT NULL,
            image {blob} NOT NULL CHECK (length(image) = 784),
            holdout INTEGER NOT NULL CHECK (holdout IN (0, 1)),
            digest TEXT NOT NULL
        )""")
    conn.ddl("CREATE INDEX drawings_label ON drawings (label)")
    conn.ddl("CREATE INDEX drawings_digest ON drawings (digest)")


# Index i brings a database from schema version i to i + 1; append, never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (_schema_v1,)


def digest(drawing: bytes) -> str:
    return hashlib.sha256(b"mnist-drawings-v1:" + drawing).hexdigest()


def is_holdout(content_digest: str) -> bool:
    """The seeded split: the digest's first 64 bits as a fraction of 2**64, under 0.2 → held out."""
    return int(content_digest[:16], 16) / 2**64 < HOLDOUT_FRACTION


@dataclass(frozen=True)
class Counts:
    per_digit: tuple[int, ...]  # rows labelled 0…9
    total: int
    wrong: int  # rows where the model's digit was not the label
    holdout: int


@dataclass(frozen=True, eq=False)  # holds an array: compare ids, not rows
class Row:
    id: int
    created: str
    label: int
    predicted: int | None
    probabilities: tuple[float, ...] | None
    model_version: str
    kind: str  # "strokes" (drawing = the pad's JSON) or "image" (drawing = PNG bytes)
    drawing: bytes
    image: np.ndarray  # (28, 28) uint8, white digit on black: what the model saw
    holdout: bool

    @property
    def wrong(self) -> bool:
        return self.predicted is not None and self.predicted != self.label

    def strokes(self) -> Drawing | None:
        return parse(self.drawing) if self.kind == "strokes" else None


_ROW_COLUMNS = "id, created, label, predicted, probabilities, model_version, kind, drawing, image, holdout"
_INSERT_COLUMNS = "created, label, predicted, probabilities, model_version, kind, drawing, image, holdout, digest"


def _row(record: tuple) -> Row:
    rid, created, label, predicted, probs, version, kind, drawing, image, holdout = record
    return Row(
        rid,
        created,
        label,
        predicted,
        tuple(json.loads(probs)) if probs else None,
        version,
        kind,
        bytes(drawing),
        np.frombuffer(image, np.uint8).reshape(28, 28).copy(),
        bool(holdout),
    )


@dataclass(frozen=True)
class Entry:
    """A checked row, ready to insert."""

    label: int
    predicted: int | None
    probabilities: str | None
    model_version: str
    kind: str
    drawing: bytes
    image: bytes
    created: str

    @property
    def size(self) -> int:
        """Bytes this row adds to the store, roughly: what the byte cap counts before it is written."""
        text = len(self.probabilities or "") + len(self.model_version) + len(self.created)
        return len(self.drawing) + len(self.image) + text + ROW_OVERHEAD

    def values(self) -> tuple:
        key = digest(self.drawing)
        return (
            self.created,
            self.label,
            self.predicted,
            self.probabilities,
            self.model_version,
            self.kind,
            self.drawing,
            self.image,
            int(is_holdout(key)),
            key,
        )


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def checked_digit(value: Any, name: str) -> int:
    digit = as_label(value)
    if digit is None:
        raise DrawingError(f"{name} must be a digit 0–9, got {value!r:.40}")
    return digit


def _image_bytes(image: np.ndarray) -> bytes:
    """The 28×28 as 784 bytes: uint8 as is, floats in [0, 1] scaled like MNIST (×255, rounded)."""
    arr = np.asarray(image)
    if arr.shape != (28, 28):
        raise DrawingError(f"the model's image must be 28×28, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise DrawingError("a float 28×28 image must hold values in [0, 1]")
        arr = np.round(arr.astype(np.float64) * 255).astype(np.uint8)
    return arr.tobytes()


def probabilities_json(values: Sequence[float] | np.ndarray | None) -> str | None:
    if values is None:
        return None
    probs = [float(v) for v in values]
    if len(probs) != 10 or not all(math.isfinite(p) and 0 <= p <= 1 for p in probs):
        raise DrawingError("probabilities must be 10 numbers in [0, 1]")
    return json.dumps([round(p, 6) for p in probs])


def read_png(data: bytes, name: str) -> Image.Image:
    """Decode a PNG, measuring it before decoding: a 256 KB file can still unpack to gigabytes."""
    if not data.startswith(PNG_SIGNATURE):
        raise DrawingError(f"{name} is not a PNG")
    try:
        img = Image.open(io.BytesIO(data))
        too_big = max(img.size) > MAX_PNG_SIDE
        if not too_big:
            img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DrawingError(f"{name} is not a readable PNG") from None
    if too_big:
        raise DrawingError(f"{name} is {img.size[0]}×{img.size[1]} pixels, at most {MAX_PNG_SIDE} a side")
    return img


def check_png(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise DrawingError(f"the image is too large ({len(data):,} bytes, at most {max_bytes:,})")
    read_png(data, "the image")
    return data


def strokes_bytes(strokes: Drawing | dict | str | bytes, max_bytes: int) -> bytes:
    """The pad's JSON, checked and written the one canonical way (the holdout digest depends on it)."""
    try:
        drawing = strokes if isinstance(strokes, Drawing) else parse(strokes)
    except StrokeError as exc:
        raise DrawingError(str(exc)) from None
    if drawing.empty:
        raise DrawingError("the drawing has no strokes")
    payload = drawing.to_json()  # float32 points: round again as float64 so 222.3 is not 222.3000030517578
    payload["strokes"] = [[[round(x, 1), round(y, 1)] for x, y in stroke] for stroke in payload["strokes"]]
    data = json.dumps(payload, separators=(",", ":")).encode()
    if len(data) > max_bytes:
        raise DrawingError(f"the strokes are too large ({len(data):,} bytes, at most {max_bytes:,})")
    return data


class DrawingStore(Database):
    """The collected drawings, each checked on the way in; `rows` and friends read them back."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        max_rows: int = MAX_ROWS,
        max_drawing_bytes: int = MAX_DRAWING_BYTES,
        busy_timeout_s: float = 5.0,
        migrations: Sequence[Migration] = MIGRATIONS,
        max_bytes: int = MAX_DB_BYTES,
    ) -> None:
        self.max_rows, self.max_drawing_bytes = max_rows, max_drawing_bytes
        super().__init__(path, busy_timeout_s, migrations, max_bytes)

    def add(
        self,
        label: int,
        image: np.ndarray,
        *,
        strokes: Drawing | dict | str | bytes | None = None,
        png: bytes | None = None,
        predicted: int | None = None,
        probabilities: Sequence[float] | np.ndarray | None = None,
        model_version: str = "",
    ) -> int:
        """Store one corrected drawing: exactly one of `strokes` (the pad's JSON) or `png`; returns its id."""
        if (strokes is None) == (png is None):
            raise DrawingError("send the drawing as strokes or as a PNG image, not both or neither")
        kind = "strokes" if strokes is not None else "image"
        drawing = (
            strokes_bytes(strokes, self.max_drawing_bytes)
            if strokes is not None
            else check_png(bytes(png or b""), self.max_drawing_bytes)
        )
        entry = Entry(
            checked_digit(label, "label"),
            None if predicted is None else checked_digit(predicted, "predicted"),
            probabilities_json(probabilities),
            str(model_version)[:200],
            kind,
            drawing,
            _image_bytes(image),
            now_iso(),
        )
        return self.insert([entry])[0]

    def insert(self, entries: Iterable[Entry]) -> list[int]:
        """Checked entries in one transaction: all of them, or (StoreFull, StoreError) none.

        A few (a correction) go straight in. More are staged one at a time in a temporary table on disk, so an
        import of thousands of rows holds one row in memory and the write lock only for the final copy. Either
        way the writing transaction checks the row and byte caps against what is there by then (another
        replica may have added meanwhile).
        """
        if isinstance(entries, Sequence) and len(entries) <= DIRECT_ROWS:
            with self._write() as conn:
                self._check_room(conn, len(entries), sum(entry.size for entry in entries))
                sql = f"INSERT INTO drawings ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * 10)}) RETURNING id"
                return [conn.execute(sql, entry.values()).fetchone()[0] for entry in entries]
        with self._connect() as conn:
            conn.execute(f"CREATE TEMP TABLE staged AS SELECT id AS n, {_INSERT_COLUMNS} FROM drawings WHERE 1 = 0")
            room = self.max_bytes - self.engine.used_bytes(conn)  # an import that cannot fit stops here, not after
            conn.execute("BEGIN")  # the temporary table only: no lock on the store yet
            count = size = 0
            for entry in entries:
                conn.execute(f"INSERT INTO staged VALUES ({', '.join('?' * 11)})", (count, *entry.values()))
                count, size = count + 1, size + entry.size
                if size > room:
                    conn.execute("ROLLBACK")
                    raise StoreFull(room_left(self.max_bytes - room + size, self.max_bytes))
            conn.execute("COMMIT")
            with self._write(conn):
                self._check_room(conn, count, size)
                found = conn.execute(
                    f"INSERT INTO drawings ({_INSERT_COLUMNS}) SELECT {_INSERT_COLUMNS} FROM staged "
                    "ORDER BY n RETURNING id"
                ).fetchall()
        return sorted(row[0] for row in found)

    def _check_room(self, conn: Connection, count: int, size: int) -> None:
        total = conn.execute("SELECT count(*) FROM drawings").fetchone()[0]
        more = f", {count:,} more asked" if count > 1 else ""
        if total + count > self.max_rows:
            raise StoreFull(
                f"the drawings store is full ({total:,} of {self.max_rows:,}{more}); export and delete some first"
            )
        if full := room_left(self.engine.used_bytes(conn) + size, self.max_bytes):
            raise StoreFull(full)

    def counts(self) -> Counts:
        with self._connect() as conn:
            per = dict(conn.execute("SELECT label, count(*) FROM drawings GROUP BY label").fetchall())
            wrong, holdout = conn.execute(
                "SELECT count(*) FILTER (WHERE predicted IS NOT NULL AND predicted != label), "
                "count(*) FILTER (WHERE holdout = 1) FROM drawings"
            ).fetchone()
        digits = tuple(per.get(d, 0) for d in range(10))
        return Counts(digits, sum(digits), wrong, holdout)

    def get(self, row_id: int) -> Row | None:
        with self._connect() as conn:
            found = conn.execute(f"SELECT {_ROW_COLUMNS} FROM drawings WHERE id = ?", (row_id,)).fetchone()
        return _row(found) if found else None

    def delete(self, row_id: int) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM drawings WHERE id = ?", (row_id,)).rowcount > 0

    def delete_all(self) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM drawings").rowcount

    def images(self, holdout: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) uint8 and labels in id order: the held-out rows, the others, or (None) all."""
        where = "" if holdout is None else f"WHERE holdout = {int(holdout)}"
        with self._connect() as conn:
            found = conn.execute(f"SELECT image, label FROM drawings {where} ORDER BY id").fetchall()
        images = np.frombuffer(b"".join(r[0] for r in found), np.uint8).reshape(-1, 28, 28).copy()
        return images, np.array([r[1] for r in found], np.uint8)

    def training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) uint8 images the model saw and their labels, for the rows fine-tuning may learn from."""
        return self.images(holdout=False)

    def holdout_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows fine-tuning never learns from: what a fine-tuned model is judged on."""
        return self.images(holdout=True)

    def training_images(
        self, variants: int, seed: int = 0, variation: Variation = REDRAW
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, variants, 28, 28) uint8 and labels for the training rows.

        Variant 0 is the 28×28 the model saw; stroke rows get `variants - 1` more, redrawn from their strokes
        with a person's day-to-day variation (size, pen, slant, wobble), so fine-tuning learns the style,
        not the exact picture. Image rows repeat their one 28×28.
        """
        if variants < 1:
            raise ValueError("variants must be at least 1")
        with self._connect() as conn:
            found = conn.execute(
                "SELECT kind, drawing, image, label FROM drawings WHERE holdout = 0 ORDER BY id"
            ).fetchall()
        out = np.repeat(np.frombuffer(b"".join(r[2] for r in found), np.uint8).reshape(-1, 1, 28, 28), variants, axis=1)
        labels = np.array([r[3] for r in found], np.uint8)
        rows = [i for i, r in enumerate(found) if r[0] == "strokes"]
        if variants > 1 and rows:
            pens = [PenDigit(int(labels[i]), "drawings", "drawings", parse(found[i][1]).strokes) for i in rows]
            redrawn = render_digits(pens, variants - 1, seed, variation)
            blank = redrawn.reshape(len(rows), variants - 1, -1).max(axis=2) == 0
            redrawn[blank] = out[rows, 0][np.nonzero(blank)[0]]
            out[rows, 1:] = redrawn
        return out, labels

    def rows(self, digit: int | None = None, wrong_only: bool = False, limit: int = 50, offset: int = 0) -> list[Row]:
        """Newest first, optionally one digit's or only those the model read wrong (gallery pages)."""
        where, args = ["1 = 1"], []
        if digit is not None:
            where.append("label = ?")
            args.append(checked_digit(digit, "digit"))
        if wrong_only:
            where.append("predicted IS NOT NULL AND predicted != label")
        with self._connect() as conn:
            found = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM drawings WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*args, max(0, int(limit)), max(0, int(offset))),
            ).fetchall()
        return [_row(r) for r in found]

    def each_row(self) -> Iterator[Row]:
        """Every row, oldest first, read as it is used."""
        with self._connect() as conn:
            for record in conn.execute(f"SELECT {_ROW_COLUMNS} FROM drawings ORDER BY id"):
                yield _row(record)

    def keys(self) -> set[tuple[str, int]]:
        """(content digest, label) of every row: what an import skips as already kept."""
        with self._connect() as conn:
            return {(key, label) for key, label in conn.execute("SELECT digest, label FROM drawings")}

    def kept_as(self, *, strokes: Drawing | dict | str | bytes | None = None, png: bytes | None = None) -> int | None:
        """The row that keeps this very drawing (the same strokes or PNG bytes), newest first; None when none does."""
        drawing = strokes_bytes(strokes, self.max_drawing_bytes) if strokes is not None else bytes(png or b"")
        with self._connect() as conn:  # the digest column is indexed: one lookup
            found = conn.execute(
                "SELECT id FROM drawings WHERE digest = ? ORDER BY id DESC LIMIT 1", (digest(drawing),)
            ).fetchone()
        return None if found is None else int(found[0])

    def relabel(self, row_id: int, label: int) -> bool:
        """Give a kept drawing another label (one drawing, one label: a second click changes the first)."""
        with self._write() as conn:
            done = conn.execute("UPDATE drawings SET label = ? WHERE id = ?", (checked_digit(label, "label"), row_id))
            return done.rowcount > 0
