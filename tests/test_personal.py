"""Personal memories: a visitor's few drawings make the served model read them, without touching anyone else's.

Profiles live in the drawings database file in tables of their own; forget deletes everything; two visitors
never mix; a memory in RAM follows the database (another server forgetting or teaching is seen within a
second); a new served model rebuilds every memory from the stored drawings; a bad request costs nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_core.config import SHIPPED_MODEL
from mnist_core.data import quirks, renderings, unipen
from mnist_core.drawings.store import DrawingStore
from mnist_core.imaging.strokes import Drawing, drawing_to_mnist, parse
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier, DenseClassifier
from mnist_core.personal import profiles as profiles_module
from mnist_core.personal.memory import Memory, PersonalModel, Recall, synced
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Profiles
from mnist_core.personal.replay import Replay, build_replay, replay_images
from mnist_core.personal.teach import held_back, read_drawings, teach

ROOT = Path(__file__).resolve().parents[1]
QUICK = Recall(variants=1)  # one redrawing: these tests are about keeping and following drawings


@pytest.fixture(scope="module")
def shared() -> Classifier:
    return load_classifier(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def pens() -> list[unipen.PenDigit]:
    if not os.environ.get(unipen.PENS_ENV):
        pytest.skip("needs UNIPEN: set UNIPEN_DATA to the folder holding unipen-1a-digits.jsonl.gz")
    return unipen.load_unipen()


@pytest.fixture(scope="module")
def small_replay(shared: Classifier, mnist) -> Replay:
    (x, y), _ = mnist
    return build_replay(shared, x[:300], y[:300])


def pad(digit: unipen.PenDigit, seed: int = 0) -> Drawing:
    return renderings.pad_drawing(digit.strokes, np.random.default_rng(seed), renderings.PAD)


def pad_json(pens: list[unipen.PenDigit], count: int, seed: int = 0) -> list[dict]:
    """`count` validation writers' digits as the pad sends them, in the /personalize request's form."""
    chosen = unipen.part(pens, "val")[seed * count : (seed + 1) * count]
    return [{"label": d.label, "strokes": pad(d, seed).to_json()} for d in chosen]


@pytest.fixture
def profiles(tmp_path: Path, shared: Classifier, small_replay: Replay) -> Profiles:
    path = tmp_path / "drawings.sqlite3"
    return Profiles(path, shared, small_replay, QUICK, max_profiles=4, max_drawings=12, cache=2)


def read(model: PersonalModel | Classifier, drawings: list[Drawing]) -> np.ndarray:
    images = [drawing_to_mnist(d) for d in drawings]
    return model.predict(np.stack([i for i in images if i is not None])).argmax(axis=1)


def test_a_drawing_taught_reads_as_taught_at_once_however_sure_the_network_was(profiles, pens):
    ones = [d for d in unipen.part(pens, "val") if d.label == 1][:3]
    drawings = [pad(d) for d in ones]
    assert (read(profiles.classifier, drawings) == 1).all()
    taught = teach(profiles, [{"label": 7, "strokes": drawings[0].to_json()}])
    model = profiles.model(taught.profile).model
    assert model is not None and read(model, drawings[:1]).tolist() == [7], taught.message


def test_a_memory_kept_up_to_date_equals_one_built_from_nothing(shared, small_replay, pens):
    digits = unipen.part(pens, "val")[:9]
    drawings = {n: pad(d) for n, d in enumerate(digits)}
    recall = Recall(variants=2, max_rows=18)
    fetch = lambda ids: {i: drawings[i] for i in ids}  # noqa: E731
    empty = Memory.empty(small_replay.vectors.shape[1])
    four = synced(empty, shared, small_replay, {n: digits[n].label for n in range(4)}, fetch, recall)
    assert len(four) == 12 and set(four.ranks.tolist()) == {0, 1, 2}
    labels = {n: digits[n].label for n in range(1, 9)} | {2: 5}  # 0 gone, 2 relabelled, 4-8 new: 2 rows each
    grown = synced(four, shared, small_replay, labels, fetch, recall)
    fresh = synced(empty, shared, small_replay, labels, fetch, recall)
    order = lambda m: np.lexsort((m.ranks, m.owners))  # noqa: E731
    for name in ("owners", "ranks", "labels", "vectors", "nearest"):
        np.testing.assert_allclose(getattr(grown, name)[order(grown)], getattr(fresh, name)[order(fresh)], atol=1e-5)
    assert grown.drawings() == labels and len(grown) == 16


def test_a_drawing_drawn_already_as_sent_is_not_drawn_again(shared, small_replay, pens):
    """Teaching hands the memory the 28×28 it drew to refuse a drawing with no ink: that is the drawing's first
    row, and only its redrawings are drawn."""
    digits = unipen.part(pens, "val")[:2]
    drawings = {n: pad(d) for n, d in enumerate(digits)}
    fetch = lambda ids: {i: drawings[i] for i in ids}  # noqa: E731
    labels = {n: d.label for n, d in enumerate(digits)}
    given = drawing_to_mnist(drawings[1])  # drawing 1's picture handed in as drawing 0's, to see which is used
    assert given is not None
    memory = synced(
        Memory.empty(small_replay.vectors.shape[1]), shared, small_replay, labels, fetch, Recall(), {0: given}
    )
    first = memory.vectors[(memory.owners == 0) & (memory.ranks == 0)]
    np.testing.assert_allclose(first, small_replay.space.embed(shared, shared.inputs(given[None])), atol=1e-6)
    assert len(memory) == 2 * (1 + Recall().variants)


def test_teach_makes_a_profile_that_answers_and_forget_deletes_everything(profiles, pens):
    taught = teach(profiles, pad_json(pens, 10))
    assert taught.profile and taught.drawings == 10 and "remembers 10 more drawings" in taught.message
    assert profiles.model(taught.profile).model is not None
    assert profiles.forget(taught.profile)
    lookup = profiles.model(taught.profile)
    assert lookup.model is None and "no personal model" in lookup.reason and "\n" not in lookup.reason
    with sqlite3.connect(profiles.db.path) as conn:
        left = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("profiles", "personal_drawings")]
    assert left == [0, 0]
    assert not profiles.forget(taught.profile)


def test_two_visitors_never_mix_and_the_same_drawing_sent_again_changes_its_label(profiles, pens):
    one = teach(profiles, pad_json(pens, 6))
    two = teach(profiles, pad_json(pens, 6, seed=1))
    assert one.profile and two.profile and one.profile != two.profile
    assert [label for label, _ in read_drawings(profiles, one.profile)] == [r["label"] for r in pad_json(pens, 6)]
    first = pad_json(pens, 6)[0]
    again = teach(profiles, [first | {"label": (first["label"] + 1) % 10}], key=one.profile)
    assert again.profile == one.profile and again.drawings == 6
    assert read_drawings(profiles, one.profile)[0][0] == (first["label"] + 1) % 10
    assert len(read_drawings(profiles, two.profile)) == 6


def test_a_held_back_drawing_is_read_by_the_memory_of_the_others_only(profiles, pens):
    """A 1 taught as a 5 beside a 0 taught as a 5: held back, the 1 still reads 1 (had it been remembered, the
    same drawing read again would answer 5)."""
    val = unipen.part(pens, "val")
    zero, one = (next(d for d in val if d.label == label) for label in (0, 1))
    assert held_back([5, 3, 5, 5]) == [3]
    request = [{"label": 5, "strokes": pad(d).to_json()} for d in (zero, one)]
    taught = teach(profiles, request)
    assert [c.to_json() for c in taught.checks] == [{"label": 5, "shared": 1, "personal": 1}], taught.message
    assert "held back to check" in taught.message and taught.to_json()["held_back"][0]["personal"] == 1
    model = profiles.model(taught.profile).model
    assert model is not None and read(model, [pad(one)]).tolist() == [5]


def test_a_memory_in_ram_follows_the_database_another_server_writes(profiles, pens, monkeypatch):
    """Two servers on one file: what one forgets or teaches, the other reads within CHECK_EVERY_S."""
    other = Profiles(profiles.db.path, profiles.classifier, profiles.replay, QUICK, max_profiles=4, max_drawings=12)
    key = teach(profiles, pad_json(pens, 4)).profile
    assert key and other.model(key).model is not None
    monkeypatch.setattr(profiles_module, "CHECK_EVERY_S", 0.0)
    teach(profiles, pad_json(pens, 2, seed=3), key=key)
    found = other.model(key).model
    assert found is not None and len(found.memory.drawings()) == 6
    profiles.forget(key)
    gone = other.model(key)
    assert gone.model is None and "forgotten" in gone.reason and other.cached() == []
    keys = [teach(profiles, pad_json(pens, 2, seed=i)).profile for i in range(4)]
    assert all(other.model(k).model is not None for k in keys)  # in this order: keys[0] used longest ago
    keys.append(teach(profiles, pad_json(pens, 2, seed=4)).profile)  # the cap is 4: the first goes
    assert not profiles.db.exists(keys[0]) and keys[0] not in profiles.cached()
    assert other.model(keys[0]).model is None and other.model(keys[1]).model is not None


def test_a_new_served_model_rebuilds_every_memory_from_the_stored_drawings(profiles, pens, small_replay):
    taught = teach(profiles, pad_json(pens, 6))
    assert taught.profile
    retrained = DenseClassifier(tuple((w * 1.01, b) for w, b in profiles.classifier.layers), profiles.classifier.deskew)
    replay = Replay(small_replay.space, small_replay.vectors, small_replay.labels)
    rebuilt = Profiles(profiles.db.path, retrained, replay, QUICK).model(taught.profile).model
    assert rebuilt is not None and rebuilt.classifier is retrained and len(rebuilt.memory.drawings()) == 6


def test_unreadable_rows_a_bad_key_and_a_broken_database_are_one_line(profiles, pens, shared, small_replay, tmp_path):
    taught = teach(profiles, pad_json(pens, 4))
    with sqlite3.connect(profiles.db.path) as conn:
        conn.execute("UPDATE personal_drawings SET strokes = ? WHERE id = 1", (b"garbage",))
    fresh = Profiles(profiles.db.path, shared, small_replay, QUICK)  # nothing in RAM: read from disk
    found = fresh.model(taught.profile).model
    assert found is not None and len(found.memory.drawings()) == 3
    for key, words in ((None, ""), ("bad key!", "not a profile key"), ("A" * 32, "no personal model")):
        lookup = profiles.model(key)
        assert lookup.model is None and words in lookup.reason
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ProfileStoreError) as info:
        Profiles(path, shared, small_replay)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_lru_drops_the_least_recent_and_rebuilds_it_the_same(profiles, pens, mnist):
    keys = [teach(profiles, pad_json(pens, 3, seed=i)).profile for i in range(3)]
    assert all(keys) and profiles.cached() == keys[1:]
    images = mnist[1][0][:20].astype(np.float32) / 255
    again = profiles.model(keys[0]).model
    assert again is not None and profiles.cached() == [keys[2], keys[0]]
    fresh = Profiles(profiles.db.path, profiles.classifier, profiles.replay, QUICK).model(keys[0]).model
    assert fresh is not None
    np.testing.assert_allclose(again.predict(images), fresh.predict(images), atol=1e-6)


def test_caps_hold(profiles, pens):
    keys = [teach(profiles, pad_json(pens, 2, seed=i)).profile for i in range(4)]
    profiles.db.touch(keys[0])  # the most recently used on disk
    newest = teach(profiles, pad_json(pens, 2, seed=4)).profile
    assert profiles.db.count() == 4 and not profiles.db.exists(keys[1]) and profiles.db.exists(keys[0])
    assert newest and teach(profiles, pad_json(pens, 11, seed=1), key=newest).drawings == 12
    refused = teach(profiles, pad_json(pens, 13), key=newest)
    assert refused.profile is None and "too many drawings" in refused.message and "\n" not in refused.message


def test_a_heavy_request_is_refused_before_any_drawing_is_read(profiles, monkeypatch):
    """Points are counted in the request as sent: 9 drawings of 5,000 points (each a valid drawing, 45,000 in all)
    cost nothing but the count."""
    stroke = [[float(i % 400), float(i // 400 * 30)] for i in range(5_000)]
    one = {"label": 3, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": [stroke]}}
    monkeypatch.setattr("mnist_core.personal.teach.parse", lambda _: pytest.fail("parsed a refused request"))
    for request in (json.dumps([one] * 9), [one] * 9):
        refused = teach(profiles, request)
        assert refused.profile is None and "too many points" in refused.message
    assert profiles.db.count() == 0


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        ("not json", "not valid JSON"),
        ('{"label": 1}', "JSON list"),
        ('[{"label": 11, "strokes": {}}]', "label must be a digit"),
        ('[{"label": 3, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": []}}]', "no strokes"),
        ('[{"label": 3, "strokes": {"v": 9}}]', "version"),
        ("[]", "no drawings"),
        ('[{"label": 3, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": [[[9, 9], [10, 9]]]}}]', "no ink"),
    ],
)
def test_teach_refuses_bad_requests_with_one_line(profiles, request_: str, words: str):
    taught = teach(profiles, request_)
    assert taught.profile is None and words in taught.message and "\n" not in taught.message
    assert profiles.db.count() == 0


def test_an_older_database_keeps_its_profiles_drawings_packed(tmp_path: Path, shared, small_replay, pens):
    """Schema 1 kept a delta and the strokes as JSON: schema 2 drops the delta and packs the drawings."""
    path = tmp_path / "drawings.sqlite3"
    drawing = pad(unipen.part(pens, "val")[0])
    data = json.dumps(drawing.to_json(), separators=(",", ":")).encode()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE personal_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO personal_schema VALUES (1)")
        conn.execute(
            "CREATE TABLE profiles (key TEXT PRIMARY KEY, created TEXT NOT NULL, last_used REAL NOT NULL,"
            " base TEXT NOT NULL DEFAULT '', delta BLOB)"
        )
        conn.execute(
            "CREATE TABLE personal_drawings (id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL,"
            " label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9), strokes BLOB NOT NULL, created TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO profiles VALUES (?, '', 0, 'x', ?)", ("K" * 32, b"delta"))
        conn.execute(
            "INSERT INTO personal_drawings (profile, label, strokes, created) VALUES (?, 4, ?, '')", ("K" * 32, data)
        )
    upgraded = Profiles(path, shared, small_replay, QUICK)
    assert upgraded.db.schema_version() == 2 and upgraded.model("K" * 32).model is not None
    ((label, kept),) = read_drawings(upgraded, "K" * 32)
    assert label == 4 and kept.to_json() == parse(data).to_json()
    with sqlite3.connect(path) as conn:
        (size,) = conn.execute("SELECT length(strokes) FROM personal_drawings").fetchone()
    assert size < len(data) / 3


def test_personal_tables_leave_the_shared_collection_alone(profiles, pens):
    teach(profiles, pad_json(pens, 5))
    store = DrawingStore(profiles.db.path)
    assert store.counts().total == 0
    assert profiles.db.schema_version() == 2 and profiles.db.count() == 1


def test_the_personal_package_never_imports_tensorflow():
    code = (
        "import sys\nimport mnist_core.personal.teach, mnist_core.personal.profiles\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.slow
def test_three_drawings_of_each_digit_teach_a_quirk_and_strangers_read_no_worse(shared, pens, mnist, tmp_path):
    """A validation writer given thin 6s (read as 1 by the shared model): three of each digit taught, the other
    6s read as 6, and MNIST test read with the profile within a point of the shared model."""
    val = unipen.part(pens, "val")
    writer = [d for d in val if d.writer == "syn/jcp-dig11"]
    quirk = next(q for q in quirks.QUIRKS if q.name == "thin 6")
    rng = np.random.default_rng(0)
    measures = quirk.measures(rng)
    styled = []
    for n, d in enumerate(writer):
        strokes = quirk.draw(d.strokes, measures, rng) if d.label == 6 else d.strokes
        styled.append((d.label, pad(unipen.PenDigit(d.label, d.source, d.writer, strokes), n)))
    sixes = [drawing for label, drawing in styled if label == 6]
    taught = [s for label in range(10) for s in [x for x in styled if x[0] == label][:3]]
    replay = build_replay(shared, *replay_images(mnist[0], pens))
    profiles = Profiles(tmp_path / "drawings.sqlite3", shared, replay)
    key = teach(profiles, [{"label": label, "strokes": d.to_json()} for label, d in taught]).profile
    model = profiles.model(key).model
    assert model is not None
    before, after = np.mean(read(shared, sixes[3:]) == 6), np.mean(read(model, sixes[3:]) == 6)
    assert after >= 0.9 and after > before + 0.2, (before, after)
    x, y = mnist[1]
    images = x[:3000].astype(np.float32) / 255
    scores = [float(np.mean(m.predict(images).argmax(axis=1) == y[:3000])) for m in (shared, model)]
    assert scores[1] >= scores[0] - 0.01, scores
