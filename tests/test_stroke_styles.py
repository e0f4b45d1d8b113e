"""Style strokes drawn onto a pen digit, a style writer's quirks, and the reviewed list of UNIPEN's fragments."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_core.data import fragments, quirks, renderings, unipen
from mnist_core.data.renderings import Variation
from mnist_core.data.stroke_styles import add_style
from mnist_core.data.unipen import PenDigit
from mnist_core.imaging.strokes import drawing_to_mnist


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


def test_a_writers_quirks_are_the_same_every_run_and_change_only_their_digits():
    """Each quirk redraws its own digit from the writer's strokes, inside the writer's box; other digits stay."""
    digits = [PenDigit(label, "site", "site/w", stroke) for label, stroke in ((0, ZERO), (1, ONE), (7, SEVEN))]
    again = quirks.with_quirks(digits, seed=3)
    assert [d.writer for d in again] == [d.writer for d in quirks.with_quirks(digits, seed=3)]
    names = [q.name for q, _ in quirks.writer_quirks("site/w", seed=3)]
    assert again[0].writer == "site/w+" + "+".join(n.replace(" ", "") for n in names) and 1 <= len(names) <= 2
    for before, after in zip(digits, again, strict=True):
        changed = any(q.label == before.label for q, _ in quirks.writer_quirks("site/w", seed=3))
        same = len(before.strokes) == len(after.strokes) and all(
            np.array_equal(a, b) for a, b in zip(before.strokes, after.strokes, strict=True)
        )
        assert same != changed


@pytest.mark.parametrize("quirk", quirks.QUIRKS, ids=lambda q: q.name)
def test_every_quirk_draws_a_digit_in_its_writers_box(quirk: quirks.Quirk):
    plain = {0: ZERO, 1: ONE, 7: SEVEN}.get(quirk.label, ZERO)
    rng = np.random.default_rng(0)
    drawn = quirk.draw(plain, quirk.measures(rng), rng)
    points, own = np.concatenate(drawn), np.concatenate(plain)
    assert np.isfinite(points).all() and all(len(s) >= 2 for s in drawn)
    assert np.ptp(points[:, 1]) <= 1.6 * np.ptp(own[:, 1]) and abs(points[:, 1].min() - own[:, 1].min()) < 40
    assert drawing_to_mnist(renderings.pad_drawing(drawn, rng, renderings.PAD)) is not None


def test_the_fragment_list_matches_the_file_and_refuses_another(tmp_path):
    """Each reviewed entry names the writer and label found at its place in the real file."""
    from test_unipen import unipen_file

    digits = unipen.load_unipen(unipen_file())
    reasons = fragments.fragment_reasons(digits)
    assert len(reasons) == len(fragments.FRAGMENTS) and all(reasons.values())
    assert {digits[p].side for p in reasons} == {"val", "test"}
    swapped = list(digits)
    swapped[6929] = digits[0]
    with pytest.raises(fragments.FragmentListError, match="another file"):
        fragments.fragment_reasons(swapped)
    with pytest.raises(fragments.FragmentListError, match="full UNIPEN file"):
        fragments.fragment_reasons(digits[:100])


def test_every_candidate_the_stroke_rule_finds_where_benches_measure_is_settled_by_the_one_source():
    """The rule of bench/fragments.py found the list's candidates: each one among the validation and held-out
    writers is listed with its reason or leaves no ink at the pad's size, so both benches keep it apart."""
    from test_unipen import unipen_file

    from bench.fragments import candidate, unsettled

    digits = unipen.load_unipen(unipen_file())
    assert candidate(digits[13849]) == "several digits in a row"  # "00" labelled 0, also on the list
    assert fragments.apart(13849, np.zeros((28, 28)), fragments.fragment_reasons(digits)) == "two zeros"
    assert fragments.apart(0, None, {}) == fragments.BLANK and fragments.apart(0, np.zeros((28, 28)), {}) == ""
    assert unsettled(digits) == []
