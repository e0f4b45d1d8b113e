"""Moving the collected drawings out and back in: a zip of PNGs + labels.csv (read back by `import_zip`) and
MNIST's IDX files. Every imported row is checked as `DrawingStore.add` checks one."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

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
            writer.writerow([row.id, row.label, predicted, row.kind, row.created, row.model_version, probs])
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
    rest go in in one transaction: all of them, or (StoreFull, StoreError) none.
    """
    entries, skipped = _read_export(source, store.max_drawing_bytes)
    known = store.keys()
    fresh = []
    for name, entry in entries:
        key = (digest(entry.drawing), entry.label)
        if key in known:
            skipped.append(f"{name}: already in the store")
        else:
            known.add(key)
            fresh.append(entry)
    if fresh:
        store.insert(fresh)
    return len(fresh), skipped


def _open_zip(source: bytes | str | os.PathLike) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DrawingError("the file is not a zip made by the drawings export") from None
    if len(zf.infolist()) > 4 * MAX_ROWS + 16:
        raise DrawingError(f"the zip holds too many files ({len(zf.infolist()):,})")
    return zf


def _read_export(source: bytes | str | os.PathLike, max_bytes: int) -> tuple[list[tuple[str, Entry]], list[str]]:
    """(row name, checked entry) for every good row, and a reason for every file or row left out."""
    with _open_zip(source) as zf:
        members = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        tables = sorted((n for n in members if n.rsplit("/", 1)[-1] == "labels.csv"), key=len)
        if not tables:
            raise DrawingError("the zip has no labels.csv; export drawings again")
        prefix = tables[0][: -len("labels.csv")]
        if members[tables[0]].file_size > MAX_CSV_BYTES:
            raise DrawingError("labels.csv is too large")
        try:
            records = list(csv.DictReader(io.StringIO(zf.read(tables[0]).decode("utf-8-sig"))))
        except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, OSError) as exc:
            raise DrawingError(f"labels.csv cannot be read ({type(exc).__name__})") from None

        def read(name: str) -> bytes | None:
            info = members.get(prefix + name)
            if info is None:
                return None
            if info.file_size > max_bytes:
                raise DrawingError(f"{name} is too large ({info.file_size:,} bytes)")
            try:
                return zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise DrawingError(f"{name} cannot be read from the zip ({type(exc).__name__})") from None

        pngs = {
            n[len(prefix) + 7 :].split("_", 1)[0]: n[len(prefix) :]
            for n in members
            if n.startswith(prefix + "digits/") and n.endswith(".png")
        }
        entries, skipped, seen = [], [], set()
        for number, record in enumerate(records, 2):
            rid = (record.get("id") or "").strip()
            name = f"labels.csv line {number} (id {rid or '?'})"
            try:
                if rid in seen:
                    raise DrawingError("the id appears twice")
                seen.add(rid)
                entries.append((name, _entry(record, pngs.get(rid), read, max_bytes)))
            except DrawingError as exc:
                skipped.append(f"{name}: {exc}")
        skipped += [f"{png}: no row in labels.csv" for rid, png in sorted(pngs.items()) if rid not in seen]
    return entries, skipped


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
        raise DrawingError(f"no digits/{rid}_{label}.png in the zip")
    img = read_png(read(png_name) or b"", png_name)
    if img.size != (28, 28):
        raise DrawingError(f"{png_name} is {img.size[0]}×{img.size[1]}, not 28×28")
    image = np.asarray(img.convert("L"), np.uint8).tobytes()
    created = (record.get("created") or "").strip() or now_iso()
    try:
        dt.datetime.fromisoformat(created)
    except ValueError:
        raise DrawingError(f"created {created!r} is not an ISO date") from None
    raw_strokes, original = read(f"strokes/{rid}.json"), read(f"originals/{rid}.png")
    kind = (record.get("kind") or "").strip() or ("strokes" if raw_strokes is not None else "image")
    if kind not in KINDS:
        raise DrawingError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "strokes":
        if raw_strokes is None:
            raise DrawingError(f"no strokes/{rid}.json for a strokes row")
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
