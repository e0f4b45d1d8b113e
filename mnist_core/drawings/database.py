"""The one store interface: a group of tables in the drawings database, on either engine, brought to its schema.

`DrawingStore` (the collected drawings), `RateBook` (the rate limits) and `ProfileDatabase` (the personal
models) are each a `Database`: a schema-version table of their own, migrations written once for both engines
(`mnist_core.drawings.engine`), a connection per operation and one writer at a time. Every database problem
(a corrupt or locked file, a server that is down, a full disk) is one `StoreError` line (the subclass's own
type), which the demo shows while it keeps reading drawings.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence

from mnist_core.config import MAX_DB_BYTES
from mnist_core.drawings.engine import Connection, Engine, Location, locate, open_engine
from mnist_core.drawings.policy import room_left


class StoreError(RuntimeError):
    """The database cannot be used (corrupt, locked, unwritable, unreachable); one line for the UI to show."""


class StoreFull(StoreError):
    """The store holds as many drawings as it may; nothing was added."""


class StoreBusy(StoreError):
    """Another import is running on this database; nothing was read."""


Migration = Callable[[Connection], None]


class Database:
    """One group of tables in the drawings database (a SQLite file or a PostgreSQL URL), at the current schema.

    Subclasses name their tables' own schema-version table, error type and what the user reads they are.
    """

    error: type[StoreError] = StoreError
    version_table = "schema_version"
    what = "the drawings database"

    def __init__(
        self,
        path: str | os.PathLike | None,
        busy_timeout_s: float,
        migrations: Sequence[Migration],
        max_bytes: int = MAX_DB_BYTES,
    ) -> None:
        self.path: Location = locate(path)  # a file, or a URL: `engine.shown` says it without a password
        self.busy_timeout_s, self.max_bytes = busy_timeout_s, max_bytes
        try:
            self.engine: Engine = open_engine(self.path, busy_timeout_s)
        except ImportError:
            raise self.error("a PostgreSQL database needs psycopg: pip install -r requirements.txt") from None
        try:
            self.engine.prepare()
        except self.engine.errors as exc:
            raise self._error(exc) from None
        self._migrate(migrations)

    def _error(self, exc: BaseException) -> StoreError:
        return self.error(self.engine.explain(self.what, exc))

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection for one operation, closed (or given back to the pool) after use."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except self.engine.errors as exc:
            raise self._error(exc) from None

    def session(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for a caller that moves whole tables (`migrate`); a failure is this database's one line."""
        return self._connect()

    @contextlib.contextmanager
    def _write(self, conn: Connection | None = None) -> Iterator[Connection]:
        """One short write transaction on `conn` (or a fresh connection): the database's one writer meanwhile."""
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self._connect())
            with self.engine.transaction(conn):
                yield conn

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        """Apply the pending migrations in order, all in one transaction; refuse a newer database."""
        with self._write() as conn:
            table = self.version_table  # a class constant, never user input
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
            found = conn.execute(f"SELECT version FROM {table}").fetchone()
            version = found[0] if found else 0
            if version > len(migrations):
                raise self.error(
                    f"{self.what} {self.engine.label} was written by a newer version of this app "
                    f"(schema {version}, this one reads up to {len(migrations)}); update the app"
                )
            for step in migrations[version:]:
                step(conn)
            if found is None:
                conn.execute(f"INSERT INTO {table} (version) VALUES (?)", (len(migrations),))
            elif version < len(migrations):
                conn.execute(f"UPDATE {table} SET version = ?", (len(migrations),))
            self.engine.migrated(conn, changed=found is None or version < len(migrations))

    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute(f"SELECT version FROM {self.version_table}").fetchone()[0])

    def used_bytes(self) -> int:
        """Bytes the data takes (not the files' high-water mark): what the byte cap counts."""
        with self._connect() as conn:
            return self.engine.used_bytes(conn)

    def over_cap(self, adding: int = 0) -> str:
        """'' while `adding` more bytes fit under the cap, else the refusal line. A check before work (a teach);
        the adding transaction checks again (`DrawingStore.insert`)."""
        return room_left(self.used_bytes() + adding, self.max_bytes)

    @contextlib.contextmanager
    def import_slot(self) -> Iterator[None]:
        """Hold the one import slot of this database, across threads, processes and hosts (a lock freed if its
        process dies); StoreBusy at once when another import holds it."""
        try:
            held = self.engine.try_lock("import")
        except self.engine.errors as exc:
            raise self._error(exc) from None
        if held is None:
            raise StoreBusy("another import is running on this server; try again when it ends")
        try:
            yield
        finally:
            held.release()
