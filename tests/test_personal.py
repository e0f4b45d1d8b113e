"""Personal models: a visitor's few drawings teach their style without touching anyone else's readings.

Profiles live in the drawings database file in tables of their own; forget deletes everything; two
visitors never mix; a corrupt, missing or stale profile answers with the shared model and one line.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.finetune import styled_drawings
from mnist_core.config import SHIPPED_MODEL
from mnist_core.data import renderings, unipen
from mnist_core.drawings.store import DrawingStore
from mnist_core.imaging.strokes import Drawing, drawing_to_mnist
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier, DenseClassifier
from mnist_core.personal.adapt import Adaptation, adapt
from mnist_core.personal.delta import Delta, DeltaError, PersonalClassifier, weights_digest
from mnist_core.personal.profile_db import ProfileStoreError
from mnist_core.personal.profiles import Profiles
from mnist_core.personal.replay import Replay, build_replay, replay_images
from mnist_core.personal.teach import read_drawings, teach

ROOT = Path(__file__).resolve().parents[1]
QUICK = Adaptation(steps=8, variants=1, batch=64)  # a few steps: these tests are about storing a delta


@pytest.fixture(scope="module")
def shared() -> DenseClassifier:
    classifier = load_classifier(SHIPPED_MODEL)
    assert isinstance(classifier, DenseClassifier)
    return classifier


@pytest.fixture(scope="module")
def pens() -> list[unipen.PenDigit]:
    if not os.environ.get(unipen.PENS_ENV):
        pytest.skip("needs UNIPEN: set UNIPEN_DATA to the folder holding unipen-1a-digits.jsonl.gz")
    return unipen.load_unipen()


@pytest.fixture(scope="module")
def small_replay(shared: Classifier, mnist) -> Replay:
    (x, y), _ = mnist
    return build_replay(shared, x[:300], y[:300])


def pad_json(pens: list[unipen.PenDigit], count: int, seed: int = 0) -> list[dict]:
    """`count` validation writers' digits as the pad sends them, in the /personalize request's form."""
    rng = np.random.default_rng(seed)
    chosen = unipen.part(pens, "val")[:count]
    return [
        {"label": d.label, "strokes": renderings.pad_drawing(d.strokes, rng, renderings.PAD).to_json()} for d in chosen
    ]


@pytest.fixture
def profiles(tmp_path: Path, shared: Classifier) -> Profiles:
    return Profiles(tmp_path / "drawings.sqlite3", shared, max_profiles=4, max_drawings=12, cache=2)


def test_zero_delta_reads_exactly_like_the_shared_model(shared: Classifier, mnist):
    trunk, hidden = shared.last_hidden[0].shape
    w3, b3, a, b, b2 = (np.zeros(s, np.float32) for s in ((hidden, 10), 10, (trunk, 4), (4, hidden), hidden))
    zero = Delta(w3, b3, a, b, b2, base="x")
    images = mnist[1][0][:50].astype(np.float32) / 255
    np.testing.assert_allclose(PersonalClassifier(shared, zero).predict(images), shared.predict(images), atol=1e-5)


def test_delta_round_trips_and_refuses_another_base_or_bad_arrays(shared: Classifier):
    rng = np.random.default_rng(0)
    (trunk, hidden), base = shared.last_hidden[0].shape, weights_digest(shared)
    shapes = ((hidden, 10), (10,), (trunk, 3), (3, hidden), (hidden,))
    w3, b3, a, b, b2 = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    delta = Delta(w3, b3, a, b, b2, base)
    back = Delta.from_bytes(delta.to_bytes(), shared, base)
    assert back.rank == 3 and all(np.array_equal(getattr(back, n), getattr(delta, n)) for n in ("w3", "a", "b", "b2"))
    with pytest.raises(DeltaError, match="another shared model"):
        Delta.from_bytes(delta.to_bytes(), shared, "0" * 64)
    with pytest.raises(DeltaError, match="unreadable"):
        Delta.from_bytes(b"not an npz", shared, base)
    bad = Delta(delta.w3[:5], delta.b3, delta.a, delta.b, delta.b2, base=base)
    with pytest.raises(DeltaError, match="w3"):
        Delta.from_bytes(bad.to_bytes(), shared, base)
    nan = Delta(delta.w3, delta.b3 * np.nan, delta.a, delta.b, delta.b2, base=base)
    with pytest.raises(DeltaError, match="non-finite"):
        Delta.from_bytes(nan.to_bytes(), shared, base)
    assert delta.nbytes < 1_000_000 and len(delta.to_bytes()) < 1_000_000


def test_drawings_that_do_not_teach_each_other_leave_the_shared_readings(shared, pens, small_replay):
    """Thirty 1s labelled 0-9 alike: no fold of them teaches the others, so the cross-validation keeps the
    shared model's readings (without it, or with one drawing of each digit and so nothing to check, the
    same drawings do change the model)."""
    rng = np.random.default_rng(4)
    ones = [d for d in unipen.part(pens, "val") if d.label == 1][:30]
    drawings = [(n % 10, renderings.pad_drawing(d.strokes, rng, renderings.PAD)) for n, d in enumerate(ones)]
    settings = Adaptation(steps=30, variants=1, batch=64, check=200, folds=3)
    kept = adapt(shared, drawings, small_replay, settings)
    assert not kept.delta.w3.any() and not kept.delta.b3.any() and kept.read_after == kept.read_before
    changed = adapt(shared, drawings, small_replay, dataclasses.replace(settings, folds=0))
    assert changed.delta.w3.any() and adapt(shared, drawings[:10], small_replay, settings).delta.w3.any()


def test_teach_makes_a_profile_that_answers_and_forget_deletes_everything(profiles, pens, small_replay):
    taught = teach(profiles, small_replay, pad_json(pens, 10), settings=QUICK)
    assert taught.profile and taught.drawings == 10 and "reads" in taught.message, taught.message
    assert profiles.model(taught.profile).model is not None
    assert profiles.forget(taught.profile)
    lookup = profiles.model(taught.profile)
    assert lookup.model is None and "no personal model" in lookup.reason and "\n" not in lookup.reason
    with sqlite3.connect(profiles.db.path) as conn:
        left = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("profiles", "personal_drawings")]
    assert left == [0, 0]
    assert not profiles.forget(taught.profile)


def test_two_visitors_never_mix(profiles, pens, small_replay):
    requests = pad_json(pens, 16)
    one = teach(profiles, small_replay, requests[:6], settings=QUICK)
    two = teach(profiles, small_replay, requests[6:], settings=QUICK)
    assert one.profile and two.profile and one.profile != two.profile
    assert [label for label, _ in read_drawings(profiles, one.profile)] == [r["label"] for r in requests[:6]]
    assert [label for label, _ in read_drawings(profiles, two.profile)] == [r["label"] for r in requests[6:]]
    a, b = profiles.model(one.profile).model, profiles.model(two.profile).model
    assert a is not None and b is not None and not np.array_equal(a.delta.w3, b.delta.w3)
    again = teach(profiles, small_replay, requests[:1], key=one.profile, settings=QUICK)
    assert again.profile == one.profile and again.drawings == 7
    assert len(read_drawings(profiles, two.profile)) == 10


def test_corrupt_missing_or_stale_profiles_fall_back_with_one_line(profiles, pens, small_replay, shared):
    taught = teach(profiles, small_replay, pad_json(pens, 4), settings=QUICK)
    assert taught.profile
    for key, words in ((None, ""), ("bad key!", "not a profile key"), ("A" * 32, "no personal model")):
        lookup = profiles.model(key)
        assert lookup.model is None and words in lookup.reason
    with sqlite3.connect(profiles.db.path) as conn:
        conn.execute("UPDATE profiles SET delta = ? WHERE key = ?", (b"garbage", taught.profile))
    fresh = Profiles(profiles.db.path, shared)  # nothing cached: read from disk
    lookup = fresh.model(taught.profile)
    assert lookup.model is None and "unreadable" in lookup.reason and "shared model" in lookup.reason
    assert "\n" not in lookup.reason
    other = DenseClassifier(tuple((w * 1.01, b) for w, b in shared.layers), shared.deskew)
    teach(profiles, small_replay, [], key=taught.profile, settings=QUICK)
    stale = Profiles(profiles.db.path, other).model(taught.profile)
    assert stale.model is None and "another shared model" in stale.reason


def test_a_broken_database_is_one_line(tmp_path: Path, shared: Classifier):
    path = tmp_path / "drawings.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ProfileStoreError) as info:
        Profiles(path, shared)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_lru_drops_the_least_recent_and_reloads_from_disk(profiles, pens, small_replay, mnist):
    keys = [teach(profiles, small_replay, pad_json(pens, 3, seed=i), settings=QUICK).profile for i in range(3)]
    assert all(keys) and profiles.cached() == keys[1:]
    images = mnist[1][0][:20].astype(np.float32) / 255
    reloaded = profiles.model(keys[0]).model
    assert reloaded is not None and profiles.cached() == [keys[2], keys[0]]
    fresh = Profiles(profiles.db.path, profiles.classifier).model(keys[0]).model
    assert fresh is not None
    np.testing.assert_allclose(reloaded.predict(images), fresh.predict(images), atol=1e-6)


def test_caps_hold(profiles, pens, small_replay):
    keys = [teach(profiles, small_replay, pad_json(pens, 2, seed=i), settings=QUICK).profile for i in range(4)]
    profiles.model(keys[0])  # from memory: not yet marked used, so make it the most recently used on disk
    profiles.db.touch(keys[0])
    newest = teach(profiles, small_replay, pad_json(pens, 2), settings=QUICK).profile
    assert profiles.db.count() == 4 and not profiles.db.exists(keys[1]) and profiles.db.exists(keys[0])
    assert newest and teach(profiles, small_replay, pad_json(pens, 11), key=newest, settings=QUICK).drawings == 12
    refused = teach(profiles, small_replay, pad_json(pens, 13), key=newest, settings=QUICK)
    assert refused.profile is None and "too many drawings" in refused.message and "\n" not in refused.message


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        ("not json", "not valid JSON"),
        ('{"label": 1}', "JSON list"),
        ('[{"label": 11, "strokes": {}}]', "label must be a digit"),
        ('[{"label": 3, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": []}}]', "no strokes"),
        ('[{"label": 3, "strokes": {"v": 9}}]', "version"),
        ("[]", "no drawings"),
        ('[{"label": 3, "strokes": {"v": 1, "width": 448, "height": 448, "strokes": [[[9, 9], [10, 9]]]}}]', "any ink"),
    ],
)
def test_teach_refuses_bad_requests_with_one_line(profiles, small_replay, request_: str, words: str):
    taught = teach(profiles, small_replay, request_, settings=QUICK)
    assert taught.profile is None and words in taught.message and "\n" not in taught.message
    assert profiles.db.count() == 0


def test_personal_tables_leave_the_shared_collection_alone(profiles, pens, small_replay):
    teach(profiles, small_replay, pad_json(pens, 5), settings=QUICK)
    store = DrawingStore(profiles.db.path)
    assert store.counts().total == 0
    assert profiles.db.schema_version() == 1 and profiles.db.count() == 1


def test_the_personal_package_never_imports_tensorflow():
    code = (
        "import sys\nimport mnist_core.personal.teach, mnist_core.personal.profiles\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def _read(model: Classifier | PersonalClassifier, drawings: list[Drawing]) -> np.ndarray:
    images = [drawing_to_mnist(d) for d in drawings]
    return model.predict(np.stack([i for i in images if i is not None])).argmax(axis=1)


@pytest.mark.slow
def test_a_personal_model_reads_its_teachers_odd_style_and_others_no_worse(shared, pens, mnist):
    """Backslashed zeros (a stroke the shared model rarely saw) and three of each other digit, as the page asks."""
    writer = unipen.part(pens, "val")
    rng = np.random.default_rng(1)
    plain = [d for label in range(1, 10) for d in [p for p in writer if p.label == label][:3]]
    drawings = [(0, d) for d in styled_drawings(pens, "backslashed 0", 3, seed=5)]
    drawings += [(d.label, renderings.pad_drawing(d.strokes, rng, renderings.PAD)) for d in plain]
    replay = build_replay(shared, *replay_images(mnist[0], pens, n_mnist=2000, n_pens=500))
    personal = adapt(shared, drawings, replay).model
    unseen = styled_drawings(pens, "backslashed 0", 60, seed=99)
    styled_shared, styled_personal = np.mean(_read(shared, unseen) == 0), np.mean(_read(personal, unseen) == 0)
    assert styled_personal >= styled_shared + 0.4, (styled_shared, styled_personal)  # measured: 15% → 75%
    images, labels = renderings.test_drawings(pens)
    others = [
        float(np.mean(m.predict(images.astype(np.float32) / 255).argmax(axis=1) == labels)) for m in (shared, personal)
    ]
    assert others[1] >= others[0] - 0.005, others
    x, y = mnist[1]
    digits = [
        float(np.mean(m.predict(x[:3000].astype(np.float32) / 255).argmax(axis=1) == y[:3000]))
        for m in (shared, personal)
    ]
    assert digits[1] >= digits[0] - 0.005, digits


@pytest.mark.slow
def test_drawings_that_contradict_everyone_cannot_make_a_personal_model_forget(shared, pens, mnist):
    """Every drawing taught under the wrong label, at nine tenths of the loss: the guard scales the delta back."""
    (x, y), (x_test, y_test) = mnist
    replay = build_replay(shared, x[:1600], y[:1600])
    rng = np.random.default_rng(3)
    wrong = [
        ((d.label + 1) % 10, renderings.pad_drawing(d.strokes, rng, renderings.PAD))
        for d in unipen.part(pens, "val")[:30]
    ]
    personal = adapt(shared, wrong, replay, Adaptation(variants=1, teach_weight=0.9, l2=0.0)).model
    images = x_test[:1000].astype(np.float32) / 255
    scores = [float(np.mean(m.predict(images).argmax(axis=1) == y_test[:1000])) for m in (shared, personal)]
    assert scores[1] >= scores[0] - 0.01, scores
