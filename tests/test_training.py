"""Real (short) training runs on real MNIST."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mnist_core.config import HyperParams, preset
from mnist_core.data.mnist import split
from mnist_core.model.forward import DenseClassifier
from mnist_core.model.network import build_model, param_count
from mnist_core.model.reports import evaluate
from mnist_core.training.scratch import train


def test_architecture_is_the_seed_notebooks():
    model = build_model(HyperParams())
    assert model.count_params() == param_count() == 5_824_522
    assert [layer.name for layer in model.layers if "dense" in layer.name] == [
        "dense_layer",
        "dense_layer_2",
        "dense_layer_3",
    ]
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [2048, 2048, 10]


@pytest.mark.slow  # a real training of several seconds; the full suite runs it
def test_seed_preset_trains_on_sixty_images(mnist):
    (x, y), _ = mnist
    (x_tr, _), (x_val, _) = split(x, y, preset("seed"))
    assert len(x_tr) == 60 and len(x_val) == 59_940
    result = train(preset("seed").replace(epochs=1), (x[:6000], y[:6000]))  # 0.999 of 6,000 → 6 images
    assert result.ok and result.n_train == 6


@pytest.mark.slow  # a real training of several seconds; the full suite runs it
def test_one_epoch_on_ten_thousand_images_reads_mnist(mnist):
    (x, y), (x_test, y_test) = mnist
    reports = []
    hp = preset("fast").replace(epochs=1, train_subset=10_000, validation_split=0.0)
    result = train(hp, (x, y), on_progress=reports.append)
    assert result.ok, result.message
    report = evaluate(DenseClassifier.from_arrays(result.model.get_weights()), x_test, y_test)
    assert report.accuracy >= 0.90
    assert report.confusion.sum() == 10_000 and report.params == 5_824_522
    assert reports[-1].phase == "epoch" and reports[-1].fraction == 1.0
    assert any(r.phase == "batch" for r in reports)


@pytest.mark.slow  # a real training of several seconds; the full suite runs it
def test_bf16_trains_a_float32_model_as_well_as_float32_does(mnist):
    (x, y), (x_test, y_test) = mnist
    hp = preset("fast").replace(epochs=1, train_subset=8_000, validation_split=0.0, hidden_units=512)
    accuracy = {}
    for bf16 in (False, True):
        result = train(hp.replace(bf16=bf16), (x, y))
        assert result.ok, result.message
        assert {layer.dtype_policy.name for layer in result.model.layers} == {"float32"}  # saved, served as float32
        assert {w.dtype for w in result.model.get_weights()} == {np.dtype("float32")}
        accuracy[bf16] = evaluate(DenseClassifier.from_arrays(result.model.get_weights()), x_test, y_test).accuracy
    assert accuracy[True] >= accuracy[False] - 0.02, accuracy


@pytest.mark.slow  # a real training of several seconds; the full suite runs it
def test_fused_adam_takes_the_steps_keras_adam_takes():
    import keras

    from mnist_core.training.fit import FusedAdam

    rng = np.random.default_rng(0)
    start = [rng.normal(size=shape).astype("float32") for shape in ((64, 32), (32,))]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in start] for _ in range(5)]
    weights = []
    for adam in (keras.optimizers.Adam(learning_rate=1e-2), FusedAdam(learning_rate=1e-2)):
        variables = [keras.Variable(w) for w in start]
        for step in grads:
            adam.apply(step, variables)
        weights.append([v.numpy() for v in variables])
    moved = np.abs(weights[0][0] - start[0]).max()
    assert moved > 0.03  # five steps of 1e-2 each moved the weights
    for ours, theirs in zip(weights[1], weights[0], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_byte_dropout_drops_as_keras_dropout_does_and_only_in_the_bf16_twin():
    from mnist_core.training.fit import ByteDropout, training_twin

    ones = np.ones((220, 2048), np.float32)
    for rate in (0.05, 0.5, 0.9):
        layer = ByteDropout(rate, seed=1)
        first, second = (np.asarray(layer(ones, training=True)) for _ in range(2))
        assert abs((first > 0).mean() - (1 - rate)) < 0.01, rate  # 450k units: 0.01 is > 10 standard errors
        assert abs(first.mean() - 1.0) < 0.02, rate  # kept units scaled so the expectation is unchanged
        assert ((first > 0) != (second > 0)).any()  # a fresh mask every step
        np.testing.assert_array_equal(np.asarray(layer(ones, training=False)), ones)
    odd = np.asarray(ByteDropout(0.5, seed=2)(np.ones((3, 5), np.float32), training=True))
    assert set(np.unique(odd)) <= {0.0, 2.0}  # sizes that are not a multiple of four bytes
    model = build_model(HyperParams(hidden_units=16))
    twin = training_twin(model, HyperParams(hidden_units=16, bf16=True))
    assert [type(layer).__name__ for layer in twin.layers].count("ByteDropout") == 2
    assert not any(isinstance(layer, ByteDropout) for layer in model.layers)  # saved models stay plain Keras


def test_deskewed_model_is_fed_deskewed_digits_when_served(mnist, tmp_path):
    """A model trained on deskewed digits records it; the served NumPy copy deskews its inputs to match."""
    from mnist_core.imaging.deskew import deskew
    from mnist_core.model.files import load_classifier
    from mnist_core.training.workflow import train_evaluate_save

    hp = preset("fast").replace(epochs=1, train_subset=4000, deskew=True)
    outcome = train_evaluate_save(hp, mnist, tmp_path / "deskewed.keras", "test", "pytest")
    assert outcome.result.ok and outcome.report is not None, outcome.result.message
    assert outcome.report.accuracy >= 0.85
    served = load_classifier(outcome.path)
    assert served.deskew
    _, (x_test, _) = mnist
    x = x_test[:300].astype(np.float32) / 255.0
    keras_probs = outcome.result.model(deskew(x).reshape(300, -1), training=False).numpy()
    np.testing.assert_allclose(served.predict(x), keras_probs, atol=1e-5)
    assert np.abs(served.predict(x) - DenseClassifier(served.layers).predict(x)).max() > 1e-3  # deskewing matters


def test_cancel_stops_within_a_second(mnist):
    (x, y), _ = mnist
    cancel = threading.Event()
    stamps: list[float] = []

    def on_progress(p):
        if p.phase == "batch" and p.batch > 5 and not cancel.is_set():
            cancel.set()
            stamps.append(time.perf_counter())

    result = train(preset("fast").replace(epochs=3), (x, y), on_progress=on_progress, cancel=cancel, report_every_s=0.0)
    assert result.status == "cancelled"
    assert time.perf_counter() - stamps[0] < 1.0


def test_nan_loss_fails_cleanly(mnist):
    (_, y), _ = mnist
    hp = preset("fast").replace(epochs=1, train_subset=3000)
    for bf16 in (False, True):  # in bfloat16 the loss stays finite (its ReLUs zero NaNs); the weights do not
        result = train(hp.replace(bf16=bf16), (np.full((3000, 28, 28), np.nan), y[:3000]))
        assert result.status == "failed" and "became nan" in result.message, (bf16, result.message)


def test_sidecars_name_no_path_of_the_machine_that_trained(tmp_path, monkeypatch):
    """The shipped sidecar travels with the repository: its data source says how MNIST was given, not where."""
    from mnist_core.config import SHIPPED_MODEL
    from mnist_core.data.mnist import describe_source
    from mnist_core.model.files import read_metadata

    assert read_metadata(SHIPPED_MODEL)["data_source"] == "MNIST_DATA (IDX files)"
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("MNIST_DATA", str(tmp_path))
    assert describe_source() == "MNIST_DATA (IDX files)"
    assert describe_source(tmp_path / "mnist.npz") == "--data (mnist.npz)"
    monkeypatch.delenv("MNIST_DATA")
    assert describe_source() == "keras mnist.npz (download cache)"
    assert str(tmp_path) not in describe_source(tmp_path)
