"""What a visitor's additions to the shared database keep to (issue #36): corrections, teachings and imports, each
limited per visitor (`access.visitor`: an address, or a logged-in user's browser) and for everyone together per
minute, counted in the database every replica shares; and the byte cap, checked before the work starts.

No Gradio here: the collector, the personal models and the import ask a `Gate` and get '' or the one line a
refused visitor reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from mnist_core.config import (
    CORRECT_BUDGET,
    IMPORT_BUDGET,
    IMPORT_PER_MINUTE,
    MAX_DB_BYTES,
    PER_MINUTE,
    TEACH_BUDGET,
    TEACH_PER_MINUTE,
)
from mnist_core.drawings.engine import Location, locate
from mnist_core.drawings.policy import Limit
from mnist_core.drawings.rates import RateBook
from mnist_core.drawings.store import StoreError


@dataclass(frozen=True)
class Budget:
    """One kind of addition: `per_visitor` of them a minute from one visitor, `everyone` from all together."""

    action: str  # what is counted, in the plural: "corrections"
    per_visitor: int
    everyone: int

    def limits(self, visitor: str) -> list[Limit]:
        return [
            Limit(
                f"{self.action}|{visitor}",
                self.per_visitor,
                f"at most {self.per_visitor} {self.action} a minute; wait a moment",
            ),
            Limit(
                f"{self.action}|everyone",
                self.everyone,
                f"the server takes at most {self.everyone} {self.action} a minute from everyone together; "
                "try again in a minute",
            ),
        ]


CORRECTIONS = Budget("corrections", PER_MINUTE, CORRECT_BUDGET)
TEACHINGS = Budget("teachings", TEACH_PER_MINUTE, TEACH_BUDGET)
# A correction also remembered by the visitor's own model (one drawing each): counted apart from the shared
# store's corrections, so one click is not counted twice against the same limit.
REMEMBERED = Budget("corrections to personal models", PER_MINUTE, CORRECT_BUDGET)
IMPORTS = Budget("imports", IMPORT_PER_MINUTE, IMPORT_BUDGET)


class Gate:
    """The rate book and the byte cap of one database, opened on first use (and again after a failure)."""

    def __init__(self, path: Location, max_bytes: int = MAX_DB_BYTES) -> None:
        self.path, self.max_bytes = locate(path), max_bytes
        self._book: RateBook | None = None
        self._lock = threading.Lock()

    def _open(self) -> RateBook:
        with self._lock:
            if self._book is None:
                self._book = RateBook(self.path, max_bytes=self.max_bytes)
            return self._book

    def refusal(self, budget: Budget, visitor: str, adding: int = 0) -> str:
        """'' when `visitor` may add `adding` more bytes now (and it is counted), else the one line why not: the
        store is full or a limit is reached. StoreError (one line) when the database cannot be used."""
        try:
            book = self._open()
            if full := book.over_cap(adding):
                return full
            reached = book.take(budget.limits(visitor or "anonymous"))
        except StoreError:
            with self._lock:
                self._book = None  # opened afresh next time: a file moved aside is replaced
            raise
        return reached.refusal if reached is not None else ""
