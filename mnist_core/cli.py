"""`python -m mnist_core train | finetune | evaluate | predict | models | drawings`: the library from a terminal."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_core import tf_logs
from mnist_core.config import (
    ASSETS_DIR,
    DATABASE_ENV,
    FINETUNE_EPOCHS,
    HOME_ENV,
    PRESETS,
    SHIPPED_NAMES,
    TUNABLE,
    HyperParams,
    describe,
    is_shipped,
    models_dir,
    preset,
    shipped_name,
)
from mnist_core.data import download
from mnist_core.data.mnist import DataError, describe_source, load_mnist, local_source
from mnist_core.data.unipen import load_unipen
from mnist_core.model.files import ModelError, load_classifier, read_metadata
from mnist_core.model.reports import Scores, judge
from mnist_core.model.versions import (
    MAX_VERSIONS,
    check_writable,
    clean_staging,
    delete_version,
    describe_time,
    known_models,
    list_versions,
    new_version_path,
    prune_versions,
    serving_path,
    set_serving,
)
from mnist_core.serving.holder import shipped_label

DATA_HELP = "MNIST folder or mnist.npz (default: $MNIST_DATA, else Keras' mnist.npz, downloaded once into the home)"

if TYPE_CHECKING:
    from mnist_core.training.fit import Progress
    from mnist_core.training.workflow import Data


def main(argv: list[str] | None = None) -> int:
    tf_logs.quiet()  # before TensorFlow is imported (lazily, by `train` and `finetune`)
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

    t = sub.add_parser(
        "train",
        help="train a model and save it as a new version",
        description="Train a network (the notebook's dense one, or with --architecture cnn the convolutional one), "
        "evaluate it on the MNIST test set, save it.",
    )
    t.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="; ".join(f"{name} = {describe(hp)}" for name, hp in PRESETS.items()),
    )
    _tunable_flags(t)
    _data_flags(
        t,
        "UNIPEN file or its folder (default: $UNIPEN_DATA); also measures the model on the held-out writers",
        "make the demo serve the new model (default: it keeps serving what it serves now)",
    )
    t.set_defaults(run=_train)
    _finetune_parser(sub)

    e = sub.add_parser("evaluate", help="test-set accuracy, loss, per-class accuracy, confusion matrix")
    e.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    e.add_argument("--data", help=DATA_HELP)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=_evaluate)

    p = sub.add_parser("predict", help="classify image files with the web demo's preprocessing")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", help="a .keras file (default: the model the demo serves)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=_predict)

    _models_parser(sub)
    _drawings_parser(sub)
    return parser


def _models_parser(sub: Any) -> None:
    m = sub.add_parser(
        "models",
        help="list saved models; choose what the demo serves; delete a version",
        description="Without an action: list the trained versions and the shipped model.",
    )
    m.set_defaults(run=_models_list)
    actions = m.add_subparsers(metavar="ACTION")
    u = actions.add_parser("use", help="serve this model in the demo: running servers on this home follow within 2 s")
    u.add_argument(
        "model",
        metavar="NAME|PATH|shipped|shipped-cnn",
        help="a version's name, a .keras file, 'shipped' (the dense network) or 'shipped-cnn' (the convolutional one)",
    )
    u.add_argument(
        "--force",
        action="store_true",
        help="serve it even if it reads worse than the serving model (the demo's serve gate refuses it otherwise)",
    )
    u.set_defaults(run=_models_use)
    d = actions.add_parser("delete", help="delete a trained version with its sidecar and test report")
    d.add_argument("model", metavar="NAME|PATH", help="a version's name or its .keras file")
    d.set_defaults(run=_models_delete)


def _drawings_parser(sub: Any) -> None:
    d = sub.add_parser("drawings", help="the drawings database: move it to another engine (PostgreSQL)")
    actions = d.add_subparsers(metavar="ACTION", required=True)
    m = actions.add_parser(
        "migrate",
        help="copy every drawing, profile and rate into another, empty database; counts and checksums compared",
        description="Copy the drawings database (drawings, personal profiles, rate limits) with its ids into an "
        "empty one, e.g. a PostgreSQL server, in one transaction; then count and checksum every table on both. "
        "Stop the demo first, or corrections made meanwhile stay behind.",
    )
    m.add_argument("--to", required=True, metavar="DB", help="the new database: a postgresql:// URL (or a file)")
    m.add_argument(
        "--from",
        dest="source",
        metavar="DB",
        help=f"the database to copy (default: ${DATABASE_ENV}, else ${HOME_ENV}/drawings.sqlite3)",
    )
    m.set_defaults(run=_drawings_migrate)


def _drawings_migrate(args: argparse.Namespace) -> int:
    from mnist_core.drawings.database import Database, StoreError
    from mnist_core.drawings.engine import is_url, locate, shown
    from mnist_core.drawings.migrate import move
    from mnist_core.drawings.store import DrawingStore

    source, target = locate(args.source), locate(args.to)
    if shown(source) == shown(target):
        raise ValueError("--to names the database being copied; name another one")
    if not is_url(source) and not Path(source).is_file():
        raise ValueError(f"no drawings database at {source}; pass --from DB")
    try:
        stores = [DrawingStore(where) for where in (source, target)]
        groups: list[Database] = [kind for where in (source, target) for kind in _other_tables(where)]
        moved = move(stores[0], stores[1], skip=[group.version_table for group in (stores[0], *groups)])
        per_digit = [store.counts().per_digit for store in stores]
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{'table':<20} {'rows':>8} {'copied':>8}  {'checksum':<16}  {'copied':<16}")
    for table in moved:
        mark = "" if table.ok else "  DIFFERENT"
        print(
            f"{table.table:<20} {table.rows:>8,} {table.copied_rows:>8,}  {table.checksum}  "
            f"{table.copied_checksum}{mark}"
        )
    print(f"drawings per label: {list(per_digit[0])} → {list(per_digit[1])}")
    if not all(t.ok for t in moved) or per_digit[0] != per_digit[1]:
        print(f"error: the copy in {shown(target)} differs from {shown(source)}; do not switch to it", file=sys.stderr)
        return 1
    print(f"moved to {shown(target)}: serve it by setting {DATABASE_ENV} (or demo.py's --database) to the --to URL")
    return 0


def _other_tables(where: str | Path) -> list[Any]:
    """The table groups beside the drawings, opened (so brought to this app's schema) at `where`."""
    from mnist_core.config import MAX_PROFILES
    from mnist_core.drawings.rates import RateBook
    from mnist_core.personal.profile_db import ProfileDatabase

    return [RateBook(where), ProfileDatabase(where, MAX_PROFILES)]


def _finetune_parser(sub: Any) -> None:
    f = sub.add_parser(
        "finetune",
        help="fine-tune the served model on the drawings people corrected in the demo; save a new version",
        description="Fine-tune a model on the collected drawings (replaying MNIST so it keeps what it knew), "
        "compare it before and after on MNIST test and on the held-out fifth of the drawings, save it as a version.",
    )
    f.add_argument(
        "--drawings",
        metavar="DB",
        help=f"the drawings database, a file or a postgresql:// URL (default: ${DATABASE_ENV}, "
        f"else ${HOME_ENV}/drawings.sqlite3)",
    )
    f.add_argument(
        "--epochs",
        type=int,
        default=FINETUNE_EPOCHS,
        help=f"passes over the drawings and the replayed data (default {FINETUNE_EPOCHS})",
    )
    f.add_argument("--model", help="the .keras model to start from (default: the model the demo serves)")
    _data_flags(
        f,
        "UNIPEN file or folder, replayed too when given (default: $UNIPEN_DATA)",
        "make the demo serve it from its next start, if it reads MNIST test and the held-out drawings no worse",
    )
    f.set_defaults(run=_finetune)


def _data_flags(parser: argparse.ArgumentParser, pen_help: str, serve_help: str) -> None:
    """What a training reads, where it saves and whether it serves: --data, --pen-data, --out, --serve."""
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--pen-data", help=pen_help)
    parser.add_argument("--out", help=f"where to save (default: a new version in {models_dir()})")
    parser.add_argument("--serve", action="store_true", help=serve_help)


def _mnist(path: str | None) -> Data:
    """MNIST from --data / $MNIST_DATA / an earlier download, else Keras' file downloaded now with a progress line."""
    if local_source(path) is not None:
        return load_mnist(path)
    print(f"downloading MNIST (11 MB, once) from {download.source_url()} into {download.downloaded_copy()}", flush=True)

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r  {done / 1e6:5.1f} of {total / 1e6:.1f} MB ({100 * done // total}%)")
        sys.stderr.flush()

    try:
        return load_mnist(path, fetch=True, on_progress=show)
    finally:
        sys.stderr.write("\r" + " " * 40 + "\r")


def _progress_printer(hp_epochs: int) -> Callable[[Progress], None]:
    def show(p: Progress) -> None:
        if p.phase == "batch":
            width = 30
            filled = int(width * p.batch / p.batches)
            eta = f"ETA {p.eta_s:,.0f}s" if p.eta_s is not None else ""
            sys.stderr.write(
                f"\r  epoch {p.epoch}/{hp_epochs} [{'#' * filled}{'.' * (width - filled)}] "
                f"{p.batch}/{p.batches} loss {p.loss:.4f} acc {p.accuracy:.4f} {eta}   "
            )
            sys.stderr.flush()
        else:
            val = f" val_loss {p.val_loss:.4f} val_acc {p.val_accuracy:.4f}" if p.val_accuracy is not None else ""
            sys.stderr.write("\r" + " " * 100 + "\r")
            print(
                f"epoch {p.epoch}/{hp_epochs} loss {p.loss:.4f} acc {p.accuracy:.4f}{val} "
                f"({p.elapsed_s:,.0f}s, ETA {p.eta_s or 0:,.0f}s)",
                flush=True,
            )

    return show


def _tunable_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per tunable HyperParams field, typed by its default; unset flags keep the preset's value."""
    defaults = HyperParams()
    extra = {f.name: f.metadata["flag"] for f in fields(HyperParams) if f.metadata.get("flag")}
    for name, help_text in TUNABLE.items():
        flags = ["--" + name.replace("_", "-")] + ([extra[name]] if name in extra else [])
        value = getattr(defaults, name)
        if isinstance(value, bool):
            parser.add_argument(
                *flags,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} (default: as the preset says)",
            )
        else:
            parser.add_argument(
                *flags,
                dest=name,
                type=type(value),
                default=None,
                metavar=name.upper(),
                help=f"{help_text} (default: as the preset says)",
            )


def _train(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix != ".keras":
        raise ValueError(f"--out must name a .keras file, got {out}")
    folder = out.parent if out is not None else models_dir()
    check_writable(folder, "choose another --out" if out is not None else f"set {HOME_ENV} to a writable folder")
    if args.serve:
        check_writable(models_dir())  # where the choice is recorded
    clean_staging(folder)
    changes = {name: getattr(args, name) for name in TUNABLE if getattr(args, name) is not None}
    hp = preset(args.preset).replace(**changes)
    hp.validate()
    data = _mnist(args.data)
    pens = load_unipen(args.pen_data)
    with tf_logs.importing():
        from mnist_core.training.workflow import train_evaluate_save
    command = "python -m mnist_core " + shlex.join(args.argv)
    print(f"training preset {args.preset!r}: {describe(hp)}", flush=True)
    outcome = train_evaluate_save(
        hp,
        data,
        out or new_version_path(),
        describe_source(args.data),
        command,
        on_progress=_progress_printer(hp.epochs),
        pens=pens,
    )
    if not outcome.result.ok:
        print(f"error: {outcome.result.message}", file=sys.stderr)
        return 1
    assert outcome.report is not None and outcome.path is not None
    print(f"{outcome.result.message}")
    print(f"test accuracy {outcome.report.accuracy:.4f} (loss {outcome.report.loss:.4f})")
    if outcome.pen_report is not None:
        print(f"held-out real writers {outcome.pen_report.accuracy:.4f} ({outcome.pen_report.count:,} pen digits)")
    _after_save(outcome.path, args.serve)
    return 0


def _opened_drawings(where: str | None) -> tuple[Any, Any, str]:
    """(the drawings store, its counts, where it is as a message says it); ValueError or StoreError, one line."""
    from mnist_core.drawings.engine import is_url, locate, shown
    from mnist_core.drawings.store import DrawingStore

    db = locate(where)
    if not is_url(db) and not Path(db).is_file():
        raise ValueError(
            f"no drawings database at {db}; correct some readings in the demo first, or pass --drawings DB"
        )
    store = DrawingStore(db)
    counts = store.counts()
    if counts.total == counts.holdout:
        raise ValueError(
            f"no collected drawings to learn from yet in {shown(db)}; correct a few readings in the demo first"
        )
    return store, counts, shown(db)


def _finetune(args: argparse.Namespace) -> int:
    from mnist_core.drawings.store import StoreError

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix != ".keras":
        raise ValueError(f"--out must name a .keras file, got {out}")
    check_writable(out.parent if out is not None else models_dir())
    try:
        store, counts, db = _opened_drawings(args.drawings)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = _resolve_model(args.model)
    load_classifier(base)  # a missing or broken model is one line before the data loads
    data = _mnist(args.data)
    pens = load_unipen(args.pen_data)
    print(
        f"fine-tuning {_label(base)} for {args.epochs} epoch{'s' * (args.epochs != 1)} on "
        f"{counts.total - counts.holdout:,} collected drawings ({counts.holdout:,} held out to judge it) "
        f"from {db}",
        flush=True,
    )
    with tf_logs.importing():
        from mnist_core.training.finetune import finetune, save_finetuned
    outcome = finetune(base, store, data, pens=pens, epochs=args.epochs, on_progress=_progress_printer(args.epochs))
    if outcome.status != "completed" or outcome.after is None:
        print(f"error: {outcome.reason}; nothing was saved", file=sys.stderr)
        return 1
    before, after = outcome.before, outcome.after
    print(f"MNIST test         {before.mnist:.4f} → {after.mnist:.4f}")
    held = (
        f"{_percent(before.holdout)} → {_percent(after.holdout)}" if after.holdout is not None else "none held out yet"
    )
    print(f"held-out drawings  {held} ({outcome.counts['holdout']:,} drawings)")
    print(outcome.reason)
    path = save_finetuned(outcome, out or new_version_path(), "python -m mnist_core " + shlex.join(args.argv))
    _after_save(path, args.serve and outcome.serve)
    if args.serve and not outcome.serve:
        print("not served (--serve serves only a model that is not worse); it is kept as a version")
    return 0


def _after_save(path: Path, serve: bool) -> None:
    """Serve it only when asked, then keep at most MAX_VERSIONS trained versions (never the served one)."""
    saved = f"saved {path} (+ {path.with_suffix('.json').name})"
    if serve:
        set_serving(path)
        print(f"{saved}; the demo serves it from its next start")
    else:
        print(
            f"{saved}; the demo still serves {_label(serving_path())} "
            f"(use: python -m mnist_core models use {_reference(path)})"
        )
    if _in_models_dir(path):
        removed = prune_versions(MAX_VERSIONS, {path})
        if removed:
            print(f"removed the oldest versions beyond {MAX_VERSIONS}: {', '.join(p.stem for p in removed)}")


def _in_models_dir(path: Path) -> bool:
    return path.resolve().parent == models_dir().resolve()


def _label(path: Path) -> str:
    if is_shipped(path):
        return f"the {shipped_label(path)}"
    return path.stem if _in_models_dir(path) else str(path)


def _reference(path: Path) -> str:
    """How to name this model on the command line: a version by its name, anything else by its path."""
    return path.stem if _in_models_dir(path) else shlex.quote(str(path))


def _find_model(ref: str) -> Path:
    """'shipped', 'shipped-cnn', a version's name (with or without .keras) or a path (relative to the current
    folder)."""
    if ref in SHIPPED_NAMES:
        return SHIPPED_NAMES[ref]
    for version in list_versions():
        if ref in (version.name, version.path.name):
            return version.path
    path = Path(ref).expanduser().resolve()
    if path.is_file():
        return path
    raise ModelError(f"no model named {ref!r}; list them with: python -m mnist_core models")


def _models_list(args: argparse.Namespace) -> int:
    serving = serving_path().resolve()
    rows = [(v.path, shipped_name(v.path) or v.name, v.metadata) for v in known_models()]
    if serving not in {path.resolve() for path, _, _ in rows}:
        rows.insert(0, (serving, str(serving), read_metadata(serving)))
    print(f"  {'NAME':<26} {'MNIST TEST':>10} {'REAL WRITERS':>12}  CREATED")
    for path, name, meta in rows:
        metrics, created = meta.get("metrics", {}), meta.get("created")
        print(
            f"{'*' if path.resolve() == serving else ' '} {name:<26} {_percent(metrics.get('test_accuracy')):>10} "
            f"{_percent(metrics.get('pen_test_accuracy')):>12}  {describe_time(created) if created else '-'}"
        )
    print(f"* = what the demo serves. Trained versions are in {models_dir()}; the shipped models are in {ASSETS_DIR}")
    print("choose with: python -m mnist_core models use NAME|PATH|shipped|shipped-cnn")
    return 0


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if value is not None else "-"


def _scores(path: Path) -> Scores:
    """What the serve gate compares, from the model's sidecar (None where it was not measured)."""
    metrics = read_metadata(path).get("metrics", {})
    return Scores(metrics.get("test_accuracy"), pens=metrics.get("pen_test_accuracy"))


def _models_use(args: argparse.Namespace) -> int:
    path = _find_model(args.model)
    load_classifier(path)  # refuse a file the demo could not serve
    serving = serving_path()
    # The gate a retrain or fine-tune in the demo passes; a shipped model is a network one may always choose
    if path.resolve() != serving.resolve() and not is_shipped(path):
        verdict = judge(_scores(serving), _scores(path))
        if not verdict.serve and not args.force:
            raise ValueError(
                f"not switched: {verdict.why.removeprefix('it ')} than {_label(serving)}, which the demo serves; "
                f"serve it anyway with: python -m mnist_core models use {args.model} --force"
            )
        if not verdict.serve:
            print(f"warning: {_label(path)} {verdict.why.removeprefix('it ')} (--force)", file=sys.stderr)
    set_serving(path)
    print(f"the demo serves {_label(path)} now and from its next start ({path})")
    return 0


def _models_delete(args: argparse.Namespace) -> int:
    path = _find_model(args.model)
    delete_version(path)
    print(f"deleted {path.stem} (with its sidecar and test report)")
    return 0


def _resolve_model(arg: str | None) -> Path:
    return Path(arg) if arg else serving_path()


def _evaluate(args: argparse.Namespace) -> int:
    from mnist_core.model.reports import evaluate

    path = _resolve_model(args.model)
    classifier = load_classifier(path)
    _, (x_test, y_test) = _mnist(args.data)
    report = evaluate(classifier, x_test, y_test)
    if args.json:
        print(json.dumps({"model": str(path), **report.to_dict()}))
        return 0
    print(f"model     {path}{'  (shipped)' if is_shipped(path) else ''}")
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
    from mnist_core.serving.readings import read_digits

    classifier = load_classifier(_resolve_model(args.model))
    readings = read_digits(classifier, args.images)
    failures = 0
    for name, reading in zip(args.images, readings, strict=True):
        failures += reading.status == "error"
        if args.json:
            print(json.dumps(reading.to_json(file=name)))
        elif reading.status == "ok" and (probs := reading.probabilities) is not None:
            top3 = np.argsort(-probs)[:3]
            alts = ", ".join(f"{d}: {probs[d]:.1%}" for d in top3)
            print(f"{name}: {reading.message}   [{alts}]")
        else:
            print(f"{name}: {reading.message}")
    return 1 if failures else 0
