"""The rule that finds candidates for UNIPEN's reviewed list of segmentation fragments, beside that list.

The distribution cut its digits out of longer recordings, and a few cuts went wrong: "00" and "0000" labelled 0,
"66" labelled 6, a lone straight stroke labelled 4 or 0, a flat dash labelled 1, a colon labelled 4. The benches
keep them apart by one source, `mnist_core.data.fragments` (a list reviewed by eye, each entry with its reason,
and `BLANK` for drawings that leave no ink at the pad's size). This rule on the strokes is how candidates are
found: `python -m bench.fragments` prints, per side, each listed fragment (and whether the rule finds it) and each
candidate the list does not hold, with what it is instead (blank at the pad's size, or unreviewed: a training
writer, never measured on). A candidate of a validation or held-out writer that is neither listed nor blank is
printed as one to review (tests/test_stroke_styles.py checks there is none).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from mnist_core.data import renderings
from mnist_core.data.fragments import FRAGMENTS, apart, fragment_reasons
from mnist_core.data.unipen import PenDigit, load_unipen
from mnist_core.imaging.strokes import drawing_to_mnist
from mnist_core.serving.nondigit import straightness, tall_marks

STRAIGHT = 0.9  # a stroke whose ends are this close to its length is a straight line
FLAT_DEG = 35.0  # a straight stroke within this of horizontal is a dash: no digit is one
DOT = 0.3  # strokes all smaller than this part of the digit's size: dots
MEASURED = ("val", "test")  # the sides benches measure on, whose candidates the list must settle


def candidate(digit: PenDigit) -> str:
    """Why the rule takes this entry for a fragment, or "" when it looks like one digit."""
    points = np.concatenate(digit.strokes)
    extent = np.maximum(np.ptp(points, axis=0), 1e-6)
    if len(digit.strokes) == 1 and len(digit.strokes[0]) > 1 and straightness(digit.strokes[0]) > STRAIGHT:
        dx, dy = np.abs(digit.strokes[0][-1] - digit.strokes[0][0])
        if np.degrees(np.arctan2(dy, dx)) < FLAT_DEG:
            return "a lone flat stroke"
        if digit.label != 1:
            return f"a lone straight stroke labelled {digit.label}"
    if tall_marks(digit.strokes) >= 2 and extent[0] > 1.2 * extent[1]:
        return "several digits in a row"
    if len(digit.strokes) >= 2 and all(np.ptp(s, axis=0).max() < DOT * extent.max() for s in digit.strokes):
        return "only dots"
    return ""


def settled(digits: Sequence[PenDigit], place: int, reasons: dict[int, str]) -> str:
    """What the one source says of the entry at `place` (drawn as the benches draw it): its reason, or ""."""
    drawing = renderings.pad_drawing(
        digits[place].strokes, np.random.default_rng((renderings.TEST_SEED, place)), renderings.PAD
    )
    return apart(place, drawing_to_mnist(drawing), reasons)


def unsettled(digits: Sequence[PenDigit]) -> list[tuple[int, str]]:
    """Candidates of the measured sides that the one source neither lists nor finds blank: (place, the rule's why)."""
    reasons = fragment_reasons(digits)
    found = [(place, candidate(d)) for place, d in enumerate(digits) if d.side in MEASURED]
    return [(place, why) for place, why in found if why and not settled(digits, place, reasons)]


def report(digits: Sequence[PenDigit], side: str) -> list[str]:
    """Lines for one side: the listed fragments, then the rule's other candidates and what they are."""
    reasons = fragment_reasons(digits)
    lines = [f"{side}: the reviewed list"]
    places = [place for place, d in enumerate(digits) if d.side == side]
    for place in places:
        if place in FRAGMENTS:
            d, rule = digits[place], candidate(digits[place]) or "-"
            lines.append(f"  {place:6d} {d.writer:16s} labelled {d.label}: {reasons[place]}  (rule: {rule})")
    lines.append(f"{side}: the rule's other candidates")
    for place in places:
        d, rule = digits[place], candidate(digits[place])
        if rule and place not in FRAGMENTS:
            said = settled(digits, place, reasons) if side in MEASURED else ""
            what = said or ("REVIEW: add it to the list or say why not" if side in MEASURED else "not reviewed")
            lines.append(f"  {place:6d} {d.writer:16s} labelled {d.label}: {rule}; {what}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fragments", description=__doc__)
    p.add_argument("--side", choices=("train", "val", "test", "all"), default="all")
    args = p.parse_args(argv)
    digits = load_unipen()
    for side in ("train", "val", "test") if args.side == "all" else (args.side,):
        print("\n".join(report(digits, side)))
    listed = sum(digits[place].side in MEASURED for place in FRAGMENTS)
    print(f"{listed} listed fragments among the validation and held-out writers; {len(digits):,} digits in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
