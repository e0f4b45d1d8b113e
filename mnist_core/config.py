"""Hyper-parameters, presets and where things live: the one place the CLI, UI and tests read them."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = REPO_DIR / "assets"
SHIPPED_MODEL = ASSETS_DIR / "model.keras"  # the notebook's dense network: what the demo serves by default
SHIPPED_CNN = ASSETS_DIR / "cnn.keras"  # the convolutional network, shipped beside it
# How the CLI and the pages name each shipped model, and which network each is
SHIPPED_NAMES = {"shipped": SHIPPED_MODEL, "shipped-cnn": SHIPPED_CNN}
SHIPPED_BY_ARCHITECTURE = {"dense": SHIPPED_MODEL, "cnn": SHIPPED_CNN}

HOME_ENV = "MNIST_DEMO_HOME"
DATABASE_ENV = "MNIST_DEMO_DATABASE"  # the drawings database: a SQLite file, or a postgresql:// URL (issue #34)
JOB_LOCK_ENV = "MNIST_DEMO_JOB_LOCK"  # where the one-training lock lives: "file" (flock) or "database" (PostgreSQL)
T = TypeVar("T")


def shipped_name(path: str | os.PathLike) -> str | None:
    """ "shipped" or "shipped-cnn" for a shipped model, None for any other file."""
    resolved = Path(path).resolve()
    return next((name for name, shipped in SHIPPED_NAMES.items() if resolved == shipped.resolve()), None)


def is_shipped(path: str | os.PathLike) -> bool:
    """A shipped model is never deleted or pruned and needs no sidecar of its own to be trusted."""
    return shipped_name(path) is not None


@dataclass(frozen=True)
class Control:
    """The Train tab's control for a field: a slider from `low` to `high`, a number box, (a bool) a checkbox, or
    one of the values `choices`. What the page calls it, in each language, is in mnist_ui/text/ ("setting.<field>").

    A bound given as a name is that field of UI_LIMITS: the caps a visitor's run keeps to.
    """

    low: float | str | None = None
    high: float | str | None = None
    step: float | None = None
    box: bool = False  # a number box rather than a slider
    hidden: bool = False  # set by the page itself (?subset=N), never shown
    choices: tuple[str, ...] = ()


def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX): without, TensorFlow emulates
    it and a bf16 epoch is slower than a float32 one, so the presets train in bf16 only where it pays."""
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


BF16_NATIVE = native_bf16()


ARCHITECTURES = ("dense", "cnn")
# CHOICE: the convolutional network's layers. Each candidate trained with the recipe for 6 epochs without UNIPEN's
# validation writers, then `python -m bench.cnn_shapes A.keras …` (commands in docs/model-card.md; one run, load
# average 17): validation writers (pad), MNIST test, CPU ms a training step of 220 images, NumPy ms per drawing in
# a batch of 8 (the dense network: 1.02):
#   A c32 c32 p c64 c64 p d256   329,962 params  0.9711  0.9952   97.2  0.93   ← chosen; 12 epochs: 0.9738
#   B c16 c16 p c32 c32 p d128    83,322         0.9607  0.9938   37.6  0.34
#   C c32 p c64 p d128           225,034         0.9662  0.9941   37.8  0.23
#   D c32 c32 p c64 c64 p d128   197,482         0.9676  0.9954   97.8  0.82
#   E c48 c48 p c96 c96 p d256   541,914         0.9697  0.9958  192.2  2.17
# Wider read no better at twice the cost; cheaper ones miss 0.35–1.0 point more of the validation writers.
CNN_LAYERS = "c32 c32 p c64 c64 p d256"
_CNN_TOKEN = re.compile(r"([cd])(\d+)|p")


def cnn_shape(spec: str) -> list[tuple[str, int]]:
    """The layers a spec names: "c32 p d256" → [("conv", 32), ("pool", 2), ("dense", 256)]: 3×3 valid
    convolutions with ReLU, 2×2 max-pools, then dense ReLU layers (at least one: a personal model adapts the
    last); ValueError (one line) for a spec that cannot be built."""
    layers: list[tuple[str, int]] = []
    side = 28
    for token in spec.split():
        match = _CNN_TOKEN.fullmatch(token)
        if match is None:
            raise ValueError(f"cnn layers: {token!r} is not cN, p or dN (e.g. {CNN_LAYERS!r})")
        kind = {"c": "conv", "d": "dense", None: "pool"}[match.group(1)]
        size = int(match.group(2)) if match.group(2) else 2
        if kind != "dense" and layers and layers[-1][0] == "dense":
            raise ValueError("cnn layers: convolutions and pools come before the dense layers")
        if not 1 <= size <= 1024:
            raise ValueError(f"cnn layers: {token} must have 1–1024 units")
        side = side - 2 if kind == "conv" else side // 2 if kind == "pool" else side
        if side < 1:
            raise ValueError(f"cnn layers: {spec!r} shrinks the 28×28 to nothing; use fewer convolutions or pools")
        layers.append((kind, size))
    if not layers or layers[0][0] != "conv" or layers[-1][0] != "dense":
        raise ValueError(
            f"cnn layers: {spec!r} must start with a convolution and end with a dense layer (e.g. {CNN_LAYERS!r})"
        )
    return layers


def cnn_macs(spec: str) -> int:
    """Multiply-adds of one digit's forward pass through the network `spec` names: what an epoch's cost grows with
    (the shipped shape: 10.0 million; the dense network: 5.8 million)."""
    side, channels, macs = 28, 1, 0
    for kind, size in cnn_shape(spec):
        if kind == "conv":
            side -= 2
            macs += side * side * 9 * channels * size
        elif kind == "pool":
            side //= size
            continue
        else:
            macs += side * side * channels * size
            side = 1
        channels = size
    return macs + channels * 10


def setting(default: T, about: str = "", *, flag: str = "", control: Control | None = None, summary: bool = False) -> T:
    """A HyperParams field with all that is said about it, so the CLI, the Train tab, the Model tab and the
    /retrain docs are made from one place. `about`: the help of its CLI flag and /retrain setting (a field
    with one may be set from the CLI and the API; `flag` is an extra flag name); `control`: a visitor may set
    it on the Train tab; `summary`: the Model tab lists it among a model's settings."""
    return field(default=default, metadata={"about": about, "flag": flag, "control": control, "summary": summary})


@dataclass(frozen=True)
class HyperParams:
    """Everything that decides what a training run produces.

    Frozen so a run's settings cannot drift after they were written to its sidecar.
    """

    epochs: int = setting(40, "passes over the training data", control=Control(1, "max_epochs", 1), summary=True)
    batch_size: int = setting(
        128, "images per gradient step", control=Control("min_batch", "max_batch", 1), summary=True
    )
    validation_split: float = setting(
        0.05,
        "the last fraction of the training set, held out (the notebook's 0.999 leaves 60 images)",
        control=Control(0.0, 0.999, 0.001),
        summary=True,
    )
    # "dense": the notebook's network (the default, the product's face); "cnn": a small convolutional network
    architecture: str = setting(
        "dense",
        "the network: dense (the notebook's: Dense 2048, Dense 2048, Dense 10) or cnn (a small convolutional network)",
        control=Control(choices=ARCHITECTURES),
        summary=True,
    )
    hidden_units: int = 2048  # the dense network's two hidden layers
    cnn_layers: str = setting(
        CNN_LAYERS,
        "the convolutional network's layers: cN a 3×3 convolution of N filters, p a 2×2 max-pool, dN a dense layer",
        summary=True,
    )
    dropout: float = setting(0.5, "dropout after each hidden layer", control=Control(0.0, 0.9, 0.05), summary=True)
    learning_rate: float = setting(
        2e-3,
        "Adam's learning rate (the peak of the one-cycle schedule)",
        control=Control(1e-6, 0.1, box=True),
        summary=True,
    )
    lr_schedule: str = setting("one_cycle", summary=True)  # "constant" or "one_cycle"
    seed: int = setting(0, "random seed of weights, shuffling, augmentation and pen drawings", summary=True)
    augment: bool = setting(
        True,
        "canvas-like distortions while training",
        control=Control(),
        summary=True,
    )
    rotation_deg: float = 12.0
    scale_range: float = 0.12
    shear: float = 0.1  # deskewing takes the slant out; only a little shear is left to cover
    shift_px: float = 2.0
    thickness: float = 0.5
    style_extras: bool = True
    # Train (and so serve) on slant-corrected digits: mnist_core.imaging.deskew.deskew
    deskew: bool = setting(True, summary=True)
    # 0 = all training images; >0 = the first N (fast runs and tests)
    train_subset: int = setting(
        0,
        "train on the first N MNIST training images only (0 = all)",
        flag="--subset",
        control=Control(box=True, hidden=True),
        summary=True,
    )
    label_smoothing: float = 0.05
    # bfloat16 matmuls while training, float32 weights, where the CPU has bf16 instructions (AVX-512 BF16, AMX):
    # an epoch at 2.1-2.6x the notebook's plain fit (bench/train_throughput.py, same run); models are saved and
    # served in float32. The full default recipe read as well with it as without (docs/model-card.md)
    bf16: bool = setting(
        BF16_NATIVE,
        "train with bfloat16 matmuls, float32 weights (on by default where the CPU has AVX-512 BF16 or AMX)",
        summary=True,
    )
    # Add real pen handwriting (UNIPEN's training writers), drawn as the web pad draws
    pens: bool = setting(
        True,
        "also train on real pen handwriting: UNIPEN's training writers, drawn as the pad draws",
        control=Control(),
        summary=True,
    )
    pen_variants: int = 6  # pad drawings made of each pen digit; every epoch picks one of them at random
    # 2: each pen digit is seen twice per epoch (each time a different drawing)
    pen_weight: int = setting(2, "times each pen digit is seen per epoch, each time a different drawing of it")
    # The recipe was tuned on the validation writers; the shipped fit then trains on them too (the held-out
    # test writers are never used). Off, they stay out and are measured every epoch (val_accuracy).
    pen_val_writers: bool = setting(
        True, "train on UNIPEN's validation writers too (off: they are held out to tune on)"
    )
    # 0: no plain 0/1/7 gets a slash/flag/crossbar (pen_styles.py)
    pen_styles: float = setting(0.0, "chance a training drawing of a plain 0/1/7 gets a slash, flag or crossbar")

    def replace(self, **changes: Any) -> HyperParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HyperParams:
        """Ignore unknown keys so sidecars written by newer versions still load."""
        known = {f.name for f in fields(cls)}
        data = {"bf16": False} | data  # sidecars written before bf16 existed trained in float32
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self, limits: Limits | None = None) -> None:
        """Raise ValueError with a one-line, fixable message for out-of-range settings."""
        lim = limits or Limits()
        checks = [
            (1 <= self.epochs <= lim.max_epochs, f"epochs must be 1–{lim.max_epochs}"),
            (lim.min_batch <= self.batch_size <= lim.max_batch, f"batch size must be {lim.min_batch}–{lim.max_batch}"),
            (0.0 <= self.validation_split < 1.0, "validation split must be in [0, 1)"),
            (self.architecture in ARCHITECTURES, f"architecture must be one of {', '.join(ARCHITECTURES)}"),
            (16 <= self.hidden_units <= 4096, "hidden units must be 16–4096"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (1e-6 <= self.learning_rate <= 0.1, "learning rate must be 1e-6–0.1"),
            (self.lr_schedule in ("constant", "one_cycle"), "lr_schedule must be 'constant' or 'one_cycle'"),
            (self.train_subset >= 0, "train_subset must be ≥ 0"),
            (0.0 <= self.label_smoothing < 0.5, "label smoothing must be in [0, 0.5)"),
            (1 <= self.pen_variants <= 32, "pen variants must be 1–32"),
            (0 <= self.pen_weight <= 8, "pen weight must be 0–8"),
            (0.0 <= self.pen_styles <= 1.0, "pen styles must be a chance in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        macs = cnn_macs(self.cnn_layers)
        if self.architecture == "cnn" and macs > lim.max_cnn_macs:
            raise ValueError(
                f"cnn layers: {self.cnn_layers!r} costs {macs / 1e6:.0f} million multiply-adds a digit, over the "
                f"{lim.max_cnn_macs / 1e6:.0f} million allowed here; use fewer or narrower layers"
            )


@dataclass(frozen=True)
class Limits:
    """Caps that stop one visitor from tying up the machine for hours."""

    max_epochs: int = 150
    min_batch: int = 8
    max_batch: int = 2048
    max_cnn_macs: int = 1_000_000_000  # a convolutional network's multiply-adds per digit (`cnn_macs`)

    def check_epochs(self, epochs: int) -> None:
        """ValueError in one line: how a recipe refuses epochs out of range before anything starts."""
        if not 1 <= epochs <= self.max_epochs:
            raise ValueError(f"epochs must be 1–{self.max_epochs}")


# 40: the default recipe fits; a visitor's convolutional network costs at most 4× the shipped shape's per digit
UI_LIMITS = Limits(max_epochs=40, min_batch=32, max_batch=1024, max_cnn_macs=4 * cnn_macs(CNN_LAYERS))
# A fine-tune's one cap (CLI, API and Train tab): a few passes at a low rate learn the corrected drawings.
FINETUNE_LIMITS = Limits(max_epochs=20)

# The settings a person may change from the CLI (`train --batch-size …`) and the API, with their help; the rest
# is the recipe, changed in code.
TUNABLE: dict[str, str] = {f.name: f.metadata["about"] for f in fields(HyperParams) if f.metadata.get("about")}
CONTROLS: dict[str, Control] = {f.name: f.metadata["control"] for f in fields(HyperParams) if f.metadata.get("control")}
SUMMARY: tuple[str, ...] = tuple(f.name for f in fields(HyperParams) if f.metadata.get("summary"))

# The Spanish notebook exactly: validation_split=0.999 leaves 60 training images.
NOTEBOOK_ACCURACY = 0.586  # the MNIST test accuracy the notebook printed for its own run of this recipe
NOTEBOOK = HyperParams(
    epochs=3,
    batch_size=220,
    validation_split=0.999,
    learning_rate=1e-3,
    lr_schedule="constant",
    augment=False,
    shear=0.25,
    style_extras=False,
    deskew=False,
    label_smoothing=0.0,
    pens=False,
    bf16=False,
)

PRESETS: dict[str, HyperParams] = {
    "default": HyperParams(),  # the shipped recipe: the dataclass defaults
    "seed": NOTEBOOK,
    # A minute-long run for trying the Train tab: the notebook's plain training on a fifth of the data.
    # The convolutional network with the shipped recipe, for 12 epochs: on the validation writers 6 epochs read
    # 0.9711, 12 read 0.9738 (CNN_LAYERS above, docs/model-card.md)
    "cnn": HyperParams(architecture="cnn", epochs=12),
    "fast": NOTEBOOK.replace(epochs=2, batch_size=128, validation_split=0.1, train_subset=12000, bf16=BF16_NATIVE),
}


MNIST_TRAIN_IMAGES = 60_000


def mnist_images(hp: HyperParams, available: int = MNIST_TRAIN_IMAGES) -> int:
    """The MNIST images a run of `hp` fits on: the first `train_subset` (all when 0), less the validation split's
    last fraction (Keras' rule, `data.mnist.split`)."""
    n = min(hp.train_subset, available) if hp.train_subset else available
    return int(n * (1.0 - hp.validation_split))


def describe(hp: HyperParams) -> str:
    """What a run of `hp` trains on, in words made from its fields, so what a preset announces is what it does:
    "2 epochs on 10,800 MNIST images"."""
    network = "the convolutional network, " if hp.architecture == "cnn" else ""
    what = f"{network}{hp.epochs} epoch{'s' * (hp.epochs != 1)} on {mnist_images(hp):,} MNIST images"
    extras = [("styled copies of some 1s, 7s and 9s", hp.style_extras), ("real pen handwriting (UNIPEN)", hp.pens)]
    added = [name for name, on in extras if on]
    return what + (f", with {' and '.join(added)}" if added else "")


def preset(name: str) -> HyperParams:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def user_home() -> Path:
    """Trained models live outside the repository so `assets/` is never overwritten."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mnist-demo"


def models_dir() -> Path:
    return user_home() / "models"


# What the collected drawings may take (mnist_core/drawings/policy.py and store.py keep to them).
MAX_ROWS = 20_000  # drawings kept; past this a correction is refused until some are exported and deleted
MAX_DRAWING_BYTES = 256_000  # a pad's strokes are a few KB, a phone photo as PNG well under this
MAX_DB_BYTES = 512_000_000  # the drawings database's data (SQLite's pages in use, PostgreSQL's rows): the cap
PER_MINUTE = 30  # corrections one visitor (an address; a logged-in user's browser) may save per minute
CORRECT_BUDGET = 600  # corrections everyone together may save per minute: 20 visitors at their limit fit, and
# a crowd of addresses needs half an hour to fill the store
IMPORT_PER_MINUTE = 6  # imports one visitor may start per minute (one runs at a time anyway)
IMPORT_BUDGET = 12  # imports everyone together may start per minute
MAX_CSV_BYTES = 16_000_000  # an imported zip's labels.csv
MAX_PNG_SIDE = 4096  # an imported or uploaded PNG, measured before it is decoded
FINETUNE_EPOCHS = 3  # a fine-tune's default passes over the drawings (CLI and Train tab)

# Replicas sharing one MNIST_DEMO_HOME (deploy/run.sh): the served-model choice and the one job, seen by all.
POINTER_POLL_S = 0.5  # how often a server stats the served-model choice; a switch anywhere serves everywhere in 2 s
JOB_LOCK = ".job.lock"  # in the models folder: flock held by the one process running a job, freed if it dies
JOB_STATE = "job.json"  # in the models folder: that job's snapshot, as its process last wrote it
JOB_CANCEL = ".job.cancel"  # in the models folder: another server asks the running job to stop
JOB_POLL_S = 0.5  # how often a server reads another's job state (and a running job looks for a cancel request)
JOB_STATE_POINTS = 400  # the curve points kept in job.json (thinned evenly), so the file stays small

# What personal models may take (mnist_core/personal/): on public links too, so capped like corrections.
MAX_PROFILES = 5_000  # past this, making a profile drops the ones unused longest
MAX_PROFILE_DRAWINGS = 200  # per profile, the newest kept: 20 of each digit is more than teaching needs
MAX_TEACH_BYTES = 4_000_000  # one /personalize request's drawings (each also at most MAX_DRAWING_BYTES)
MAX_TEACH_POINTS = 40_000  # … and their points in all: a pad digit has 50-300, so 30 digits are far below
CACHE_MODELS = 128  # personal memories kept in RAM (0.25 MB for 30 drawings, 0.5 MB at most), least recently used out
TEACH_PER_MINUTE = 6  # /personalize calls one visitor may make per minute: each adapts for a second or two
TEACH_BUDGET = 60  # /personalize calls everyone together may make per minute
