"""The "Teach it" handlers without a browser: correcting a reading, the Drawings tab's actions, the Model tab's
held-out section, the Train tab's refusals, when collecting is on, and a database that is corrupt or locked."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import build_ctx
from PIL import Image

from mnist_core.config import SHIPPED_MODEL, models_dir
from mnist_core.drawings.store import DrawingStore
from mnist_core.imaging.strokes import parse
from mnist_core.serving.recipes import _with_drawings
from mnist_ui.launch import collecting, parser
from mnist_ui.server import actions, transfers
from mnist_ui.server.collect import Collector, as_label, image_source
from mnist_ui.server.context import AppContext, Settings
from mnist_ui.tabs import drawings as drawings_tab
from mnist_ui.tabs import model as model_tab
from mnist_ui.tabs import train as train_tab
from mnist_ui.testing import ONE, SEVEN, ZERO, pad_value

pytestmark = pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped model")


def make_ctx(tmp_path: Path, public: bool = False, **collector: Any) -> AppContext:
    collected = Collector(tmp_path / "d.sqlite3", **collector)
    return build_ctx(SHIPPED_MODEL, Settings(True, "", public), collector=collected)


def correct(ctx: AppContext, label: Any, strokes: Any = None, image: str | None = None, who: str = "a") -> Any:
    source = {"strokes": strokes} if image is None else {"image": image}
    return ctx.drawings.correct(ctx.holder.current, label, source, who)


def wobbled(strokes: list, seed: int) -> dict:
    """The same digit drawn a little differently each time (a different drawing, a different holdout side)."""
    rng = np.random.default_rng(seed)
    value = pad_value(strokes)
    value["strokes"] = [[[x + rng.normal(0, 2), y + rng.normal(0, 2)] for x, y in s] for s in value["strokes"]]
    return value


def test_a_correction_is_kept_with_what_the_model_read(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    done = correct(ctx, 7, json.dumps(pad_value(ONE)))
    assert done.saved and done.message == "saved — 1 drawing collected (1 of 7)", done
    assert done.predicted == 1 and done.label == 7
    right = correct(ctx, None, pad_value(SEVEN))  # "Right": the label is what the model read
    assert right.saved and right.label == 7 == right.predicted and right.message.endswith("(2 of 7)")
    row = ctx.drawings.store().get(done.id)
    assert row is not None and row.kind == "strokes" and row.wrong and row.model_version == "shipped"
    assert row.probabilities is not None and np.argmax(row.probabilities) == 1
    assert json.loads(row.drawing)["strokes"]  # the strokes as sent
    assert row.image.shape == (28, 28) and row.image.max() == 255  # MNIST's format, not deskewed


@pytest.mark.parametrize(
    ("label", "strokes", "words"),
    [
        (12, pad_value(ONE), "label must be a digit"),
        ("seven", pad_value(ONE), "label must be a digit"),
        (True, pad_value(ONE), "label must be a digit"),
        (3, {"v": 1, "width": 448, "height": 448, "strokes": []}, "nothing to save"),
        (3, None, "nothing to save"),
        (3, "{not json", "not saved"),
        (3, {"v": 1, "width": 448, "height": 448, "strokes": [[[1, 1]] * 6000]}, "not saved"),
    ],
)
def test_refusals_are_one_line_and_keep_nothing(tmp_path: Path, label: Any, strokes: Any, words: str):
    ctx = make_ctx(tmp_path)
    done = correct(ctx, label, strokes)
    assert not done.saved and words in done.message and "\n" not in done.message, done
    assert ctx.drawings.store().counts().total == 0


def test_labels_scripts_send_are_read_as_digits():
    assert [as_label(v) for v in (7, 7.0, "7", " 7 ", np.int64(7))] == [7] * 5
    assert [as_label(v) for v in (7.5, "x", None, -1, 10, True)] == [None] * 6


def test_each_visitor_is_rate_limited_alone(tmp_path: Path):
    ctx = make_ctx(tmp_path, per_minute=2)
    assert [correct(ctx, 1, wobbled(ONE, i), who="a").saved for i in range(3)] == [True, True, False]
    assert "corrections a minute" in correct(ctx, 1, wobbled(ONE, 9), who="a").message
    assert correct(ctx, 1, wobbled(ONE, 10), who="b").saved


def test_a_full_store_says_so(tmp_path: Path):
    ctx = make_ctx(tmp_path, max_rows=2)
    assert all(correct(ctx, 0, wobbled(ZERO, i)).saved for i in range(2))
    full = correct(ctx, 0, wobbled(ZERO, 3))
    assert not full.saved and "full" in full.message and "export and delete" in full.message


def test_a_store_too_big_on_disk_says_so(tmp_path: Path):
    ctx = make_ctx(tmp_path, max_bytes=1)
    full = correct(ctx, 0, pad_value(ZERO))
    assert not full.saved and "full" in full.message and "MB" in full.message and "export and delete" in full.message


def test_a_database_spoiled_while_serving_recovers_once_moved_aside(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    assert correct(ctx, 1, pad_value(ONE)).saved
    for extra in ("-wal", "-shm"):
        Path(f"{ctx.drawings.path}{extra}").unlink(missing_ok=True)
    ctx.drawings.path.write_bytes(b"\x00garbage" * 1000)
    spoiled = correct(ctx, 1, wobbled(ONE, 1))
    assert not spoiled.saved and "cannot be used" in spoiled.message and ctx.drawings.warning()
    ctx.drawings.path.rename(tmp_path / "aside.sqlite3")
    assert correct(ctx, 1, wobbled(ONE, 2)).saved and ctx.drawings.warning() == ""


def test_uploads_are_kept_as_png(tmp_path: Path):
    digit = Image.new("L", (300, 300), 255)
    digit.paste(0, (140, 40, 170, 260))  # a 1
    png, jpeg, big = tmp_path / "one.png", tmp_path / "one.jpg", tmp_path / "noise.png"
    digit.save(png)
    digit.convert("RGB").save(jpeg, quality=90)
    noise = np.random.default_rng(0).integers(0, 255, (900, 900, 3), np.uint8)
    noise[:, :, :] = np.where(np.asarray(digit.resize((900, 900)))[..., None] < 128, 0, noise)
    Image.fromarray(noise).save(big)
    assert image_source(str(png))[0] == png.read_bytes()  # a small PNG: byte for byte
    for path in (jpeg, big):
        data, image = image_source(str(path), max_bytes=256_000)
        assert data.startswith(b"\x89PNG") and len(data) <= 256_000 and image.shape == (28, 28)
    ctx = make_ctx(tmp_path)
    done = correct(ctx, 1, image=str(jpeg))
    assert done.saved and ctx.drawings.store().get(done.id).kind == "image"
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    refused = correct(ctx, 1, image=str(junk))
    assert not refused.saved and "not a readable image" in refused.message and str(tmp_path) not in refused.message


def test_collecting_is_off_on_a_public_demo_unless_asked():
    assert collecting(parser().parse_args([]))[0]
    assert not collecting(parser().parse_args(["--share"]))[0]
    off, why = collecting(parser().parse_args(["--host", "0.0.0.0"]))
    assert not off and "--collect" in why
    assert collecting(parser().parse_args(["--host", "0.0.0.0", "--collect"]))[0]


def test_a_disabled_collector_keeps_nothing_and_says_why(tmp_path: Path):
    ctx = make_ctx(tmp_path, enabled=False, disabled_reason="this demo is public")
    done = correct(ctx, 1, pad_value(ONE))
    assert not done.saved and "this demo is public" in done.message
    assert not (tmp_path / "d.sqlite3").exists()
    assert ctx.drawings.where() == "This demo is public." and drawings_tab.counts_md(ctx) == ctx.drawings.where()


def test_a_corrupt_database_is_one_warning_and_reading_goes_on(tmp_path: Path):
    (tmp_path / "d.sqlite3").write_bytes(b"not a database at all " * 100)
    ctx = make_ctx(tmp_path)
    warning = ctx.drawings.warning()
    assert "cannot be used" in warning and "move the file aside" in warning and "\n" not in warning
    done = correct(ctx, 1, pad_value(ONE))
    assert not done.saved and "cannot be used" in done.message
    assert ctx.holder.read_drawings([parse(pad_value(ONE))])[0].digit == 1  # reading goes on
    assert "⚠️" in drawings_tab.counts_md(ctx) and "cannot be used" in model_tab.drawings_md(ctx)
    (tmp_path / "d.sqlite3").unlink()  # moved aside: the next correction starts a new database
    assert correct(ctx, 1, pad_value(ONE)).saved and ctx.drawings.warning() == ""


def test_a_locked_database_is_one_line(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    ctx.drawings.store().busy_timeout_s = 0.2
    holder = sqlite3.connect(ctx.drawings.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = correct(ctx, 1, pad_value(ONE))
    finally:
        holder.rollback()
        holder.close()
    assert not done.saved and "locked" in done.message and "\n" not in done.message
    assert correct(ctx, 1, pad_value(ONE)).saved


def test_drawings_tab_lists_filters_deletes_exports_and_imports(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    for i in range(6):
        assert correct(ctx, 7 if i % 2 else 1, wobbled(ONE, i)).saved  # odd ones: 1s labelled 7 (read wrong)
    items, ids, shown = drawings_tab.gallery(ctx, drawings_tab.ALL, False, None)
    assert len(items) == len(ids) == 6 and ids == sorted(ids, reverse=True) and "6 drawings" in shown
    assert len(drawings_tab.gallery(ctx, "7", False, None)[0]) == 3
    wrong = drawings_tab.gallery(ctx, drawings_tab.ALL, True, None)
    assert len(wrong[0]) == 3 and all("✗" in caption for _, caption in wrong[0])
    assert "| **6** |" in drawings_tab.counts_md(ctx)
    files, message = transfers.export_zip(ctx, None)
    assert files and Path(files[0]).is_file() and "exported 6" in message
    idx, _ = transfers.export_idx(ctx, None)
    assert idx and [Path(p).name for p in idx] == ["drawings-images-idx3-ubyte.gz", "drawings-labels-idx1-ubyte.gz"]
    assert drawings_tab.delete_one(ctx, ids[0], None) == f"deleted drawing #{ids[0]}"
    assert "pick a drawing" in drawings_tab.delete_one(ctx, None, None)
    assert "tick" in drawings_tab.delete_all(ctx, False, None) and ctx.drawings.store().counts().total == 5
    assert drawings_tab.delete_all(ctx, True, None) == "deleted all 5 drawings"
    assert transfers.import_zip(ctx, files[0], None) == "imported 6 drawings"
    assert "skipped 6" in transfers.import_zip(ctx, files[0], None)
    assert "not a zip" in transfers.import_zip(ctx, str(tmp_path / "d.sqlite3"), None)


def test_on_a_public_server_only_a_logged_in_user_manages_drawings(tmp_path: Path):
    ctx = make_ctx(tmp_path, public=True)
    assert correct(ctx, 1, pad_value(ONE)).saved
    stranger: Any = SimpleNamespace(username=None)
    user: Any = SimpleNamespace(username="ann")
    assert drawings_tab.gallery(ctx, None, False, stranger)[2] == transfers.PRIVATE
    assert "not exported" in transfers.export_zip(ctx, stranger)[1]
    assert "not deleted" in drawings_tab.delete_all(ctx, True, stranger)
    assert len(drawings_tab.gallery(ctx, None, False, user)[0]) == 1


def test_model_tab_measures_the_serving_model_on_held_out_drawings(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    assert "No held-out collected drawings yet" in model_tab.drawings_md(ctx)
    store = ctx.drawings.store()
    for i in range(40):
        correct(ctx, 1, wobbled(ONE, i))
    held = store.counts().holdout
    assert held > 0
    text = model_tab.drawings_md(ctx, 0.99)
    assert text.startswith("### Held-out collected drawings: 100.00% (MNIST test: 99.00%)"), text
    assert f"Rests on {held:,} drawings" in text


def test_train_tab_refuses_what_it_cannot_do_in_one_line(tmp_path: Path):
    ctx = make_ctx(tmp_path)
    assert "no collected drawings" in actions.start_finetune(ctx, 3, True, "")
    assert "epochs" in actions.start_finetune(ctx, 2.5, True, "")
    assert "drawings must be true or false" in actions.start(ctx, "fast", {"drawings": "yes"}, True, "")
    correct(ctx, 1, pad_value(ONE))
    store = ctx.drawings.store()
    if store.counts().holdout == 0:
        assert "held out" in actions.start_finetune(ctx, 3, True, "")
    assert "Include the collected drawings (" in train_tab.drawings_label(ctx)
    off = make_ctx(tmp_path / "off", enabled=False)
    assert actions.start_finetune(off, 3, True, "") == "not started: corrected drawings are not kept on this server"


def test_a_retrain_with_drawings_puts_them_first(tmp_path: Path, mnist):
    store = DrawingStore(tmp_path / "d.sqlite3")
    ctx = make_ctx(tmp_path)
    for i in range(10):
        correct(ctx, 7, wobbled(ONE, i))
    (x, y), test = mnist
    (x2, y2), test2 = _with_drawings(((x[:100], y[:100]), test), store)[0]
    n = store.counts().total - store.counts().holdout
    assert len(x2) == 100 + 4 * n and (y2[: 4 * n] == 7).all() and test2 is test
    np.testing.assert_array_equal(x2[4 * n :], x[:100])


def test_png_bytes_survive_as_sent(tmp_path: Path):
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "PNG")
    path = tmp_path / "blank.png"
    path.write_bytes(buf.getvalue())
    ctx = make_ctx(tmp_path)
    assert "nothing to save" in correct(ctx, 1, image=str(path)).message


@pytest.mark.slow
def test_a_finetune_job_cancels_and_changes_nothing(tmp_path: Path, mnist_dir: Path):
    ctx = make_ctx(tmp_path)
    ctx.jobs.data_path = str(mnist_dir)
    for i in range(40):
        correct(ctx, 1, wobbled(ONE, i))
    started, message = ctx.jobs.start_finetune(ctx.drawings.store(), epochs=2, owner="me")
    assert started and message == "fine-tune #1 started"
    assert ctx.jobs.start_finetune(ctx.drawings.store())[1].startswith("a training is already running")
    deadline = time.monotonic() + 300
    while ctx.jobs.snapshot().state != "training" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ctx.jobs.cancel(who="someone else").startswith("not cancelled")
    assert ctx.jobs.cancel(who="me") == "cancelling fine-tune #1…"
    while ctx.jobs.snapshot().running and time.monotonic() < deadline:
        time.sleep(0.1)
    last = ctx.jobs.snapshot()
    assert last.state == "cancelled" and last.kind == "finetune", last
    assert "the serving model was not changed" in last.message and ctx.holder.current.path == SHIPPED_MODEL
    assert not list(models_dir().glob("*.keras"))  # nothing saved
    assert "Fine-tuning" not in train_tab.status_html(last) and "fine-tune #1" in train_tab.status_html(last)


def test_train_tab_controls_come_from_the_hyperparameter_fields():
    import gradio as gr

    from mnist_core.config import CONTROLS, PRESETS, TUNABLE, UI_LIMITS

    with gr.Blocks():
        made = {name: train_tab.control(name, spec, getattr(PRESETS["fast"], name)) for name, spec in CONTROLS.items()}
    assert set(made) <= set(TUNABLE) and {"epochs", "batch_size", "augment", "train_subset"} <= set(made)
    assert (made["epochs"].minimum, made["epochs"].maximum) == (1, UI_LIMITS.max_epochs)
    assert (made["batch_size"].minimum, made["batch_size"].maximum) == (UI_LIMITS.min_batch, UI_LIMITS.max_batch)
    assert isinstance(made["augment"], gr.Checkbox) and made["augment"].value is False
    assert isinstance(made["learning_rate"], gr.Number) and not made["train_subset"].visible
