"""Training throughput: the notebook's plain `model.fit(numpy, batch_size=220)` vs this project's trainer.

Same machine, same batch size, same network (`--architecture`: the notebook's dense one by default, or the
convolutional one), one process, runs interleaved (plain, ours, plain, ours…) so background load hits both
alike. "ours" is the trainer as it runs by default: with bfloat16 matmuls and float32 weights on a CPU with
bf16 instructions (HyperParams.bf16, `config.BF16_NATIVE`), else float32; "ours fp32" / "ours bf16" the same
loop in the other precision. Also measures the machine's fp32 and bf16 matmul rates, to say how close to its
arithmetic limit each is (one epoch of 60k images of the dense network is ≈ 2.1 TFLOP: 3 × its forward
pass's 2 × 5.8M multiply-adds × images). Each run's CPU time per step is printed too: on a loaded machine the
wall clock measures the scheduler's share, the CPU time the work. `--steps` times the pieces of one step alone.

    MNIST_DATA=../shared/data/mnist python -m bench.train_throughput [--images 22000] [--rounds 3] [--steps]
        [--architecture cnn]
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

from mnist_core.config import ARCHITECTURES, BF16_NATIVE, HyperParams, preset
from mnist_core.data.mnist import load_mnist
from mnist_core.model.network import build_model
from mnist_core.training.fit import ByteDropout, FusedAdam, compile_model, training_twin
from mnist_core.training.pool import Group, Pool, pool_dataset

BATCH = 220
Timing = tuple[float, float]  # (samples per wall second, CPU ms per step of BATCH images)


def timed(images: int, run: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return images / wall, cpu * 1000 * BATCH / images


def seed(architecture: str) -> HyperParams:
    """The notebook's settings, on the network timed."""
    return preset("seed").replace(architecture=architecture)


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations of one image's forward pass: 2 per multiply-add of each Dense and Conv2D layer;
    a training step costs about 3× that (forward, and the two halves of the backward pass)."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            flops += 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, _ = layer.output.shape
            flops += 2 * height * width * int(np.prod(layer.kernel.shape))
    return flops


def plain(x: np.ndarray, y: np.ndarray, net: HyperParams) -> Timing:
    """The notebook: numpy arrays straight into fit, default compile; `net` names the network (`seed`)."""
    model = build_model(net)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    xf = x.reshape(len(x), -1).astype("float32") / 255
    yf = keras.utils.to_categorical(y, 10)
    model.fit(xf[: BATCH * 4], yf[: BATCH * 4], batch_size=BATCH, epochs=1, verbose=0)  # warm-up / tracing
    return timed(len(x), lambda: model.fit(xf, yf, batch_size=BATCH, epochs=1, verbose=0))


def ours(x: np.ndarray, y: np.ndarray, net: HyperParams, bf16: bool = BF16_NATIVE) -> Timing:
    """The project's one fit loop (training.fit): its pool pipeline and compiled step, in float32 or with
    bfloat16 matmuls (augmentation off, as plain)."""
    hp = net.replace(validation_split=0.0, batch_size=BATCH, bf16=bf16)
    model = training_twin(build_model(hp), hp)
    compile_model(model, hp, total_steps=1000)
    model.fit(pool_dataset(Pool.of([Group(x[: BATCH * 4], y[: BATCH * 4])]), hp, training=True), epochs=1, verbose=0)
    data = pool_dataset(Pool.of([Group(x, y)]), hp, training=True)
    return timed(len(x), lambda: model.fit(data, epochs=1, verbose=0))


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


def step_pieces(bf16: bool, jit: bool, fused: bool) -> dict[str, Callable[[], object]]:
    """One step's two halves, each a compiled function of its own on a fixed batch: the forward and backward
    pass (matmuls, dropout, loss) and the optimizer's update of the 5.8M weights and their two moments."""
    hp = preset("seed").replace(validation_split=0.0, batch_size=BATCH, bf16=bf16)
    model = training_twin(build_model(hp), hp)
    optimizer = (FusedAdam if fused else keras.optimizers.Adam)(learning_rate=1e-3)
    optimizer.build(model.trainable_variables)
    loss = keras.losses.CategoricalCrossentropy()
    x = tf.random.uniform((BATCH, 784))
    y = tf.one_hot(tf.random.uniform((BATCH,), 0, 10, tf.int32), 10)

    @tf.function(jit_compile=jit)
    def gradients() -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        return tape.gradient(value, model.trainable_variables)

    grads = gradients()

    @tf.function(jit_compile=jit)
    def update() -> None:
        optimizer.apply(grads, model.trainable_variables)

    return {"forward+backward": gradients, "optimizer update": update}


def dropout_pieces() -> dict[str, Callable[[], object]]:
    """One hidden layer's dropout on a bfloat16 batch, forward only: Keras' mask (a random bfloat16 per unit)
    vs the training twin's ByteDropout (a random byte per unit)."""
    hidden = tf.cast(tf.random.normal((BATCH, 2048)), tf.bfloat16)
    layers = {
        "one dropout layer, Keras Dropout": keras.layers.Dropout(0.5, dtype="mixed_bfloat16"),
        "one dropout layer, ByteDropout": ByteDropout(0.5, dtype="mixed_bfloat16"),
    }
    pieces = {name: tf.function(lambda layer=layer: layer(hidden, training=True)) for name, layer in layers.items()}
    for piece in pieces.values():
        piece()  # traced before it is timed
    return pieces


def steps_breakdown(x: np.ndarray, y: np.ndarray, rounds: int, repeats: int = 10) -> None:
    """Per-step wall and CPU ms of each piece alone, interleaved over `rounds`, medians printed."""
    hp = preset("seed").replace(validation_split=0.0, batch_size=BATCH)
    pool = Pool.of([Group(x, y)])
    configs = {
        "plain (fp32, graph, Keras Adam)": (False, False, False),
        "ours (fp32, XLA, Keras Adam)": (False, True, False),
        "ours bf16 before (graph, Keras Adam)": (True, False, False),
        "bf16 under XLA (not used: its matmuls)": (True, True, False),
        "ours bf16 (graph, fused Adam)": (True, False, True),
    }
    pieces = {f"{config}: {piece}": fn for config, a in configs.items() for piece, fn in step_pieces(*a).items()}
    pieces |= dropout_pieces()
    epoch = pool_dataset(pool, hp, training=True)
    pieces["input pipeline alone (pool_dataset, an epoch)"] = lambda: [None for _ in epoch]
    times: dict[str, list[Timing]] = {name: [] for name in pieces}
    for _ in range(rounds):
        for name, fn in pieces.items():
            once = fn if name.startswith("input") else lambda fn=fn: [fn() for _ in range(repeats)][-1]
            images = len(pool) if name.startswith("input") else BATCH * repeats
            rate, cpu_ms = timed(images, lambda once=once: tf.nest.map_structure(np.asarray, once()))
            times[name].append((BATCH / rate * 1000, cpu_ms))
    print(f"\nper step of {BATCH} images, each piece alone, median of {rounds} rounds (load {os.getloadavg()[0]:.1f}):")
    print(f"{'':<58}{'wall ms':>8}{'CPU ms':>8}")
    for name, pairs in times.items():
        wall, cpu = (statistics.median(p[i] for p in pairs) for i in (0, 1))
        print(f"{name:<58}{wall:>8.1f}{cpu:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=22000, help="training images per timed epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--steps",
        action="store_true",
        help="also time the pieces of one step alone (the dense network's: the steps the bf16 kernels were tuned on)",
    )
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="dense", help="the network timed")
    args = parser.parse_args()
    (x, y), _ = load_mnist()
    x, y = x[: args.images], y[: args.images]
    other = "ours fp32" if BF16_NATIVE else "ours bf16"
    net = seed(args.architecture)
    runs: dict[str, Callable[[np.ndarray, np.ndarray], Timing]] = {
        "plain fit": lambda a, b: plain(a, b, net),
        "ours": lambda a, b: ours(a, b, net),
        other: lambda a, b: ours(a, b, net, bf16=not BF16_NATIVE),
    }
    results: dict[str, list[Timing]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, fn in runs.items():
            rate, cpu_ms = fn(x, y)
            results[name].append((rate, cpu_ms))
            print(f"round {round_ + 1}: {name:<10} {rate:8.0f} samples/s {cpu_ms:6.1f} CPU ms/step", flush=True)
        keras.backend.clear_session()
    medians = {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)) for name, ts in results.items()
    }
    report(medians, args)
    if args.steps:
        steps_breakdown(x, y, args.rounds)


def report(medians: dict[str, Timing], args: argparse.Namespace) -> None:
    peaks = {"fp32": matmul_gflops(tf.float32), "bf16": matmul_gflops(tf.bfloat16)}
    flop_per_image = 3 * forward_flops(build_model(seed(args.architecture)))
    print(
        f"\n{args.architecture} network, batch {BATCH}, {args.images} images per timed epoch, {args.rounds} rounds, "
        f"median (load {os.getloadavg()[0]:.1f}):"
    )
    print(f"{'':<12}{'samples/s':>10}{'s/epoch(60k)':>14}{'GFLOP/s':>9}{'of its GEMM peak':>18}{'CPU ms/step':>13}")
    for name, (rate, cpu_ms) in medians.items():
        gflops = rate * flop_per_image / 1e9
        bf16 = name.endswith("bf16") or (name == "ours" and BF16_NATIVE)
        peak = peaks["bf16" if bf16 else "fp32"]
        print(f"{name:<12}{rate:>10.0f}{60000 / rate:>14.1f}{gflops:>9.0f}{gflops / peak:>17.0%}{cpu_ms:>13.1f}")
    for kind, peak in peaks.items():
        print(f"{'GEMM ' + kind:<12}{'':>10}{'':>14}{peak:>9.0f}")
    plain_rate = medians["plain fit"][0]
    other = next(name for name in medians if name.startswith("ours "))
    print(f"ours trains {'with' if BF16_NATIVE else 'without'} bf16 by default on this CPU")
    for measure, index, better in (("samples/s", 0, 1), ("CPU per step", 1, -1)):
        ours, alt = ((medians[n][index] / medians["plain fit"][index]) ** better for n in ("ours", other))
        print(f"ratio ours / plain fit by {measure}: {ours:.2f}x (target 1.90x); {other}: {alt:.2f}x")
    limit = peaks["fp32"] / (plain_rate * flop_per_image / 1e9)
    print(
        f"arithmetic limit in float32: at 100% of the GEMM peak, training could be at most {limit:.2f}x the plain fit"
    )


if __name__ == "__main__":
    main()
