"""Where the replayed digits come from: the server's MNIST and UNIPEN when it has them, else the shipped sample.

A demo started with no data (`python demo.py` on a fresh clone) still teaches personal models: it replays
`assets/replay.npz`, a few thousand MNIST training digits and UNIPEN training writers' digits drawn as
the pad draws them, made by `python -m mnist_core.personal.replay_set` (source and licence:
`assets/replay.md`). Loading never imports TensorFlow and never downloads: MNIST is read only from a
folder or file named by --data / $MNIST_DATA, or a copy a training downloaded before.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from mnist_core.config import ASSETS_DIR
from mnist_core.data.mnist import DATA_ENV, DataError, load_mnist, local_source
from mnist_core.data.unipen import PenDigit, load_unipen
from mnist_core.personal.replay import MNIST_REPLAYED, PENS_REPLAYED, replay_images

SHIPPED_REPLAY = ASSETS_DIR / "replay.npz"


def load_replay_images(data: str | None = None, pens: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(images (N, 28, 28) uint8, labels (N,), where they came from): the server's data, else the shipped sample."""
    source = local_source(data)
    if source is not None:
        try:
            train, _ = load_mnist(source)
            writers: list[PenDigit] = load_unipen(pens)
        except DataError:
            pass  # the shipped sample still teaches; the server's own data problem is reported by training
        else:
            images, labels = replay_images(train, writers)
            return images, labels, "MNIST" + (" and UNIPEN" if writers else "") + " from the server's data"
    with np.load(SHIPPED_REPLAY, allow_pickle=False) as found:
        return found["images"], found["labels"], f"the shipped sample ({SHIPPED_REPLAY.name})"


def write_sample(out: Path, data: str | None, pens: str | None, n_mnist: int, n_pens: int, seed: int) -> int:
    """Draw the sample from MNIST_DATA / UNIPEN_DATA and write it compressed; returns its size in bytes."""
    train, _ = load_mnist(data) if (data or os.environ.get(DATA_ENV)) else (None, None)
    if train is None:
        raise DataError(f"set {DATA_ENV} (and UNIPEN_DATA) to make the replay sample")
    images, labels = replay_images(train, load_unipen(pens), n_mnist, n_pens, seed)
    np.savez_compressed(out, images=images.astype(np.uint8), labels=labels.astype(np.uint8))
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mnist_core.personal.replay_set", description=__doc__)
    p.add_argument("--out", type=Path, default=SHIPPED_REPLAY)
    p.add_argument("--data", help="MNIST folder or mnist.npz (default: $MNIST_DATA)")
    p.add_argument("--pens", help="UNIPEN file or folder (default: $UNIPEN_DATA)")
    p.add_argument("--mnist", type=int, default=MNIST_REPLAYED, help="MNIST training digits")
    p.add_argument("--pen-digits", type=int, default=PENS_REPLAYED, help="UNIPEN training writers' digits")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        size = write_sample(args.out, args.data, args.pens, args.mnist, args.pen_digits, args.seed)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
