"""Personal memories on real writers, plain and with quirks: k drawings of each digit taught, their other digits read.

Writers: UNIPEN's held-out writers (--writers test, never tuned on) or validation writers (val: what the
memory's settings were chosen on) with at least --min-digits digits, every digit drawn once as the web pad
sends it. **Style writers** are the same writers given one or two consistent quirks drawn into their own
strokes (`mnist_core.data.quirks`: a crossbar on every 7, thin 6s, a hooked 9 …), one set of quirks per
--quirk-seeds value. **Fragments** (`mnist_core.data.fragments`: pieces UNIPEN labelled as digits, a lone
stroke labelled 4, "00" labelled 0; and drawings that leave no ink at the pad's size) are neither taught nor
counted: they are listed apart, with their reason and what each model reads.

Each writer teaches a new profile k drawings of each digit (at most all but one, so every digit taught is also
read) through `mnist_core.personal.teach`, as `/personalize` does, into a temporary database; the writer's
other digits are read by the shared model and by the profile. Per k and per kind of writer it prints the mean
over writers and the worst writer before → after, and how many writers read worse than with the shared model
by more than 0.5 points; seconds to teach (median and max over writers, beside the shared model reading
1,000 digits timed in the same run: the machine is shared); memory per profile; MNIST test read with each
profile (mean and lowest); and a reading's cost with a profile against the shared model's, in batches of 8
as the pad batches. --curve prints, at k = 3, how the settings trade the writers' readings against MNIST
(choose on --writers val). --sheet saves what the profiles still misread, a row per writer.

    MNIST_DATA=../shared/data/mnist UNIPEN_DATA=../shared/data/unipen python -m bench.personal --ks 1 3 5
    … python -m bench.personal --writers val --splits 3 --curve
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from mnist_core.config import SHIPPED_MODEL  # noqa: E402
from mnist_core.data import renderings, unipen  # noqa: E402
from mnist_core.data.fragments import apart, fragment_reasons  # noqa: E402
from mnist_core.data.mnist import load_mnist  # noqa: E402
from mnist_core.data.quirks import with_quirks  # noqa: E402
from mnist_core.imaging.strokes import Drawing, drawing_to_mnist  # noqa: E402
from mnist_core.model.files import load_classifier  # noqa: E402
from mnist_core.model.forward import Classifier  # noqa: E402
from mnist_core.personal.memory import PersonalModel, Recall  # noqa: E402
from mnist_core.personal.profiles import Profiles  # noqa: E402
from mnist_core.personal.replay import Replay, build_replay, replay_images  # noqa: E402
from mnist_core.personal.teach import teach  # noqa: E402


@dataclass(frozen=True, eq=False)
class Writer:
    name: str
    style: bool  # given quirks
    labels: np.ndarray  # (N,) of the digits, fragments apart
    drawings: list[Drawing]  # as the pad sends them
    images: np.ndarray  # (N, 28, 28): what the model reads
    shared: np.ndarray  # (N, 10): the shared model's probabilities
    fragments: list[tuple[np.ndarray | None, int, str]]  # (what the model sees, label, why it is not a digit)


@dataclass
class Row:
    """One writer at one k (averaged over splits)."""

    before: float
    after: float
    seconds: float  # to teach, wall
    cpu: float  # … and CPU seconds of this process: what teaching costs, whatever else the machine runs
    reference: float  # the shared model reading 1,000 digits, timed right after
    nbytes: int  # the profile's memory in RAM
    mnist: float
    fragments: tuple[int, int]  # fragments read as labelled: shared, personal
    wrong: list[tuple[np.ndarray, int, int]] = dataclasses.field(default_factory=list)


def load_writers(shared: Classifier, side: str, min_digits: int, quirk_seeds: Sequence[int]) -> list[Writer]:
    """The side's writers with enough digits, plain and once per quirk seed, fragments set apart."""
    everything = unipen.load_unipen()
    reasons = fragment_reasons(everything)
    places = [i for i, d in enumerate(everything) if d.side == side]
    plain = [everything[i] for i in places]
    kinds = [(False, plain)] + [(True, with_quirks(plain, seed)) for seed in quirk_seeds]
    out = []
    for style, digits in kinds:
        by: dict[str, list[int]] = defaultdict(list)
        for n, d in enumerate(digits):
            by[d.writer].append(n)
        for name, rows in sorted(by.items()):
            if len(rows) >= min_digits:
                out.append(_writer(shared, name, style, [(places[n], digits[n]) for n in rows], reasons))
    return out


def _writer(
    shared: Classifier, name: str, style: bool, digits: list[tuple[int, unipen.PenDigit]], reasons: dict[int, str]
) -> Writer:
    kept: list[tuple[int, Drawing, np.ndarray]] = []
    fragments: list[tuple[np.ndarray | None, int, str]] = []
    for place, d in digits:
        rng = np.random.default_rng((renderings.TEST_SEED, place))
        drawing = renderings.pad_drawing(d.strokes, rng, renderings.PAD)
        image = drawing_to_mnist(drawing)
        why = apart(place, image, reasons)
        if image is None or why:
            fragments.append((image, d.label, why))
        else:
            kept.append((d.label, drawing, image))
    images = np.stack([k[2] for k in kept])
    labels = np.array([k[0] for k in kept])
    return Writer(name, style, labels, [k[1] for k in kept], images, shared.predict(images), fragments)


def split(labels: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices taught (k of each digit, never all of one) and indices read."""
    rng = np.random.default_rng(seed)
    taught = np.zeros(len(labels), bool)
    for label in range(10):
        mine = rng.permutation(np.flatnonzero(labels == label))
        taught[mine[: min(k, len(mine) - 1)]] = True
    return np.flatnonzero(taught), np.flatnonzero(~taught)


def taught_model(profiles: Profiles, w: Writer, taught: np.ndarray) -> tuple[PersonalModel, float, float]:
    """A new profile taught `taught` as /personalize is asked, and the seconds it took (wall, CPU)."""
    request = json.dumps([{"label": int(w.labels[i]), "strokes": w.drawings[i].to_json()} for i in taught])
    cpu = time.process_time()
    done = teach(profiles, request)
    cpu = time.process_time() - cpu
    model = profiles.model(done.profile).model
    assert model is not None, done.message
    return model, done.seconds, cpu


def run_one(
    profiles: Profiles, w: Writer, k: int, seed: int, mnist: tuple[np.ndarray, ...]
) -> tuple[Row, PersonalModel]:
    """Teach one writer, read the rest, MNIST and the fragments."""
    taught, read = split(w.labels, k, seed)
    model, seconds, cpu = taught_model(profiles, w, taught)
    reference = reference_seconds(profiles.classifier, mnist[0])
    x = profiles.classifier.inputs(w.images[read])
    after = model.reread(w.shared[read], x).argmax(axis=1)
    _, mnist_y, mnist_shared, mnist_vectors = mnist
    mnist_read = model.combine(mnist_shared, mnist_vectors).argmax(axis=1)
    row = Row(
        float(np.mean(w.shared[read].argmax(axis=1) == w.labels[read])),
        float(np.mean(after == w.labels[read])),
        seconds,
        cpu,
        reference,
        model.memory.nbytes,
        float(np.mean(mnist_read == mnist_y)),
        fragments_read(model, w.fragments),
        [(w.images[read][i], int(w.labels[read][i]), int(after[i])) for i in np.flatnonzero(after != w.labels[read])],
    )
    return row, model


def fragments_read(model: PersonalModel, fragments: list[tuple[np.ndarray | None, int, str]]) -> tuple[int, int]:
    """How many fragments the shared model and the profile read as their label (blank ones read as nothing)."""
    shown = [(image, label) for image, label, _ in fragments if image is not None]
    if not shown:
        return 0, 0
    x = model.classifier.inputs(np.stack([s[0] for s in shown]))
    labels = np.array([s[1] for s in shown])
    shared = model.classifier.forward(x)
    return int(np.sum(shared.argmax(axis=1) == labels)), int(np.sum(model.reread(shared, x).argmax(axis=1) == labels))


def reference_seconds(shared: Classifier, images: np.ndarray) -> float:
    """Seconds for the shared model to read 1,000 digits: a yardstick timed in the same conditions."""
    started = time.perf_counter()
    shared.predict(images[:1000])
    return time.perf_counter() - started


def reading_cost(model: PersonalModel, images: np.ndarray, rounds: int = 200, batch: int = 8) -> float:
    """Fastest of `rounds` readings of a batch, personal ÷ shared, interleaved: on a shared machine the minimum is
    the reading's own cost, the median mostly other people's load. Both start from the 28×28s, as the pad's path."""
    times: dict[str, list[float]] = {"shared": [], "personal": []}
    chunk = images[:batch]
    for _ in range(rounds):
        for name, read in (("shared", model.classifier.predict), ("personal", model.predict)):
            started = time.perf_counter()
            read(chunk)
            times[name].append(time.perf_counter() - started)
    return min(times["personal"]) / min(times["shared"])


def run_k(
    profiles: Profiles, writers: list[Writer], k: int, mnist: tuple[np.ndarray, ...], splits: int, quiet: bool
) -> tuple[list[Row], PersonalModel]:
    """One row per writer, its accuracies averaged over `splits` draws of the drawings it teaches."""
    rows = []
    for w in writers:
        runs = [run_one(profiles, w, k, k + 1000 * n, mnist) for n in range(splits)]
        first, last = runs[0][0], runs[-1][1]
        row = dataclasses.replace(
            first,
            before=float(np.mean([r.before for r, _ in runs])),
            after=float(np.mean([r.after for r, _ in runs])),
            mnist=min(r.mnist for r, _ in runs),
        )
        rows.append(row)
        if not quiet:
            print(writer_line(k, w, row), flush=True)
    return rows, last


def writer_line(k: int, w: Writer, row: Row) -> str:
    wrong = " ".join(f"{d}>{r}" for _, d, r in row.wrong) or "-"
    return (
        f"  k={k} {w.name:<44} {row.before:6.1%} → {row.after:6.1%}  taught in {row.seconds:4.2f} s  "
        f"MNIST {row.mnist:.2%}  misread {wrong}"
    )


def group_line(name: str, writers: list[Writer], rows: list[Row]) -> str:
    before, after = np.array([r.before for r in rows]), np.array([r.after for r in rows])
    worst = int(np.argmin(before))
    worse = int(np.sum(after < before - 0.005))
    return (
        f"{name} writers ({len(rows)}): mean {before.mean():.2%} → {after.mean():.2%}; worst writer "
        f"{before[worst]:.1%} → {after[worst]:.1%} ({writers[worst].name}), lowest after {after.min():.1%} "
        f"({writers[int(np.argmin(after))].name}); {worse} writer{'s' * (worse != 1)} worse than the shared model "
        "by more than 0.5 points"
    )


def summary(k: int, writers: list[Writer], rows: list[Row], shared_mnist: float, cost: float) -> str:
    lines = [f"k={k}:"]
    for style, name in ((False, "plain"), (True, "style")):
        mine = [i for i, w in enumerate(writers) if w.style == style]
        if mine:
            lines.append("  " + group_line(name, [writers[i] for i in mine], [rows[i] for i in mine]))
    seconds, cpu = [r.seconds for r in rows], [r.cpu for r in rows]
    reference = float(np.median([r.reference for r in rows]))
    frag = [sum(r.fragments[i] for r in rows) for i in (0, 1)]
    count = sum(len([f for f in w.fragments if f[0] is not None]) for w in writers)
    memory = [r.nbytes / 1e3 for r in rows]
    mnist = [r.mnist for r in rows]
    lines.append(
        f"  teach: median {np.median(seconds):.2f} s, max {max(seconds):.2f} s ({np.median(cpu):.2f} / {max(cpu):.2f} "
        f"CPU s; the shared model reads 1,000 digits in {reference:.3f} s in the same run); memory per profile "
        f"{np.median(memory):.0f} KB median, {max(memory):.0f} KB max; MNIST test {shared_mnist:.2%} shared, with "
        f"each profile {np.mean(mnist):.2%} mean, {min(mnist):.2%} lowest; reading cost personal/shared {cost:.2f}× "
        "(batches of 8)"
    )
    lines.append(f"  fragments read as labelled: shared {frag[0]}, personal {frag[1]} (of {count} with ink)")
    return "\n".join(lines)


def fragment_lines(writers: list[Writer]) -> list[str]:
    """Every fragment of the plain writers, with its reason: reported apart, never dropped silently."""
    found = [(w.name, label, why) for w in writers if not w.style for _, label, why in w.fragments]
    lines = [f"fragments, neither taught nor counted ({len(found)}; style writers have the same ones):"]
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for name, label, why in found:
        by[(name, why)].append(label)
    lines += [f"  {name}: {why} (labelled {', '.join(map(str, labels))})" for (name, why), labels in by.items()]
    return lines


CURVE_WEIGHTS = (0.0, 2.0, 4.0, 6.0, 8.0, 12.0)
CURVE_REACHES = (0.0, 0.05, 0.1, 0.15)


def curve(profiles: Profiles, writers: list[Writer], mnist: tuple[np.ndarray, ...], splits: int) -> list[str]:
    """At k = 3: each writer taught once per split, then read with every weight and reach."""
    scores: dict[tuple[float, float], list[tuple[bool, float, float, float]]] = defaultdict(list)
    for w in writers:
        for n in range(splits):
            taught, read = split(w.labels, 3, 3 + 1000 * n)
            model, _, _ = taught_model(profiles, w, taught)
            x = profiles.classifier.inputs(w.images[read])
            for weight in CURVE_WEIGHTS:
                for reach in CURVE_REACHES:
                    recall = dataclasses.replace(model.recall, weight=weight, reach=reach)
                    tuned = dataclasses.replace(model, recall=recall)
                    after = float(np.mean(tuned.reread(w.shared[read], x).argmax(axis=1) == w.labels[read]))
                    before = float(np.mean(w.shared[read].argmax(axis=1) == w.labels[read]))
                    digits = float(np.mean(tuned.combine(mnist[2], mnist[3]).argmax(axis=1) == mnist[1]))
                    scores[(weight, reach)].append((w.style, before, after, digits))
    lines = ["weight reach   plain mean / worst   style mean / worst   worse by >0.5   MNIST mean / lowest"]
    per_writer = splits
    for (weight, reach), found in scores.items():
        rows = [found[i : i + per_writer] for i in range(0, len(found), per_writer)]
        mean = [(r[0][0], np.mean([x[1] for x in r]), np.mean([x[2] for x in r])) for r in rows]
        plain = [a for s, _, a in mean if not s] or [float("nan")]
        style = [a for s, _, a in mean if s] or [float("nan")]
        worse = sum(a < b - 0.005 for _, b, a in mean)
        digits = [x[3] for x in found]
        lines.append(
            f"{weight:6.1f} {reach:5.2f}   {np.mean(plain):7.2%} / {min(plain):6.1%}    {np.mean(style):7.2%} / "
            f"{min(style):6.1%}    {worse:13d}   {np.mean(digits):7.2%} / {min(digits):6.2%}"
        )
    return lines


def save_sheet(path: Path, rows: list[tuple[str, Row]], zoom: int = 3) -> None:
    """Each writer's misread digits in a row, white on black as the model saw them, captioned drawn>read."""
    cell, label_w = 28 * zoom + 4, 300
    width = label_w + cell * max(1, max(len(r.wrong) for _, r in rows))
    sheet = Image.new("L", (width, (cell + 14) * len(rows)), 255)
    pen = ImageDraw.Draw(sheet)
    for n, (name, row) in enumerate(rows):
        top = n * (cell + 14)
        pen.text((4, top + cell // 2), f"{name} {row.after:.0%}", fill=0)
        for m, (image, drawn, read) in enumerate(row.wrong):
            digit = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).resize((28 * zoom,) * 2)
            sheet.paste(digit, (label_w + m * cell, top))
            pen.text((label_w + m * cell + 2, top + cell - 2), f"{drawn}>{read}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=SHIPPED_MODEL)
    parser.add_argument("--writers", choices=("test", "val"), default="test")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--min-digits", type=int, default=30)
    parser.add_argument("--splits", type=int, default=1, help="teach each writer from this many draws; mean of them")
    parser.add_argument("--quirk-seeds", type=int, nargs="*", default=[0, 1, 2], help="one set of style writers each")
    parser.add_argument("--mnist", type=int, default=10_000, help="MNIST test digits read with each profile")
    parser.add_argument("--curve", action="store_true", help="the settings' trade-off at k = 3 instead of --ks")
    parser.add_argument("--quiet", action="store_true", help="no line per writer")
    parser.add_argument("--sheet", type=Path, help="save the digits still misread to this PNG (one per k)")
    for field in dataclasses.fields(Recall):
        if field.type in ("int", "float"):
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=eval(field.type), default=field.default)
    return parser.parse_args()


def setup(args: argparse.Namespace, home: Path) -> tuple[Profiles, list[Writer], tuple[np.ndarray, ...], float]:
    """The shared model, its replay set, the profiles' database, the writers and MNIST as each profile reads it."""
    shared = load_classifier(args.model)
    recall = Recall(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Recall) if f.type in ("int", "float")})
    (x_train, y_train), (x_test, y_test) = load_mnist()
    started = time.perf_counter()
    replay: Replay = build_replay(shared, *replay_images((x_train, y_train), unipen.load_unipen()))
    print(f"replay: {len(replay):,} digits in {time.perf_counter() - started:.1f} s; {recall}")
    profiles = Profiles(home / "drawings.sqlite3", shared, replay, recall, max_profiles=1_000_000, cache=2)
    writers = load_writers(shared, args.writers, args.min_digits, args.quirk_seeds)
    images = x_test[: args.mnist].astype(np.float32) / 255
    x = shared.inputs(images)
    probabilities = shared.forward(x)
    mnist = (images, y_test[: args.mnist], probabilities, replay.space.embed(shared, x))
    return profiles, writers, mnist, float(np.mean(probabilities.argmax(axis=1) == mnist[1]))


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as home:
        profiles, writers, mnist, shared_mnist = setup(args, Path(home))
        plain, style = sum(not w.style for w in writers), sum(w.style for w in writers)
        print(f"{plain} {args.writers} writers with ≥ {args.min_digits} digits, {style} style writers")
        print("\n".join(fragment_lines(writers)), flush=True)
        if args.curve:
            print("\n".join(curve(profiles, writers, mnist, max(1, args.splits))))
            return
        lines = []
        for k in args.ks:
            rows, last = run_k(profiles, writers, k, mnist, max(1, args.splits), args.quiet)
            lines.append(summary(k, writers, rows, shared_mnist, reading_cost(last, writers[0].images)))
            print(lines[-1], flush=True)
            if args.sheet:
                path = args.sheet if len(args.ks) == 1 else args.sheet.with_stem(f"{args.sheet.stem}_k{k}")
                save_sheet(path, [(w.name, r) for w, r in zip(writers, rows, strict=True) if r.wrong])
                print(f"misread digits: {path}")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
