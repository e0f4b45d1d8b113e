"""Personal models on UNIPEN's held-out writers: k drawings per digit taught, that writer's other digits read.

For each writer with at least --min-digits digits, every digit is drawn once as the web pad sends it
(`renderings.PAD`); k of each digit (at most all but one of that digit, so each digit taught is also
read) teach a personal model (`mnist_core.personal.adapt`) and the writer's other digits are read by the
shared model and by the personal one. Prints per writer and, per k, the mean (over writers) and worst
writer before → after, seconds to adapt (mean, max; and as a multiple of the shared model reading 1,000
digits, timed right after each adaptation: the machine is shared, so the ratio is what compares across
runs), memory per personal model (what the server holds beyond the shared model, and the stored blob),
MNIST test with the personal models (lowest over writers) against the shared model, and the cost of one
reading personal vs shared. The replay set is MNIST training digits and UNIPEN *training* writers' digits,
so no benched writer is replayed. Tune on --writers val (10 writers: --splits 3 teaches each from three
different draws of its drawings, which steadies the mean); the default "test" writers are never tuned on.

    MNIST_DATA=../shared/data/mnist UNIPEN_DATA=../shared/data/unipen python -m bench.personal \\
        [--writers test|val] [--ks 1 3 5] [--splits 1] [--quick] [--rank 8] [--steps 120] [--variants 6] ...
        [--sheet misread.png]

--sheet saves every digit a personal model still misreads (as the model saw it, 28×28) in one picture per k,
a row per writer, captioned "drawn>read", to look at what is left.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_core.config import SHIPPED_MODEL
from mnist_core.data import renderings, unipen
from mnist_core.data.mnist import load_mnist
from mnist_core.imaging.strokes import Drawing, drawing_to_mnist
from mnist_core.model.files import load_classifier
from mnist_core.model.forward import Classifier
from mnist_core.personal.adapt import Adaptation, adapt
from mnist_core.personal.delta import PersonalClassifier, weights_digest
from mnist_core.personal.replay import build_replay, replay_images


@dataclass(frozen=True, eq=False)
class Writer:
    name: str
    labels: np.ndarray  # (N,)
    drawings: list[Drawing]  # as the pad sends them
    images: np.ndarray  # (N, 28, 28) floats: what the model reads


@dataclass
class Row:
    before: float
    after: float
    seconds: float
    cpu: float  # CPU seconds of this process: what the adaptation costs, whatever else the machine runs
    reference: float  # seconds for the shared model to read 1,000 digits, timed right after the adaptation
    nbytes: int  # server memory of the personal model beyond the shared one's arrays
    stored: int  # bytes of the delta as saved
    mnist: float
    read: int  # digits read
    wrong: list[tuple[np.ndarray, int, int]] = dataclasses.field(default_factory=list)  # (28×28 seen, drawn, read)


def writers(digits: list[unipen.PenDigit], side: str, min_digits: int) -> list[Writer]:
    by: dict[str, list[tuple[int, unipen.PenDigit]]] = defaultdict(list)
    for i, d in enumerate(unipen.part(digits, side)):
        by[d.writer].append((i, d))
    out = []
    for name, rows in sorted(by.items()):
        drawn = [
            (
                d.label,
                renderings.pad_drawing(d.strokes, np.random.default_rng((renderings.TEST_SEED, i)), renderings.PAD),
            )
            for i, d in rows
        ]
        read = [(label, drawing, drawing_to_mnist(drawing)) for label, drawing in drawn]
        kept = [(label, drawing, image) for label, drawing, image in read if image is not None]
        if len(kept) >= min_digits:
            out.append(
                Writer(name, np.array([k[0] for k in kept]), [k[1] for k in kept], np.stack([k[2] for k in kept]))
            )
    return out


def split(writer: Writer, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices taught (k of each digit, never all of one) and indices read."""
    rng = np.random.default_rng(seed)
    taught = []
    for label in range(10):
        mine = rng.permutation(np.flatnonzero(writer.labels == label))
        taught += list(mine[: min(k, len(mine) - 1)])
    taught_mask = np.zeros(len(writer.labels), bool)
    taught_mask[taught] = True
    return np.flatnonzero(taught_mask), np.flatnonzero(~taught_mask)


def accuracy(model: Classifier | PersonalClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(model.predict(images).argmax(axis=1) == labels))


def misread(model: PersonalClassifier, images: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """What the personal model still gets wrong, (image, drawn, read): fragments and ambiguous styles show."""
    read = model.predict(images).argmax(axis=1)
    return [(images[i], int(labels[i]), int(read[i])) for i in np.flatnonzero(read != labels)]


def save_sheet(path: Path, rows: list[tuple[str, Row]], zoom: int = 3) -> None:
    """Each writer's misread digits in a row, white on black as the model saw them, captioned drawn>read."""
    cell, label_w = 28 * zoom + 4, 180
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


def reading_cost(shared: Classifier, personal: PersonalClassifier, image: np.ndarray, rounds: int = 200) -> float:
    """Fastest of `rounds` readings, personal ÷ shared, interleaved: on a shared machine the minimum is the
    reading's own cost, the median mostly other people's load."""
    times: dict[str, list[float]] = {"shared": [], "personal": []}
    for _ in range(rounds):
        for name, model in (("shared", shared), ("personal", personal)):
            started = time.perf_counter()
            model.predict(image[None])
            times[name].append(time.perf_counter() - started)
    return min(times["personal"]) / min(times["shared"])


def reference_seconds(shared: Classifier, images: np.ndarray) -> float:
    """Seconds for the shared model to read 1,000 digits: a yardstick timed in the same conditions."""
    started = time.perf_counter()
    shared.predict(images[:1000])
    return time.perf_counter() - started


def run_one(shared, w, k, split_seed, replay, settings, mnist_test, base) -> tuple[Row, PersonalClassifier]:
    taught, read = split(w, k, seed=split_seed)
    cpu = time.process_time()
    adapted = adapt(shared, [(int(w.labels[i]), w.drawings[i]) for i in taught], replay, settings, base)
    cpu = time.process_time() - cpu
    row = Row(
        accuracy(shared, w.images[read], w.labels[read]),
        accuracy(adapted.model, w.images[read], w.labels[read]),
        adapted.seconds,
        cpu,
        reference_seconds(shared, mnist_test[0]),
        adapted.model.nbytes,
        len(adapted.delta.to_bytes()),
        accuracy(adapted.model, *mnist_test),
        len(read),
        misread(adapted.model, w.images[read], w.labels[read]),
    )
    print(
        f"  k={k} {w.name:<24} taught {len(taught):>3} read {len(read):>4}  {row.before:6.1%} → {row.after:6.1%}"
        f"  {row.seconds:4.1f} s ({row.cpu:4.1f} cpu s, {row.seconds / row.reference:.1f}× reading 1,000)"
        f"  MNIST {row.mnist:.2%}  misread {' '.join(f'{d}>{r}' for _, d, r in row.wrong) or '-'}",
        flush=True,
    )
    return row, adapted.model


def run_k(shared, writers_, k, replay, settings, mnist_test, base, splits=1) -> tuple[list[Row], PersonalClassifier]:
    """One row per writer, its accuracies averaged over `splits` draws of the drawings it teaches from."""
    rows = []
    for w in writers_:
        runs = [run_one(shared, w, k, k + 1000 * n, replay, settings, mnist_test, base) for n in range(splits)]
        slowest, last = max((r for r, _ in runs), key=lambda r: r.seconds), runs[-1][1]
        rows.append(
            dataclasses.replace(
                slowest,
                before=float(np.mean([r.before for r, _ in runs])),
                after=float(np.mean([r.after for r, _ in runs])),
                mnist=min(r.mnist for r, _ in runs),
            )
        )
    return rows, last


def summary(k: int, rows: list[Row], shared_mnist: float, cost: float) -> str:
    before, after = [r.before for r in rows], [r.after for r in rows]
    worst = int(np.argmin(before))
    seconds, cpu = [r.seconds for r in rows], [r.cpu for r in rows]
    relative = [r.seconds / r.reference for r in rows]
    pooled = sum(r.after * r.read for r in rows) / sum(r.read for r in rows)
    pooled_before = sum(r.before * r.read for r in rows) / sum(r.read for r in rows)
    return (
        f"k={k}: {len(rows)} writers, mean {np.mean(before):.2%} → {np.mean(after):.2%}, "
        f"worst writer {before[worst]:.1%} → {after[worst]:.1%} (lowest after {min(after):.1%}), "
        f"all digits {pooled_before:.2%} → {pooled:.2%}, "
        f"adapt {np.mean(seconds):.2f} s mean / {max(seconds):.2f} s max ({np.mean(cpu):.2f} / {max(cpu):.2f} cpu s; "
        f"{np.mean(relative):.1f}× / {max(relative):.1f}× the shared model reading 1,000 digits), "
        f"memory per model {max(r.nbytes for r in rows) / 1e3:.0f} KB "
        f"(stored {max(r.stored for r in rows) / 1e3:.0f} KB), "
        f"MNIST test {shared_mnist:.2%} shared, {min(r.mnist for r in rows):.2%} lowest personal, "
        f"reading cost personal/shared {cost:.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=SHIPPED_MODEL)
    parser.add_argument("--writers", choices=("test", "val"), default="test")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--min-digits", type=int, default=30)
    parser.add_argument("--splits", type=int, default=1, help="teach each writer from this many draws; mean of them")
    parser.add_argument("--quick", action="store_true", help="k=3, 6 writers, 2,000 MNIST test digits")
    parser.add_argument("--mnist", type=int, default=10_000, help="MNIST test digits read with each personal model")
    parser.add_argument("--sheet", type=Path, help="save the digits still misread to this PNG (one per k)")
    for field in dataclasses.fields(Adaptation):
        if field.type in ("int", "float"):
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=eval(field.type), default=field.default)
    args = parser.parse_args()
    settings = Adaptation(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(Adaptation) if f.type in ("int", "float")}
    )
    shared = load_classifier(args.model)
    base = weights_digest(shared)
    digits, ((x_train, y_train), (x_test, y_test)) = unipen.load_unipen(), load_mnist()
    n_test = min(2000 if args.quick else args.mnist, len(x_test))
    mnist_test = (x_test[:n_test].astype(np.float32) / 255, y_test[:n_test])
    started = time.perf_counter()
    replay = build_replay(shared, *replay_images((x_train, y_train), digits))
    print(f"replay: {len(replay):,} digits in {time.perf_counter() - started:.1f} s; {settings}")
    chosen = writers(digits, args.writers, args.min_digits)
    ks = [3] if args.quick else args.ks
    if args.quick:
        chosen = chosen[:: max(1, len(chosen) // 6)][:6]
    print(f"{len(chosen)} {args.writers} writers with ≥ {args.min_digits} digits")
    shared_mnist = accuracy(shared, *mnist_test)
    lines = []
    for k in ks:
        rows, last = run_k(shared, chosen, k, replay, settings, mnist_test, base, max(1, args.splits))
        cost = reading_cost(shared, last, chosen[0].images[0])
        lines.append(summary(k, rows, shared_mnist, cost))
        print(lines[-1], flush=True)
        if args.sheet:
            path = args.sheet if len(ks) == 1 else args.sheet.with_stem(f"{args.sheet.stem}_k{k}")
            save_sheet(path, [(w.name, r) for w, r in zip(chosen, rows, strict=True) if r.wrong])
            print(f"misread digits: {path}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
