"""Moving the drawings database to another engine (`python -m mnist_core drawings migrate --to postgresql://…`).

Both ends are first brought to this app's schema by opening every table group on them (the caller's list:
drawings, rate limits, profiles), so the tables match. Then every row of every table is copied with its ids,
read from one snapshot of the source and written in one transaction of the target: all of it, or nothing. After
it commits, each table is counted and summed again on both ends (a hash of every row, in any order), and the
move is reported as done only when every count and every sum agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mnist_core.drawings.database import Database, StoreError
from mnist_core.drawings.engine import Connection

BATCH = 500  # rows sent to the target at once


@dataclass(frozen=True)
class Moved:
    """One table after the move: its rows and their hash on each end."""

    table: str
    rows: int
    checksum: str
    copied_rows: int
    copied_checksum: str

    @property
    def ok(self) -> bool:
        return (self.rows, self.checksum) == (self.copied_rows, self.copied_checksum)


def row_hash(values: Sequence[Any]) -> int:
    """A row's values as both drivers give them back: numbers by value (SQLite may keep 5 where PostgreSQL gives
    5.0), text as UTF-8, bytes as they are."""
    digest = hashlib.sha256()
    for value in values:
        if value is None:
            part = b"\x00null"
        elif isinstance(value, (bytes, bytearray, memoryview)):
            part = b"b" + bytes(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            part = b"n" + (str(int(number)) if number.is_integer() else repr(number)).encode()
        else:
            part = b"s" + str(value).encode()
        digest.update(len(part).to_bytes(8, "big") + part)
    return int.from_bytes(digest.digest(), "big")


def table_sum(conn: Connection, table: str) -> tuple[int, str]:
    """(rows, a hash of them all that does not depend on their order)."""
    count, total = 0, 0
    for values in conn.execute(f"SELECT * FROM {table}"):
        count, total = count + 1, (total + row_hash(values)) % 2**256
    return count, f"{total:064x}"[:16]


def _batches(cursor: Any) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(BATCH):
        yield rows


def move(source: Database, target: Database, skip: Sequence[str]) -> list[Moved]:
    """Copy every table of `source` but the `skip` ones (the schema versions, which opening set) into `target`,
    whose tables must be empty; then count and sum both. StoreError (one line) when it cannot be done."""
    with source.session() as src, target.session() as dst:
        tables = [t for t in source.engine.tables(src) if t not in skip]
        unknown = sorted(set(tables) - set(target.engine.tables(dst)))
        if unknown:
            raise StoreError(f"{target.engine.label} has no table {', '.join(unknown)}: update the app there first")
        taken = [t for t in tables if dst.execute(f"SELECT count(*) FROM {t}").fetchone()[0]]
        if taken:
            raise StoreError(
                f"{target.engine.label} already holds rows in {', '.join(taken)}: migrate moves into an empty database"
            )
        src.execute("BEGIN" if src.dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ")  # one snapshot
        with target.engine.transaction(dst):
            for table in tables:
                cursor = src.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cursor.description]
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for rows in _batches(cursor):
                    dst.executemany(sql, rows)
                target.engine.copied(dst, table)
        src.execute("COMMIT")
    with source.session() as src, target.session() as dst:
        return [Moved(t, *table_sum(src, t), *table_sum(dst, t)) for t in tables]
