"""The personal tables of the drawings database: one row per visitor's profile, and their own drawings.

They live in the drawings database (a SQLite file or PostgreSQL, `mnist_core.drawings.database`) but in
tables of their own with their own schema version (`personal_schema`), so a visitor's drawings are
never mixed into the shared collection. One writer at a time, across every replica; a connection per
operation, so threads share nothing. Any database problem is one `ProfileStoreError` line.

A profile keeps its drawings packed (`mnist_core.imaging.packed`, about 200 bytes a digit) with the digest of
the drawing as the pad sent it, so the same drawing corrected again changes its label instead of being kept
twice. Every change bumps the profile's `generation`: a server that holds the profile's memory in RAM checks
it (`Profiles`), so a profile taught, corrected or forgotten on one replica reads the same on every other.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Sequence

from mnist_core.drawings.database import Database, Migration, StoreError
from mnist_core.drawings.engine import Connection
from mnist_core.drawings.store import digest
from mnist_core.imaging.packed import pack
from mnist_core.imaging.strokes import StrokeError, parse


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


def _schema_v2(conn: Connection) -> None:
    """A memory instead of a delta: the delta goes, profiles get a generation, drawings are packed and keyed by
    their digest (a drawing that no longer parses is dropped: it could not be read back anyway)."""
    conn.ddl("ALTER TABLE profiles DROP COLUMN delta")
    conn.ddl("ALTER TABLE profiles DROP COLUMN base")
    conn.ddl("ALTER TABLE profiles ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
    conn.ddl("ALTER TABLE personal_drawings ADD COLUMN digest TEXT NOT NULL DEFAULT ''")
    for row_id, data in conn.execute("SELECT id, strokes FROM personal_drawings").fetchall():
        try:
            packed, key = pack(parse(bytes(data))), digest(bytes(data))
        except StrokeError:
            conn.execute("DELETE FROM personal_drawings WHERE id = ?", (row_id,))
            continue
        conn.execute("UPDATE personal_drawings SET strokes = ?, digest = ? WHERE id = ?", (packed, key, row_id))
    conn.ddl("CREATE INDEX personal_drawings_digest ON personal_drawings (profile, digest)")


# Index i brings the personal tables from version i to i + 1; append, never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (_schema_v1, _schema_v2)

Row = tuple[int, int, bytes]  # (drawing id, label, packed strokes)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ProfileDatabase(Database):
    """SQL for profiles: create (with a cap, oldest-unused dropped), drawings in and out, generations, forget."""

    error = ProfileStoreError
    version_table = "personal_schema"
    what = "the personal models in the drawings database"

    def __init__(self, path: str | os.PathLike, max_profiles: int, busy_timeout_s: float = 5.0) -> None:
        self.max_profiles = max_profiles
        super().__init__(path, busy_timeout_s, MIGRATIONS)

    def create(self) -> tuple[str, list[str]]:
        """A new profile under a random URL-safe key; past the cap, the profiles unused longest are dropped.
        Returns the key and the keys dropped."""
        key = secrets.token_urlsafe(24)
        with self._write() as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM profiles").fetchone()
            excess = count - self.max_profiles + 1
            old = []
            if excess > 0:
                old = [k for (k,) in conn.execute("SELECT key FROM profiles ORDER BY last_used LIMIT ?", (excess,))]
                for gone in old:
                    _delete(conn, gone)
            conn.execute("INSERT INTO profiles (key, created, last_used) VALUES (?, ?, ?)", (key, _now(), time.time()))
        return key, old

    def exists(self, key: str) -> bool:
        return self.generation(key) is not None

    def generation(self, key: str) -> int | None:
        """How many times the profile has changed; None when there is no such profile (forgotten or dropped)."""
        with self._connect() as conn:
            row = conn.execute("SELECT generation FROM profiles WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM profiles").fetchone()[0])

    def add_drawings(self, key: str, rows: Sequence[tuple[int, bytes]], keep: int) -> tuple[list[int], int, int]:
        """Add (label, the pad's strokes as canonical JSON) rows, keep the newest `keep`; a drawing the profile
        already holds takes the label sent instead. Returns the ids of the drawings sent, in order, how many of
        them are new to the profile and how many changed their label."""
        ids, new, changed = [], 0, 0
        with self._write() as conn:
            created = _now()
            for label, strokes in rows:
                drawing_id, was = _put(conn, key, label, strokes, created)
                ids.append(drawing_id)
                new += was is None
                changed += was is not None and was != label
            conn.execute(
                "DELETE FROM personal_drawings WHERE profile = ? AND id NOT IN "
                "(SELECT id FROM personal_drawings WHERE profile = ? ORDER BY id DESC LIMIT ?)",
                (key, key, keep),
            )
            _changed(conn, key)
        return ids, new, changed

    def remove_drawing(self, key: str, strokes: bytes) -> bool:
        """Forget one drawing (the pad's strokes as canonical JSON); False when the profile does not hold it."""
        with self._write() as conn:
            gone = conn.execute(
                "DELETE FROM personal_drawings WHERE profile = ? AND digest = ?", (key, digest(strokes))
            ).rowcount
            if gone:
                _changed(conn, key)
        return bool(gone)

    def drawings(self, key: str, ids: Sequence[int] | None = None) -> list[Row]:
        """The profile's drawings (only those of `ids` when given) oldest first: (id, label, packed strokes)."""
        query = "SELECT id, label, strokes FROM personal_drawings WHERE profile = ?"
        with self._connect() as conn:
            if ids is None:
                found = conn.execute(query + " ORDER BY id", (key,)).fetchall()
            else:
                marks = ",".join("?" * len(ids))
                found = conn.execute(f"{query} AND id IN ({marks}) ORDER BY id", (key, *ids)).fetchall()
        return [(int(i), int(label), bytes(strokes)) for i, label, strokes in found]

    def labels(self, key: str) -> tuple[int, dict[int, int]] | None:
        """(generation, drawing id → label), read together; None when there is no such profile."""
        with self._connect() as conn:
            row = conn.execute("SELECT generation FROM profiles WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            found = conn.execute("SELECT id, label FROM personal_drawings WHERE profile = ?", (key,)).fetchall()
        return int(row[0]), {int(i): int(label) for i, label in found}

    def touch(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE profiles SET last_used = ? WHERE key = ?", (time.time(), key))

    def forget(self, key: str) -> bool:
        """Delete the profile and every drawing of it; False when there was none."""
        with self._write() as conn:
            return _delete(conn, key)


def _put(conn: Connection, key: str, label: int, strokes: bytes, created: str) -> tuple[int, int | None]:
    """One drawing in: a new row, or the same drawing's row relabelled; (its id, its label before, None if new)."""
    content = digest(strokes)
    found = conn.execute(
        "SELECT id, label FROM personal_drawings WHERE profile = ? AND digest = ?", (key, content)
    ).fetchone()
    if found is not None:
        conn.execute("UPDATE personal_drawings SET label = ? WHERE id = ?", (label, found[0]))
        return int(found[0]), int(found[1])
    (new_id,) = conn.execute(
        "INSERT INTO personal_drawings (profile, label, strokes, created, digest) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (key, label, pack(parse(strokes)), created, content),
    ).fetchone()
    return int(new_id), None


def _changed(conn: Connection, key: str) -> None:
    conn.execute("UPDATE profiles SET generation = generation + 1, last_used = ? WHERE key = ?", (time.time(), key))


def _delete(conn: Connection, key: str) -> bool:
    conn.execute("DELETE FROM personal_drawings WHERE profile = ?", (key,))
    return conn.execute("DELETE FROM profiles WHERE key = ?", (key,)).rowcount > 0
