"""The drawings database on PostgreSQL beside SQLite: one schema from one source, limits that hold for every
process together (each process its own pool, as replicas on several hosts), `drawings migrate` moving a
5,000-drawing store with counts and checksums equal, the one-training lock in the database, and a server that
goes down and comes back. Both engines where the behaviour is the same; PostgreSQL alone where it is its own."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import need_postgres
from PIL import Image

from mnist_core.drawings.rates import RateBook
from mnist_core.drawings.store import DrawingStore, Entry, StoreError, StoreFull, now_iso
from mnist_core.personal.profile_db import ProfileDatabase
from mnist_core.serving.shared_job import SharedJob, lock_engine
from mnist_core.serving.snapshot import FinetuneSnapshot
from mnist_ui.testing import ONE, REPO, SEVEN, Strokes, new_database, pad_value, postgres


def pad_json(strokes: Strokes) -> bytes:
    """A drawing as a profile's rows take it: the pad's value as JSON bytes."""
    return json.dumps(pad_value(strokes)).encode()


IMAGE = np.zeros((28, 28), np.uint8)


def entries(count: int, seed: int = 0) -> list[Entry]:
    """`count` different stroke rows with labels 0–9, as an import would stage them."""
    rng = np.random.default_rng(seed)
    return [
        Entry(
            int(rng.integers(10)),
            int(rng.integers(10)),
            json.dumps([0.1] * 10),
            "v1",
            "strokes",
            json.dumps({"v": 1, "width": 448, "height": 448, "strokes": [[[k % 400, seed], [100, 300]]]}).encode(),
            rng.integers(0, 256, 784, dtype=np.uint8).tobytes(),
            now_iso(),
        )
        for k in range(count)
    ]


def columns(where: str | Path) -> dict[str, list[str]]:
    """Every table of the database with its columns, as the app's migrations made them."""
    store = DrawingStore(where)
    RateBook(where), ProfileDatabase(where, 10)
    with store.session() as conn:
        return {
            table: [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
            for table in store.engine.tables(conn)
        }


def test_one_schema_source_makes_the_same_tables_on_both_engines(tmp_path: Path, postgres_server: str) -> None:
    on_sqlite, on_postgres = columns(tmp_path / "drawings.sqlite3"), columns(new_database(postgres_server))
    assert on_sqlite == on_postgres
    assert {"drawings", "profiles", "personal_drawings", "rate_events"} <= set(on_sqlite)


HAMMER = """
import sys
import numpy as np
from mnist_core.drawings.policy import Limit
from mnist_core.drawings.rates import RateBook
from mnist_core.drawings.store import DrawingStore, StoreFull
from mnist_core.personal.profile_db import ProfileDatabase
where = sys.argv[1]
book = RateBook(where)
rate = sum(book.take([Limit("someone", 25, "no"), Limit("everyone", 1000, "no")]) is None for _ in range(20))
store, rows = DrawingStore(where, max_rows=20), 0
for k in range(10):
    drawing = {"v": 1, "width": 448, "height": 448, "strokes": [[[1, 1], [100, 100 + k]]]}
    try:
        store.add(k % 10, np.zeros((28, 28), np.uint8), strokes=drawing)
        rows += 1
    except StoreFull:
        pass
profiles = ProfileDatabase(where, 7)
made = len([profiles.create()[0] for _ in range(5)])
print(rate, rows, made)
"""


@pytest.mark.slow
def test_caps_hold_for_every_process_together(database: str | Path) -> None:
    """Three processes at once, each with its own connections (its own pool): one budget, not three."""
    DrawingStore(database), RateBook(database), ProfileDatabase(database, 7)  # the schema, made once
    running = [
        subprocess.Popen([sys.executable, "-c", HAMMER, str(database)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=180)[0] for p in running]
    assert all(p.returncode == 0 for p in running), outs
    rate, rows, made = (sum(column) for column in zip(*[map(int, out.split()) for out in outs], strict=True))
    assert rate == 25  # 60 asked within the minute; the limit is 25 for all of them
    assert rows == 20 and DrawingStore(database).counts().total == 20  # 30 asked; the store holds 20
    assert made == 15 and ProfileDatabase(database, 7).count() == 7  # the oldest unused dropped past the cap


def noisy_png(seed: int, side: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_byte_cap_counts_the_data_and_frees_up_when_rows_go(database: str | Path) -> None:
    store = DrawingStore(database)
    store = DrawingStore(database, max_bytes=store.used_bytes() + 60_000)
    kept = 0
    with pytest.raises(StoreFull, match="full"):
        for seed in range(40):  # about 4 KB a row
            store.add(seed % 10, IMAGE, png=noisy_png(seed))
            kept += 1
    assert 5 <= kept < 20 and store.counts().total == kept
    store.delete_all()
    assert store.add(1, IMAGE, png=noisy_png(99)) > 0  # "full" meant the data, not what the files once held


def test_migrate_moves_5000_drawings_with_counts_and_checksums_equal(
    tmp_path: Path, postgres_server: str, isolated_home: Path
) -> None:
    source = tmp_path / "drawings.sqlite3"
    store = DrawingStore(source)
    store.insert(entries(5000))
    profiles = ProfileDatabase(source, 10)
    key, _ = profiles.create()
    profiles.add_drawings(key, [(7, pad_json(SEVEN)), (1, pad_json(ONE))], keep=10)
    RateBook(source).take([])
    target = new_database(postgres_server)
    move = [sys.executable, "-m", "mnist_core", "drawings", "migrate", "--from", str(source), "--to", target]
    env = {**os.environ, "MNIST_DEMO_HOME": str(isolated_home)}
    done = subprocess.run(move, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    table = {cells[0]: cells[1:] for cells in rows if len(cells) == 5 and cells[1][0].isdigit()}
    assert table["drawings"][:2] == ["5,000", "5,000"] and table["drawings"][2] == table["drawings"][3]
    assert table["profiles"][:2] == ["1", "1"] and table["personal_drawings"][:2] == ["2", "2"]
    assert target.split("@")[0] not in done.stdout + done.stderr  # the URL's password is never printed
    copy = DrawingStore(target)
    assert copy.counts() == store.counts()
    labels = [(row.id, row.label) for row in store.each_row()]
    assert [(row.id, row.label) for row in copy.each_row()] == labels
    assert ProfileDatabase(target, 10).drawings(key) == profiles.drawings(key)
    assert copy.add(3, IMAGE, png=noisy_png(1)) == 5001  # new rows are numbered after the copied ones
    again = subprocess.run(move, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "empty database" in again.stderr


HOLD_JOB_LOCK = """
import sys
from mnist_core.drawings.engine import open_engine
held = open_engine(sys.argv[1]).try_lock("job")
print("locked" if held else "taken", flush=True)
sys.stdin.read()
"""


@pytest.mark.slow
def test_the_training_lock_in_postgres_is_one_for_every_host_and_freed_when_its_holder_dies(
    tmp_path: Path, postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database(postgres_server)
    monkeypatch.delenv("MNIST_DEMO_JOB_LOCK", raising=False)
    shared = SharedJob(tmp_path, engine=lock_engine(url))  # a PostgreSQL database: its advisory lock by default
    assert "the database at" in shared.lock_where()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_JOB_LOCK, url], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert shared.claim(after=0) is None  # another host (process) runs the job
        assert not (tmp_path / ".job.lock").exists()  # nothing taken in the shared folder
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean-up runs: the server ends its session, and the lock with it
        holder.wait(10)
    deadline = time.monotonic() + 20
    while (job := shared.claim(after=0)) is None:
        assert time.monotonic() < deadline, "the lock of a killed holder was not freed within 20 s"
        time.sleep(0.1)
    assert job == 1
    shared.publish(FinetuneSnapshot(job_id=1, state="training", message="training"))
    other = SharedJob(tmp_path, engine=lock_engine(url))
    assert other.claim(after=0) is None  # held here now
    shared.release()
    assert other.claim(after=0) is None  # free, but a job published a moment ago is taken for alive
    shared.publish(FinetuneSnapshot(job_id=1, state="done", message="done"))
    assert other.claim(after=0) == 2
    other.release()


@pytest.mark.slow
def test_a_server_that_goes_down_is_one_line_and_the_first_request_after_it_returns_works(tmp_path: Path) -> None:
    """A server of its own (this run's shared one is not stopped under the other tests)."""
    need_postgres()
    folder = tmp_path / "pg"
    try:
        url = postgres("start", folder)
        store = DrawingStore(url)
        before = store.add(1, IMAGE, png=noisy_png(1))
        postgres("stop", folder)
        with pytest.raises(StoreError) as down:
            store.add(2, IMAGE, png=noisy_png(2))
        line = str(down.value)
        assert "cannot be reached" in line and "\n" not in line and url.split("@")[0] not in line, line
        postgres("start", folder)
        assert store.add(3, IMAGE, png=noisy_png(3)) == before + 1  # nothing half-written in between
        assert store.counts().total == 2
    finally:
        if (folder / "data-dir").exists():
            postgres("remove", folder)


def test_the_byte_total_kept_by_triggers_is_a_count_of_the_rows(postgres_server: str) -> None:
    """The total the cap reads in one row (mnist_core/drawings/pg_bytes.py) after inserts, an import's staged copy,
    updates, deletes and a forget is what counting every row gives."""
    from mnist_core.drawings.pg_bytes import quoted, row_size

    url = new_database(postgres_server)
    store, book, profiles = DrawingStore(url), RateBook(url), ProfileDatabase(url, 3)
    ids = store.insert(entries(40)) + [store.add(2, IMAGE, png=noisy_png(k)) for k in range(3)]
    store.delete(ids[0])
    keys = [profiles.create()[0] for _ in range(5)]  # two dropped past the cap
    profiles.add_drawings(keys[-1], [(1, pad_json(ONE)), (2, pad_json(SEVEN))], keep=1)
    profiles.touch(keys[-1])
    book.take([])
    profiles.forget(keys[-2])
    with store.session() as conn:
        count = []
        for table in store.engine.tables(conn):
            found = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = ? ORDER BY ordinal_position",
                (table,),
            )
            count.append(f"(SELECT {row_size(found.fetchall())} FROM {quoted(table)} r)")
        assert store.used_bytes() == conn.execute(f"SELECT {' + '.join(count)}").fetchone()[0]
    before = store.used_bytes()
    store.delete_all()
    assert store.used_bytes() < before - 40 * 784
