"""Trained versions on disk: fresh names, the list, the serving choice, deletion, pruning and a writability check."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_core.atomic_files import atomic_write_bytes, fsync_dir
from mnist_core.config import HOME_ENV, SHIPPED_MODEL, SHIPPED_NAMES, is_shipped, models_dir
from mnist_core.model.files import (
    ModelError,
    cache_path,
    read_contract,
    read_metadata,
    sidecar_path,
)

SERVING_POINTER = "serving.json"
MAX_VERSIONS = 10  # trained versions kept by `prune_versions` (~23 MB each)
STALE_AFTER_S = 60.0  # leftover temporaries older than this belong to no save still in progress


@dataclass(frozen=True)
class Version:
    path: Path
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def shipped(self) -> bool:
        return is_shipped(self.path)


def new_version_path(folder: Path | None = None) -> Path:
    """A fresh, sortable file name, so saving a version never replaces another one."""
    folder = folder or models_dir()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"mnist-{stamp}.keras"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"mnist-{stamp}-{counter}.keras"
    return path


def list_versions(folder: Path | None = None) -> list[Version]:
    """User-trained versions, newest first (versions are written once, so mtime is creation time).

    A `.keras` with neither a readable sidecar nor an embedded contract is skipped: it could not be served.
    """
    folder = folder or models_dir()
    if not folder.is_dir():
        return []
    versions = []
    for p in folder.glob("*.keras"):
        if p.name.startswith("."):
            continue  # a save in progress, or what a killed one left
        metadata = read_metadata(p)
        if not metadata and read_contract(p) is None:
            continue
        try:
            versions.append((p.stat().st_mtime_ns, Version(p, metadata)))
        except OSError:
            continue  # deleted while we looked
    versions.sort(key=lambda item: (item[0], item[1].path.name), reverse=True)
    return [version for _, version in versions]


def known_models(folder: Path | None = None) -> list[Version]:
    """What may be served: the trained versions newest first, then the shipped models (when their files are there)."""
    shipped = [Version(path, read_metadata(path)) for path in SHIPPED_NAMES.values() if path.is_file()]
    return list_versions(folder) + shipped


def describe_time(created: str | None) -> str:
    """A sidecar's ISO `created` → 'YYYY-MM-DD HH:MM UTC' for people; unknown stays unknown."""
    if not created:
        return "unknown date"
    try:
        when = dt.datetime.fromisoformat(created).astimezone(dt.UTC)
    except ValueError:
        return created
    return when.strftime("%Y-%m-%d %H:%M UTC")


def set_serving(path: Path, folder: Path | None = None) -> None:
    """Record what the demo serves (any `.keras`, the shipped model included): running servers that share the
    folder follow it (holder.ModelHolder.follow), and every server starts with it. Written atomically."""
    folder = folder or models_dir()
    atomic_write_bytes(folder / SERVING_POINTER, json.dumps({"model": str(Path(path).resolve())}).encode())


def serving_path(folder: Path | None = None) -> Path:
    """What the demo serves: the chosen model if it still exists, else the shipped one.

    Never "the newest trained": then saving a version (a CLI run, a Train-tab run that was not activated)
    would change what serves at the next start without anyone choosing it.
    """
    folder = folder or models_dir()
    try:
        chosen = Path(json.loads((folder / SERVING_POINTER).read_text())["model"])
        if chosen.is_file():
            return chosen
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return SHIPPED_MODEL


def pointer_stamp(folder: Path | None = None) -> tuple[int, int, int] | None:
    """What tells a change of the served-model choice without reading it: each write is a new file (a rename),
    so its inode, time or size differ. None when there is no choice yet."""
    try:
        info = os.stat((folder or models_dir()) / SERVING_POINTER)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _remove_version(path: Path) -> None:
    """The `.keras` first, so a crash half-way never leaves a listed model without its sidecar."""
    for file in (path, sidecar_path(path), cache_path(path)):
        file.unlink(missing_ok=True)
    fsync_dir(path.parent)


def delete_version(path: Path, folder: Path | None = None) -> None:
    """Delete a trained version with its sidecar and test report; never the shipped or the served model."""
    folder = folder or models_dir()
    path = Path(path).resolve()
    if is_shipped(path):
        raise ModelError(f"{path} is a shipped model; it is never deleted")
    if path == serving_path(folder).resolve():
        raise ModelError(
            f"{path.stem} is what the demo serves; serve another first (python -m mnist_core models use NAME|shipped)"
        )
    if path not in {v.path.resolve() for v in list_versions(folder)}:
        raise ModelError(f"{path} is not a saved version in {folder}; list them with: python -m mnist_core models")
    _remove_version(path)


def prune_versions(keep: int, protect: set[Path], folder: Path | None = None) -> list[Path]:
    """Delete trained versions older than the newest `keep`, bounding disk use; returns what went.

    Protected ones (the served model; the chosen one is always added) and the shipped model are kept
    on top of the `keep` newest.
    """
    folder = folder or models_dir()
    kept = {Path(p).resolve() for p in protect} | {serving_path(folder).resolve()}
    kept |= {path.resolve() for path in SHIPPED_NAMES.values()}
    removed = []
    for version in list_versions(folder)[max(keep, 0) :]:
        if version.path.resolve() not in kept:
            _remove_version(version.path)
            removed.append(version.path)
    return removed


def clean_staging(folder: Path | None = None, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporaries a killed save left behind; recent ones may belong to a save still running."""
    folder = folder or models_dir()
    cutoff = time.time() - older_than_s
    removed = []
    for pattern in (".*.tmp-*", ".*.staging-*"):
        for path in folder.glob(pattern):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue  # gone already, or not ours to remove
    return removed


def check_writable(folder: Path | None = None, fix: str = f"set {HOME_ENV} to a writable folder") -> None:
    """Fail before an hour of training, not after: create and remove a file where models will be saved."""
    folder = folder or models_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".write-check.tmp-{os.getpid()}-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ModelError(f"cannot save models in {folder}: {reason}; {fix}") from None
