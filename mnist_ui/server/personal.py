"""Personal models in the demo: each visitor's memory for the served model, read and taught within the limits.

No Gradio here. `Profiles` is tied to one classifier and its replay set, so new ones are made when the served
model changes, and every visitor's memory is rebuilt from their stored drawings as it is next asked for. The
replayed digits' features take about a second; `warm` builds them in a background thread at start, and a
reading or a teach that comes first waits for them. A batch of readings is one forward pass of the served
model whoever asks; each visitor with a memory then has their drawings re-read with it (a thin extra pass), so
their answer also carries the shared model's reading. With no key, an unknown one or a broken database the
shared model answers, and the reading says which model answered and why.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from mnist_core.config import MAX_DB_BYTES, user_home
from mnist_core.drawings.engine import Location, locate
from mnist_core.drawings.store import StoreError
from mnist_core.errors import first_line
from mnist_core.imaging.strokes import Drawing
from mnist_core.model.forward import Classifier
from mnist_core.personal.memory import PersonalModel
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Lookup, Profiles
from mnist_core.personal.replay import Replay, build_replay
from mnist_core.personal.replay_set import load_replay_images
from mnist_core.personal.teach import Taught, teach, unteach
from mnist_core.serving.holder import ModelHolder
from mnist_core.serving.readings import Reading, read_digits, read_drawings
from mnist_ui.server.limits import REMEMBERED, TEACHINGS, Budget, Gate

T = TypeVar("T")
SHARED, PERSONAL = "shared", "personal"


def browser_secret() -> str:
    """The key `gr.BrowserState` encrypts a visitor's profile key with, kept in the demo's home: a random one per
    start would make every browser forget its profile when the server restarts."""
    path = user_home() / "browser-secret"
    try:
        found = path.read_text().strip()
        if len(found) >= 16:
            return found
        path.parent.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(24)
        path.write_text(made)
        path.chmod(0o600)
    except OSError:
        return secrets.token_urlsafe(24)  # an unwritable home: profiles then last as long as this server
    return made


@dataclass(frozen=True)
class Answer:
    """A reading and which model gave it; `note` is the one line why the shared model answered a profile."""

    reading: Reading
    model: str = SHARED
    note: str = ""
    other: Reading | None = None  # the shared model's reading of the same drawing, when a page compares
    inside: dict[str, Any] | None = None  # what the inside view paints (components.inside_view), when a page looks

    def to_json(self) -> dict[str, Any]:
        answer = self.reading.to_json(model=self.model)
        if self.note:
            answer["message"] = f"{answer['message']}; {self.note}"
        return answer


class PersonalModels:
    """The server's personal models: profiles in the drawings database, the replay set, the teaching limits."""

    def __init__(
        self,
        holder: ModelHolder,
        path: Location,
        data: str | None = None,
        pens: str | None = None,
        budget: Budget = TEACHINGS,
        max_bytes: int = MAX_DB_BYTES,
        corrections: Budget = REMEMBERED,
    ) -> None:
        self.holder, self.path, self.data, self.pens, self.max_bytes = holder, locate(path), data, pens, max_bytes
        self.budget, self.corrections, self.gate = budget, corrections, Gate(self.path, max_bytes)
        self._lock = threading.Lock()  # one thread builds the replay set and opens the profiles
        self._profiles: Profiles | None = None
        self._images: tuple[Any, Any, str] | None = None
        self.replay_seconds = 0.0

    def warm(self) -> threading.Thread:
        """Build the replay set off the request path (about a second); what comes first waits for it."""
        thread = threading.Thread(target=self.profiles, daemon=True, name="personal-replay")
        thread.start()
        return thread

    def _replay(self, classifier: Classifier) -> Replay:
        started = time.perf_counter()
        if self._images is None:
            self._images = load_replay_images(self.data, self.pens)
        replay = build_replay(classifier, self._images[0], self._images[1])
        self.replay_seconds = time.perf_counter() - started
        return replay

    def profiles(self) -> Profiles | str:
        """The served model's profiles, or one line why there are none (no model, a broken database)."""
        classifier = self.holder.current.classifier
        if classifier is None:
            return "no model is loaded, so there is no personal model either"
        current = self._profiles
        if current is not None and current.classifier is classifier:
            return current
        with self._lock:
            current = self._profiles
            if current is None or current.classifier is not classifier:
                try:
                    current = Profiles(self.path, classifier, self._replay(classifier))
                except ProfileStoreError as exc:
                    return first_line(exc)
                self._profiles = current
        return current

    def lookup(self, key: str | None) -> Lookup:
        if not key:
            return Lookup(None, "")
        profiles = self.profiles()
        if isinstance(profiles, str):
            return Lookup(None, f"{profiles}; using the shared model")
        return profiles.model(key)

    def teach(self, drawings: Any, key: str | None, who: str) -> Taught:
        """Add drawings to `key`'s profile (or a new one) and remember them; a refusal is one line, no profile."""
        if refused := self._refusal(self.budget, who):
            return Taught(None, 0, 0.0, f"not taught: {refused}")
        profiles = self.profiles()
        if isinstance(profiles, str):
            return Taught(None, 0, 0.0, f"not taught: {profiles}")
        return teach(profiles, drawings, key)

    def correct(self, label: int, strokes: Any, key: str | None, who: str) -> Taught:
        """One drawing from the Draw tab, remembered as `label` at once (relabelled if the profile holds it)."""
        if refused := self._refusal(self.corrections, who):
            return Taught(None, 0, 0.0, f"not remembered: {refused}")
        profiles = self.profiles()
        if isinstance(profiles, str):
            return Taught(None, 0, 0.0, f"not remembered: {profiles}")
        return teach(profiles, [{"label": label, "strokes": strokes}], key)

    def _refusal(self, budget: Budget, who: str) -> str:
        """'' when `who` may add to the database now (counted in the database every replica shares), else why not."""
        try:
            return self.gate.refusal(budget, who)
        except StoreError as exc:
            return first_line(exc)

    def undo(self, strokes: Any, key: str | None) -> bool:
        """Take one drawing back out of the visitor's memory; False when it was not there."""
        profiles = self.profiles()
        if isinstance(profiles, str) or not key:
            return False
        try:
            return unteach(profiles, strokes, key)
        except ProfileStoreError:
            return False

    def describe(self, key: str | None) -> str:
        """One line about a visitor's profile for the page that opens with it; '' with none."""
        profiles = self.profiles()
        if not key or isinstance(profiles, str) or not profiles.valid_key(key):
            return ""
        try:
            found = profiles.db.labels(key)
        except ProfileStoreError as exc:
            return f"Your personal model cannot be read now ({first_line(exc)}); the shared model answers."
        if found is None:
            return "Your personal model is gone (forgotten, or dropped as unused); teach it again."
        count = len(found[1])
        return f"You have a personal model that remembers {count} of your drawings; the Draw tab reads with it."

    def forget(self, key: str | None) -> str:
        profiles = self.profiles()
        if isinstance(profiles, str):
            return f"not forgotten: {profiles}"
        try:
            gone = profiles.forget(key)
        except ProfileStoreError as exc:
            return f"not forgotten: {first_line(exc)}"
        return "forgotten: your drawings and your model are deleted" if gone else "there was no such profile"

    def read_drawings(self, drawings: Sequence[Drawing], keys: Sequence[str | None]) -> list[Answer]:
        """Pad drawings, each with its visitor's key → answers; one forward pass for the batch."""
        return self._read(list(drawings), list(keys), read_drawings)

    def read_images(self, sources: Sequence[Any], keys: Sequence[str | None]) -> list[Answer]:
        return self._read(list(sources), list(keys), lambda c, s: read_digits(c, s, workers=1))

    def _read(
        self, items: list[T], keys: list[str | None], read: Callable[[Classifier, list[T]], list[Reading]]
    ) -> list[Answer]:
        served = self.holder.current.classifier
        if served is None:
            return [Answer(Reading("error", self.holder.current.warning or "no model is loaded"))] * len(items)
        shared = read(served, items)
        answers = [Answer(reading) for reading in shared]
        for key in dict.fromkeys(k for k in keys if k):
            found = self.lookup(key)
            rows = [i for i, k in enumerate(keys) if k == key]
            if found.model is None:
                for i in rows:
                    answers[i] = Answer(shared[i], SHARED, found.reason)
                continue
            for i, reading in zip(rows, reread(found.model, [shared[i] for i in rows]), strict=True):
                answers[i] = Answer(reading, PERSONAL, "", shared[i])
        return answers


def reread(model: PersonalModel, readings: list[Reading]) -> list[Reading]:
    """The shared model's readings of one visitor's drawings → the same drawings read with their memory."""
    seen = [(i, r.image, r.probabilities) for i, r in enumerate(readings) if r.status == "ok"]
    pairs = [(i, image, p) for i, image, p in seen if image is not None and p is not None]
    if not pairs:
        return readings
    x = model.classifier.inputs(np.stack([image for _, image, _ in pairs]))
    probabilities = model.reread(np.stack([p for _, _, p in pairs]), x)
    out = list(readings)
    for (i, _, _), p in zip(pairs, probabilities, strict=True):
        out[i] = replace(readings[i], probabilities=p)
    return out
