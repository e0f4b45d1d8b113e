"""UNIPEN digits that are not one digit: segmentation fragments of the held-out and validation writers.

UNIPEN's segmentation left some pieces labelled as digits: a lone straight stroke labelled 4 (the 4's stem
without its arm), an 8 that is one loop, "00" labelled 0, a colon labelled 4. No model should learn to read
a lone stroke as 4 (it would read everyone's 1s as 4s), and a personal model should not be judged on them,
nor tuned on them: a bench reports them apart, each with its reason, and never drops them silently.

The one source every bench uses (`bench.personal`, `bench.not_a_digit`): this reviewed list, and a rule for
drawings that leave no ink at the pad's size (`BLANK`, `apart`). The list was reviewed by eye
(`python -m bench.personal --sheet`): every digit of the validation and held-out writers with at least 30
digits that the shipped model misreads; every candidate the stroke rule of `bench/fragments.py` finds among
the validation and held-out writers (a lone straight stroke, a flat dash, only dots, several digits in a row:
`python -m bench.fragments` lists them beside the list, and a test checks each is listed or blank); and every
4 of the IBM writers (whose 4s were cut in two: a stem alone, an L alone), looked at one by one.
Only pieces that show no digit of their label are listed; a badly drawn digit stays a digit. Each entry is
the digit's place in the file (0-based, `load_unipen`'s order; the file's md5 is in its README), with its
writer and label so a different file is caught.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mnist_core.data.unipen import PenDigit

BLANK = "leaves no ink at the pad's size"
LINE = "one straight stroke"
DASH = "a flat dash"
ARM = "the arm of a 4 without its stem, an L"
_R00_11, _R02_11, _VAL02 = "ibm/r00-11", "ibm/r02-11", "val/val02"

FRAGMENTS: dict[int, tuple[str, int, str]] = {
    6929: (_R00_11, 8, "one loop, no waist"),
    6933: (_R00_11, 8, "one loop, no waist"),
    6934: (_R00_11, 8, "one loop, no waist"),
    6935: (_R00_11, 8, "two crossing bars"),
    6937: (_R00_11, 0, LINE),
    6939: (_R00_11, 4, LINE),
    6940: (_R00_11, 4, LINE),
    6941: (_R00_11, 4, LINE),
    6942: (_R00_11, 4, LINE),
    6932: (_R00_11, 1, DASH),
    8224: ("ibm/r04-08", 0, LINE),
    8229: ("ibm/r04-08", 4, LINE),
    4606: ("ced/FLAD4341", 8, "a U, no waist"),
    4608: ("ced/FLAD4341", 0, "an open arc, like ("),
    6987: ("ibm/r01-04", 0, LINE),
    6995: ("ibm/r01-04", 0, LINE),
    6997: ("ibm/r01-04", 4, LINE),
    6996: ("ibm/r01-04", 4, ARM),
    7319: ("ibm/r02-07", 0, LINE),
    7326: ("ibm/r02-07", 4, LINE),
    7325: ("ibm/r02-07", 4, ARM),
    7392: (_R02_11, 4, LINE),
    7397: (_R02_11, 4, LINE),
    7398: (_R02_11, 4, LINE),
    7399: (_R02_11, 4, LINE),
    7405: (_R02_11, 8, "one loop, no waist"),
    7879: ("ibm/r03-13", 0, LINE),
    6991: ("ibm/r01-04", 1, DASH),
    7324: ("ibm/r02-07", 1, DASH),
    7394: (_R02_11, 1, DASH),
    7400: (_R02_11, 1, DASH),
    7882: ("ibm/r03-13", 1, DASH),
    7886: ("ibm/r03-13", 4, ARM),
    8230: ("ibm/r04-08", 1, DASH),
    13849: (_VAL02, 0, "two zeros"),
    13876: (_VAL02, 0, "four zeros"),
    13878: (_VAL02, 0, "two zeros"),
    13880: (_VAL02, 0, "two zeros"),
    13882: (_VAL02, 0, "two zeros"),
    13885: (_VAL02, 0, "three zeros"),
    13887: (_VAL02, 0, "two zeros"),
    13891: (_VAL02, 0, "two zeros"),
    13898: (_VAL02, 0, "two zeros"),
    13899: (_VAL02, 0, "two zeros"),
    14187: (_VAL02, 4, "a colon"),
    14326: (_VAL02, 6, "two sixes"),
    14327: (_VAL02, 6, "a bar and an upright stroke, no loop"),
    14424: (_VAL02, 8, "three bars in a box, no loop"),
}


class FragmentListError(ValueError):
    """The reviewed list does not match the file it is applied to."""


def fragment_reasons(digits: Sequence[PenDigit]) -> dict[int, str]:
    """The listed fragments of `digits` (the whole file, in its order): place → reason. FragmentListError when
    an entry's writer or label is not the file's, so a list made for another file is never applied."""
    if len(digits) <= max(FRAGMENTS):
        raise FragmentListError(f"the fragment list is for the full UNIPEN file; this one has {len(digits)} digits")
    for place, (writer, label, _) in FRAGMENTS.items():
        found = digits[place]
        if (found.writer, found.label) != (writer, label):
            raise FragmentListError(
                f"digit {place} is {found.writer}'s {found.label}, the list says {writer}'s {label}: another file"
            )
    return {place: reason for place, (_, _, reason) in FRAGMENTS.items()}


def apart(place: int, image: np.ndarray | None, reasons: Mapping[int, str]) -> str:
    """Why the digit at `place` in the file, drawn as the pad draws it (`image`: None when it leaves no ink), is
    kept apart from the digits: its reviewed reason, `BLANK`, or "" when it is a digit."""
    return reasons.get(place) or (BLANK if image is None else "")
