"""Saving, loading, versions and what survives a crash mid-save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mnist_core import storage
from mnist_core.storage import ModelError, load_classifier, read_metadata


def test_save_then_load_gives_identical_predictions(small_model, mnist):
    _, (x_test, _) = mnist
    x = x_test[:500].reshape(500, -1).astype(np.float32) / 255.0
    keras_probs = small_model.result.model(x, training=False).numpy()
    numpy_probs = load_classifier(small_model.path).predict(x)
    reloaded = storage.load_keras(small_model.path)(x, training=False).numpy()
    np.testing.assert_allclose(numpy_probs, keras_probs, atol=1e-5)
    np.testing.assert_allclose(reloaded, keras_probs, atol=1e-6)


def test_sidecar_records_how_the_model_was_made(small_model):
    meta = read_metadata(small_model.path)
    assert meta["params"] == 5_824_522
    assert meta["hyperparameters"]["train_subset"] == 6000
    assert 0.8 < meta["metrics"]["test_accuracy"] <= 1.0
    assert meta["command"] and meta["created"] and meta["training_seconds"] > 0
    assert {"tensorflow", "keras", "numpy", "pillow"} <= set(meta["libraries"])
    assert meta["file_sha256"] == storage.file_digest(small_model.path)


def test_saved_file_has_no_optimizer_state(small_model):
    assert small_model.path.stat().st_size < 25_000_000


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(ModelError, match="not found: .*absent.keras"):
        load_classifier(tmp_path / "absent.keras")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ModelError, match="broken.keras is not a usable"):
        load_classifier(broken)
    with pytest.raises(ModelError, match="broken.keras"):
        storage.load_keras(broken)


def test_crash_during_save_keeps_previous_model(small_model, tmp_path):
    """Kill a process while it overwrites a model again and again: the file must always load."""
    target = tmp_path / "model.keras"
    target.write_bytes(small_model.path.read_bytes())
    expected = load_classifier(target).layers[2][1].copy()
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        from pathlib import Path
        from mnist_core import storage
        model = storage.load_keras(Path({str(small_model.path)!r}))
        print("ready", flush=True)
        while True:
            storage.save_model(model, Path({str(target)!r}), {{"note": "rewrite"}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    np.testing.assert_array_equal(load_classifier(target).layers[2][1], expected)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("model.keras", "model.json")]
    assert all(name.startswith(".") for name in leftovers)  # only hidden temporaries, never a half model


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    storage.atomic_write_bytes(target, b"old")

    def explode(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(OSError):
        storage.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_versions_and_serving_pointer(small_model, isolated_home):
    folder = storage.models_dir()
    assert storage.serving_path() == storage.SHIPPED_MODEL
    first = storage.new_version_path()
    first.parent.mkdir(parents=True)
    first.write_bytes(small_model.path.read_bytes())
    second = folder / (first.stem + "-b.keras")
    second.write_bytes(small_model.path.read_bytes())
    assert [v.path for v in storage.list_versions()] == [second, first]
    assert storage.serving_path() == second  # newest trained
    storage.set_serving(first)
    assert storage.serving_path() == first  # the user's choice wins
    storage.set_serving(storage.SHIPPED_MODEL)
    assert storage.serving_path() == storage.SHIPPED_MODEL
    assert json.loads((folder / storage.SERVING_POINTER).read_text())["model"].endswith("model.keras")
    first.unlink()
    storage.set_serving(first)
    assert storage.serving_path() == second  # a deleted choice falls back to the newest


def test_reading_only_blank_or_broken_inputs_needs_no_forward_pass(small_model):
    from mnist_core.predict import read_digits

    classifier = load_classifier(small_model.path)
    blank = np.full((300, 300), 255, np.uint8)
    readings = read_digits(classifier, [blank, b"not an image"], workers=1)
    assert [r.status for r in readings] == ["blank", "error"]
    assert classifier.predict(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
