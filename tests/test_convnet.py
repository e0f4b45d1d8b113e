"""The convolutional network: its layer spec, the NumPy forward pass against Keras' own, the file loader."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_core.config import CNN_LAYERS, HyperParams, cnn_shape
from mnist_core.model.assemble import classifier_from_keras
from mnist_core.model.convnet import ConvClassifier
from mnist_core.model.files import ModelError, load_classifier, save_model
from mnist_core.model.forward import DenseClassifier


def peaked_cnn(spec: str = "c8 c8 p c16 p d32", seed: int = 0):
    """A Keras CNN with random weights large enough that its probabilities are far from uniform."""
    import keras

    from mnist_core.model.network import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(HyperParams(architecture="cnn", cnn_layers=spec))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_the_spec_names_the_layers_and_refuses_what_cannot_be_built():
    assert cnn_shape("c32 p d64") == [("conv", 32), ("pool", 2), ("dense", 64)]
    assert [kind for kind, _ in cnn_shape(CNN_LAYERS)].count("conv") >= 2
    for spec, words in (
        ("c32 x d64", "is not cN, p or dN"),
        ("c32 d64 c32", "before the dense layers"),
        ("c32 p", "end with a dense layer"),
        ("p c32 d10", "start with a convolution"),
        ("c32 p c32 p c32 p c32 d10", "shrinks the 28×28 to nothing"),
        ("c0 d10", "1–1024"),
    ):
        with pytest.raises(ValueError, match=words):
            HyperParams(architecture="cnn", cnn_layers=spec).validate()
    with pytest.raises(ValueError, match="architecture must be one of dense, cnn"):
        HyperParams(architecture="rnn").validate()


def test_a_sidecar_from_before_architectures_reads_as_dense():
    old = {k: v for k, v in HyperParams().to_dict().items() if k not in ("architecture", "cnn_layers")}
    assert HyperParams.from_dict(old).architecture == "dense"
    assert HyperParams.from_dict({**old, "architecture": "cnn"}).architecture == "cnn"


def test_numpy_reads_as_keras_does_one_image_or_many():
    model = peaked_cnn()
    classifier = classifier_from_keras(model, deskew=False)
    assert isinstance(classifier, ConvClassifier) and classifier.architecture == "cnn"
    assert classifier.params == model.count_params()
    x = np.random.default_rng(1).random((64, 784), dtype=np.float32)
    expected = model(x, training=False).numpy()
    assert expected.max(axis=1).mean() > 0.5  # peaked: the check below compares real decisions
    np.testing.assert_allclose(classifier.forward(x), expected, atol=1e-5)
    np.testing.assert_allclose(classifier.forward(x[:1]), expected[:1], atol=1e-5)
    np.testing.assert_allclose(classifier.forward(x, batch_size=5), expected, atol=1e-5)


def test_every_architecture_ends_in_last_hidden_then_head():
    """forward = softmax(relu(trunk @ W + b) @ head): what a personal model changes, for either network."""
    dense_weights = [np.random.default_rng(i).normal(0, 0.05, s).astype(np.float32) for i, s in enumerate(
        ((784, 64), (64,), (64, 32), (32,), (32, 10), (10,))
    )]  # fmt: skip
    for classifier in (classifier_from_keras(peaked_cnn(), False), DenseClassifier.from_arrays(dense_weights)):
        x = np.random.default_rng(2).random((7, 784), dtype=np.float32)
        (w, b), (w3, b3) = classifier.last_hidden, classifier.head
        logits = np.maximum(classifier.trunk(x) @ w + b, 0) @ w3 + b3
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(probs / probs.sum(axis=1, keepdims=True), classifier.forward(x), atol=1e-6)
        assert classifier.features(x).shape[0] == 7 and (classifier.features(x) >= 0).all()
        assert sum(layer.params for layer in classifier.summary()) == classifier.params


def test_the_file_names_its_network_and_loads_without_tensorflow_layers_it_cannot_compute(tmp_path: Path):
    model = peaked_cnn()
    path = save_model(model, tmp_path / "cnn.keras", {"hyperparameters": {"deskew": True, "architecture": "cnn"}})
    served = load_classifier(path)
    assert isinstance(served, ConvClassifier) and served.deskew
    x = np.random.default_rng(3).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(served.predict(x), model(served.inputs(x), training=False).numpy(), atol=1e-5)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(entries["config.json"])
    conv = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Conv2D")
    conv["config"]["padding"] = "same"
    entries["config.json"] = json.dumps(config).encode()
    changed = tmp_path / "same.keras"
    with zipfile.ZipFile(changed, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    with pytest.raises(ModelError, match=r"same\.keras is not a usable .keras model \(convolution 'conv_1' is not"):
        load_classifier(changed)


@pytest.mark.slow  # a real training and a fine-tune, about a minute
def test_a_convolutional_network_trains_saves_serves_and_fine_tunes(mnist, tmp_path: Path):
    from mnist_core.config import preset
    from mnist_core.model.files import read_metadata
    from mnist_core.training.finetune import Collected, finetune, save_finetuned
    from mnist_core.training.workflow import train_evaluate_save

    hp = preset("fast").replace(architecture="cnn", epochs=1, train_subset=3000)
    outcome = train_evaluate_save(hp, mnist, tmp_path / "cnn.keras", "test", "pytest cnn")
    assert outcome.result.ok and outcome.report is not None and outcome.path is not None, outcome.result.message
    assert outcome.report.accuracy >= 0.85 and outcome.report.params == outcome.result.model.count_params()
    served = load_classifier(outcome.path)
    assert isinstance(served, ConvClassifier)
    assert read_metadata(outcome.path)["hyperparameters"]["architecture"] == "cnn"
    (x, y), (x_test, _) = mnist
    images = x_test[:200].astype(np.float32) / 255
    expected = outcome.result.model(served.inputs(images), training=False).numpy()
    np.testing.assert_allclose(served.predict(images), expected, atol=1e-5)
    personal_memory_reads_as_taught(served, x[:600], y[:600], tmp_path)
    tuned = finetune(outcome.path, Collected(x[:40, None], y[:40], x[40:60], y[40:60]), mnist, epochs=1, replay=500)
    assert tuned.status == "completed" and tuned.after is not None, tuned.reason
    path = save_finetuned(tuned, tmp_path / "tuned.keras", "pytest finetune")
    assert isinstance(load_classifier(path), ConvClassifier)
    assert read_metadata(path)["hyperparameters"]["architecture"] == "cnn"


def personal_memory_reads_as_taught(classifier: ConvClassifier, images: np.ndarray, labels: np.ndarray, home: Path):
    """A personal memory on the convolutional network's features: a drawing it reads as 1, taught as a 7, is read
    as a 7 at once, and the other digits taught with it are read as taught too."""
    from mnist_core.imaging.strokes import drawing_to_mnist, parse
    from mnist_core.personal.profiles import Profiles
    from mnist_core.personal.replay import build_replay
    from mnist_core.personal.teach import teach
    from mnist_ui.testing import DIGIT_STROKES, pad_value

    profiles = Profiles(home / "drawings.sqlite3", classifier, build_replay(classifier, images, labels))
    lesson = [{"label": 7 if d == "1" else int(d), "strokes": pad_value(s)} for d, s in DIGIT_STROKES.items()]
    taught = teach(profiles, lesson)
    model = profiles.model(taught.profile).model
    assert model is not None, taught.message
    pictures = np.stack([drawing_to_mnist(parse(item["strokes"])) for item in lesson])
    assert model.predict(pictures).argmax(axis=1).tolist() == [item["label"] for item in lesson]


def test_a_personal_memory_works_on_the_shipped_cnn(mnist, tmp_path: Path):
    from mnist_core.config import SHIPPED_CNN

    (x, y), _ = mnist
    personal_memory_reads_as_taught(load_classifier(SHIPPED_CNN), x[:600], y[:600], tmp_path)


def test_the_shipped_cnn_reads_1000_digits_as_keras_does(mnist):
    """The shipped convolutional network served by NumPy: Keras' own probabilities within 1e-5 on 1,000 MNIST
    test digits, fed exactly what the server feeds (deskewed, as its contract says)."""
    from mnist_core.config import SHIPPED_CNN
    from mnist_core.model.files import load_keras

    served = load_classifier(SHIPPED_CNN)
    assert isinstance(served, ConvClassifier) and served.deskew
    _, (x_test, y_test) = mnist
    x = served.inputs(x_test[:1000].astype(np.float32) / 255)
    expected = load_keras(SHIPPED_CNN).predict(x, batch_size=250, verbose=0)
    np.testing.assert_allclose(served.forward(x), expected, atol=1e-5, rtol=0)
    assert np.mean(expected.argmax(axis=1) == y_test[:1000]) >= 0.99


def test_the_other_network_reads_the_same_drawings_beside_the_served_one(tmp_path: Path):
    """Each reading that read a digit gets the other network's reading of the same drawing: from the 28×28s the
    first saw when both deskew alike, else drawn again for it; no other network, no second reading."""
    import dataclasses

    from mnist_core.config import SHIPPED_CNN, SHIPPED_MODEL
    from mnist_core.imaging.strokes import Drawing, parse
    from mnist_core.serving.holder import load_served
    from mnist_core.serving.other import OtherNetwork
    from mnist_core.serving.readings import read_drawings
    from mnist_ui.testing import DIGIT_STROKES, pad_value

    served = load_served(SHIPPED_MODEL)
    assert served.classifier is not None
    drawings = [parse(pad_value(strokes)) for strokes in DIGIT_STROKES.values()] + [Drawing((), 448, 448, 12)]
    readings = read_drawings(served.classifier, drawings)
    cnn = load_classifier(SHIPPED_CNN)
    for other in (cnn, dataclasses.replace(cnn, deskew=not cnn.deskew)):
        networks = OtherNetwork()
        networks._loaded["cnn"] = dataclasses.replace(served, path=SHIPPED_CNN, classifier=other)
        both = networks.add_to(served, readings, drawings)
        expected = read_drawings(other, drawings)
        for mine, theirs, alone in zip(readings, both, expected, strict=True):
            assert theirs.probabilities is mine.probabilities  # the served network's reading, untouched
            if mine.status != "ok":
                assert theirs.other_network is None
                continue
            assert theirs.other_network is not None and theirs.other_network.network == "cnn"
            np.testing.assert_allclose(theirs.other_network.probabilities, alone.probabilities, atol=1e-6)
    missing = OtherNetwork({"dense": SHIPPED_MODEL, "cnn": tmp_path / "none.keras"})
    assert missing.beside(served) is None
    assert [r.other_network for r in missing.add_to(served, readings, drawings)] == [None] * len(readings)
