"""The store of corrected drawings: what goes in comes out, survives export/import, threads and bad files."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_core.data.mnist import _read_idx
from mnist_core.drawings import store as drawings
from mnist_core.drawings import transfer
from mnist_core.drawings.policy import Limit
from mnist_core.drawings.rates import RateBook
from mnist_core.drawings.store import DrawingError, DrawingStore, StoreError, StoreFull
from mnist_core.imaging.pictures import image_to_mnist as picture_to_mnist
from mnist_core.imaging.strokes import drawing_to_mnist, parse, render_image


def pad_json(seed: int) -> dict:
    """A ring or a bar (a 0 or a 1) wobbled by `seed`, as the web pad sends it: every one different."""
    rng = np.random.default_rng(seed)
    if seed % 2:
        t = np.linspace(0, 2 * np.pi, 40)
        points = np.stack([224 + 90 * np.cos(t), 224 + 130 * np.sin(t)], axis=1)
    else:
        points = np.stack([np.full(20, 224.0), np.linspace(90, 360, 20)], axis=1)
    points += rng.normal(0, 3, points.shape)
    return {"v": 1, "width": 448, "height": 448, "pen": 22, "strokes": [np.round(points, 1).tolist()]}


def add_strokes(store: DrawingStore, seed: int, label: int | None = None, predicted: int | None = None) -> int:
    value = pad_json(seed)
    return store.add(
        (0 if seed % 2 else 1) if label is None else label,
        drawing_to_mnist(parse(value)),
        strokes=value,
        predicted=predicted,
        probabilities=np.full(10, 0.1),
        model_version="mnist-test",
    )


def add_png(store: DrawingStore, seed: int, label: int = 0) -> int:
    buf = io.BytesIO()
    render_image(parse(pad_json(seed)), "ink-on-white").save(buf, "PNG")
    return store.add(label, picture_to_mnist(buf.getvalue()), png=buf.getvalue(), predicted=8)


@pytest.fixture
def store(database: str | Path) -> DrawingStore:
    """A new store on each engine (SQLite, and PostgreSQL when this machine has it)."""
    return DrawingStore(database)


def test_default_location_is_the_user_home(isolated_home: Path):
    assert DrawingStore().path == isolated_home / "drawings.sqlite3"


def test_add_then_list_count_and_read_back(store: DrawingStore):
    first = add_strokes(store, 1, label=0, predicted=6)
    add_strokes(store, 2, label=1, predicted=1)
    add_png(store, 3, label=0)
    counts = store.counts()
    assert counts.per_digit == (2, 1, 0, 0, 0, 0, 0, 0, 0, 0) and counts.total == 3 and counts.wrong == 2
    row = store.get(first)
    assert row is not None and row.label == 0 and row.predicted == 6 and row.wrong and row.kind == "strokes"
    assert row.image.shape == (28, 28) and row.image.dtype == np.uint8 and row.image.max() == 255
    assert row.probabilities == (0.1,) * 10 and row.model_version == "mnist-test" and row.created.endswith("+00:00")
    assert len(row.strokes().strokes) == 1
    assert [r.id for r in store.rows()] == [3, 2, 1]  # newest first
    assert [r.id for r in store.rows(digit=0)] == [3, 1]
    assert [r.id for r in store.rows(wrong_only=True)] == [3, 1]
    assert [r.id for r in store.rows(limit=1, offset=1)] == [2]


def test_refuses_bad_drawings_with_one_line(store: DrawingStore):
    image = np.zeros((28, 28), np.uint8)
    cases = [
        {"label": 10, "image": image, "strokes": pad_json(0)},
        {"label": True, "image": image, "strokes": pad_json(0)},
        {"label": 1, "image": image},  # neither strokes nor PNG
        {"label": 1, "image": image, "strokes": pad_json(0), "png": b"\x89PNG"},
        {"label": 1, "image": np.zeros((28, 27)), "strokes": pad_json(0)},
        {"label": 1, "image": np.full((28, 28), 2.0), "strokes": pad_json(0)},
        {"label": 1, "image": image, "png": b"GIF89a not a png"},
        {"label": 1, "image": image, "png": drawings.PNG_SIGNATURE + b"garbage"},
        {"label": 1, "image": image, "png": drawings.PNG_SIGNATURE + bytes(300_000)},
        {"label": 1, "image": image, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": "x"}},
        {"label": 1, "image": image, "strokes": pad_json(0), "probabilities": [0.5] * 9},
    ]
    for case in cases:
        with pytest.raises(DrawingError) as info:
            store.add(**case)
        assert "\n" not in str(info.value) and str(info.value)
    assert store.counts().total == 0


def test_holdout_is_a_fixed_fifth_decided_by_content(store: DrawingStore):
    keys = [drawings.digest(str(i).encode()) for i in range(2000)]
    assert 0.17 < np.mean([drawings.is_holdout(k) for k in keys]) < 0.23
    ids = [add_strokes(store, seed) for seed in range(40)] + [add_strokes(store, seed) for seed in range(40)]
    sides = [store.get(i).holdout for i in ids]
    assert sides[:40] == sides[40:] and 0 < sum(sides[:40]) < 40  # the same drawing is always on the same side
    (train, train_labels), (held, held_labels) = store.training_set(), store.holdout_set()
    assert len(train) + len(held) == 80 and len(held) == store.counts().holdout
    assert train.dtype == np.uint8 and train.shape[1:] == (28, 28) and len(train_labels) == len(train)
    assert set(held_labels.tolist()) <= {0, 1}


def test_training_images_redraw_strokes_and_repeat_pictures(store: DrawingStore):
    for seed in range(12):
        add_strokes(store, seed)
    add_png(store, 99)
    images, labels = store.training_images(variants=4, seed=0)
    stored, stored_labels = store.training_set()
    assert images.shape == (len(stored), 4, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 0], stored)  # variant 0 is what the model saw
    np.testing.assert_array_equal(labels, stored_labels)
    kinds = [r.kind for r in sorted(store.rows(limit=100), key=lambda r: r.id) if not r.holdout]
    for k, kind in enumerate(kinds):
        redrawn_same = all(np.array_equal(images[k, v], images[k, 0]) for v in range(1, 4))
        assert redrawn_same == (kind == "image")
        assert images[k].reshape(4, -1).max(axis=1).min() > 0
    np.testing.assert_array_equal(images, store.training_images(variants=4, seed=0)[0])  # seeded


def test_export_then_import_gives_the_same_rows(store: DrawingStore, tmp_path: Path):
    for seed in range(10):
        add_strokes(store, seed, predicted=seed % 10)
    add_png(store, 50, label=0)
    out = tmp_path / "drawings.zip"
    assert transfer.export_zip(store, out) == 11
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        table = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
    assert {"labels.csv", "digits/1_1.png", "strokes/1.json", "originals/11.png"} <= names
    assert list(table[0])[:5] == ["id", "label", "predicted", "kind", "created"]
    copy = DrawingStore(tmp_path / "copy.sqlite3")
    assert transfer.import_zip(copy, out.read_bytes()) == (11, [])
    fields = ("label", "predicted", "probabilities", "model_version", "kind", "drawing", "holdout", "created")
    for a, b in zip(store.rows(limit=100), copy.rows(limit=100), strict=True):
        assert all(getattr(a, f) == getattr(b, f) for f in fields)
        np.testing.assert_array_equal(a.image, b.image)
    imported, skipped = transfer.import_zip(copy, out)
    assert imported == 0 and len(skipped) == 11 and all("already in the store" in s for s in skipped)


def test_import_skips_and_reports_bad_rows_and_keeps_the_rest(store: DrawingStore, tmp_path: Path):
    for seed in range(6):
        add_strokes(store, seed)
    good = tmp_path / "good.zip"
    transfer.export_zip(store, good)
    bad = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "digits/2_0.png":
                data = b"\x89PNG\r\n\x1a\nnot really"
            elif info.filename == "labels.csv":
                data = data.replace(b"\n3,1,", b"\n3,12,")
                assert b"\n3,12," in data
            dst.writestr(f"export/{info.filename}", data)  # re-zipped under a folder, as tools do
        dst.writestr("export/digits/77_5.png", src.read("digits/1_1.png"))
    imported, skipped = transfer.import_zip(DrawingStore(tmp_path / "other.sqlite3"), bad.getvalue())
    assert imported == 4 and len(skipped) == 3, skipped
    assert any("id 2" in s and "not a readable PNG" in s for s in skipped)
    assert any("id 3" in s and "label must be a digit" in s for s in skipped)
    assert any("77_5.png" in s and "no row in labels.csv" in s for s in skipped)


def test_import_refuses_files_that_are_not_exports(store: DrawingStore):
    with pytest.raises(DrawingError, match="not a zip"):
        transfer.import_zip(store, b"plain text")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(DrawingError, match=r"no labels\.csv"):
        transfer.import_zip(store, empty.getvalue())


@pytest.mark.parametrize("gz", [True, False])
def test_idx_export_reads_like_mnist(store: DrawingStore, tmp_path: Path, gz: bool):
    for seed in range(5):
        add_strokes(store, seed)
    paths = transfer.export_idx(store, tmp_path, gz=gz)
    assert [p.name for p in paths] == [f"drawings-{n}-ubyte{'.gz' * gz}" for n in ("images-idx3", "labels-idx1")]
    images = _read_idx(tmp_path, "drawings-images-idx3-ubyte", 0x803, 5)
    labels = _read_idx(tmp_path, "drawings-labels-idx1-ubyte", 0x801, 5)
    rows = sorted(store.rows(), key=lambda r: r.id)
    np.testing.assert_array_equal(images, np.stack([r.image for r in rows]))
    np.testing.assert_array_equal(labels, [r.label for r in rows])


def test_delete_one_and_all(store: DrawingStore):
    ids = [add_strokes(store, seed) for seed in range(4)]
    assert store.delete(ids[1]) and not store.delete(ids[1])
    assert store.get(ids[1]) is None and store.counts().total == 3
    assert store.delete_all() == 3 and store.counts().total == 0


def test_twenty_threads_adding_at_once_lose_nothing(store: DrawingStore):
    ids: list[int] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            other = DrawingStore(store.path)  # as each request of the app would open it
            ids.extend(add_strokes(other, worker * 100 + k) for k in range(8))
            other.counts()
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 160 and store.counts().total == 160


def test_corrupt_database_is_one_store_error(tmp_path: Path):
    garbage = tmp_path / "drawings.sqlite3"
    garbage.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(StoreError) as info:
        DrawingStore(garbage)
    assert "\n" not in str(info.value) and "drawings.sqlite3" in str(info.value) and "move" in str(info.value)
    ok = DrawingStore(tmp_path / "ok.sqlite3")
    add_strokes(ok, 1)
    ok.path.write_bytes(b"\x00garbage" * 1000)  # spoiled while the app runs
    with pytest.raises(StoreError):
        ok.counts()


def test_locked_database_is_one_store_error(tmp_path: Path):
    store = DrawingStore(tmp_path / "drawings.sqlite3", busy_timeout_s=0.2)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked") as info:
            add_strokes(store, 1)
        assert "\n" not in str(info.value)
    finally:
        holder.rollback()
        holder.close()
    add_strokes(store, 1)


def test_full_store_refuses_more(tmp_path: Path):
    store = DrawingStore(tmp_path / "drawings.sqlite3", max_rows=3)
    for seed in range(3):
        add_strokes(store, seed)
    with pytest.raises(StoreFull, match="full") as info:
        add_strokes(store, 9)
    assert "\n" not in str(info.value) and isinstance(info.value, StoreError)
    source = DrawingStore(tmp_path / "source.sqlite3")
    for seed in range(10, 12):
        add_strokes(source, seed)
    export = tmp_path / "two.zip"
    transfer.export_zip(source, export)
    store.delete(1)
    with pytest.raises(StoreFull):
        transfer.import_zip(store, export)  # one would fit, two do not: all or nothing
    assert store.counts().total == 2


def test_migrations_run_once_in_order_and_a_newer_database_is_refused(tmp_path: Path):
    path = tmp_path / "drawings.sqlite3"
    first = DrawingStore(path)
    assert first.schema_version() == 1
    add_strokes(first, 1)
    calls: list[int] = []

    def v2(conn: sqlite3.Connection) -> None:
        calls.append(2)
        conn.execute("ALTER TABLE drawings ADD COLUMN note TEXT NOT NULL DEFAULT ''")

    second = DrawingStore(path, migrations=(*drawings.MIGRATIONS, v2))
    assert second.schema_version() == 2 and calls == [2]
    DrawingStore(path, migrations=(*drawings.MIGRATIONS, v2))
    assert calls == [2]  # not again
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT note FROM drawings").fetchall() == [("",)]
    assert second.counts().total == 1
    with pytest.raises(StoreError, match="newer version"):
        DrawingStore(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE drawings ADD COLUMN half TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(StoreError, match="disk I/O error"):
        DrawingStore(tmp_path / "fresh.sqlite3", migrations=(*drawings.MIGRATIONS, broken))
    with sqlite3.connect(tmp_path / "fresh.sqlite3") as conn:  # all steps rolled back together
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_rate_book_counts_per_key_per_minute_for_every_replica(tmp_path: Path):
    """Two processes' books on one file count the same minute; a refused action is counted against no limit."""
    path = tmp_path / "drawings.sqlite3"
    here, there = RateBook(path), RateBook(path)
    mine, everyone = Limit("a", 3, "a's"), Limit("all", 4, "everyone's")
    assert [here.take([mine, everyone], now=t) for t in (0, 1)] == [None, None]
    assert there.take([mine, everyone], now=2) is None
    assert here.take([mine, everyone], now=3) is mine  # a's three were counted on either replica
    assert there.take([Limit("b", 3, "b's"), everyone], now=3) is None  # another visitor is not held up
    assert here.take([Limit("c", 3, "c's"), everyone], now=4) is everyone  # but everyone's minute is full
    assert here.take([mine, everyone], now=60.5) is None  # a minute after the first two
