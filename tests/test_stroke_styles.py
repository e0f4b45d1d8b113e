"""Style strokes drawn onto a pen digit: where each lands, and which digits are left alone."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.data import renderings
from mnist_core.data.renderings import Variation
from mnist_core.data.stroke_styles import add_style
from mnist_core.data.unipen import PenDigit


def line(*corners: tuple[float, float], n: int = 20) -> np.ndarray:
    pts = [np.linspace(a, b, n) for a, b in zip(corners[:-1], corners[1:], strict=True)]
    return np.concatenate(pts).astype(np.float32)


ZERO = (np.array([[50 + 30 * np.sin(t), 50 - 45 * np.cos(t)] for t in np.linspace(0, 2 * np.pi, 40)], np.float32),)
ONE = (line((50.0, 5.0), (50.0, 95.0)),)
SEVEN = (line((20.0, 10.0), (80.0, 10.0), (45.0, 95.0)),)


def test_a_zero_gets_a_slash_from_lower_left_to_upper_right():
    styled = add_style(ZERO, 0, np.random.default_rng(0))
    assert len(styled) == 2
    start, end = styled[1][0], styled[1][-1]
    assert start[0] < 50 < end[0] and start[1] > 80 and end[1] < 20  # y grows downwards, as on the pad


def test_a_seven_is_crossed_where_its_stem_is_at_mid_height():
    bar = add_style(SEVEN, 7, np.random.default_rng(1))[1]
    y = float(bar[:, 1].mean())
    stem_x = 80 - 35 * (y - 10) / 85  # the stem's x at that height
    assert 45 <= y <= 65 and abs(float(bar[:, 0].mean()) - stem_x) < 6
    assert float(np.ptp(bar[:, 0])) < 0.5 * 60  # a short bar, not a second top stroke


def test_a_plain_one_gets_a_flag_into_its_top():
    flag = add_style(ONE, 1, np.random.default_rng(2))[1]
    np.testing.assert_allclose(flag[-1], ONE[0][0], atol=1e-4)
    assert flag[0][0] < 50 and flag[0][1] > 5


@pytest.mark.parametrize(
    ("strokes", "label"),
    [(ZERO, 8), (ZERO + ONE, 0), (SEVEN + ONE, 7), ((line((20.0, 10.0), (70.0, 10.0), (50.0, 95.0)),), 1)],
    ids=["other digit", "zero already slashed", "seven already crossed", "one already flagged (wide)"],
)
def test_digits_with_no_plain_style_are_left_alone(strokes, label):
    assert add_style(strokes, label, np.random.default_rng(0)) == tuple(strokes)


def test_styles_are_off_unless_asked_and_change_the_drawings_when_on():
    digits = [PenDigit(label, "t", "t/1", strokes) for label, strokes in ((0, ZERO), (1, ONE), (7, SEVEN))]
    assert Variation().styles == 0.0 and renderings.PAD.styles == 0.0  # the held-out writers are drawn as written
    plain = renderings.render_digits(digits, 3, seed=4, workers=1)
    styled = renderings.render_digits(digits, 3, seed=4, variation=Variation(styles=1.0), workers=1)
    assert all(not np.array_equal(plain[i], styled[i]) for i in range(3))
