"""The personal tables of the drawings database: one row per visitor's profile, and their own drawings.

They live in the drawings database (a SQLite file or PostgreSQL, `mnist_core.drawings.database`) but in
tables of their own with their own schema version (`personal_schema`), so a visitor's drawings are
never mixed into the shared collection. One writer at a time, across every replica; a connection per
operation, so threads share nothing. Any database problem is one `ProfileStoreError` line.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Sequence

from mnist_core.drawings.database import Database, Migration, StoreError
from mnist_core.drawings.engine import Connection


class ProfileStoreError(StoreError):
    """The personal tables cannot be used (corrupt, locked, unwritable); readings fall back to the shared model."""


def _schema_v1(conn: Connection) -> None:
    conn.ddl("""
        CREATE TABLE profiles (
            key TEXT PRIMARY KEY,
            created TEXT NOT NULL,
            last_used {real} NOT NULL,
            base TEXT NOT NULL DEFAULT '',
            delta {blob}
        )""")
    conn.ddl("CREATE INDEX profiles_last_used ON profiles (last_used)")
    conn.ddl("""
        CREATE TABLE personal_drawings (
            id {id},
            profile TEXT NOT NULL,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            strokes {blob} NOT NULL,
            created TEXT NOT NULL
        )""")
    conn.ddl("CREATE INDEX personal_drawings_profile ON personal_drawings (profile)")


# Index i brings the personal tables from version i to i + 1; append, never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (_schema_v1,)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ProfileDatabase(Database):
    """SQL for profiles: create (with a cap, oldest-unused dropped), drawings, the delta blob, forget."""

    error = ProfileStoreError
    version_table = "personal_schema"
    what = "the personal models in the drawings database"

    def __init__(self, path: str | os.PathLike, max_profiles: int, busy_timeout_s: float = 5.0) -> None:
        self.max_profiles = max_profiles
        super().__init__(path, busy_timeout_s, MIGRATIONS)

    def create(self) -> str:
        """A new profile under a random URL-safe key; past the cap, the profiles unused longest are dropped."""
        key = secrets.token_urlsafe(24)
        with self._write() as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM profiles").fetchone()
            excess = count - self.max_profiles + 1
            if excess > 0:
                old = conn.execute("SELECT key FROM profiles ORDER BY last_used LIMIT ?", (excess,)).fetchall()
                for (gone,) in old:
                    _delete(conn, gone)
            conn.execute("INSERT INTO profiles (key, created, last_used) VALUES (?, ?, ?)", (key, _now(), time.time()))
        return key

    def exists(self, key: str) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM profiles WHERE key = ?", (key,)).fetchone() is not None

    def present(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` still have a profile (one query, for the models a server keeps in memory)."""
        if not keys:
            return set()
        with self._connect() as conn:
            found = conn.execute(f"SELECT key FROM profiles WHERE key IN ({', '.join('?' * len(keys))})", keys)
            return {key for (key,) in found}

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM profiles").fetchone()[0])

    def add_drawings(self, key: str, rows: Sequence[tuple[int, bytes]], keep: int) -> int:
        """Add (label, strokes JSON) rows, keep the newest `keep`; returns how many the profile now holds."""
        with self._write() as conn:
            created = _now()
            conn.executemany(
                "INSERT INTO personal_drawings (profile, label, strokes, created) VALUES (?, ?, ?, ?)",
                [(key, label, strokes, created) for label, strokes in rows],
            )
            conn.execute(
                "DELETE FROM personal_drawings WHERE profile = ? AND id NOT IN "
                "(SELECT id FROM personal_drawings WHERE profile = ? ORDER BY id DESC LIMIT ?)",
                (key, key, keep),
            )
            conn.execute("UPDATE profiles SET last_used = ? WHERE key = ?", (time.time(), key))
            return int(conn.execute("SELECT COUNT(*) FROM personal_drawings WHERE profile = ?", (key,)).fetchone()[0])

    def drawings(self, key: str) -> list[tuple[int, bytes]]:
        with self._connect() as conn:
            found = conn.execute("SELECT label, strokes FROM personal_drawings WHERE profile = ? ORDER BY id", (key,))
            return [(int(label), bytes(strokes)) for label, strokes in found]

    def save_delta(self, key: str, base: str, blob: bytes) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE profiles SET base = ?, delta = ?, last_used = ? WHERE key = ?", (base, blob, time.time(), key)
            )

    def delta(self, key: str) -> tuple[str, bytes | None] | None:
        """(base digest, delta blob or None when not yet taught), or None when there is no such profile."""
        with self._connect() as conn:
            row = conn.execute("SELECT base, delta FROM profiles WHERE key = ?", (key,)).fetchone()
        return None if row is None else (str(row[0]), None if row[1] is None else bytes(row[1]))

    def touch(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE profiles SET last_used = ? WHERE key = ?", (time.time(), key))

    def forget(self, key: str) -> bool:
        """Delete the profile and every drawing of it; False when there was none."""
        with self._write() as conn:
            return _delete(conn, key)


def _delete(conn: Connection, key: str) -> bool:
    conn.execute("DELETE FROM personal_drawings WHERE profile = ?", (key,))
    return conn.execute("DELETE FROM profiles WHERE key = ?", (key,)).rowcount > 0
