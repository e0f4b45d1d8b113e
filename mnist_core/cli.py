"""`python -m mnist_core train | evaluate | predict`: the library from a terminal."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from .config import PRESETS, SHIPPED_MODEL, models_dir, preset  # noqa: E402
from .data import DataError, describe_source, load_mnist  # noqa: E402
from .pens import load_unipen, pens_path  # noqa: E402
from .storage import ModelError, load_classifier, new_version_path, serving_path, set_serving  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (DataError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_core", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model and save it as a new version",
                       description="Train the dense network, evaluate it on the MNIST test set, save it.")
    t.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="seed = the notebook exactly; default = the shipped recipe; fast = a one-minute run")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--validation-split", type=float)
    t.add_argument("--learning-rate", type=float)
    t.add_argument("--subset", type=int, help="train on the first N training images only")
    t.add_argument("--seed", type=int)
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="canvas-like augmentation (default: as the preset says)")
    t.add_argument("--pens", action=argparse.BooleanOptionalAction, default=None,
                   help="train on real pen handwriting too (UNIPEN's training writers; default: as the preset says)")
    t.add_argument("--data", help="MNIST folder or mnist.npz (default: $MNIST_DATA, else Keras' download)")
    t.add_argument("--pen-data", help="UNIPEN file or its folder (default: $UNIPEN_DATA); also measures the "
                                      "model on the held-out writers")
    t.add_argument("--out", help=f"where to save (default: a new version in {models_dir()})")
    t.set_defaults(run=_train)

    e = sub.add_parser("evaluate", help="test-set accuracy, loss, per-class accuracy, confusion matrix")
    e.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    e.add_argument("--data", help="MNIST folder or mnist.npz (default: $MNIST_DATA, else Keras' download)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=_evaluate)

    p = sub.add_parser("predict", help="classify image files with the web demo's preprocessing")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=_predict)
    return parser


def _progress_printer(hp_epochs: int):
    from .train import Progress

    def show(p: Progress) -> None:
        if p.phase == "batch":
            width = 30
            filled = int(width * p.batch / p.batches)
            eta = f"ETA {p.eta_s:,.0f}s" if p.eta_s is not None else ""
            sys.stderr.write(f"\r  epoch {p.epoch}/{hp_epochs} [{'#' * filled}{'.' * (width - filled)}] "
                             f"{p.batch}/{p.batches} loss {p.loss:.4f} acc {p.accuracy:.4f} {eta}   ")
            sys.stderr.flush()
        else:
            val = (f" val_loss {p.val_loss:.4f} val_acc {p.val_accuracy:.4f}"
                   if p.val_accuracy is not None else "")
            sys.stderr.write("\r" + " " * 100 + "\r")
            print(f"epoch {p.epoch}/{hp_epochs} loss {p.loss:.4f} acc {p.accuracy:.4f}{val} "
                  f"({p.elapsed_s:,.0f}s, ETA {p.eta_s or 0:,.0f}s)", flush=True)

    return show


def _train(args: argparse.Namespace) -> int:
    from .workflow import train_evaluate_save

    changes = {key: value for key, value in {
        "epochs": args.epochs, "batch_size": args.batch_size, "validation_split": args.validation_split,
        "learning_rate": args.learning_rate, "train_subset": args.subset, "seed": args.seed,
        "augment": args.augment, "pens": args.pens}.items() if value is not None}
    hp = preset(args.preset).replace(**changes)
    hp.validate()
    data = load_mnist(args.data)
    pens = load_unipen(args.pen_data) if hp.pens or pens_path(args.pen_data) else None
    out = Path(args.out) if args.out else new_version_path()
    command = "python -m mnist_core " + shlex.join(args.argv)
    print(f"training preset {args.preset!r}: {hp}", flush=True)
    outcome = train_evaluate_save(hp, data, out, describe_source(args.data), command,
                                  on_progress=_progress_printer(hp.epochs), pens=pens)
    if not outcome.result.ok:
        print(f"error: {outcome.result.message}", file=sys.stderr)
        return 1
    assert outcome.report is not None and outcome.path is not None
    if outcome.path.resolve().parent == models_dir().resolve():
        set_serving(outcome.path)
    print(f"{outcome.result.message}")
    print(f"test accuracy {outcome.report.accuracy:.4f} (loss {outcome.report.loss:.4f})")
    if outcome.pen_report is not None:
        print(f"held-out real writers {outcome.pen_report.accuracy:.4f} ({outcome.pen_report.count:,} pen digits)")
    print(f"saved {outcome.path} (+ {outcome.path.with_suffix('.json').name})")
    return 0


def _resolve_model(arg: str | None) -> Path:
    return Path(arg) if arg else serving_path()


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    path = _resolve_model(args.model)
    classifier = load_classifier(path)
    _, (x_test, y_test) = load_mnist(args.data)
    report = evaluate(classifier, x_test, y_test)
    if args.json:
        print(json.dumps({"model": str(path), **report.to_dict()}))
        return 0
    print(f"model     {path}{'  (shipped)' if path.resolve() == SHIPPED_MODEL.resolve() else ''}")
    print(f"params    {report.params:,}")
    print(f"accuracy  {report.accuracy:.4f} on {report.count:,} test images")
    print(f"loss      {report.loss:.4f}")
    print("per class " + "  ".join(f"{d}:{a:.3f}" for d, a in enumerate(report.per_class)))
    print("confusion matrix (rows = true digit, columns = predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for d, row in enumerate(report.confusion):
        print(f"{d:>6}" + "".join(f"{v:>6}" for v in row))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .predict import read_digits

    classifier = load_classifier(_resolve_model(args.model))
    readings = read_digits(classifier, args.images)
    failures = 0
    for name, reading in zip(args.images, readings):
        failures += reading.status == "error"
        if args.json:
            print(json.dumps(reading.to_json(file=name)))
        elif reading.status == "ok":
            top3 = np.argsort(-reading.probabilities)[:3]
            alts = ", ".join(f"{d}: {reading.probabilities[d]:.1%}" for d in top3)
            print(f"{name}: {reading.message}   [{alts}]")
        else:
            print(f"{name}: {reading.message}")
    return 1 if failures else 0
