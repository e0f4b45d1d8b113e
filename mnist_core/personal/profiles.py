"""Each visitor's personal model: their drawings on disk in the drawings database, their memory in RAM.

A reading asks `model(key)` and gets the visitor's `PersonalModel` or, with one line saying why, nothing (the
caller then answers with the shared model): no key, a key never made or since forgotten, a profile with no
drawings, a database that cannot be read. At most `cache` memories stay in RAM (least recently used dropped,
rebuilt from the stored drawings when asked for again: a few tenths of a second for thirty drawings).

A memory in RAM is checked against the database at most every `CHECK_EVERY_S`: a profile forgotten, evicted
or taught on another server (a replica sharing the file) is noticed within that time, never read from a stale
copy. `Profiles` is tied to one served classifier and its replay set; a new served model gets a new `Profiles`,
whose memories are rebuilt from the same stored drawings, so nobody's teaching is lost with a new model.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from mnist_core.config import CACHE_MODELS, MAX_PROFILE_DRAWINGS, MAX_PROFILES
from mnist_core.imaging.packed import unpack
from mnist_core.imaging.strokes import Drawing, StrokeError
from mnist_core.model.forward import Classifier
from mnist_core.personal.memory import Memory, PersonalModel, Recall, synced
from mnist_core.personal.profile_db import ProfileDatabase, ProfileStoreError
from mnist_core.personal.replay import Replay

CHECK_EVERY_S = 0.5  # a memory in RAM is checked against the database at most this often (a forget anywhere)
TOUCH_EVERY_S = 3600.0  # a profile read from RAM is marked used at most this often
GONE = "no personal model under this key (forgotten, or dropped as unused); using the shared model"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, eq=False)
class Lookup:
    model: PersonalModel | None
    reason: str  # "" with a model or without a key; else one line why the shared model answers


@dataclass(frozen=True, eq=False)
class _Kept:
    model: PersonalModel
    generation: int
    checked: float  # time.monotonic() of the last check against the database
    touched: float  # … and of the last time the profile was marked used


class Profiles:
    """Personal models for one serving classifier and its replay set."""

    def __init__(
        self,
        path: str | os.PathLike,
        classifier: Classifier,
        replay: Replay,
        recall: Recall = Recall(),
        max_profiles: int = MAX_PROFILES,
        max_drawings: int = MAX_PROFILE_DRAWINGS,
        cache: int = CACHE_MODELS,
    ) -> None:
        self.db = ProfileDatabase(path, max_profiles)
        self.classifier, self.replay, self.recall = classifier, replay, recall
        self.max_drawings, self.cache_size = max_drawings, cache
        self._cache: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def valid_key(key: str | None) -> TypeGuard[str]:
        return isinstance(key, str) and _KEY.fullmatch(key) is not None

    def model(self, key: str | None) -> Lookup:
        """The visitor's model as the database has it now (within `CHECK_EVERY_S`), or why there is none."""
        if not key:
            return Lookup(None, "")
        if not self.valid_key(key):
            return Lookup(None, "that is not a profile key; teach the model your handwriting to get one")
        with self._lock:
            kept = self._cache.get(key)
            if kept is not None:
                self._cache.move_to_end(key)
        now = time.monotonic()
        if kept is not None and now - kept.checked < CHECK_EVERY_S:
            return Lookup(kept.model, "")
        try:
            return self.refresh(key, kept)
        except ProfileStoreError as exc:
            return Lookup(None, f"{exc}; using the shared model")

    def refresh(self, key: str, kept: _Kept | None = None, drawn: Mapping[int, np.ndarray] | None = None) -> Lookup:
        """Bring `key`'s memory in line with the database (only what changed is drawn; `drawn` gives the 28×28s of
        drawings as sent that the caller has drawn already, by id); ProfileStoreError when the database cannot be
        read."""
        now = time.monotonic()
        if kept is not None and self.db.generation(key) == kept.generation:  # the usual case: one small query
            self._keep(key, _Kept(kept.model, kept.generation, now, self._touch(key, kept.touched, now)))
            return Lookup(kept.model, "")
        found = self.db.labels(key)
        if found is None:
            self._drop(key)
            return Lookup(None, GONE)
        generation, labels = found
        if not labels:
            self._drop(key)
            return Lookup(None, "this profile holds no drawings yet; using the shared model")
        start = kept.model.memory if kept is not None else Memory.empty(self.replay.vectors.shape[1])
        memory = synced(
            start, self.classifier, self.replay, labels, lambda ids: self._drawings(key, ids), self.recall, drawn or {}
        )
        if not len(memory):
            self._drop(key)
            return Lookup(None, "your drawings could not be read back; teach your model again; using the shared model")
        model = PersonalModel(self.classifier, self.replay, memory, self.recall)
        self._keep(key, _Kept(model, generation, now, self._touch(key, kept.touched if kept else 0.0, now)))
        return Lookup(model, "")

    def _drawings(self, key: str, ids: list[int]) -> dict[int, Drawing]:
        out = {}
        for drawing_id, _, data in self.db.drawings(key, ids):
            try:
                out[drawing_id] = unpack(data)
            except StrokeError:
                continue  # an unreadable row teaches nothing; the rest of the profile still reads
        return out

    def _touch(self, key: str, touched: float, now: float) -> float:
        """Mark the profile used now and then (a write per read would serialise readings on the database)."""
        if now - touched < TOUCH_EVERY_S:
            return touched
        try:
            self.db.touch(key)
        except ProfileStoreError:
            return touched
        return now

    def _keep(self, key: str, kept: _Kept) -> None:
        with self._lock:
            self._cache[key] = kept
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _drop(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def cached(self) -> list[str]:
        with self._lock:
            return list(self._cache)

    def create(self) -> str:
        """A new profile's key; the profiles it pushes out (unused longest, past the cap) leave RAM at once."""
        key, dropped = self.db.create()
        for gone in dropped:
            self._drop(gone)
        return key

    def forget(self, key: str | None) -> bool:
        """Delete the profile, its drawings and its memory; False when there was no such profile."""
        if not self.valid_key(key):
            return False
        self._drop(key)
        return self.db.forget(key)
