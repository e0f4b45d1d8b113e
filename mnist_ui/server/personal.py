"""Personal models in the demo: each visitor's model for the served one, read and taught within the public limits.

No Gradio here. `Profiles` is tied to one classifier, so a new one is opened when the served model changes
(a delta taught on the old one is then refused with one line, and the shared model answers). The replayed
digits' features take about a second; `warm` builds them in a background thread at start, and a teach that
comes first waits for them. A reading asks for a visitor's model by key; with no key, an unknown one or a
broken database the shared model answers, and the reading says which model answered and why.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mnist_core.config import MAX_DB_BYTES, TEACH_PER_MINUTE, user_home
from mnist_core.drawings.policy import RateLimiter, room_left
from mnist_core.drawings.store import database_bytes
from mnist_core.errors import first_line
from mnist_core.imaging.strokes import Drawing
from mnist_core.model.forward import Classifier
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Lookup, Profiles
from mnist_core.personal.replay import Replay, build_replay
from mnist_core.personal.replay_set import load_replay_images
from mnist_core.personal.teach import Taught, teach
from mnist_core.serving.holder import ModelHolder
from mnist_core.serving.readings import Reading, read_digits, read_drawings

T = TypeVar("T")
SHARED, PERSONAL = "shared", "personal"
TOO_FAST = f"not taught: at most {TEACH_PER_MINUTE} teachings a minute; wait a moment and teach again"


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
        path: str | Path,
        data: str | None = None,
        pens: str | None = None,
        per_minute: int = TEACH_PER_MINUTE,
        max_bytes: int = MAX_DB_BYTES,
    ) -> None:
        self.holder, self.path, self.data, self.pens, self.max_bytes = holder, Path(path), data, pens, max_bytes
        self.limiter = RateLimiter(per_minute)
        self._lock = threading.Lock()  # one teach at a time builds what it needs
        self._profiles: Profiles | None = None
        self._replay: tuple[Classifier, Replay] | None = None
        self._images: tuple[Any, Any, str] | None = None
        self.replay_seconds = 0.0

    def warm(self) -> threading.Thread:
        """Build the replay set off the request path (about a second); a teach that comes first waits for it."""
        thread = threading.Thread(target=self._warm, daemon=True, name="personal-replay")
        thread.start()
        return thread

    def _warm(self) -> None:
        classifier = self.holder.current.classifier
        if classifier is not None:
            with self._lock:
                self._replay_for(classifier)

    def _replay_for(self, classifier: Classifier) -> Replay:
        if self._replay is None or self._replay[0] is not classifier:
            started = time.perf_counter()
            if self._images is None:
                self._images = load_replay_images(self.data, self.pens)
            self._replay = (classifier, build_replay(classifier, self._images[0], self._images[1]))
            self.replay_seconds = time.perf_counter() - started
        return self._replay[1]

    def profiles(self) -> Profiles | str:
        """The served model's profiles, or one line why there are none (no model, a broken database)."""
        classifier = self.holder.current.classifier
        if classifier is None:
            return "no model is loaded, so there is no personal model either"
        current = self._profiles
        if current is not None and current.classifier is classifier:
            return current
        try:
            current = Profiles(self.path, classifier)
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
        """Add drawings to `key`'s profile (or a new one) and adapt; a refusal is one line with no profile."""
        if not self.limiter.allow(who):
            return Taught(None, 0, 0.0, TOO_FAST)
        if full := room_left(database_bytes(self.path), self.max_bytes):
            return Taught(None, 0, 0.0, f"not taught: {full}")
        with self._lock:
            profiles = self.profiles()
            if isinstance(profiles, str):
                return Taught(None, 0, 0.0, f"not taught: {profiles}")
            replay = self._replay_for(profiles.classifier)
            return teach(profiles, replay, drawings, key)

    def describe(self, key: str | None) -> str:
        """One line about a visitor's profile for the page that opens with it; '' with none."""
        profiles = self.profiles()
        if not key or isinstance(profiles, str) or not profiles.valid_key(key):
            return ""
        try:
            count = len(profiles.db.drawings(key)) if profiles.db.exists(key) else None
        except ProfileStoreError as exc:
            return f"Your personal model cannot be read now ({first_line(exc)}); the shared model answers."
        if count is None:
            return "Your personal model is gone (forgotten, or dropped as unused); teach it again."
        return f"You have a personal model, taught on {count} of your drawings; the Draw tab reads with it."

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
        """Pad drawings, each with its visitor's key → answers; one forward pass per model in the batch."""
        return self._read(list(drawings), list(keys), read_drawings)

    def read_images(self, sources: Sequence[Any], keys: Sequence[str | None]) -> list[Answer]:
        return self._read(list(sources), list(keys), lambda c, s: read_digits(c, s, workers=1))

    def _read(
        self, items: list[T], keys: list[str | None], read: Callable[[Classifier, list[T]], list[Reading]]
    ) -> list[Answer]:
        served = self.holder.current.classifier
        if served is None:
            return [Answer(Reading("error", self.holder.current.warning or "no model is loaded"))] * len(items)
        answers: list[Answer | None] = [None] * len(items)
        for key in dict.fromkeys(keys):
            rows = [i for i, k in enumerate(keys) if k == key]
            found = self.lookup(key)
            reader = found.reader()
            model = PERSONAL if reader is not None else SHARED
            for i, reading in zip(rows, read(reader or served, [items[i] for i in rows]), strict=True):
                answers[i] = Answer(reading, model, found.reason)
        return [a for a in answers if a is not None]
