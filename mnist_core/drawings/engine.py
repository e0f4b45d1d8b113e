"""Where the drawings database lives, and what an engine does for it: one store interface
(`mnist_core.drawings.database.Database`) over two engines, SQLite (a file: the embedded default, nothing to
install) and PostgreSQL (a server that replicas on several hosts share).

The tables' SQL is written once, with `?` placeholders and, in schema migrations, type words in braces
(`{id}`, `{blob}`, `{real}`); each engine's `Connection` turns them into its own. What SQL cannot say the same
way on both is an `Engine` method: one writer at a time, the bytes the data takes (deleted rows' space given
back or not counted), locks that outlive a transaction, and the one line a failure becomes.
"""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from mnist_core.config import DATABASE_ENV, user_home

FILE_NAME = "drawings.sqlite3"
SCHEMES = ("postgresql://", "postgres://")
Location = Path | str  # a SQLite file, or a postgresql:// URL
_TYPE_WORD = re.compile(r"\{(id|blob|real)\}")


def is_url(where: str | os.PathLike | None) -> bool:
    return isinstance(where, str) and where.startswith(SCHEMES)


def locate(where: str | os.PathLike | None = None) -> Location:
    """A `--database` value as a location: a URL as given, a file path expanded; None (or '') the default one,
    $MNIST_DEMO_DATABASE when set (a file or a URL), else drawings.sqlite3 in the demo's home."""
    if where is None or where == "":
        found = os.environ.get(DATABASE_ENV)
        return locate(found) if found else user_home() / FILE_NAME
    if is_url(where):
        return str(where)
    return Path(where).expanduser()


def shown(location: Location) -> str:
    """The location as the server's owner reads it: the file, or the URL without its password."""
    if not is_url(location):
        return str(location)
    parts = urlsplit(str(location))
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


class Cursor(Protocol):
    """What both drivers' cursors give back."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchmany(self, size: int) -> Any: ...

    def fetchall(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(ABC):
    """One engine's connection, speaking the tables' one SQL: `?` placeholders; DDL type words in braces."""

    dialect: str
    types: dict[str, str]  # what {id}, {blob} and {real} are in this engine's DDL

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def ddl(self, sql: str) -> None:
        """A schema statement, its type words made this engine's."""
        self.execute(_TYPE_WORD.sub(lambda m: self.types[m.group(1)], sql))


class Held(ABC):
    """A lock this process holds (`Engine.try_lock`)."""

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def alive(self) -> bool:
        """Whether it is still held: a database lock is lost with its connection (the server restarted)."""


class FileLock(Held):
    """An `flock` this process holds: closing its file frees it."""

    def __init__(self, handle: int) -> None:
        self._fd: int | None = handle

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file frees the lock
            self._fd = None

    def alive(self) -> bool:
        return self._fd is not None


class Engine(ABC):
    """What differs between SQLite and PostgreSQL below the tables' SQL."""

    label: str  # the database as its owner reads it in a message (no password)
    errors: tuple[type[BaseException], ...]  # what the driver raises when the database cannot be used

    @abstractmethod
    def prepare(self) -> None:
        """Before the first migration: the file's folder and modes (SQLite), nothing to do (PostgreSQL)."""

    @abstractmethod
    def connect(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for one operation; nothing of it is shared between threads while it is held."""

    @abstractmethod
    def transaction(self, conn: Connection) -> contextlib.AbstractContextManager[None]:
        """One write transaction at a time on this database, across threads, processes and hosts."""

    @abstractmethod
    def migrated(self, conn: Connection, changed: bool) -> None:
        """Inside the migrating transaction, after the steps (`changed`: some ran, or the group is new)."""

    @abstractmethod
    def used_bytes(self, conn: Connection) -> int:
        """Bytes the data takes (not the files' high-water mark): what the byte cap counts."""

    @abstractmethod
    def tables(self, conn: Connection) -> list[str]:
        """The database's own tables (the engine's bookkeeping left out), for `migrate`."""

    @abstractmethod
    def copied(self, conn: Connection, table: str) -> None:
        """After rows were copied in with their ids: new rows are numbered after them."""

    @abstractmethod
    def try_lock(self, name: str) -> Held | None:
        """The lock named `name`, taken without waiting, or None while another process holds it. It lasts until
        released, or until the process holding it dies, however it dies."""

    @abstractmethod
    def lock_taken(self, name: str) -> bool:
        """Whether some process holds the lock named `name` now."""

    @abstractmethod
    def explain(self, what: str, exc: BaseException) -> str:
        """The one line a driver error becomes, naming `what` could not be used and the fix."""


def open_engine(location: Location, busy_timeout_s: float = 5.0) -> Engine:
    """The engine for a location: PostgreSQL for a postgresql:// URL, else SQLite."""
    if is_url(location):
        from mnist_core.drawings.postgres import PostgresEngine

        return PostgresEngine(str(location), busy_timeout_s)
    from mnist_core.drawings.sqlite import SqliteEngine

    return SqliteEngine(Path(location), busy_timeout_s)


def first_text(exc: BaseException, limit: int = 160) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]
