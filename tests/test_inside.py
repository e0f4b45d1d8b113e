"""Inside the network (issue 33): the pipeline's own pictures, the first layer's strongest units (the dense network's)
or filters (the convolutional network's), and the push map, whose gradient is checked against finite differences of
the served forward pass for both kinds."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import numpy as np
import pytest
from conftest import BuildCtx
from PIL import Image

from mnist_core.config import SHIPPED_CNN, SHIPPED_MODEL
from mnist_core.imaging.strokes import Drawing, drawing_steps, drawing_to_mnist, parse, render_ink
from mnist_core.model.convnet import Conv, ConvClassifier
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier, DenseClassifier
from mnist_core.model.inside import TOP_UNITS, look_inside, margin_gradient, unit_picture
from mnist_core.serving.readings import read_drawings
from mnist_ui.components.fast_read import PadCall, pad_reader, read_values
from mnist_ui.components.inside_view import inside_value
from mnist_ui.testing import DIGIT_STROKES, SEVEN, pad_value

EPS = 3e-3  # small enough that few ReLUs change side, large enough for float32 logits


@pytest.fixture(scope="module")
def served() -> DenseClassifier:
    classifier = load_classifier(SHIPPED_MODEL)
    assert isinstance(classifier, DenseClassifier)
    return classifier


def drawing(digit: str) -> Drawing:
    return parse(json.dumps(pad_value(DIGIT_STROKES[digit])))


@pytest.fixture(scope="module")
def cnn() -> ConvClassifier:
    classifier = load_classifier(SHIPPED_CNN)
    assert isinstance(classifier, ConvClassifier)
    return classifier


def seen(classifier: Classifier, digit: str) -> np.ndarray:
    """The 784 inputs the network receives for a pad drawing of `digit`."""
    return classifier.inputs(drawing_to_mnist(drawing(digit))[None])[0]


def finite_differences(classifier: Classifier, x: np.ndarray, toward: int, against: int) -> np.ndarray:
    """Central differences of log(p[toward] / p[against]) = logit[toward] - logit[against], one pixel at a time,
    through the served forward pass itself."""
    n = x.size
    batch = np.repeat(x[None], 2 * n, axis=0)
    batch[np.arange(n), np.arange(n)] += EPS
    batch[n + np.arange(n), np.arange(n)] -= EPS
    p = classifier.forward(batch).astype(np.float64)
    margin = np.log(p[:, toward]) - np.log(p[:, against])
    return (margin[:n] - margin[n:]) / (2 * EPS)


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_the_push_map_is_gradient_times_input_and_the_gradient_matches_finite_differences(
    served: DenseClassifier, digit: str
) -> None:
    x = seen(served, digit)
    inside = look_inside(served, x)
    gradient = margin_gradient(served, x, inside.answer, inside.runner_up)
    estimate = finite_differences(served, x, inside.answer, inside.runner_up)
    error = np.abs(gradient - estimate)
    assert np.corrcoef(gradient, estimate)[0, 1] > 0.999
    assert np.quantile(error, 0.95) < 0.02 * np.abs(gradient).max(), "a few pixels may cross a ReLU's kink, not more"
    inked = x > 0
    np.testing.assert_allclose(inside.push.ravel()[inked], (x * gradient)[inked], rtol=1e-4, atol=1e-6)
    assert not inside.push.ravel()[~inked].any(), "a blank pixel pushes nothing"
    assert inside.push.max() > 0, "some ink pushed toward the answer"


def test_look_inside_sees_what_the_served_forward_pass_sees(served: DenseClassifier) -> None:
    x = seen(served, "7")
    inside = look_inside(served, x)
    np.testing.assert_allclose(inside.probabilities, served.forward(x[None])[0], atol=1e-5)
    assert (inside.answer, inside.probabilities.argsort()[-2]) == (7, inside.runner_up)
    features = served.features(x[None])[0]
    first = inside.first
    assert (first.on, first.total) == (int((features > 0).sum()), served.hidden_units)
    assert 0 < first.on < first.total
    assert len(first.units) == TOP_UNITS and list(first.activations) == sorted(first.activations, reverse=True)
    np.testing.assert_allclose(first.activations, np.sort(features)[::-1][:TOP_UNITS], rtol=1e-5)
    for unit in first.units:
        np.testing.assert_array_equal(unit_picture(served, int(unit)).ravel(), served.layers[0][0][:, unit])


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_the_cnns_gradient_through_convolutions_and_pools_matches_finite_differences(
    cnn: ConvClassifier, digit: str
) -> None:
    """On a faint random background: a blank region gives equal values inside a max-pool, where the margin has only
    one-sided slopes (the module's docstring), and no finite difference can agree with any one gradient there."""
    x = seen(cnn, digit)
    noisy = np.clip(x + np.random.default_rng(int(digit)).uniform(0, 0.05, x.size), 0, 1).astype(np.float32)
    inside = look_inside(cnn, noisy)
    gradient = margin_gradient(cnn, noisy, inside.answer, inside.runner_up)
    estimate = finite_differences(cnn, noisy, inside.answer, inside.runner_up)
    assert np.corrcoef(gradient, estimate)[0, 1] > 0.99
    error = np.abs(gradient - estimate)
    assert np.quantile(error, 0.95) < 0.05 * np.abs(gradient).max(), "a few places may cross a kink, not more"
    np.testing.assert_allclose(inside.push.ravel(), noisy * gradient, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_the_cnns_push_map_on_a_drawing_is_gradient_times_input(cnn: ConvClassifier, digit: str) -> None:
    x = seen(cnn, digit)
    inside = look_inside(cnn, x)
    gradient = margin_gradient(cnn, x, inside.answer, inside.runner_up)
    np.testing.assert_allclose(inside.push.ravel(), x * gradient, rtol=1e-4, atol=1e-6)
    assert not inside.push.ravel()[x == 0].any(), "a blank pixel pushes nothing"
    assert inside.push.max() > 0, "some ink pushed toward the answer"


def test_the_cnns_first_layer_is_its_first_convolutions_filters(cnn: ConvClassifier) -> None:
    x = seen(cnn, "7")
    inside = look_inside(cnn, x)
    np.testing.assert_allclose(inside.probabilities, cnn.forward(x[None])[0], atol=1e-5)
    conv = cnn.stages[0]
    assert isinstance(conv, Conv)
    fired = conv(x.reshape(1, 28, 28, 1))[0]  # (26, 26, filters)
    first = inside.first
    assert first.kind == "filters" and (first.on, first.total) == (int((fired > 0).sum()), fired.size)
    assert 0 < first.on < first.total and len(first.units) == TOP_UNITS
    assert first.maps is not None and first.maps.shape == (TOP_UNITS, 26, 26)
    for unit, activation, where in zip(first.units, first.activations, first.maps, strict=True):
        np.testing.assert_array_equal(where, fired[..., unit])
        assert activation == where.max()
        np.testing.assert_array_equal(unit_picture(cnn, int(unit)), conv.kernel[:, :, 0, unit])
    assert list(first.activations) == sorted(first.activations, reverse=True)
    assert first.activations[-1] >= np.sort(fired.max(axis=(0, 1)))[-TOP_UNITS], "no stronger filter left out"


def test_the_view_paints_the_cnns_filters_where_they_fired(cnn: ConvClassifier) -> None:
    reading = read_drawings(cnn, [drawing("7")])[0]
    inside = inside_value(cnn, reading)
    assert inside is not None and inside["first"] == "filters" and inside["answer"] == 7
    assert [step["key"] for step in inside["path"]][-1] == "deskewed"
    assert len(inside["units"]) == TOP_UNITS
    assert all(png_size(u["map"]) == (26, 26) and png_size(u["png"]) == (3, 3) for u in inside["units"])
    assert png_size(inside["push"]) == (28, 28) and inside["total"] == 26 * 26 * 32
    assert len(json.dumps(inside)) < 12_000, "as small as the dense network's view (about 9 KB)"


def test_the_steps_are_the_pictures_the_reading_itself_makes(served: DenseClassifier) -> None:
    pad = drawing("7")
    steps = drawing_steps(pad)
    assert steps is not None
    np.testing.assert_array_equal(steps.centred, drawing_to_mnist(pad))
    np.testing.assert_array_equal(np.asarray(steps.ink), np.asarray(render_ink(pad)))
    left, top, right, bottom = render_ink(pad).getbbox()
    assert steps.box.size == (right - left, bottom - top)
    assert max(steps.fit.shape) == 20 and steps.centred.shape == (28, 28)
    reading = read_drawings(served, [pad])[0]
    assert reading.steps is not None
    np.testing.assert_array_equal(reading.image, served.inputs(reading.steps.centred[None])[0].reshape(28, 28))
    assert drawing_steps(parse(None)) is None


def png_size(data: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(data))).size


def test_the_view_gets_the_insides_only_when_it_asks_and_as_small_pictures(ctx: BuildCtx) -> None:
    app = ctx()
    value = json.dumps(pad_value(SEVEN))
    looked, plain = read_values(app, [PadCall(value, inside=True), PadCall(value)])
    assert plain.inside is None and looked.inside is not None
    inside = looked.inside
    keys = [step["key"] for step in inside["path"]]
    deskews = app.holder.current.classifier.deskew
    assert keys == ["drawing", "box", "fit", "centred"] + (["deskewed"] if deskews else [])
    sizes = [png_size(step["png"]) for step in inside["path"]]
    assert max(sizes[0]) <= 112 and max(sizes[2]) == 20 and sizes[3] == (28, 28)
    assert len(inside["units"]) == TOP_UNITS and all(png_size(u["png"]) == (28, 28) for u in inside["units"])
    assert png_size(inside["push"]) == (28, 28) and inside["answer"] == 7 != inside["runner"]
    assert inside["first"] == "units" and "map" not in inside["units"][0]
    assert abs(sum(inside["probabilities"]) - 1) < 1e-3 and inside["shared"] is False
    assert len(json.dumps(inside)) < 12_000, "pictures travel as small PNGs (about 9 KB in all)"


def test_a_model_that_reads_without_deskewing_shows_the_centred_28x28_last(served: DenseClassifier) -> None:
    plain = DenseClassifier(served.layers, deskew=False)
    reading = read_drawings(plain, [drawing("7")])[0]
    inside = inside_value(plain, reading, answered_by="personal")
    assert inside is not None and [step["key"] for step in inside["path"]] == ["drawing", "box", "fit", "centred"]
    assert inside["shared"] is True, "a personal answer says the view shows the shared network under it"
    assert inside_value(None, reading) is None and inside_value(plain, read_drawings(plain, [parse(None)])[0]) is None


def test_the_pad_sends_the_insides_with_the_reading_while_the_view_is_open(ctx: BuildCtx) -> None:
    read = pad_reader(ctx(), "draw a digit")
    value = json.dumps(pad_value(SEVEN))
    assert "inside" in asyncio.run(read([value, True, None, False, True]))
    assert "inside" not in asyncio.run(read([value, True, None, False, False]))
    assert "inside" not in asyncio.run(read([value, True]))
    assert "inside" not in asyncio.run(read([None, True, None, False, True])), "nothing drawn, nothing inside"
