"""The SQLite engine: one file in WAL mode, the embedded default (nothing to install, one host).

Several processes on one host read while one writes; each write is one short transaction that waits (busy
timeout) rather than fails while another writes, and writers of one process queue on a lock of their own first.
The file is kept with `auto_vacuum=INCREMENTAL`: a write that leaves more than RECLAIM_PAGES free pages gives
them back, so deleting rows (drawings, profiles) shrinks the file and the byte cap counts the data only. Locks
that must outlive a transaction (the one import) are OS locks (`flock`) on a file beside the database, which
the kernel frees when their process dies.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mnist_core.atomic_files import flock_taken, flock_try
from mnist_core.drawings.engine import Connection, Cursor, Engine, FileLock, Held, first_text

# Free pages a write may leave before they go back to the file system (1 MB of SQLite's 4 KB pages): deleting
# rows shrinks the file at once, a row rewritten in place costs nothing. `python -m bench.store_space` times it.
RECLAIM_PAGES = 256
WAL_LIMIT_BYTES = 8_000_000  # the write-ahead log is cut back to this after a checkpoint (a big import grows it)
TYPES = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "real": "REAL"}

_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    """One lock per database file per process: writers queue here instead of spinning on SQLITE_BUSY."""
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(str(path.resolve()), threading.Lock())


def database_bytes(path: str | os.PathLike) -> int:
    """Bytes a drawings database takes on disk, its write-ahead log included."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += Path(f"{os.fspath(path)}{suffix}").stat().st_size
    return total


class SqliteConnection(Connection):
    dialect = "sqlite"
    types = TYPES

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)


class SqliteEngine(Engine):
    errors = (sqlite3.Error, OSError)

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self.path, self.busy_timeout_s = path, busy_timeout_s
        self.label = str(path)
        self._lock = _write_lock(path)

    def prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.connect() as conn:
            _incremental_vacuum(_raw(conn))  # also where a garbage file is found out
            conn.execute("PRAGMA journal_mode = WAL")

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A fresh connection, closed after use: nothing is shared between threads."""
        raw = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            raw.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across app crashes, fsync per checkpoint
            raw.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
            raw.execute("PRAGMA temp_store = FILE")  # a staged import waits on disk, not in memory
            yield SqliteConnection(raw)
        finally:
            raw.close()

    @contextlib.contextmanager
    def transaction(self, conn: Connection) -> Iterator[None]:
        """BEGIN IMMEDIATE under the process-wide lock for this file; the free pages it leaves beyond
        RECLAIM_PAGES go back to the file system once it commits."""
        raw = _raw(conn)
        with self._lock:
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                raw.rollback()
                raise
            raw.commit()
            if _pragma(raw, "freelist_count") > RECLAIM_PAGES:
                _give_back(raw)

    def migrated(self, conn: Connection, changed: bool) -> None:
        """The file's pages are counted as they are: nothing to keep up."""

    def used_bytes(self, conn: Connection) -> int:
        """The file's pages less its free ones: a file is not "full" because rows deleted from it once made it big."""
        raw = _raw(conn)
        return (_pragma(raw, "page_count") - _pragma(raw, "freelist_count")) * _pragma(raw, "page_size")

    def tables(self, conn: Connection) -> list[str]:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return sorted(name for (name,) in found)

    def copied(self, conn: Connection, table: str) -> None:
        """AUTOINCREMENT already numbers new rows after the highest id inserted."""

    def try_lock(self, name: str) -> Held | None:
        fd = flock_try(Path(f"{self.path}.{name}-lock"))
        return None if fd is None else FileLock(fd)

    def lock_taken(self, name: str) -> bool:
        return flock_taken(Path(f"{self.path}.{name}-lock"))

    def explain(self, what: str, exc: BaseException) -> str:
        if isinstance(exc, OSError) and exc.strerror:
            return f"{what} {self.path} cannot be used ({exc.strerror}); check its folder"
        text = first_text(exc)
        if "locked" in text or "busy" in text:
            return f"{what} {self.path} is locked by another program; try again shortly"
        return f"{what} {self.path} cannot be used ({text}); move the file aside and a new one will be started"


def _raw(conn: Connection) -> sqlite3.Connection:
    assert isinstance(conn, SqliteConnection)
    return conn.raw


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _give_back(conn: sqlite3.Connection) -> None:
    """Free pages to the end of the file and cut them off, then cut the write-ahead log (as far as readers let)."""
    conn.executescript("PRAGMA incremental_vacuum;")  # one page per step: execute() would take one step only
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _incremental_vacuum(conn: sqlite3.Connection) -> None:
    """auto_vacuum=INCREMENTAL: set before the first table of a new file, or once by rewriting an older file
    (VACUUM: a few seconds per hundred MB, `python -m bench.store_space`)."""
    if _pragma(conn, "auto_vacuum") == 2:
        return
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if _pragma(conn, "page_count") > 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # in WAL mode the copy went to the log
