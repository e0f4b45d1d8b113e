"""Saving, loading, versions and what survives a crash mid-save."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_core import config
from mnist_core.model import files, versions
from mnist_core.model.files import ModelError, load_classifier, read_metadata


def test_save_then_load_gives_identical_predictions(small_model, mnist):
    _, (x_test, _) = mnist
    x = x_test[:500].reshape(500, -1).astype(np.float32) / 255.0
    keras_probs = small_model.result.model(x, training=False).numpy()
    numpy_probs = load_classifier(small_model.path).predict(x)
    reloaded = files.load_keras(small_model.path)(x, training=False).numpy()
    np.testing.assert_allclose(numpy_probs, keras_probs, atol=1e-5)
    np.testing.assert_allclose(reloaded, keras_probs, atol=1e-6)


def test_sidecar_records_how_the_model_was_made(small_model):
    meta = read_metadata(small_model.path)
    assert meta["params"] == 5_824_522
    assert meta["hyperparameters"]["train_subset"] == 6000
    assert 0.8 < meta["metrics"]["test_accuracy"] <= 1.0
    assert meta["command"] and meta["created"] and meta["training_seconds"] > 0
    assert {"tensorflow", "keras", "numpy", "pillow"} <= set(meta["libraries"])
    assert meta["file_sha256"] == files.file_digest(small_model.path)


def test_saved_file_has_no_optimizer_state(small_model):
    assert small_model.path.stat().st_size < 25_000_000


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(ModelError, match=r"not found: .*absent\.keras"):
        load_classifier(tmp_path / "absent.keras")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ModelError, match=r"broken\.keras is not a usable"):
        load_classifier(broken)
    with pytest.raises(ModelError, match=r"broken\.keras"):
        files.load_keras(broken)


@pytest.mark.slow  # kills a saving subprocess with SIGKILL
def test_crash_during_save_keeps_previous_model(small_model, tmp_path):
    """Kill a process while it overwrites a model again and again: the file must always load."""
    target = tmp_path / "model.keras"
    version_dir = tmp_path / "versions"
    target.write_bytes(small_model.path.read_bytes())
    expected = load_classifier(target).layers[2][1].copy()
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        from pathlib import Path
        from mnist_core.model import files, versions
        model = files.load_keras(Path({str(small_model.path)!r}))
        meta = {{"note": "rewrite", "hyperparameters": {{"deskew": False}}}}
        print("ready", flush=True)
        while True:
            files.save_model(model, Path({str(target)!r}), meta)
            files.save_model(model, versions.new_version_path(Path({str(version_dir)!r})), meta)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not versions.list_versions(version_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)  # somewhere in the middle of the next saves
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    np.testing.assert_array_equal(load_classifier(target).layers[2][1], expected)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("model.keras", "model.json", "versions")]
    assert all(name.startswith(".") for name in leftovers)  # only hidden temporaries, never a half model
    listed = versions.list_versions(version_dir)
    assert listed  # some versions were saved before the kill …
    for version in listed:  # … and every listed one has its sidecar, describing exactly that file
        assert version.metadata["file_sha256"] == files.file_digest(version.path)
    for folder in (tmp_path, version_dir):
        versions.clean_staging(folder, older_than_s=0)
    hidden = [p.name for folder in (tmp_path, version_dir) for p in folder.iterdir() if p.name.startswith(".")]
    assert hidden == []


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    files.atomic_write_bytes(target, b"old")

    def explode(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", explode)
    with pytest.raises(OSError):
        files.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_versions_and_serving_pointer(small_model, isolated_home):
    folder = config.models_dir()
    assert versions.serving_path() == config.SHIPPED_MODEL
    first = versions.new_version_path()
    first.parent.mkdir(parents=True)
    first.write_bytes(small_model.path.read_bytes())
    second = folder / (first.stem + "-b.keras")
    second.write_bytes(small_model.path.read_bytes())
    for path in (first, second):
        path.with_suffix(".json").write_text(json.dumps({"metrics": {"test_accuracy": 0.9}}))
    assert [v.path for v in versions.list_versions()] == [second, first]
    assert versions.serving_path() == config.SHIPPED_MODEL  # saving a version does not make it serve
    versions.set_serving(first)
    assert versions.serving_path() == first  # the user's choice wins
    versions.set_serving(config.SHIPPED_MODEL)
    assert versions.serving_path() == config.SHIPPED_MODEL
    assert json.loads((folder / versions.SERVING_POINTER).read_text())["model"].endswith("model.keras")
    versions.set_serving(second)
    second.unlink()
    assert versions.serving_path() == config.SHIPPED_MODEL  # a deleted choice falls back to the shipped model


def test_reading_only_blank_or_broken_inputs_needs_no_forward_pass(small_model):
    from mnist_core.serving.readings import read_digits

    classifier = load_classifier(small_model.path)
    blank = np.full((300, 300), 255, np.uint8)
    readings = read_digits(classifier, [blank, b"not an image"], workers=1)
    assert [r.status for r in readings] == ["blank", "error"]
    assert classifier.predict(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


def _copy_version(source: Path, target: Path, metadata: dict | None = None, age_s: float = 0.0) -> Path:
    """A saved version as save_model leaves it: model, sidecar and test report, `age_s` seconds old."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.with_suffix(".json").write_text(json.dumps(metadata or read_metadata(source)))
    target.with_suffix(".eval.json").write_text("{}")
    stamp = time.time() - age_s
    os.utime(target, (stamp, stamp))
    return target


def _without_contract(source: Path, target: Path) -> Path:
    """The same model as a file saved before contracts existed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename != files.CONTRACT_ENTRY:
                new.writestr(item, old.read(item))
    return target


def test_input_contract_travels_inside_the_keras_file(small_model, tmp_path, mnist):
    deskewed = files.save_model(
        small_model.result.model, tmp_path / "deskewed.keras", {"hyperparameters": {"deskew": True}}
    )
    alone = tmp_path / "copied" / "alone.keras"  # copied without its sidecar
    alone.parent.mkdir()
    shutil.copyfile(deskewed, alone)
    assert files.read_contract(alone) == {
        "deskew": True,
        "input_shape": [28, 28],
        "input_size": 784,
        "preprocessing_version": files.PREPROCESSING_VERSION,
    }
    assert load_classifier(alone).deskew is True
    assert load_classifier(small_model.path).deskew is False
    _, (x_test, _) = mnist
    x = x_test[:50].reshape(50, -1).astype(np.float32) / 255.0
    reloaded = files.load_keras(alone)  # Keras ignores the extra zip entry
    np.testing.assert_allclose(
        reloaded(x, training=False).numpy(), small_model.result.model(x, training=False).numpy(), atol=1e-6
    )


def test_older_files_fall_back_to_the_sidecar_and_neither_is_refused(small_model, tmp_path):
    legacy = _without_contract(small_model.path, tmp_path / "legacy.keras")
    legacy.with_suffix(".json").write_text(json.dumps({"hyperparameters": {"deskew": True}}))
    assert files.read_contract(legacy) is None and load_classifier(legacy).deskew is True
    legacy.with_suffix(".json").unlink()
    with pytest.raises(ModelError) as info:
        load_classifier(legacy)
    assert "\n" not in str(info.value) and "legacy.keras does not say how to prepare its inputs" in str(info.value)
    assert "sidecar" in str(info.value) and "retrain" in str(info.value)
    with pytest.raises(ModelError, match=r"metadata lacks hyperparameters\.deskew"):
        files.save_model(small_model.result.model, tmp_path / "unknown.keras", {"note": "no hyper-parameters"})
    assert not (tmp_path / "unknown.keras").exists()


def test_shipped_model_keeps_loading():
    shipped = load_classifier(config.SHIPPED_MODEL)
    assert shipped.deskew == read_metadata(config.SHIPPED_MODEL)["hyperparameters"]["deskew"]


def test_a_model_for_newer_preprocessing_is_refused(small_model, tmp_path):
    newer = _without_contract(small_model.path, tmp_path / "newer.keras")
    contract = files.input_contract(False) | {"preprocessing_version": files.PREPROCESSING_VERSION + 1}
    with zipfile.ZipFile(newer, "a") as zf:
        zf.writestr(files.CONTRACT_ENTRY, json.dumps(contract))
    with pytest.raises(ModelError, match="needs preprocessing version 2, this mnist_core has 1; update"):
        load_classifier(newer)


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs, no `except Exception` catches it."""


@pytest.mark.parametrize("crash_at", ["sidecar", "publish"])
def test_a_save_cut_short_never_lists_a_model_without_its_sidecar(small_model, tmp_path, monkeypatch, crash_at):
    """Stop the save where a kill -9 could land: before the sidecar is written, or before the model is renamed."""
    real_write, real_replace = files.atomic_write_bytes, os.replace

    def write(path, data):
        if crash_at == "sidecar" and Path(path).suffix == ".json":
            raise Killed
        real_write(path, data)

    def replace(src, dst):
        if crash_at == "publish" and Path(dst).suffix == ".keras":
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(files, "atomic_write_bytes", write)
    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(Killed):
        files.save_model(small_model.result.model, tmp_path / "v.keras", read_metadata(small_model.path))
    assert not (tmp_path / "v.keras").exists() and versions.list_versions(tmp_path) == []


def test_list_versions_skips_files_nobody_could_serve(small_model, tmp_path):
    _without_contract(small_model.path, tmp_path / "orphan.keras")  # no sidecar, no contract
    shutil.copyfile(small_model.path, tmp_path / "contract-only.keras")
    _copy_version(small_model.path, tmp_path / "complete.keras", age_s=10)
    assert [v.name for v in versions.list_versions(tmp_path)] == ["contract-only", "complete"]


def test_clean_staging_removes_only_stale_temporaries(tmp_path):
    names = [
        ".mnist-1.staging-12-34.keras",
        ".serving.json.tmp-12",
        ".mnist-2.staging-56-78.keras",
        "mnist-3.keras",
        ".notes",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - 120
    for name in names[:2] + names[3:]:
        os.utime(tmp_path / name, (old, old))
    removed = versions.clean_staging(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])  # a fresh one may be a save running
    assert versions.clean_staging(tmp_path / "absent") == []


def test_check_writable_fails_early_with_one_line(tmp_path, monkeypatch):
    versions.check_writable(tmp_path / "new" / "models")  # creates it, leaves no probe behind
    assert list((tmp_path / "new" / "models").iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")  # fails for root too, unlike permission bits
    with pytest.raises(ModelError) as info:
        versions.check_writable(blocker / "models")
    assert str(info.value) == (
        f"cannot save models in {blocker / 'models'}: not a directory; set MNIST_DEMO_HOME to a writable folder"
    )

    def denied(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(ModelError) as info:
        versions.check_writable(tmp_path)
    assert str(info.value) == (
        f"cannot save models in {tmp_path}: permission denied; set MNIST_DEMO_HOME to a writable folder"
    )


def test_prune_keeps_the_newest_the_protected_and_the_shipped(small_model, isolated_home):
    folder = config.models_dir()
    paths = [_copy_version(small_model.path, folder / f"mnist-{i}.keras", age_s=100 - i) for i in range(5)]
    link = folder / "shipped-link.keras"  # the shipped model, seen from the versions folder
    link.symlink_to(config.SHIPPED_MODEL)
    link.with_suffix(".json").write_text(json.dumps({"note": "shipped"}))
    os.utime(link, (time.time() - 1000, time.time() - 1000), follow_symlinks=False)
    versions.set_serving(paths[0])  # the oldest serves
    removed = versions.prune_versions(2, {paths[1]})
    assert removed == [paths[2]]
    assert not any(paths[2].with_suffix(ext).exists() for ext in (".keras", ".json", ".eval.json"))
    assert all(p.exists() for p in (paths[0], paths[1], paths[3], paths[4], link, config.SHIPPED_MODEL))
    assert versions.MAX_VERSIONS == 10


def test_delete_version_refuses_the_shipped_and_the_served(small_model, isolated_home):
    folder = config.models_dir()
    served, other = (_copy_version(small_model.path, folder / f"{n}.keras") for n in ("served", "other"))
    versions.set_serving(served)
    with pytest.raises(ModelError, match="served is what the demo serves; serve another first"):
        versions.delete_version(served)
    with pytest.raises(ModelError, match="is a shipped model; it is never deleted"):
        versions.delete_version(config.SHIPPED_MODEL)
    with pytest.raises(ModelError, match="is not a saved version"):
        versions.delete_version(small_model.path)
    versions.delete_version(other)
    assert sorted(p.name for p in folder.iterdir()) == [
        "served.eval.json",
        "served.json",
        "served.keras",
        "serving.json",
    ]


def test_features_are_the_first_hidden_layer_the_network_reads_from():
    """`features` (what a personal memory compares) is the first hidden layer: the rest of the network, fed it,
    gives the same probabilities as the whole forward pass."""
    classifier = load_classifier(config.SHIPPED_MODEL)
    x = classifier.inputs(np.random.default_rng(0).random((5, 28, 28), dtype=np.float32))
    h = classifier.features(x)
    assert h.shape == (5, classifier.hidden_units) and h.dtype == np.float32 and (h >= 0).all()
    for w, b in classifier.layers[1:-1]:
        h = np.maximum(h @ w + b, 0.0)
    w, b = classifier.layers[-1]
    logits = h @ w + b
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs / probs.sum(axis=1, keepdims=True), classifier.forward(x), atol=1e-6)
