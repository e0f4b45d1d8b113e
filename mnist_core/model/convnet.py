"""The convolutional network served with NumPy: each convolution one matmul over shifted copies of its input.

A k×k valid convolution of an (N, H, W, C) batch is (N·H'·W', k·k·C) @ (k·k·C, F): the k·k shifted views
are copied side by side into one contiguous array (im2col along the channel axis, in the kernel's own
(row, column, channel) order), so each copy moves whole runs of C floats and the matmul is one BLAS call with
K = k·k·C. A `sliding_window_view` im2col copies in (channel, row, column) order, one float at a time, and
k·k accumulated matmuls with K = C keep BLAS far from its peak. Max-pooling is the maximum of the strided views.
`python -m bench.latency` times it against the dense network. Each stage also carries its input gradient (`backward`),
for the inside view's push map (`model.inside`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_core.model.forward import Classifier, Layer, Weights


@dataclass(frozen=True)
class Conv:
    """A k×k valid convolution, stride 1, ReLU: `kernel` is Keras' (k, k, C, F)."""

    kernel: np.ndarray
    bias: np.ndarray

    @property
    def size(self) -> int:
        return int(self.kernel.shape[0])

    def __call__(self, a: np.ndarray) -> np.ndarray:
        n, h, w, c = a.shape
        k = self.size
        ho, wo = h - k + 1, w - k + 1
        cols = np.empty((n, ho, wo, k * k * c), np.float32)
        for i in range(k):
            for j in range(k):
                cols[..., (i * k + j) * c : (i * k + j + 1) * c] = a[:, i : i + ho, j : j + wo, :]
        out = cols.reshape(-1, k * k * c) @ self.kernel.reshape(k * k * c, -1)
        out += self.bias
        np.maximum(out, 0.0, out=out)
        return out.reshape(n, ho, wo, -1)

    def backward(self, a: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """d/d(input `a`), given this stage's output `out` (after ReLU) and d/d(out): the forward's matmul
        transposed, then each of the k·k shifted copies added back where it came from (col2im)."""
        n, ho, wo, f = out.shape
        k, c = self.size, int(self.kernel.shape[2])
        passed = np.where(out > 0, grad, np.float32(0)).reshape(-1, f)  # ReLU: out > 0 exactly where it passes
        cols = (passed @ self.kernel.reshape(k * k * c, f).T).reshape(n, ho, wo, k * k * c)
        back = np.zeros(a.shape, np.float32)
        for i in range(k):
            for j in range(k):
                back[:, i : i + ho, j : j + wo, :] += cols[..., (i * k + j) * c : (i * k + j + 1) * c]
        return back


@dataclass(frozen=True)
class Pool:
    """Max over each `size`×`size` block (stride `size`, a trailing row or column dropped, as Keras' valid)."""

    size: int = 2

    def __call__(self, a: np.ndarray) -> np.ndarray:
        s = self.size
        hp, wp = a.shape[1] // s, a.shape[2] // s
        views = [a[:, i : hp * s : s, j : wp * s : s, :] for i in range(s) for j in range(s)]
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)
        return out

    def backward(self, a: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """d/d(input `a`), given the output `out` and d/d(out): each block's gradient goes to the place that held
        its maximum (the first of equal ones, once), as TensorFlow's max-pool gradient does."""
        s = self.size
        hp, wp = out.shape[1], out.shape[2]
        back = np.zeros_like(a)
        taken = np.zeros(out.shape, bool)
        for i in range(s):
            for j in range(s):
                hit = (a[:, i : hp * s : s, j : wp * s : s, :] == out) & ~taken
                back[:, i : hp * s : s, j : wp * s : s, :] = np.where(hit, grad, np.float32(0))
                taken |= hit
        return back


@dataclass(frozen=True)
class ConvClassifier(Classifier):
    """Convolutions and pools on the 28×28, flattened as Keras does (row, column, channel), dense ReLU layers,
    then the output layer: `dense[-1]`. At least one dense layer comes before the output (`last_hidden`)."""

    stages: tuple[Conv | Pool, ...]
    dense: tuple[Weights, ...]
    deskew: bool = False
    architecture = "cnn"
    title = "the convolutional network"

    def __post_init__(self) -> None:
        side, channels = 28, 1
        for stage in self.stages:
            if isinstance(stage, Conv):
                k = stage.size
                if stage.kernel.shape[:3] != (k, k, channels) or stage.bias.shape != stage.kernel.shape[3:]:
                    raise ValueError(f"a convolution's kernel {stage.kernel.shape} does not take {channels} channels")
                side, channels = side - k + 1, int(stage.kernel.shape[3])
            else:
                side //= stage.size
        width = side * side * channels
        for w, b in self.dense:
            if w.shape[0] != width or b.shape != w.shape[1:]:
                raise ValueError(f"a dense layer {w.shape} does not take the {width} values before it")
            width = int(w.shape[1])
        if side < 1 or len(self.dense) < 2 or width != 10:
            raise ValueError("the layers do not make a 28×28 → dense → 10 network")

    @property
    def last_hidden(self) -> Weights:
        return self.dense[-2]

    @property
    def head(self) -> Weights:
        return self.dense[-1]

    def maps(self, x: np.ndarray) -> np.ndarray:
        """(N, 784) → the last convolution or pool's output, flattened in Keras' order: (N, side·side·channels)."""
        a = np.asarray(x, np.float32).reshape(len(x), 28, 28, 1)
        for stage in self.stages:
            a = stage(a)
        return a.reshape(len(a), -1)

    def trunk(self, x: np.ndarray) -> np.ndarray:
        h = self.maps(x)
        for w, b in self.dense[:-2]:
            h = h @ w
            h += b
            np.maximum(h, 0.0, out=h)
        return h

    def features(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer's ReLU outputs (256 for the shipped shape).

        CHOICE: the dense layer, not the flattened maps it reads (1,024). `python -m bench.feature_space
        A.keras --weight W` on UNIPEN's validation writers (3 of each digit taught, the rest read; the
        candidate A of docs/model-card.md, trained without those writers), mean over writers; network alone
        0.9262:

            layer    width  nearest taught alone   + memory bonus, weight 5 / 10 / 20 / 40 / 80
            maps     1024   0.9316                 0.9289 / 0.9292 / 0.9415 / 0.9446 / 0.9438
            dense     256   0.9433                 0.9289 / 0.9286 / 0.9362 / 0.9436 / 0.9436

        At its best weight each reads as well (0.9446 vs 0.9436: one digit); the dense layer's nearest drawing
        alone reads 1.2 points better and its vectors are a quarter of the size.
        """
        return self.hidden(x)

    def arrays(self) -> tuple[np.ndarray, ...]:
        convs = tuple(a for s in self.stages if isinstance(s, Conv) for a in (s.kernel, s.bias))
        return convs + tuple(a for pair in self.dense for a in pair)

    def summary(self) -> tuple[Layer, ...]:
        rows: list[Layer] = []
        side, channels, count = 28, 1, {"conv": 0, "pool": 0}
        for stage in self.stages:
            if isinstance(stage, Conv):
                side, channels, kind = side - stage.size + 1, int(stage.kernel.shape[3]), "conv"
                what, params = f"conv {stage.size}×{stage.size}, relu", stage.kernel.size + stage.bias.size
            else:
                side, kind, what, params = side // stage.size, "pool", f"max-pool {stage.size}×{stage.size}", 0
            count[kind] += 1
            rows.append(Layer(f"{kind} {count[kind]}", what, f"{side}×{side}×{channels}", params))
        for i, (w, b) in enumerate(self.dense[:-1]):
            rows += [Layer(f"hidden {i + 1}", "dense, relu", str(w.shape[1]), w.size + b.size)]
            rows += [Layer(f"dropout {i + 1}", "dropout (training only)", str(w.shape[1]), 0)]
        w, b = self.head
        return (*rows, Layer("output", "dense, softmax", str(w.shape[1]), w.size + b.size))
