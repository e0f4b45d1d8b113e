"""Moving the collected drawings out and back in: a zip of PNGs + labels.csv (read back by `import_zip`) and
MNIST's IDX files. Every imported row is checked as `DrawingStore.add` checks one.

An import is read a row at a time (labels.csv streamed, each row's files read as it comes), so a zip of a few MB
that unpacks to gigabytes never sits in memory; one import runs at a time per database. labels.csv cells that a
spreadsheet would run as a formula are written with a leading quote, taken off again on import.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from mnist_core.config import MAX_CSV_BYTES, MAX_ROWS
from mnist_core.drawings.store import (
    CSV_COLUMNS,
    KINDS,
    DrawingError,
    DrawingStore,
    Entry,
    check_png,
    checked_digit,
    digest,
    now_iso,
    probabilities_json,
    read_png,
    strokes_bytes,
)

# What a damaged zip raises somewhere in zipfile, zlib or csv: each becomes one line.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,  # an unknown compression method or zip version
    RuntimeError,  # an encrypted member
    zlib.error,
    EOFError,
    struct.error,
    OSError,
    ValueError,  # csv.Error, UnicodeDecodeError and friends
    OverflowError,
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell that starts so
ID_SHOWN = 40  # characters of an imported id a refusal quotes


def as_cell(value: Any) -> str:
    """A labels.csv cell a spreadsheet shows as text: a leading quote before a formula's first character (and
    before a leading quote, so that `from_cell` gives back exactly what was stored)."""
    text = str(value)
    return f"'{text}" if text.startswith((*FORMULA_STARTS, "'")) else text


def from_cell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith((*FORMULA_STARTS, "'")) else text


def export_zip(store: DrawingStore, dest: str | os.PathLike | IO[bytes]) -> int:
    """Every row into a zip; returns how many. Layout (what `import_zip` reads back):

    - `labels.csv`: id, label, predicted, kind, created, model_version, probabilities (JSON)
    - `digits/{id}_{label}.png`: the 28×28 the model saw, white digit on black like MNIST
    - `strokes/{id}.json`: the pad's strokes, for stroke rows
    - `originals/{id}.png`: the picture as uploaded, for image rows
    """
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for row in store.each_row():
            zf.writestr(f"digits/{row.id}_{row.label}.png", _png_28(row.image))
            zf.writestr(f"strokes/{row.id}.json" if row.kind == "strokes" else f"originals/{row.id}.png", row.drawing)
            probs = json.dumps(list(row.probabilities)) if row.probabilities else ""
            predicted = "" if row.predicted is None else row.predicted
            cells = [row.id, row.label, predicted, row.kind, row.created, row.model_version, probs]
            writer.writerow([as_cell(cell) for cell in cells])
            count += 1
        zf.writestr("labels.csv", table.getvalue())
    return count


def export_idx(store: DrawingStore, folder: str | os.PathLike, gz: bool = True) -> tuple[Path, Path]:
    """Every row's 28×28 and label as MNIST IDX files (`drawings-images-idx3-ubyte`, `…-labels-idx1-ubyte`)."""
    images, labels = store.images()
    n = len(labels)
    image_head = (0x803).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
    label_head = (0x801).to_bytes(4, "big") + n.to_bytes(4, "big")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    paths = folder / f"drawings-images-idx3-ubyte{suffix}", folder / f"drawings-labels-idx1-ubyte{suffix}"
    payloads = image_head + images.tobytes(), label_head + labels.tobytes()
    for path, data in zip(paths, payloads, strict=True):
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return paths


def import_zip(store: DrawingStore, source: bytes | str | os.PathLike) -> tuple[int, list[str]]:
    """Rows from a zip `export_zip` made (labels.csv is authoritative: edit it to relabel).

    Every row is checked; bad ones are skipped with a reason, rows already stored are skipped, and the
    rest go in in one transaction: all of them, or (StoreFull, StoreError, DrawingError) none. StoreBusy
    when another import is running.
    """
    skipped: list[str] = []
    with store.import_slot(), _open_zip(source) as zf:
        known = store.keys()

        def fresh() -> Iterator[Entry]:
            for name, entry in _rows(zf, store.max_drawing_bytes, skipped):
                key = (digest(entry.drawing), entry.label)
                if key in known:
                    skipped.append(f"{name}: already in the store")
                else:
                    known.add(key)
                    yield entry

        added = len(store.insert(fresh()))
    return added, skipped


def _open_zip(source: bytes | str | os.PathLike) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        count = len(zf.infolist())
    except ZIP_ERRORS:
        raise DrawingError("the file is not a zip made by the drawings export") from None
    if count > 4 * MAX_ROWS + 16:
        zf.close()
        raise DrawingError(f"the zip holds too many files ({count:,})")
    return zf


def _rows(zf: zipfile.ZipFile, max_bytes: int, skipped: list[str]) -> Iterator[tuple[str, Entry]]:
    """(row name, checked entry) for every good row of labels.csv, read as it goes; a reason in `skipped` for
    every row or file left out. DrawingError (nothing is kept) for a zip that is not an export, or one with
    more rows than the store may hold."""
    members = {i.filename: i for i in zf.infolist() if not i.is_dir()}
    tables = sorted((n for n in members if n.rsplit("/", 1)[-1] == "labels.csv"), key=len)
    if not tables:
        raise DrawingError("the zip has no labels.csv; export drawings again")
    prefix = tables[0][: -len("labels.csv")]
    if members[tables[0]].file_size > MAX_CSV_BYTES:
        raise DrawingError("labels.csv is too large")
    pngs = {
        n[len(prefix) + 7 :].split("_", 1)[0]: n[len(prefix) :]
        for n in members
        if n.startswith(prefix + "digits/") and n.endswith(".png")
    }
    read = _reader(zf, members, prefix, max_bytes)
    seen: set[str] = set()
    for number, record in enumerate(_records(zf, members[tables[0]]), 2):
        if number - 1 > MAX_ROWS:
            raise DrawingError(f"labels.csv has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at once")
        rid = (record.get("id") or "").strip()
        name = f"labels.csv line {number} (id {rid[:ID_SHOWN] or '?'})"
        try:
            if rid in seen:
                raise DrawingError("the id appears twice")
            seen.add(rid)
            yield name, _entry(record, pngs.get(rid), read, max_bytes)
        except DrawingError as exc:
            skipped.append(f"{name}: {exc}")
    skipped += [f"{png}: no row in labels.csv" for rid, png in sorted(pngs.items()) if rid not in seen]


def _records(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[dict[str, str]]:
    """labels.csv's rows as they are read, formula quotes taken off; a damaged zip or text is one DrawingError."""
    try:
        with io.TextIOWrapper(zf.open(info), encoding="utf-8-sig", newline="") as table:
            for record in csv.DictReader(table):
                yield {k: from_cell(v) for k, v in record.items() if isinstance(k, str) and isinstance(v, str)}
    except ZIP_ERRORS as exc:
        raise DrawingError(f"labels.csv cannot be read ({type(exc).__name__}); export the drawings again") from None


def _reader(
    zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], prefix: str, max_bytes: int
) -> Callable[[str], bytes | None]:
    """A member's bytes by its name under the export's folder (None when absent); DrawingError when too big or
    unreadable, which skips only that row."""

    def read(name: str) -> bytes | None:
        info = members.get(prefix + name)
        if info is None:
            return None
        if info.file_size > max_bytes:
            raise DrawingError(f"{name} is too large ({info.file_size:,} bytes)")
        try:
            return zf.read(info)
        except ZIP_ERRORS as exc:
            raise DrawingError(f"{name} cannot be read from the zip ({type(exc).__name__})") from None

    return read


def _entry(record: dict[str, str], png_name: str | None, read: Callable[[str], bytes | None], max_bytes: int) -> Entry:
    """One labels.csv row and its files → a checked entry, or a DrawingError saying what is wrong."""
    rid = (record.get("id") or "").strip()
    label = checked_digit((record.get("label") or "").strip(), "label")
    predicted = (
        checked_digit((record.get("predicted") or "").strip(), "predicted")
        if (record.get("predicted") or "").strip()
        else None
    )
    if png_name is None:
        raise DrawingError(f"no digits/{rid[:ID_SHOWN]}_{label}.png in the zip")
    img = read_png(read(png_name) or b"", png_name)
    if img.size != (28, 28):
        raise DrawingError(f"{png_name} is {img.size[0]}×{img.size[1]}, not 28×28")
    image = np.asarray(img.convert("L"), np.uint8).tobytes()
    created = (record.get("created") or "").strip() or now_iso()
    try:
        dt.datetime.fromisoformat(created)
    except ValueError:
        raise DrawingError(f"created {created[:ID_SHOWN]!r} is not an ISO date") from None
    raw_strokes, original = read(f"strokes/{rid}.json"), read(f"originals/{rid}.png")
    kind = (record.get("kind") or "").strip() or ("strokes" if raw_strokes is not None else "image")
    if kind not in KINDS:
        raise DrawingError(f"kind must be one of {', '.join(KINDS)}, got {kind[:ID_SHOWN]!r}")
    if kind == "strokes":
        if raw_strokes is None:
            raise DrawingError(f"no strokes/{rid[:ID_SHOWN]}.json for a strokes row")
        drawing = strokes_bytes(raw_strokes, max_bytes)
    else:
        drawing = check_png(original if original is not None else read(png_name) or b"", max_bytes)
    probs = (record.get("probabilities") or "").strip()
    try:
        probabilities = probabilities_json(json.loads(probs)) if probs else None
    except (ValueError, TypeError):
        raise DrawingError("probabilities must be a JSON list of 10 numbers in [0, 1]") from None
    return Entry(
        label, predicted, probabilities, (record.get("model_version") or "")[:200], kind, drawing, image, created
    )


def _png_28(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8)).save(buf, "PNG")
    return buf.getvalue()
