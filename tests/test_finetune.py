"""Fine-tuning on corrected drawings: it learns a style the model misreads and keeps MNIST.

The style is the first of `bench.finetune.STYLES` the base model reads below 70%: UNIPEN's real pen
digits with one extra stroke (for the shipped model today, a zero slashed from top-left to
bottom-right: it reads about a fifth of them as 0, most as 8 or 5), sent as the web pad sends strokes.
The bench uses the same drawings.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from bench.finetune import add_styled, misread_style
from mnist_core.config import SHIPPED_MODEL, HyperParams
from mnist_core.data.mnist import DataError
from mnist_core.data.unipen import PenDigit, load_unipen
from mnist_core.drawings.store import DrawingStore
from mnist_core.model.files import load_classifier, read_metadata, sidecar_path
from mnist_core.model.reports import Scores, judge
from mnist_core.training.finetune import Collected, FinetuneError, finetune, replay_pool, save_finetuned


@pytest.fixture(scope="module")
def unipen() -> list[PenDigit]:
    try:
        return load_unipen()
    except DataError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def base_model(tmp_path: Path) -> Path:
    """A copy of the shipped model and its sidecar: read-only for the test, whatever happens to assets/."""
    target = tmp_path / "base.keras"
    shutil.copy(SHIPPED_MODEL, target)
    shutil.copy(sidecar_path(SHIPPED_MODEL), sidecar_path(target))
    return target


def decide(before: Scores, after: Scores) -> tuple[bool, str]:
    verdict = judge(before, after, must_measure=("holdout",))  # as a fine-tune is judged
    return verdict.serve, verdict.reason


def test_the_serve_gate_serves_only_a_model_that_is_not_worse():
    assert decide(Scores(0.990, holdout=0.30), Scores(0.988, holdout=0.90))[0]  # 0.2 points lost: allowed
    assert decide(Scores(0.990, holdout=0.30), Scores(0.990, holdout=0.30))[0]
    keep_mnist = decide(Scores(0.990, holdout=0.30), Scores(0.986, holdout=0.95))
    keep_held = decide(Scores(0.990, holdout=0.50), Scores(0.991, holdout=0.45))
    keep_none = decide(Scores(0.990), Scores(0.991))
    keep_pens = judge(Scores(0.990, pens=0.97), Scores(0.991, pens=0.96))  # a retrain: real handwriting must not drop
    assert not keep_mnist[0] and "0.40 points" in keep_mnist[1]
    assert not keep_held[0] and "worse" in keep_held[1]
    assert not keep_none[0] and "no held-out" in keep_none[1]
    assert not keep_pens.serve and "real handwriting worse" in keep_pens.why
    assert judge(Scores(0.990, pens=None), Scores(0.988, pens=0.9)).serve  # measured on one side only: not compared
    assert judge(Scores(None), Scores(0.5)).serve  # a serving model never measured: nothing to be worse than
    assert all("\n" not in reason for _, reason in (keep_mnist, keep_held, keep_none))
    assert keep_mnist[1].startswith("keep the current model: ") and decide(
        Scores(0.9, holdout=0.5), Scores(0.9, holdout=0.6)
    )[1].startswith("serve the new model: ")


def test_nothing_collected_is_one_clear_error(tmp_path: Path, mnist):
    with pytest.raises(FinetuneError, match="no collected drawings"):
        finetune(tmp_path / "unused.keras", DrawingStore(tmp_path / "empty.sqlite3"), mnist)
    for epochs in (0, 21):  # config.FINETUNE_LIMITS: the one cap, before anything loads
        with pytest.raises(FinetuneError, match="epochs must be 1–20"):
            finetune(tmp_path / "unused.keras", DrawingStore(tmp_path / "empty.sqlite3"), mnist, epochs=epochs)


def test_replay_pool_lists_collected_drawings_often_enough(mnist):
    (x, y), _ = mnist
    collected = Collected(
        np.zeros((50, 3, 28, 28), np.uint8),
        np.zeros(50, np.uint8),
        np.zeros((0, 28, 28), np.uint8),
        np.zeros(0, np.uint8),
    )
    hp = HyperParams(style_extras=False, deskew=False)
    pool, counts = replay_pool(collected, (x, y), None, hp, replay=2000, pen_replay=0, weight=None)
    assert counts["replay_mnist"] == 2000 and counts["collected_weight"] == 8  # 10 would make a fifth: capped
    assert len(pool) == counts["replay_mnist"] + 50 * 8 == counts["pool"]
    assert (pool.count[-50:] == 3).all() and (pool.labels[-50:] == 0).all()
    assert pool.images.shape == (counts["replay_mnist"] + 150, 28, 28)


@pytest.mark.slow
def test_cancel_stops_within_a_batch_and_changes_nothing(base_model: Path, mnist):
    (x, y), _ = mnist
    collected = Collected(x[:40, None], y[:40], x[40:60], y[40:60])
    cancel = threading.Event()
    cancel.set()
    outcome = finetune(base_model, collected, mnist, cancel=cancel, replay=500)
    assert outcome.status == "cancelled" and not outcome.serve and "cancelled" in outcome.reason
    with pytest.raises(FinetuneError, match="cancelled"):
        save_finetuned(outcome, base_model.with_name("never.keras"), "pytest")
    assert not base_model.with_name("never.keras").exists()


@pytest.mark.slow
def test_finetune_learns_a_misread_style_and_keeps_mnist(base_model: Path, unipen, mnist, tmp_path: Path):
    base = load_classifier(base_model)
    style = misread_style(base, unipen)
    assert style is not None, "the shipped model reads every style in bench.finetune.STYLES; add one it misreads"
    store = DrawingStore(tmp_path / "drawings.sqlite3")
    add_styled(store, unipen, base, style, 300)
    assert store.counts().total >= 290 and store.counts().holdout >= 40
    reports = []
    outcome = finetune(base_model, store, mnist, epochs=3, on_progress=reports.append)
    assert outcome.status == "completed", outcome.reason
    assert outcome.before.holdout < 0.75, style
    assert outcome.after.holdout >= max(0.8, outcome.before.holdout + 0.3), outcome.reason
    assert (outcome.before.mnist - outcome.after.mnist) * 100 <= 0.3, outcome.reason
    assert outcome.serve and "serve" in outcome.reason
    assert reports and reports[-1].phase == "epoch" and reports[-1].epoch == 3

    path = save_finetuned(outcome, tmp_path / "tuned.keras", "pytest finetune")
    served = load_classifier(path)
    assert served.deskew == base.deskew  # the deskew contract is kept
    held, labels = store.holdout_set()
    served_accuracy = np.mean(served.predict(held.astype(np.float32) / 255).argmax(axis=1) == labels)
    assert served_accuracy == pytest.approx(outcome.after.holdout)
    meta = read_metadata(path)
    assert meta["metrics"]["test_accuracy"] == outcome.after.mnist and meta["command"] == "pytest finetune"
    assert meta["hyperparameters"] == read_metadata(base_model)["hyperparameters"]
    assert meta["finetune"]["counts"]["collected"] + meta["finetune"]["counts"]["holdout"] == store.counts().total
    assert meta["finetune"]["before"]["holdout"] == outcome.before.holdout and meta["finetune"]["serve"]
    assert meta["finetune"]["base_model"] == "base.keras" and "/" not in meta["data_source"]  # no machine paths
    assert path.with_suffix(".eval.json").is_file()
