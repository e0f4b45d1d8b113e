"""What giving deleted rows' space back costs (issue #36).

The store keeps SQLite's `auto_vacuum=INCREMENTAL` and gives the free pages back after any write that leaves
more than RECLAIM_PAGES of them (mnist_core/drawings/store.py). Against a store filled with `--mb` MB of image
rows (padded PNGs, as an import brings them), this times:

1. deleting single rows, each leaving less than RECLAIM_PAGES free (nothing given back yet);
2. deleting every tenth row in one go: the vacuum moves pages from the end into the holes;
3. "Delete all": the DELETE with the incremental vacuum after it, and the file before and after;
each beside the same DELETE on a store without auto_vacuum (as before issue #36), in the same run; and
4. the one-time conversion of an older store (auto_vacuum=NONE) when the demo opens it, beside a plain
   VACUUM of the same file (the other way to give space back: it rewrites the whole file each time).

    python -m bench.store_space [--mb 200]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.attacks import padded_export
from mnist_core.drawings import transfer
from mnist_core.drawings.sqlite import RECLAIM_PAGES, database_bytes
from mnist_core.drawings.store import DrawingStore

ROW_BYTES = 200_000


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = work()
    return answer, time.perf_counter() - started


def filled(path: Path, mb: int, vacuum: bool = True) -> DrawingStore:
    """A store of `mb` MB of image rows; with `vacuum` False, one as the store was before issue #36
    (auto_vacuum=NONE: the store then only works on it as it finds it, the way the old code did)."""
    store = DrawingStore(path, max_bytes=4 * mb * 1_000_000)
    rows = mb * 1_000_000 // ROW_BYTES
    for first in range(1, rows + 1, 250):  # a few zips: each is built in memory
        transfer.import_zip(store, padded_export(min(250, rows + 1 - first), ROW_BYTES, first_id=first))
    if not vacuum:
        with sqlite3.connect(path, isolation_level=None) as conn:
            conn.execute("PRAGMA auto_vacuum = NONE")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def mb(path: Path) -> str:
    return f"{database_bytes(path) / 1e6:,.0f} MB"


def raw_delete(path: Path, ids: list[int]) -> None:
    """DELETE in one transaction on a plain connection: what the old store did, no space given back."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("DELETE FROM drawings WHERE id = ?", [(row_id,) for row_id in ids])
        conn.execute("COMMIT")


def deletes(folder: Path, size: int) -> None:
    """1–3: the store's deletes (vacuum included), each beside the same DELETE on a store without auto_vacuum."""
    kept, old = filled(folder / "kept.sqlite3", size), filled(folder / "old.sqlite3", size, vacuum=False)
    ids = [row.id for row in kept.rows(limit=100_000)]
    singles, tenth = ids[1:21], ids[21::10]
    _, took = timed(lambda: [kept.delete(row_id) for row_id in singles])
    _, plain = timed(lambda: [raw_delete(old.path, [row_id]) for row_id in singles])
    print(
        f"1. delete one row ({ROW_BYTES // 1000} KB; under {RECLAIM_PAGES * 4096 / 1e6:.0f} MB free nothing is "
        f"given back yet): {took / len(singles) * 1000:.1f} ms each "
        f"(without auto_vacuum {plain / len(singles) * 1000:.1f} ms)"
    )
    before = mb(kept.path)

    def delete_tenth() -> None:
        with kept._write() as conn:
            conn.executemany("DELETE FROM drawings WHERE id = ?", [(row_id,) for row_id in tenth])

    _, took = timed(delete_tenth)
    _, plain = timed(lambda: raw_delete(old.path, tenth))
    print(
        f"2. delete every tenth row ({len(tenth)} rows) at once: {took:.2f} s, file {before} → {mb(kept.path)} "
        f"(without auto_vacuum {plain:.2f} s, file and log {mb(old.path)})"
    )
    before = mb(kept.path)
    count, took = timed(kept.delete_all)
    _, plain = timed(lambda: raw_delete(old.path, [row.id for row in old.rows(limit=100_000)]))
    print(
        f"3. delete all {count:,} rows: {took:.2f} s, file {before} → {mb(kept.path)} "
        f"(without auto_vacuum {plain:.2f} s, file and log {mb(old.path)})"
    )


def converted(folder: Path, size: int) -> None:
    """4: an older store opened once (its one-time VACUUM to auto_vacuum=INCREMENTAL), beside a plain VACUUM."""
    path = folder / "older.sqlite3"
    filled(path, size, vacuum=False)
    size_shown = mb(path)
    _, took = timed(lambda: DrawingStore(path))
    with sqlite3.connect(path, isolation_level=None) as conn:
        mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        _, plain = timed(lambda: conn.execute("VACUUM"))
    print(
        f"4. an older {size_shown} store opened (converted once to auto_vacuum={mode}): {took:.2f} s; "
        f"a plain VACUUM of it: {plain:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="MB of rows in the store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        deletes(folder, args.mb)
        converted(folder, args.mb)


if __name__ == "__main__":
    main()
