"""Teach a personal model from a few of one person's drawings, in a second or two of NumPy.

Each drawing is used as sent and redrawn several ways from its strokes (`renderings.Variation`: what
the same hand does on another day), then the delta (`mnist_core.personal.delta`) is fitted by Adam on
a loss shared between the person's drawings and replayed digits of other writers (`replay`), with an
L2 pull towards the served weights, and scaled back if it would forget other writers' digits.

CHOICE: the last layer only (rank 0), 30% of the loss on the person's drawings, L2 0.01, guarded. Measured
on UNIPEN's 10 validation writers with ≥ 30 digits, k = 3 (`OPENBLAS_NUM_THREADS=1 python -m
bench.personal --writers val --ks 3 --mnist 2000 --rank R --teach-weight W --l2 L ...`; load average
6-12 on the 2 cores, so CPU seconds, not wall seconds), before 97.91% mean over writers, 97.48% of all
their other digits, MNIST test (first 2,000) 98.70% shared:

    rank  teach  l2     lr     mean     all     MNIST lowest  cpu s
    0     0.5    0.001  2e-3   96.84%   98.14%  93.25%        0.62
    8     0.5    0.001  2e-3   97.62%   97.95%  95.70%        1.92
    0     0.5    0.001  5e-4   97.28%   98.23%  92.00%        0.72
    8     0.5    0.001  5e-4   97.39%   97.86%  95.40%        1.90
    8     0.2    0.001  2e-3   97.62%   97.95%  96.70%        1.94
    0     0.2    0.01   2e-3   96.98%   97.86%  98.05%        0.63
    8     0.2    0.01   2e-3   96.96%   97.76%  97.60%        1.81
    0     0.2    0.03   2e-3   96.96%   97.76%  98.15%        0.67
    0     0.1    0.01   2e-3   96.96%   97.76%  98.45%        0.67
  with the guard (`_guard`: the delta halved until 1,000 replayed digits not fitted on read ≤ 0.2 points worse):
    0     0.5    0.001  2e-3   97.34%   97.67%  98.40%        0.58
    0     0.3    0.01   2e-3   97.39%   97.86%  98.45%        0.57   ← chosen
Replayed digits' targets set to what the shared model read (distillation) instead of their labels did
not help: rank 0, teach 0.3, l2 0.01, no guard: 97.18%, 97.86%, MNIST lowest 96.35%.
The rank-8 layer-2 update bought no reading the last layer did not, cost 3× the time and forgot more
MNIST. What decides is forgetting: two validation writers (ibm/…) have digits broken into fragments
(a "4" that is one straight stroke), and teaching those pulls MNIST's 1s away; without the guard only
a tenth of the loss kept every personal model within 0.3 points of the shared one, with it 30% does.
The per-writer mean falls on this small set (one writer's fragments, 87% → 83%), the pooled digits
gain a little.
Adapting layer 1 was not tried: its gradient passes back through the full 2048×2048 layer 2, ~5 GMAC
a step, far outside the 5 s budget.

Second round (issue #19's accuracy targets), the same 10 validation writers, k = 3, each writer taught
from 3 draws of its drawings (splits 3, 13, 23), MNIST test 10,000 (shared 99.02%); the last layer's
settings swept on cached features (scratch, same `_fit`/`_guard`), the chosen line re-measured by
`python -m bench.personal --writers val --ks 3 --splits 3`. Shared model: mean 97.23%, worst 81.2%.

    change from the choice above                    mean     worst   MNIST lowest
    (none: the choice)                              96.97%   79.7%   99.00%
    redrawn with the pad's own pen / milder jitter  97.02 / 97.01%   98.98 / 98.99%
    12 redrawings, or 300 steps, or l2 0.001        97.02 / 96.97 / 97.05%   98.94–98.98%
    teach 0.5; with max_forget 0.005 (check 2000)   97.03%; 97.27%   79.7%   98.99%; 98.83%
      (on the bench's own splits the latter is worse: 96.47%, worst 73.9%, MNIST 98.59%)
    no guard, teach 0.9, l2 0.001                   97.13%   78.3%   91.06%
    rank 16 layer 2, no guard, teach 0.7 (MNIST 2,000)  97.22%   79.7%   95.75%
    + nearest taught drawing (cosine on layer 2's output, 210 redrawings) blended with the softmax,
      best blend (2 splits; shared 97.43%): 97.74%, MNIST 88.8%; only where nearer than every replayed
      digit: +0.06 points, MNIST −0.6
    + the personal reading only where the shared model is unsure: nothing (the shared model is label
      smoothed; it misreads fragments at 0.85–0.95, as sure as it reads MNIST)
At k = 5: shared 97.75%, the choice 97.41%, no guard 98.23% with MNIST 91.2%. No setting, depth or
nearest-neighbour term lifts these writers above the shared model without MNIST paying for it, because
what it still misreads is not a style three drawings can teach: `bench.personal` prints each writer's
misreadings, and they are segmentation fragments (a "4" that is one lone stroke, an "8" that is one
loop, a "0" that is "00") — to read those as labelled a model must read everyone's 1s as 4s, which the
guard forbids — and pairs the writer draws alike (syn/jcp's open 9 vs its 7, syn/tds's 2 vs 7).
What the measurements did show is harm: teaching made some writers' other digits worse (apa/PaulArnao
100% → 97.7%, a 4 now read as 9). A cross-validation on the person's own drawings (`folds` = 3,
`_helps_unseen`: the delta kept only when it reads their held-back drawings better) prevents that: on the
bench's splits (`--splits 3`) the mean went 96.94% → 96.64% without it, 96.98% with it (worst writer
78.3% → 76.8% vs 78.3%; all their digits 97.39% either way; MNIST lowest 99.01% vs 99.02%). It is off by
default (`folds` = 0): four fits instead of one (14.5× instead of 4.0× the shared model reading 1,000
digits, timed in the same run) broke the 5 s budget on a loaded machine (8.9 s max at k = 3), and a
person who taught it would often see nothing change, for 0.3 points on the validation writers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mnist_core.data.renderings import Variation, pad_drawing
from mnist_core.imaging.strokes import Drawing, drawing_to_mnist
from mnist_core.model.forward import Classifier
from mnist_core.personal.delta import Delta, PersonalClassifier, softmax, weights_digest
from mnist_core.personal.replay import Replay, features

REDRAW = Variation()  # how far each drawing is redrawn: the same hand on another day


class AdaptError(ValueError):
    """Nothing to teach from; one line."""


@dataclass(frozen=True)
class Adaptation:
    """How a personal model is taught."""

    rank: int = 0  # of the last hidden layer's update (the dense network's layer 2); 0: the output layer only
    variants: int = 6  # redrawings of each drawing, besides the drawing as sent
    steps: int = 120
    batch: int = 512  # replayed digits per step
    learning_rate: float = 2e-3
    l2: float = 0.01
    teach_weight: float = 0.3  # the person's drawings' share of the loss
    variation: Variation = REDRAW
    check: int = 1_000  # replayed digits, not fitted on, that the personal model must still read …
    max_forget: float = 0.002  # … this much worse than the shared model at most (`_guard`)
    folds: int = 0  # > 1: kept only if it reads the person's own unseen drawings better (`_helps_unseen`)
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Adapted:
    delta: Delta
    model: PersonalClassifier
    drawings: int  # drawings taught (a blank one is skipped)
    images: int  # training images made from them
    read_before: float  # of the drawings as sent: share the shared model read right
    read_after: float  # … and the personal model
    seconds: float


def teaching_images(
    drawings: Sequence[tuple[int, Drawing]], variants: int, variation: Variation, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (N, 28, 28) float, labels (N,), as-sent mask (N,)): each drawing as sent, then redrawn."""
    rng = np.random.default_rng(seed)
    images, labels, original = [], [], []
    for label, drawing in drawings:
        first = drawing_to_mnist(drawing)
        if first is None:
            continue
        redrawn = [drawing_to_mnist(pad_drawing(drawing.strokes, rng, variation)) for _ in range(variants)]
        kept = [first, *(r for r in redrawn if r is not None)]
        images += kept
        labels += [label] * len(kept)
        original += [True] + [False] * (len(kept) - 1)
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.stack(images).astype(np.float32), np.array(labels, np.int64), np.array(original)


def adapt(
    classifier: Classifier,
    drawings: Sequence[tuple[int, Drawing]],
    replay: Replay,
    settings: Adaptation = Adaptation(),
    base: str | None = None,
) -> Adapted:
    """A personal model for the person who drew `drawings` ((label, pad drawing) pairs); `base` is
    `weights_digest(classifier)` when the caller already has it."""
    started = time.perf_counter()
    s = settings
    images, labels, original = teaching_images(drawings, s.variants, s.variation, s.seed)
    if not len(images):
        raise AdaptError("none of the drawings has any ink; draw the digits, then teach")
    h1, z2 = features(classifier, images)
    order = np.random.default_rng(s.seed).permutation(len(replay))
    fit_rows, check_rows = order[: s.batch], order[s.batch : s.batch + s.check]
    params = _guard(classifier, _fit(classifier, h1, z2, labels, replay, fit_rows, s), replay, check_rows, s)
    if s.folds > 1 and not _helps_unseen(classifier, h1, z2, labels, original, replay, order, s):
        params = {k: v if k == "a" else np.zeros_like(v) for k, v in params.items()}
    delta = Delta(**params, base=base or weights_digest(classifier))
    model = PersonalClassifier(classifier, delta)
    shared_w, shared_b = classifier.head
    before = (np.maximum(z2[original], 0) @ shared_w + shared_b).argmax(axis=1)
    after = model.forward(classifier.inputs(images[original])).argmax(axis=1)
    return Adapted(
        delta,
        model,
        int(original.sum()),
        len(images),
        float(np.mean(before == labels[original])),
        float(np.mean(after == labels[original])),
        time.perf_counter() - started,
    )


def _guard(
    classifier: Classifier, params: dict[str, np.ndarray], replay: Replay, rows: np.ndarray, s: Adaptation
) -> dict[str, np.ndarray]:
    """The delta, halved until replayed digits it was not fitted on read at most `s.max_forget` worse than
    with the shared model: drawings that contradict everyone else's digits (a "4" that is one straight
    stroke) cannot make a personal model forget, whatever their share of the loss."""
    if not len(rows):
        return params
    h1, z2, labels = replay.h1[rows].astype(np.float32), replay.z2[rows].astype(np.float32), replay.labels[rows]

    def accuracy(scale: float) -> float:
        return float(np.mean(_logits(classifier, params, h1, z2, scale).argmax(axis=1) == labels))

    floor, scale = accuracy(0.0) - s.max_forget, 1.0
    while scale > 1 / 64 and accuracy(scale) < floor:
        scale /= 2
    return {k: (v * scale if k != "a" else v).astype(np.float32) for k, v in params.items()}


def _logits(
    classifier: Classifier, params: dict[str, np.ndarray], h1: np.ndarray, z2: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """The personal model's logits from the base's features, with the delta scaled by `scale`."""
    w3, b3 = classifier.head
    pre = z2 + scale * ((h1 @ params["a"]) @ params["b"] + params["b2"])
    return np.maximum(pre, 0.0) @ (w3 + scale * params["w3"]) + b3 + scale * params["b3"]


def _helps_unseen(
    classifier: Classifier,
    h1: np.ndarray,
    z2: np.ndarray,
    labels: np.ndarray,
    original: np.ndarray,
    replay: Replay,
    order: np.ndarray,
    s: Adaptation,
) -> bool:
    """Cross-validation on the person's own drawings: each fold's drawings (as sent) read by a delta taught
    without them (nor their redrawings), counting those whose digit the rest still teaches. True when that
    reads more of them than the shared model does, or when no digit was taught twice (nothing to check);
    a person whose drawings do not teach their other drawings keeps the shared model's readings."""
    drawing = np.cumsum(original) - 1
    fold = np.zeros(int(original.sum()), np.int64)
    for label in range(10):
        mine = np.flatnonzero(labels[original] == label)
        fold[mine] = np.arange(len(mine)) % s.folds
    fold = fold[drawing]
    fit_rows, check_rows = order[: s.batch], order[s.batch : s.batch + s.check]
    shared_right = personal_right = compared = 0
    for f in range(s.folds):
        taught = fold != f
        unseen = (fold == f) & original & np.isin(labels, labels[taught & original])
        if not unseen.any():
            continue
        fitted = _fit(classifier, h1[taught], z2[taught], labels[taught], replay, fit_rows, s)
        params = _guard(classifier, fitted, replay, check_rows, s)
        truth = labels[unseen]
        shared_right += int(np.sum(_logits(classifier, params, h1[unseen], z2[unseen], 0.0).argmax(1) == truth))
        personal_right += int(np.sum(_logits(classifier, params, h1[unseen], z2[unseen]).argmax(1) == truth))
        compared += len(truth)
    return personal_right > shared_right if compared else True


def _fit(
    classifier: Classifier,
    h1: np.ndarray,
    z2: np.ndarray,
    labels: np.ndarray,
    replay: Replay,
    pick: np.ndarray,
    s: Adaptation,
) -> dict[str, np.ndarray]:
    """Adam on the delta, full batch: the teaching images and the replayed digits `pick`."""
    rng = np.random.default_rng(s.seed)
    trunk, hidden = classifier.last_hidden[0].shape
    w3, b3 = classifier.head
    params = {
        "w3": np.zeros((hidden, 10), np.float32),
        "b3": np.zeros(10, np.float32),
        "a": (rng.standard_normal((trunk, s.rank)) / np.sqrt(trunk)).astype(np.float32),
        "b": np.zeros((s.rank, hidden), np.float32),
        "b2": np.zeros(hidden, np.float32),
    }
    adam = _Adam(params, s.learning_rate)
    rows = _Rows(
        np.concatenate([h1, replay.h1[pick].astype(np.float32)]),
        np.concatenate([z2, replay.z2[pick].astype(np.float32)]),
        np.eye(10, dtype=np.float32)[np.concatenate([labels, replay.labels[pick]])],
        np.concatenate(
            [
                np.full(len(labels), s.teach_weight / len(labels)),
                np.full(len(pick), (1 - s.teach_weight) / max(len(pick), 1)),
            ]
        ).astype(np.float32),
    )
    gradients = _gradients if s.rank else _last_layer_gradients(rows)
    for _ in range(s.steps):
        grads = gradients(params, w3, b3, rows)
        adam.step({k: g + s.l2 * params[k] for k, g in grads.items()})
    return params


@dataclass(frozen=True, eq=False)
class _Rows:
    h1: np.ndarray  # (N, trunk) what the base's last hidden layer receives (the dense network's first layer)
    z2: np.ndarray  # (N, hidden) the base's last hidden layer's pre-activation
    onehot: np.ndarray  # (N, 10)
    weight: np.ndarray  # (N,) each row's share of the loss


def _gradients(p: dict[str, np.ndarray], w3: np.ndarray, b3: np.ndarray, rows: _Rows) -> dict[str, np.ndarray]:
    """The weighted cross-entropy's gradient for each part of the delta (backprop by hand, two thin matmuls)."""
    proj = rows.h1 @ p["a"]
    pre = proj @ p["b"]
    pre += rows.z2
    pre += p["b2"]
    h2 = np.maximum(pre, 0.0, out=pre)
    w = w3 + p["w3"]
    g = softmax(h2 @ w + b3 + p["b3"])
    g -= rows.onehot
    g *= rows.weight[:, None]
    dpre = g @ w.T
    np.copyto(dpre, 0.0, where=h2 <= 0)
    return {
        "w3": h2.T @ g,
        "b3": g.sum(axis=0),
        "b2": dpre.sum(axis=0),
        "b": proj.T @ dpre,
        "a": rows.h1.T @ (dpre @ p["b"].T),
    }


def _last_layer_gradients(rows: _Rows) -> Callable[..., dict[str, np.ndarray]]:
    """Rank 0: the last hidden layer is not adapted, so its output is fixed and each step is three thin matmuls."""
    h2 = np.maximum(rows.z2, 0.0)

    def gradients(p: dict[str, np.ndarray], w3: np.ndarray, b3: np.ndarray, _: _Rows) -> dict[str, np.ndarray]:
        g = softmax(h2 @ (w3 + p["w3"]) + b3 + p["b3"])
        g -= rows.onehot
        g *= rows.weight[:, None]
        return {"w3": h2.T @ g, "b3": g.sum(axis=0)}

    return gradients


class _Adam:
    """Adam, updating the arrays in place."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.params, self.lr, self.beta1, self.beta2, self.t = params, lr, beta1, beta2, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        scale = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for k, g in grads.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            self.params[k] -= (scale * self.m[k] / (np.sqrt(self.v[k]) + 1e-8)).astype(np.float32)
