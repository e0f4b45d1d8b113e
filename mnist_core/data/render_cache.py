"""Fixed sets of pen drawings kept on disk, so an evaluation or a server start does not draw them again.

The held-out writers' test set (every training's report), the validation writers' set (every training with pens),
the personal models' replay set (every server start with data) and a fine-tune's replayed pen digits are the same
arrays each time for the same digits, seed and code, and drawing them costs 2–6 CPU seconds. A set is stored under
a digest of all that makes it: each digit's label and strokes, the number of drawings, the seed, the variation and
the source of the drawing code (`mnist_core/data` and `mnist_core/imaging`), so an edit there draws it afresh.

The folder is $MNIST_DEMO_CACHE, else `cache/` in the demo's home; MNIST_DEMO_CACHE=off keeps nothing. A file
that cannot be read is drawn again and replaced; a folder that cannot be written costs only the drawing.
NumPy only.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mnist_core.atomic_files import atomic_write_bytes
from mnist_core.config import user_home
from mnist_core.data.unipen import PenDigit

CACHE_ENV = "MNIST_DEMO_CACHE"
OFF = "off"
KEEP = 8  # sets kept, the most recently used: a test set, a replay set and a fine-tune's pens are 1–3 MB each
_PACKAGE = Path(__file__).resolve().parent.parent


def cache_dir() -> Path | None:
    """Where sets are kept, or None when MNIST_DEMO_CACHE=off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen == OFF:
        return None
    return Path(chosen).expanduser() if chosen else user_home() / "cache"


@functools.cache
def code_digest() -> str:
    """The drawing code's source: a drawing made by other code is never read back."""
    digest = hashlib.sha256()
    for path in sorted((*_PACKAGE.glob("data/*.py"), *_PACKAGE.glob("imaging/*.py"))):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def set_digest(digits: Sequence[PenDigit], variants: int, seed: int, variation: object) -> str:
    digest = hashlib.sha256(f"{code_digest()}|{variants}|{seed}|{variation!r}|{len(digits)}".encode())
    for digit in digits:
        digest.update(b"%d|" % digit.label)
        for stroke in digit.strokes:
            array = np.ascontiguousarray(stroke)
            digest.update(b"%d:%s|" % (array.shape[0], array.dtype.str.encode()) + array.tobytes())
    return digest.hexdigest()[:32]


def drawn(
    digits: Sequence[PenDigit], variants: int, seed: int, variation: object, draw: Callable[[], np.ndarray]
) -> np.ndarray:
    """`draw()`'s (N, variants, 28, 28) uint8 drawings of `digits`, from the cache when it holds them."""
    folder = cache_dir()
    if folder is None:
        return draw()
    path = folder / f"{set_digest(digits, variants, seed, variation)}.npy"
    found = _read(path, (len(digits), variants, 28, 28))
    if found is not None:
        return found
    drawings = draw()
    _write(path, drawings)
    return drawings


def _read(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        found = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    try:
        os.utime(path)  # recently used: kept when older sets are dropped
    except OSError:
        pass  # a cache someone else owns is still read
    return found if found.shape == shape and found.dtype == np.uint8 else None


def _write(path: Path, drawings: np.ndarray) -> None:
    """Whole or not at all (`atomic_write_bytes`), so a server reading at the same time never sees half."""
    buffer = io.BytesIO()
    np.save(buffer, drawings, allow_pickle=False)
    try:
        atomic_write_bytes(path, buffer.getvalue())
        _prune(path.parent)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Only the KEEP most recently used sets, and no temporary file left by a process killed an hour ago."""
    by_use = sorted(folder.glob("*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)
    stale = [p for p in folder.glob("*.tmp*") if p.stat().st_mtime < time.time() - 3600]
    for path in [*by_use[KEEP:], *stale]:
        path.unlink(missing_ok=True)
