"""Real pen handwriting (UNIPEN 1a): loading, a fixed writer split, and pad-like drawings of it.

MNIST's writers rarely crossed their 7s, flagged their 1s or curved their 9s' tails; UNIPEN's 203
writers did. Each pen digit is drawn as the web pad would draw it (`mnist_core.imaging.strokes`), with the
variations a person makes: size and place on the pad, pen width, slant, stretch, a slightly wobbly
path, and faster or slower writing (fewer or more points). Writers, not digits, are split: a model
must be measured on people it never saw. NumPy/Pillow only.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_core.config import ASSETS_DIR
from mnist_core.data.mnist import DataError
from mnist_core.imaging.strokes import Stroke

PENS_ENV = "UNIPEN_DATA"
FILE_NAME = "unipen-1a-digits.jsonl.gz"
SHIPPED_PENS = ASSETS_DIR / FILE_NAME  # CC BY 4.0, credited in assets/unipen.md
_HINT = f"point UNIPEN_DATA (or --pens) at {FILE_NAME} or the folder that holds it"
SPLIT_SEED = 0
TEST_FRACTION = 0.2  # of each site's writers: never trained, tuned or thresholded on
VAL_FRACTION = 0.1  # of each site's writers: what choices are tuned on


@dataclass(frozen=True)
class PenDigit:
    label: int
    source: str  # the site that collected it
    writer: str  # "site/id", unique per person
    strokes: tuple[Stroke, ...]
    side: str = ""  # "train", "val" or "test" of the writer split over the whole file (set by load_unipen)


def pens_path(path: str | os.PathLike | None = None) -> Path:
    """The UNIPEN file from `path`, else $UNIPEN_DATA, else the copy shipped in assets/ (so every clone has pens)."""
    source = path or os.environ.get(PENS_ENV)
    if not source:
        return SHIPPED_PENS
    found = Path(source).expanduser()
    return found / FILE_NAME if found.is_dir() else found


def load_unipen(path: str | os.PathLike | None = None) -> list[PenDigit]:
    """Every digit of the file, in file order; a missing or corrupt file is a one-line DataError."""
    file = pens_path(path)
    if not file.is_file():
        raise DataError(f"UNIPEN data not found at {file}: {_HINT}")
    digits = []
    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                digits.append(_digit(line, file, number))
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read {file} ({type(exc).__name__}); re-copy it or {_HINT}") from None
    if not digits:
        raise DataError(f"{file} holds no digits; {_HINT}")
    sides = writer_split(digits)  # over the whole file: a subset must not move writers between sides
    return [dataclasses.replace(d, side=sides[d.writer]) for d in digits]


def _digit(line: str, file: Path, number: int) -> PenDigit:
    try:
        row = json.loads(line)
        label = int(row["label"])
        strokes = tuple(np.asarray(s, dtype=np.float32).reshape(-1, 2) for s in row["strokes"] if len(s))
        if 0 <= label <= 9 and strokes:
            return PenDigit(label, str(row["source"]), str(row["writer"]), strokes)
    except (KeyError, TypeError, ValueError):
        pass
    raise DataError(f"{file}, line {number}: not a UNIPEN digit record; re-copy the file or {_HINT}")


def writer_split(digits: Sequence[PenDigit], seed: int = SPLIT_SEED) -> dict[str, str]:
    """writer → "train", "val" or "test", by a rule anyone can rerun.

    Within each site, writers are ranked by sha256("seed:writer"); the first fifth (at least one where
    a site has two or more) are test, the next tenth validation. Spread over sites, so no site's
    habits (a German 7, an IBM tablet) are only on one side.
    """
    sites: dict[str, set[str]] = {}
    for d in digits:
        sites.setdefault(d.source, set()).add(d.writer)
    split: dict[str, str] = {}
    for writers in sites.values():
        ranked = sorted(writers, key=lambda w: hashlib.sha256(f"{seed}:{w}".encode()).hexdigest())
        n = len(ranked)
        n_test = max(1, round(TEST_FRACTION * n)) if n >= 2 else 0
        n_val = round(VAL_FRACTION * n) if n >= 5 else 0
        for i, writer in enumerate(ranked):
            split[writer] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return split


def part(digits: Sequence[PenDigit], name: str) -> list[PenDigit]:
    """The digits of one side of the writer split, as `load_unipen` decided it over the whole file."""
    fallback = writer_split(digits) if any(not d.side for d in digits) else {}
    return [d for d in digits if (d.side or fallback[d.writer]) == name]
