"""How often each client may add to the drawings database, counted in that database.

Replicas share the file (deploy/run.sh), so every one of them counts the same minute: a client whose requests
a proxy spreads over three replicas gets one limit, not three. Each action is checked against all its limits
(its client's, everyone's) in one transaction and counted against all or none. A PostgreSQL engine implements
the same `take` on a table of its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from mnist_core.config import MAX_DB_BYTES
from mnist_core.drawings.database import Database, Migration
from mnist_core.drawings.engine import Connection
from mnist_core.drawings.policy import Limit

WINDOW_S = 60.0


def _schema_v1(conn: Connection) -> None:
    conn.ddl("CREATE TABLE rate_events (key TEXT NOT NULL, at {real} NOT NULL)")
    conn.ddl("CREATE INDEX rate_events_key ON rate_events (key, at)")
    conn.ddl("CREATE INDEX rate_events_at ON rate_events (at)")


# Index i brings the rate table from version i to i + 1; append, never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (_schema_v1,)


class RateBook(Database):
    """The actions of the last minute, one row each; older ones are deleted as new ones are counted."""

    version_table = "rate_schema"
    what = "the rate limits in the drawings database"

    def __init__(
        self, path: str | os.PathLike | None = None, busy_timeout_s: float = 5.0, max_bytes: int = MAX_DB_BYTES
    ) -> None:
        super().__init__(path, busy_timeout_s, MIGRATIONS, max_bytes)

    def take(self, limits: Sequence[Limit], now: float | None = None) -> Limit | None:
        """Count one action against every limit, or (the first limit already reached, returned) against none.

        The clock is the wall clock, which every process on the host shares."""
        now = time.time() if now is None else now
        with self._write() as conn:
            conn.execute("DELETE FROM rate_events WHERE at <= ?", (now - WINDOW_S,))
            for limit in limits:
                (used,) = conn.execute(
                    "SELECT count(*) FROM rate_events WHERE key = ? AND at > ?", (limit.key, now - WINDOW_S)
                ).fetchone()
                if used >= limit.per_minute:
                    return limit
            conn.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)", [(lim.key, now) for lim in limits])
        return None
