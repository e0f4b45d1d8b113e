"""Not a digit: what the rule says of a dash, a scribble, dots, a row of digits, a filled blob, speckle and of real
digits, through the reading path the demo serves (`bench.not_a_digit` measures it on thousands)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_core.config import SHIPPED_MODEL
from mnist_core.imaging.strokes import parse
from mnist_core.model.files import load_classifier
from mnist_core.serving.nondigit import UNSURE, measure
from mnist_core.serving.readings import BLANK_PICTURE, Reading, read_digits, read_drawings
from mnist_ui.testing import FOUR, ONE, SEVEN, ZERO, pad_value, polyline


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(SHIPPED_MODEL)


def strokes(*paths: list[list[float]], pen: float = 22) -> dict:
    return {"v": 1, "width": 448, "height": 448, "pen": pen, "strokes": [list(p) for p in paths]}


def read(classifier, value: dict) -> Reading:
    return read_drawings(classifier, [parse(value)])[0]


@pytest.mark.parametrize(
    "drawing, why",
    [
        (strokes(polyline([(90, 230), (360, 200)])), "a line"),
        (strokes(polyline([(120 + 210 * (i % 2), 100 + 20 * i) for i in range(13)])), "scribbled over"),
        (strokes([[210, 210], [240, 215], [225, 240], [212, 222]]), "a dot"),
        (strokes([[150, 220], [155, 224]], [[250, 230], [252, 236]], [[330, 210], [333, 214]]), "dots"),
        (strokes([[p[0] - 184, p[1]] for p in ONE[0]], [[p[0] + 70, p[1]] for p in SEVEN[0]]), "several digits"),
    ],
    ids=["dash", "scribble", "dot", "dots", "one and seven"],
)
def test_pad_strokes_that_are_no_digit_say_why(classifier, drawing, why):
    reading = read(classifier, drawing)
    assert reading.not_digit and reading.doubt == why, reading.message
    assert reading.message == f"not a digit ({why})" and reading.unsure
    assert reading.to_json()["not_digit"] is True and reading.digit is not None  # what the network read, still


@pytest.mark.parametrize("digit", [ONE, SEVEN, ZERO, FOUR], ids=["1", "7", "0", "4"])
def test_drawn_digits_are_digits(classifier, digit):
    reading = read_drawings(classifier, [parse(pad_value(digit))])[0]
    assert reading.doubt == "" and not reading.unsure and not reading.not_digit, reading.message


def picture(draw) -> Image.Image:
    img = Image.new("L", (300, 300), 255)
    draw(ImageDraw.Draw(img))
    return img


def test_pictures_are_judged_by_their_ink(classifier):
    blob = picture(lambda d: d.ellipse([90, 80, 210, 220], fill=0))
    rng = np.random.default_rng(0)
    speckle = Image.fromarray(np.where(rng.random((300, 300)) < 0.5, 0, 255).astype(np.uint8))
    blank = Image.new("L", (300, 300), 255)
    readings = read_digits(classifier, [blob, speckle, blank])
    assert readings[0].not_digit and readings[0].doubt == "filled in", readings[0].message
    assert readings[1].status != "ok" or readings[1].not_digit, readings[1].message
    assert readings[2].status == "blank" and readings[2].message == BLANK_PICTURE  # a picture's words, not the pad's


def test_mnist_test_digits_are_hardly_ever_flagged(classifier, mnist):
    """The rule must leave the digits the network was made for alone: of 1,000 MNIST test digits read right,
    at most 0.5% flagged (the bench's budget for real digits)."""
    _, (x_test, y_test) = mnist
    images = x_test[:1000].astype(np.float32) / 255
    from mnist_core.serving.nondigit import doubts

    probs = classifier.predict(images)
    flagged = np.array([d != "" for d in doubts(images, probs)])
    right = probs.argmax(axis=1) == y_test[:1000]
    assert (flagged & right).mean() <= 0.005, (flagged & right).sum()


def test_the_measures_of_a_dash_and_a_blob():
    dash = np.zeros((1, 28, 28), np.float32)
    dash[0, 13:15, 4:24] = 1.0
    blob = np.zeros((1, 28, 28), np.float32)
    blob[0, 6:22, 6:22] = 1.0
    d, b = measure(dash), measure(blob)
    assert d.roundness[0] < 0.25 and d.flat[0] > 0.99 and d.aspect[0] == 10.0
    assert b.filled[0] > 0.3 and b.aspect[0] == 1.0
    assert UNSURE == "unsure"
