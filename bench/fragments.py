"""UNIPEN's segmentation fragments: entries labelled as one digit whose strokes are not one digit.

The distribution cut its digits out of longer recordings, and a few cuts went wrong: "00" and "0000" labelled 0,
"66" labelled 6, a lone straight stroke labelled 4 or 0, a flat dash labelled 1, a colon labelled 4. Measured
with the real digits they would count as a reader's mistakes (or, for the non-digit rule, as digits wrongly
called "not a digit"); they are reported apart, each with its reason, by a rule on the strokes anyone can rerun
(`python -m bench.fragments` lists them with their writers).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mnist_core.data.unipen import PenDigit, load_unipen
from mnist_core.serving.nondigit import straightness, tall_marks

STRAIGHT = 0.9  # a stroke whose ends are this close to its length is a straight line
FLAT_DEG = 35.0  # a straight stroke within this of horizontal is a dash: no digit is one
DOT = 0.3  # strokes all smaller than this part of the digit's size: dots


def reason(digit: PenDigit) -> str:
    """Why this entry is a fragment, or "" when it is one digit."""
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fragments", description=__doc__)
    p.add_argument("--side", choices=("train", "val", "test", "all"), default="all")
    args = p.parse_args(argv)
    digits = [d for d in load_unipen() if args.side in ("all", d.side)]
    found = [(d, reason(d)) for d in digits]
    for d, why in found:
        if why:
            print(f"{d.side:5s} {d.writer:12s} labelled {d.label}: {why}")
    print(f"{sum(bool(w) for _, w in found)} fragments among {len(digits):,} digits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
