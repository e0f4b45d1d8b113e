"""Each visitor's personal model: kept on disk in the drawings database, the recently used ones in memory.

A reading asks `model(key)` and gets the personal model or, with one line saying why, nothing (the
caller then answers with the shared model): no key, a key never made or since forgotten, a delta that
is corrupt or was taught on another shared model, a database that cannot be read. At most
`cache` models stay loaded (least recently used dropped, reloaded from disk when asked for again);
at most `max_profiles` exist (the unused longest are dropped when a new one is made). A server sharing the
database with others calls `refresh` every PROFILE_POLL_S, so a profile forgotten anywhere stops answering here.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from mnist_core.config import CACHE_MODELS, MAX_PROFILE_DRAWINGS, MAX_PROFILES
from mnist_core.model.forward import Classifier, Layer, Weights
from mnist_core.personal.delta import Delta, DeltaError, PersonalClassifier, weights_digest
from mnist_core.personal.profile_db import ProfileDatabase, ProfileStoreError

TOUCH_EVERY_S = 3600.0  # a model read from memory marks its profile used at most this often
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, eq=False)
class Lookup:
    model: PersonalClassifier | None
    reason: str  # "" with a model or without a key; else one line why the shared model answers

    def reader(self) -> PersonalReader | None:
        """The model as a `Classifier`, so every reading path that takes one reads with it."""
        if self.model is None:
            return None
        return PersonalReader(self.model)


class PersonalReader(Classifier):
    """A `Classifier` whose forward pass is a personal model's: the base's arrays, shared, plus the delta; all the
    rest (its inputs, features, layers) is the base's."""

    def __init__(self, personal: PersonalClassifier) -> None:
        self.personal, self.base = personal, personal.base
        self.deskew = self.base.deskew

    @property
    def architecture(self) -> str:
        return self.base.architecture

    @property
    def title(self) -> str:
        return self.base.title

    @property
    def last_hidden(self) -> Weights:
        p = self.personal
        return (p.w2 + p.a @ p.b if p.delta.rank else p.w2), p.b2

    @property
    def head(self) -> Weights:
        return self.personal.w3, self.personal.b3

    def trunk(self, x: np.ndarray) -> np.ndarray:
        return self.base.trunk(x)

    def features(self, x: np.ndarray) -> np.ndarray:
        return self.base.features(x)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.base.arrays()

    def summary(self) -> tuple[Layer, ...]:
        return self.base.summary()

    def forward(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        return self.personal.forward(x, batch_size)


class Profiles:
    """Personal models for one serving classifier; make a new one when the served model changes."""

    def __init__(
        self,
        path: str | os.PathLike,
        classifier: Classifier,
        max_profiles: int = MAX_PROFILES,
        max_drawings: int = MAX_PROFILE_DRAWINGS,
        cache: int = CACHE_MODELS,
    ) -> None:
        self.db = ProfileDatabase(path, max_profiles)
        self.classifier, self.base = classifier, weights_digest(classifier)
        self.max_drawings, self.cache_size = max_drawings, cache
        self._cache: OrderedDict[str, tuple[PersonalClassifier, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def valid_key(key: str | None) -> TypeGuard[str]:
        return isinstance(key, str) and _KEY.fullmatch(key) is not None

    def model(self, key: str | None) -> Lookup:
        if not key:
            return Lookup(None, "")
        if not self.valid_key(key):
            return Lookup(None, "that is not a profile key; teach the model your handwriting to get one")
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            self._touch_now_and_then(key, cached)
            return Lookup(cached[0], "")
        return self._load(key)

    def _load(self, key: str) -> Lookup:
        try:
            found = self.db.delta(key)
            if found is None:
                return Lookup(None, "no personal model under this key (forgotten or dropped); using the shared model")
            if found[1] is None:
                return Lookup(None, "this profile has not been taught yet; using the shared model")
            model = PersonalClassifier(self.classifier, Delta.from_bytes(found[1], self.classifier, self.base))
            self.db.touch(key)
        except (DeltaError, ProfileStoreError) as exc:
            return Lookup(None, f"{exc}; using the shared model")
        self.put(key, model)
        return Lookup(model, "")

    def _touch_now_and_then(self, key: str, cached: tuple[PersonalClassifier, float]) -> None:
        if time.monotonic() - cached[1] < TOUCH_EVERY_S:
            return
        try:
            self.db.touch(key)
        except ProfileStoreError:
            return
        with self._lock:
            if key in self._cache:
                self._cache[key] = (cached[0], time.monotonic())

    def put(self, key: str, model: PersonalClassifier) -> None:
        """Keep `model` in memory as `key`'s, dropping the least recently used past the cache size."""
        with self._lock:
            self._cache[key] = (model, time.monotonic())
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def cached(self) -> list[str]:
        with self._lock:
            return list(self._cache)

    def refresh(self) -> int:
        """Drop the models in memory whose profile is gone from the database: forgotten, or dropped past the cap,
        on this server or another that shares the database. How many; ProfileStoreError when it cannot be read."""
        keys = self.cached()
        gone = set(keys) - self.db.present(keys)
        with self._lock:
            for key in gone:
                self._cache.pop(key, None)
        return len(gone)

    def forget(self, key: str | None) -> bool:
        """Delete the profile, its drawings and its model; False when there was no such profile."""
        if not self.valid_key(key):
            return False
        with self._lock:
            self._cache.pop(key, None)
        return self.db.forget(key)
