"""Training throughput: the notebook's plain `model.fit(numpy, batch_size=220)` vs this project's trainer.

Same machine, same batch size, same network, one process, runs interleaved (plain, ours, plain, ours…)
so background load hits both alike. "ours" is the trainer as it runs by default (float32), "ours bf16" the
same loop with bfloat16 matmuls and float32 weights (HyperParams.bf16, `train --bf16`). Also measures the machine's fp32
and bf16 matmul rates, to say how close to its arithmetic limit each is (one epoch of 60k images is
≈ 2.1 TFLOP: 6 × params × images).

    MNIST_DATA=../shared/data/mnist python -m bench.train_throughput [--images 22000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from mnist_core.config import preset
from mnist_core.data.mnist import load_mnist
from mnist_core.model.network import build_model, param_count
from mnist_core.training.fit import compile_model, training_twin
from mnist_core.training.pool import Group, Pool, pool_dataset

BATCH = 220


def plain(x: np.ndarray, y: np.ndarray) -> float:
    """The notebook: numpy arrays straight into fit, default compile."""
    model = build_model(preset("seed"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    xf = x.reshape(len(x), -1).astype("float32") / 255
    yf = keras.utils.to_categorical(y, 10)
    model.fit(xf[: BATCH * 4], yf[: BATCH * 4], batch_size=BATCH, epochs=1, verbose=0)  # warm-up / tracing
    start = time.perf_counter()
    model.fit(xf, yf, batch_size=BATCH, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - start)


def ours(x: np.ndarray, y: np.ndarray, bf16: bool = False) -> float:
    """The project's one fit loop (training.fit): its pool pipeline and compiled step, in float32 or with
    bfloat16 matmuls (augmentation off, as plain)."""
    hp = preset("seed").replace(validation_split=0.0, batch_size=BATCH, bf16=bf16)
    model = training_twin(build_model(hp), hp)
    compile_model(model, hp, total_steps=1000)
    model.fit(pool_dataset(Pool.of([Group(x[: BATCH * 4], y[: BATCH * 4])]), hp, training=True), epochs=1, verbose=0)
    data = pool_dataset(Pool.of([Group(x, y)]), hp, training=True)
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - start)


def matmul_gflops(dtype: tf.DType, n: int = 2048, repeats: int = 20) -> float:
    """The machine's sustained GEMM rate through TensorFlow in `dtype`: the ceiling for a dense network."""
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    tf.matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=22000, help="training images per timed epoch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    (x, y), _ = load_mnist()
    x, y = x[: args.images], y[: args.images]
    runs: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "plain fit": plain,
        "ours": ours,
        "ours bf16": lambda a, b: ours(a, b, bf16=True),
    }
    results: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, fn in runs.items():
            rate = fn(x, y)
            results[name].append(rate)
            print(f"round {round_ + 1}: {name:<10} {rate:8.0f} samples/s", flush=True)
        keras.backend.clear_session()
    report({name: statistics.median(rates) for name, rates in results.items()}, args)


def report(medians: dict[str, float], args: argparse.Namespace) -> None:
    peaks = {"fp32": matmul_gflops(tf.float32), "bf16": matmul_gflops(tf.bfloat16)}
    flop_per_image = 6 * param_count()
    print(f"\nbatch {BATCH}, {args.images} images per timed epoch, {args.rounds} rounds, median:")
    print(f"{'':<12}{'samples/s':>10}{'s/epoch(60k)':>14}{'GFLOP/s':>9}{'of its GEMM peak':>18}")
    for name, rate in medians.items():
        gflops = rate * flop_per_image / 1e9
        peak = peaks["bf16" if name.endswith("bf16") else "fp32"]
        print(f"{name:<12}{rate:>10.0f}{60000 / rate:>14.1f}{gflops:>9.0f}{gflops / peak:>17.0%}")
    for kind, peak in peaks.items():
        print(f"{'GEMM ' + kind:<12}{'':>10}{'':>14}{peak:>9.0f}")
    plain_rate = medians["plain fit"]
    print(
        f"\nratio ours / plain fit: {medians['ours'] / plain_rate:.2f}x (target 1.90x); "
        f"with --bf16: {medians['ours bf16'] / plain_rate:.2f}x"
    )
    limit = peaks["fp32"] / (plain_rate * flop_per_image / 1e9)
    print(
        f"arithmetic limit in float32: at 100% of the GEMM peak, training could be at most {limit:.2f}x the plain fit"
    )


if __name__ == "__main__":
    main()
