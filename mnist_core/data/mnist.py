"""Load MNIST exactly as `keras.datasets.mnist.load_data()` returns it: a copy named by --data / $MNIST_DATA, else
the one downloaded before, else (when asked) Keras' own file downloaded once into the demo's home."""

from __future__ import annotations

import gzip
import os
import zipfile
from pathlib import Path

import numpy as np

from mnist_core.config import HyperParams, mnist_images
from mnist_core.data import download

DATA_ENV = "MNIST_DATA"
Split = tuple[np.ndarray, np.ndarray]

_FILES = {
    "x_train": ("train-images-idx3-ubyte", 0x00000803, 60000),
    "y_train": ("train-labels-idx1-ubyte", 0x00000801, 60000),
    "x_test": ("t10k-images-idx3-ubyte", 0x00000803, 10000),
    "y_test": ("t10k-labels-idx1-ubyte", 0x00000801, 10000),
}
_HINT = "point MNIST_DATA (or --data) at a folder with the four MNIST IDX files or a mnist.npz"
OFFLINE = (
    "no MNIST on this machine and no internet to download it ({reason}): start with --data PATH (a folder with "
    "the four MNIST IDX files, or a mnist.npz), or connect this machine to the internet once (11 MB, kept)"
)


class DataError(RuntimeError):
    """A user-fixable problem with the data: its message is one line that says what to do."""


def load_mnist(
    path: str | os.PathLike | None = None, fetch: bool = False, on_progress: download.Progress | None = None
) -> tuple[Split, Split]:
    """Return ((x_train, y_train), (x_test, y_test)); first match wins: path → $MNIST_DATA → a copy downloaded
    before → with `fetch`, Keras' file downloaded now (`on_progress` hears how far it is)."""
    source = local_source(path)
    if source is not None:
        return load_local(source)
    if not fetch:
        raise DataError(f"no MNIST on this machine: {_HINT}")
    try:
        got = download.fetch(on_progress)
    except (OSError, ValueError) as exc:
        raise DataError(OFFLINE.format(reason=str(exc))) from None
    try:
        return _load_npz(got)
    except DataError:
        got.unlink(missing_ok=True)  # a mirror's broken file is not kept: the next run fetches it again
        raise


def local_source(path: str | os.PathLike | None = None) -> Path | None:
    """The copy `load_mnist(path)` reads without a download: named, in $MNIST_DATA, or downloaded before."""
    named = path or os.environ.get(DATA_ENV)
    return Path(named).expanduser() if named else download.cached_copy()


def missing(path: str | os.PathLike | None = None) -> str | None:
    """Why a training cannot get MNIST here, in one line, or None when it can (a local copy, or a reachable
    download). Checked before a run starts, so an offline machine hears what to do at once."""
    if local_source(path) is not None:
        return None
    reason = download.unreachable()
    return None if reason is None else OFFLINE.format(reason=reason)


def describe_source(path: str | os.PathLike | None = None) -> str:
    """Which copy `load_mnist(path)` reads, for sidecars: how it was given and its format, never a path of this
    machine (a sidecar travels with its model), e.g. "MNIST_DATA (IDX files)"."""
    source = path or os.environ.get(DATA_ENV)
    if not source:
        return "keras mnist.npz (download cache)"
    folder = Path(source).expanduser()
    kind = "IDX files" if folder.is_dir() and _find(folder, _FILES["x_train"][0]) else "mnist.npz"
    return f"{'--data' if path else DATA_ENV} ({kind})"


def load_local(path: Path) -> tuple[Split, Split]:
    if path.is_file() and path.suffix == ".npz":
        return _load_npz(path)
    if not path.is_dir():
        raise DataError(f"MNIST data not found at {path}: {_HINT}")
    if (path / "mnist.npz").is_file() and not _find(path, _FILES["x_train"][0]):
        return _load_npz(path / "mnist.npz")
    arrays = {key: _read_idx(path, *spec) for key, spec in _FILES.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_idx(folder: Path, stem: str, magic: int, count: int) -> np.ndarray:
    file = _find(folder, stem)
    if file is None:
        raise DataError(f"missing {stem}(.gz) in {folder}: {_HINT}")
    try:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {file} ({exc}); re-download it or {_HINT}") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise DataError(f"{file} is not an MNIST IDX file (wrong magic number); {_HINT}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = [count] + ([28, 28] if ndim == 3 else [])
    if dims != expected:
        raise DataError(f"{file} has shape {dims}, expected {expected}; {_HINT}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{file} is truncated ({data.size} of {int(np.prod(dims))} values); {_HINT}")
    if ndim == 1 and data.max(initial=0) > 9:
        raise DataError(f"{file} holds labels outside 0–9; {_HINT}")
    return data.reshape(dims).copy()


def _load_npz(file: Path) -> tuple[Split, Split]:
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _FILES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {file} as a Keras mnist.npz ({exc}); {_HINT}") from None
    for key, (_, magic, count) in _FILES.items():
        shape = (count, 28, 28) if magic == 0x803 else (count,)
        if arrays[key].shape != shape:
            raise DataError(f"{file}: {key} has shape {arrays[key].shape}, expected {shape}; {_HINT}")
    return (arrays["x_train"].astype(np.uint8), arrays["y_train"].astype(np.uint8)), (
        arrays["x_test"].astype(np.uint8),
        arrays["y_test"].astype(np.uint8),
    )


def split(x: np.ndarray, y: np.ndarray, hp: HyperParams) -> tuple[Split, Split]:
    """Keras' validation_split rule: the LAST fraction is validation (so the seed trains on 60 images)."""
    n_train = mnist_images(hp, len(x))
    if hp.train_subset:
        x, y = x[: hp.train_subset], y[: hp.train_subset]
    if n_train < 1:
        raise ValueError(f"validation split {hp.validation_split} leaves no training images; lower it")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
