"""Models on disk: `.keras` files with a JSON sidecar, saved atomically, versioned outside the repo."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import SHIPPED_MODEL, models_dir
from .inference import Classifier

if TYPE_CHECKING:
    import keras

SERVING_POINTER = "serving.json"


class ModelError(RuntimeError):
    """A model file that cannot be used; the message names the file and the fix."""


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temporary file, flush, fsync, rename: readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _weights_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    """Ties a sidecar or evaluation cache to the exact model file it describes."""
    return _weights_digest(Path(path).read_bytes())


def save_model(model: "keras.Model", path: Path, metadata: dict[str, Any]) -> Path:
    """Save weights and architecture without optimizer state (23 MB instead of ~70 MB), then the sidecar."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path}: model files must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    bare = type(model).from_config(model.get_config())  # uncompiled: clone_model would keep Adam's state
    bare.set_weights(model.get_weights())
    staging = path.with_name(f".{path.stem}.staging-{os.getpid()}.keras")
    try:
        bare.save(staging)
        data = staging.read_bytes()
    finally:
        staging.unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    meta = dict(metadata)
    meta["file_sha256"] = _weights_digest(data)
    meta.setdefault("created", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    atomic_write_bytes(sidecar_path(path), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_metadata(path: Path) -> dict[str, Any]:
    """The sidecar, or {} when it is missing or unreadable (the model itself stays usable)."""
    try:
        return json.loads(sidecar_path(Path(path)).read_text())
    except (OSError, ValueError):
        return {}


def _layer_order(name: str) -> int:
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if match else 0


def load_classifier(path: Path) -> Classifier:
    """Read the three dense layers straight from the `.keras` zip with h5py: no TensorFlow import."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}; train one or pass --model with an existing .keras file")
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read("model.weights.h5")
        with h5py.File(io.BytesIO(raw), "r") as h5:
            groups = sorted((name for name in h5["layers"] if name.startswith("dense")), key=_layer_order)
            arrays = [np.asarray(h5["layers"][g]["vars"][str(i)]) for g in groups for i in (0, 1)]
        deskew = bool(read_metadata(path).get("hyperparameters", {}).get("deskew", False))
        return Classifier.from_arrays(arrays, deskew=deskew)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ModelError(f"{path} is not a usable .keras model ({reason}); retrain or use the shipped model") from None


def load_keras(path: Path) -> "keras.Model":
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any load failure is reported with the file's name
        raise ModelError(f"{path} is not a usable .keras model ({type(exc).__name__}); retrain or use the shipped model") from None


@dataclass(frozen=True)
class Version:
    path: Path
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def shipped(self) -> bool:
        return self.path.resolve() == SHIPPED_MODEL.resolve()


def new_version_path(folder: Path | None = None) -> Path:
    """A fresh, sortable file name, so saving a version never replaces another one."""
    folder = folder or models_dir()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = folder / f"mnist-{stamp}.keras"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"mnist-{stamp}-{counter}.keras"
    return path


def list_versions(folder: Path | None = None) -> list[Version]:
    """User-trained versions, newest first (versions are written once, so mtime is creation time)."""
    folder = folder or models_dir()
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.keras") if not p.name.startswith(".")),
                   key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    return [Version(p, read_metadata(p)) for p in files]


def set_serving(path: Path, folder: Path | None = None) -> None:
    folder = folder or models_dir()
    atomic_write_bytes(folder / SERVING_POINTER, json.dumps({"model": str(Path(path).resolve())}).encode())


def serving_path(folder: Path | None = None) -> Path:
    """What the demo serves: the chosen version, else the newest trained one, else the shipped model."""
    folder = folder or models_dir()
    try:
        chosen = Path(json.loads((folder / SERVING_POINTER).read_text())["model"])
        if chosen.is_file():
            return chosen
    except (OSError, ValueError, KeyError, TypeError):
        pass
    versions = list_versions(folder)
    return versions[0].path if versions else SHIPPED_MODEL
