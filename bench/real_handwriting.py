"""Real handwriting: how the model reads UNIPEN's held-out writers, people it never trained on.

MNIST test accuracy says little about a stranger's crossed 7 on the web pad. This bench takes
UNIPEN's test writers (`unipen.part(digits, "test")`: 3,147 digits by 42 people at 12 sites, never
trained, tuned or thresholded on) and draws each one as the web pad would, then reads it through the
path the demo serves:

- "pad": exactly `renderings.test_drawings(digits)` (strokes → `strokes.drawing_to_mnist` → classifier), the pad's own
  pen. The same computation as `metrics.pen_test_accuracy` in the sidecar of a model trained with pens,
  so for that model the two figures are equal (checked and printed when the sidecar has it).
- "ink-on-white", "ink-on-transparent", "light-on-dark": what the Upload tab and the API receive. Each
  digit is drawn once with the writer's own path and a varied pen width (`renderings.Variation().pen`, so
  it differs from "pad"), seeded per digit; that one drawing is rendered in all three colourings,
  encoded as PNG and read by `predict.read_digits`. The three should agree: a gap between them is the
  image path mishandling a background, not the handwriting.
- "naive resize": the ink-on-white PNG squashed whole into 28×28 (`bench.common.naive_resize`), what
  popular demos do: the baseline.

Prints accuracy per rendering, by site, by digit and the commonest confusions (a blank reading counts
as wrong and is shown as "-"). One to two minutes on 2 cores.

    UNIPEN_DATA=../shared/data/unipen python -m bench.real_handwriting [--model PATH | --architecture cnn] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import naive_resize
from mnist_core.config import ARCHITECTURES, SHIPPED_BY_ARCHITECTURE
from mnist_core.data import renderings, unipen
from mnist_core.data.mnist import DataError
from mnist_core.imaging import strokes
from mnist_core.model.files import ModelError, load_classifier, read_metadata
from mnist_core.model.versions import serving_path
from mnist_core.serving.readings import read_digits

# The writer's own path at a size and place a person picks (as PAD), with pens from thin to marker.
IMAGE_VARIATION = dataclasses.replace(renderings.PAD, pen=renderings.Variation().pen)
NAIVE = "naive resize"
BLANK = -1  # a reading of "nothing to read"
TOP_CONFUSIONS = 12


def png_bytes(drawing: strokes.Drawing, mode: str) -> bytes:
    buf = io.BytesIO()
    strokes.render_image(drawing, mode).save(buf, format="PNG")
    return buf.getvalue()


def image_renderings(digits: Sequence[unipen.PenDigit], seed: int) -> dict[str, list[bytes]]:
    """One varied-pen drawing per digit (seeded by its position), as PNGs in every ink mode."""
    out: dict[str, list[bytes]] = {mode: [] for mode in strokes.INK_MODES}
    for i, digit in enumerate(digits):
        drawing = renderings.pad_drawing(digit.strokes, np.random.default_rng((seed, i)), IMAGE_VARIATION)
        for mode in strokes.INK_MODES:
            out[mode].append(png_bytes(drawing, mode))
    return out


def scores(read: np.ndarray, labels: np.ndarray, sites: np.ndarray) -> dict[str, Any]:
    """Accuracy overall, by site and by digit, the confusion matrix and the commonest mistakes."""
    right = read == labels
    confusion = np.zeros((10, 11), np.int64)  # [true, read]; column 10 counts blank readings
    np.add.at(confusion, (labels, np.where(read == BLANK, 10, read)), 1)
    return {
        "accuracy": float(right.mean()),
        "count": len(labels),
        "blank": int((read == BLANK).sum()),
        "by_site": {
            s: {"accuracy": float(right[sites == s].mean()), "count": int((sites == s).sum())}
            for s in sorted(set(sites.tolist()))
        },
        "by_digit": [float(right[labels == d].mean()) for d in range(10)],
        "confusion_matrix": confusion.tolist(),
        "confusions": top_confusions(confusion),
    }


def top_confusions(confusion: np.ndarray, n: int = TOP_CONFUSIONS) -> list[dict[str, int]]:
    """(true, read, count) of the commonest mistakes; read is BLANK for "nothing to read"."""
    off = confusion.copy()
    off[np.arange(10), np.arange(10)] = 0
    order = np.argsort(-off, axis=None, kind="stable")[:n]
    cells = [divmod(int(i), off.shape[1]) for i in order]
    return [{"true": t, "read": BLANK if r == 10 else r, "count": int(off[t, r])} for t, r in cells if off[t, r]]


def measure(model_path: Path, pen_file: str | None, seed: int, side: str = "test") -> dict[str, Any]:
    classifier = load_classifier(model_path)
    digits = unipen.load_unipen(pen_file)
    test = unipen.part(digits, side)
    labels = np.array([d.label for d in test], np.int64)
    sites = np.array([d.source for d in test])
    started = time.perf_counter()
    pad_images, pad_labels = renderings.test_drawings(digits, side)
    assert np.array_equal(pad_labels, labels), "test_drawings must draw unipen.part(digits, 'test') in order"
    # As workflow.train_evaluate_save → evaluate.evaluate computes pen_test_accuracy: uint8 / 255, predict.
    read = {"pad": classifier.predict(pad_images.astype(np.float32) / 255.0).argmax(axis=1)}
    pngs = image_renderings(test, seed)
    for mode in strokes.INK_MODES:
        read[mode] = np.array([BLANK if r.digit is None else r.digit for r in read_digits(classifier, pngs[mode])])
    naive = np.stack([naive_resize(png) for png in pngs["ink-on-white"]])
    read[NAIVE] = classifier.predict(naive).argmax(axis=1)
    meta = read_metadata(model_path)
    return {
        "model": str(model_path),
        "network": classifier.title,
        "model_created": meta.get("created"),
        "sidecar_pen_test_accuracy": meta.get("metrics", {}).get("pen_test_accuracy"),
        "seed": seed,
        "side": side,
        "writers": len({d.writer for d in test}),
        # The shipped fit trains on the validation writers once the recipe is tuned: they are then not held out.
        "trained_on_them": side == "val" and bool(meta.get("hyperparameters", {}).get("pen_val_writers")),
        "digits": len(test),
        "renderings": {name: scores(r, labels, sites) for name, r in read.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def _mark(read: int) -> str:
    return "-" if read == BLANK else str(read)


def report(result: dict[str, Any]) -> None:
    runs = result["renderings"]
    names = list(runs)
    short = {
        "pad": "pad",
        "ink-on-white": "white",
        "ink-on-transparent": "transp",
        "light-on-dark": "dark",
        NAIVE: "naive",
    }
    header = "".join(f"{short[n]:>8}" for n in names)
    print(
        f"model {result['model']}, {result['network']} (created {result['model_created']}); "
        f"{result['digits']:,} digits by "
        f"{result['writers']} UNIPEN {result['side']} writers "
        f"({'TRAINED ON: not a held-out measure' if result['trained_on_them'] else 'never trained on'}), "
        f"seed {result['seed']}"
    )
    print(f"{'rendering':<22}{'accuracy':>10}{'blank':>7}")
    for name in names:
        print(f"{name:<22}{runs[name]['accuracy']:>10.4f}{runs[name]['blank']:>7}")
    print(f"{'all four (ours)':<22}{np.mean([runs[n]['accuracy'] for n in names if n != NAIVE]):>10.4f}")
    recorded = result["sidecar_pen_test_accuracy"]
    if recorded is not None and result["side"] == "test":
        same = "equal" if abs(recorded - runs["pad"]["accuracy"]) < 1e-9 else "DIFFERENT"
        print(f"sidecar pen_test_accuracy {recorded:.4f}: {same} to pad")
    print(f"\nby site{'':<9}{'digits':>6}{header}")
    for site, row in runs["pad"]["by_site"].items():
        print(f"{site:<16}{row['count']:>6}" + "".join(f"{runs[n]['by_site'][site]['accuracy']:>8.3f}" for n in names))
    print(f"\nby digit{'':<14}{header}")
    for d in range(10):
        print(f"{d:<22}" + "".join(f"{runs[n]['by_digit'][d]:>8.3f}" for n in names))
    ours = [n for n in names if n != NAIVE]
    matrices = {n: np.array(runs[n]["confusion_matrix"]) for n in ours}
    print("\ntop confusions, true → read: count in " + " / ".join(short[n] for n in ours))
    for c in top_confusions(sum(matrices.values())):
        column = 10 if c["read"] == BLANK else c["read"]
        print(
            f"  {c['true']} → {_mark(c['read'])}: {c['count']:>4} ("
            + " / ".join(str(matrices[n][c["true"], column]) for n in ours)
            + ")"
        )
    print(f"({result['seconds']:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    parser.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        help="the shipped model of this network (dense: assets/model.keras, cnn: assets/cnn.keras) instead",
    )
    parser.add_argument("--pens", help="UNIPEN file or its folder (default: $UNIPEN_DATA)")
    parser.add_argument("--seed", type=int, default=0, help="pen widths and placement of the image renderings")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every number")
    parser.add_argument(
        "--writers",
        choices=("test", "val"),
        default="test",
        help="the held-out test writers (report only), or the validation writers (tune on these)",
    )
    args = parser.parse_args()
    try:
        shipped = SHIPPED_BY_ARCHITECTURE.get(args.architecture or "")
        model = Path(args.model) if args.model else shipped or serving_path()
        result = measure(model, args.pens, args.seed, args.writers)
    except (DataError, ModelError) as exc:
        sys.exit(f"error: {exc}")
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
