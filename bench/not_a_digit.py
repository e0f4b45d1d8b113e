"""Not a digit is not a digit: how often the served reading flags what is not one digit, and how rarely a real one.

Everything goes through the demo's reading path (`serving.readings`), so the rule measured is the rule served
(`serving.nondigit`): pad strokes as `read_drawings`, pictures as `read_digits`.

- Non-digits: a generated set (`bench/non_digits.py`) of scribbles, loops, dashes and lines, dots, filled
  blobs, several digits in a row, letters and symbols and doodles, drawn as pad strokes, and noise pictures
  read as uploads; N of each kind. "Flagged" = answered "not a digit", "not sure", or nothing to read.
- Real digits: UNIPEN's held-out writers (`--tune`: the validation writers) drawn as the pad draws them, as the
  model card measures them. "Wrongly flagged" = flagged although the network read the digit right (a misread
  digit answered "not sure" is the answer it should get). UNIPEN's segmentation fragments ("00" labelled 0, a
  lone stroke labelled 4: the reviewed list of `mnist_core/data/fragments.py`, and drawings that leave no ink at
  the pad's size) are counted apart, with their reasons.
- MNIST test digits, as uploaded pictures, when MNIST is on this machine: the same count.

`--tune` measures the tuning sets instead (the generated set of another seed, the validation writers), and
prints what each part of the rule catches and the "not sure" bar's trade-off, to choose them; tune with a model
that never trained on the validation writers (the shipped one did: its recipe adds them at the end).

    python -m bench.not_a_digit [--model PATH] [--per-kind 200] [--tune] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.non_digits import picture_set, stroke_set
from mnist_core.data import renderings, unipen
from mnist_core.data.fragments import apart, fragment_reasons
from mnist_core.data.mnist import DataError, load_mnist, local_source
from mnist_core.imaging.strokes import drawing_to_mnist
from mnist_core.model.files import ModelError, load_classifier
from mnist_core.model.forward import Classifier
from mnist_core.model.versions import serving_path
from mnist_core.serving.nondigit import UNSURE, UNSURE_BELOW
from mnist_core.serving.readings import Reading, read_digits, read_drawings

MEASURE_SEED, TUNE_SEED = 2, 1
TARGET_FLAGGED, TARGET_WRONG = 0.95, 0.005
SWEEP = (0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


@dataclass
class Outcome:
    """Readings of one set and, for real digits, their labels."""

    readings: list[Reading]
    labels: np.ndarray | None = None

    def flagged(self, unsure_below: float = UNSURE_BELOW) -> np.ndarray:
        """Answered "not a digit", "not sure" (at this bar) or nothing to read."""
        return np.array([flag(r, unsure_below) for r in self.readings], bool)

    def right(self) -> np.ndarray:
        assert self.labels is not None
        return np.array([r.digit == label for r, label in zip(self.readings, self.labels, strict=True)], bool)


def flag(reading: Reading, unsure_below: float) -> bool:
    if reading.status != "ok":
        return True
    return reading.not_digit or reading.confidence < unsure_below


def pen_drawings(digits: Sequence[unipen.PenDigit]) -> list[Any]:
    """Each digit drawn exactly as `renderings.test_drawings` draws it (the model card's held-out measure)."""
    return [
        renderings.pad_drawing(d.strokes, np.random.default_rng((renderings.TEST_SEED, i)), renderings.PAD)
        for i, d in enumerate(digits)
    ]


def mnist_pictures(count: int) -> tuple[list[np.ndarray], np.ndarray] | None:
    """The first `count` MNIST test digits as a person would upload them: dark ink on white, 3× larger."""
    if local_source() is None:
        return None
    try:
        _, (x_test, y_test) = load_mnist()
    except DataError:
        return None
    pictures = [np.kron(255 - x, np.ones((3, 3), np.uint8)) for x in x_test[:count]]
    return pictures, y_test[:count]


def kinds_table(kinds: list[str], outcome: Outcome) -> list[dict[str, Any]]:
    rows = []
    flagged = outcome.flagged()
    for kind in dict.fromkeys(kinds):
        picked = [i for i, k in enumerate(kinds) if k == kind]
        read = [outcome.readings[i] for i in picked]
        as_digit = Counter(str(r.digit) for r in read if not flag(r, UNSURE_BELOW))
        rows.append(
            {
                "kind": kind,
                "count": len(picked),
                "flagged": float(flagged[picked].mean()),
                "not a digit": float(np.mean([r.not_digit or r.status != "ok" for r in read])),
                "not sure": float(np.mean([r.doubt == UNSURE for r in read])),
                "read as": ", ".join(f"{d} ×{n}" for d, n in as_digit.most_common(3)),
            }
        )
    return rows


def real_summary(outcome: Outcome) -> dict[str, Any]:
    flagged, right = outcome.flagged(), outcome.right()
    return {
        "count": len(flagged),
        "accuracy": float(right.mean()),
        "flagged": int(flagged.sum()),
        "wrongly flagged": int((flagged & right).sum()),
        "wrongly flagged share": float((flagged & right).mean()),
        "not a digit": int(sum(r.not_digit or r.status != "ok" for r in outcome.readings)),
        "by reason": dict(Counter(r.doubt or r.status for r in outcome.readings if flag(r, UNSURE_BELOW))),
    }


def measure(classifier: Classifier, per_kind: int, tune: bool) -> dict[str, Any]:
    seed, side = (TUNE_SEED, "val") if tune else (MEASURE_SEED, "test")
    digits = unipen.load_unipen()
    strokes = stroke_set(unipen.part(digits, "train" if tune else "test"), per_kind, seed)
    pictures = picture_set(per_kind, seed)
    kinds = [k for k, _ in strokes] + ["noise picture"] * len(pictures)
    fake = Outcome(read_drawings(classifier, [d for _, d in strokes]) + read_digits(classifier, pictures))
    places = [place for place, d in enumerate(digits) if d.side == side]
    writers = [digits[place] for place in places]
    drawings = pen_drawings(writers)
    reasons = fragment_reasons(digits)
    whys = [apart(place, drawing_to_mnist(d), reasons) for place, d in zip(places, drawings, strict=True)]
    pens = Outcome(read_drawings(classifier, drawings), np.array([d.label for d in writers]))
    keep = np.array([not w for w in whys])
    real = Outcome([r for r, k in zip(pens.readings, keep, strict=True) if k], pens.labels[keep])
    frags = [(w, r) for w, r in zip(whys, pens.readings, strict=True) if w]
    report: dict[str, Any] = {
        "sets": {"generated seed": seed, "writers": side},
        "non-digits": kinds_table(kinds, fake),
        "non-digits flagged": float(fake.flagged().mean()),
        "real digits": real_summary(real),
        "fragments": {
            "count": len(frags),
            "flagged": sum(flag(r, UNSURE_BELOW) for _, r in frags),
            "by reason": dict(Counter(w for w, _ in frags)),
        },
    }
    if (found := mnist_pictures(2000)) is not None:
        report["mnist test pictures"] = real_summary(Outcome(read_digits(classifier, found[0]), found[1]))
    if tune:
        report["sweep"] = [
            {
                "unsure below": c,
                "non-digits flagged": float(fake.flagged(c).mean()),
                "real wrongly flagged": float((real.flagged(c) & real.right()).mean()),
            }
            for c in SWEEP
        ]
    return report


def show(report: dict[str, Any], model: str) -> None:
    sets = report["sets"]
    print(f"model: {model}; generated set seed {sets['generated seed']}, UNIPEN {sets['writers']} writers")
    head = f"{'non-digit kind':18s} {'count':>6s} {'flagged':>8s} {'not a digit':>12s} {'not sure':>9s}"
    print(f"\n{head}  read as a digit")
    for row in report["non-digits"]:
        print(
            f"{row['kind']:18s} {row['count']:6d} {row['flagged']:8.1%} {row['not a digit']:12.1%} "
            f"{row['not sure']:9.1%}  {row['read as']}"
        )
    print(f"{'all non-digits':18s} {'':6s} {report['non-digits flagged']:8.1%}   (target ≥ {TARGET_FLAGGED:.0%})")
    for name, key in (("UNIPEN writers", "real digits"), ("MNIST test pictures", "mnist test pictures")):
        if key in report:
            real = report[key]
            print(
                f"\n{name}: {real['count']:,} digits, read right {real['accuracy']:.2%}; flagged {real['flagged']} "
                f"(not a digit {real['not a digit']}); wrongly flagged (read right, yet flagged) "
                f"{real['wrongly flagged']} = {real['wrongly flagged share']:.2%} (target ≤ {TARGET_WRONG:.1%})"
            )
            print(f"  flagged by reason: {real['by reason']}")
    frags = report["fragments"]
    print(f"\nUNIPEN segmentation fragments, apart: {frags['count']}, flagged {frags['flagged']}; {frags['by reason']}")
    for row in report.get("sweep", []):
        print(
            f"  not sure below {row['unsure below']:.2f}: non-digits flagged {row['non-digits flagged']:.1%}, "
            f"real digits wrongly flagged {row['real wrongly flagged']:.2%}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.not_a_digit", description=__doc__)
    p.add_argument("--model", type=Path, help="a .keras file (default: the model the demo serves)")
    p.add_argument("--per-kind", type=int, default=200, help="generated drawings of each kind")
    p.add_argument("--tune", action="store_true", help="the tuning sets, with what each part of the rule catches")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    path = args.model or serving_path()
    try:
        report = measure(load_classifier(path), args.per_kind, args.tune)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report))
    else:
        show(report, path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
