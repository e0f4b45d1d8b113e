"""Hyper-parameters, presets and where things live: the one place the CLI, UI and tests read them."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = REPO_DIR / "assets"
SHIPPED_MODEL = ASSETS_DIR / "model.keras"

HOME_ENV = "MNIST_DEMO_HOME"


def is_shipped(path: str | os.PathLike) -> bool:
    """The shipped model is never deleted or pruned and needs no sidecar of its own to be trusted."""
    return Path(path).resolve() == SHIPPED_MODEL.resolve()


@dataclass(frozen=True)
class HyperParams:
    """Everything that decides what a training run produces.

    Frozen so a run's settings cannot drift after they were written to its sidecar.
    """

    epochs: int = 40
    batch_size: int = 128
    validation_split: float = 0.05
    hidden_units: int = 2048
    dropout: float = 0.5
    learning_rate: float = 2e-3
    lr_schedule: str = "one_cycle"  # "constant" or "one_cycle"
    seed: int = 0
    augment: bool = True
    rotation_deg: float = 12.0
    scale_range: float = 0.12
    shear: float = 0.1  # deskewing takes the slant out; only a little shear is left to cover
    shift_px: float = 2.0
    thickness: float = 0.5
    style_extras: bool = True
    deskew: bool = True  # train (and so serve) on slant-corrected digits: mnist_core.imaging.deskew.deskew
    train_subset: int = 0  # 0 = all training images; >0 = the first N (fast runs and tests)
    label_smoothing: float = 0.05
    pens: bool = True  # add real pen handwriting (UNIPEN's training writers), drawn as the web pad draws
    pen_variants: int = 6  # pad drawings made of each pen digit; every epoch picks one of them at random
    pen_weight: int = 2  # times each pen digit is seen per epoch (each time a different drawing)
    # The recipe was tuned on the validation writers; the shipped fit then trains on them too (the held-out
    # test writers are never used). Off, they stay out and are measured every epoch (val_accuracy).
    pen_val_writers: bool = True
    pen_styles: float = 0.0  # chance a training drawing of a plain 0/1/7 gets a slash/flag/crossbar (pen_styles.py)

    def replace(self, **changes: Any) -> HyperParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HyperParams:
        """Ignore unknown keys so sidecars written by newer versions still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self, limits: Limits | None = None) -> None:
        """Raise ValueError with a one-line, fixable message for out-of-range settings."""
        lim = limits or Limits()
        checks = [
            (1 <= self.epochs <= lim.max_epochs, f"epochs must be 1–{lim.max_epochs}"),
            (lim.min_batch <= self.batch_size <= lim.max_batch, f"batch size must be {lim.min_batch}–{lim.max_batch}"),
            (0.0 <= self.validation_split < 1.0, "validation split must be in [0, 1)"),
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


@dataclass(frozen=True)
class Limits:
    """Caps that stop one visitor from tying up the machine for hours."""

    max_epochs: int = 150
    min_batch: int = 8
    max_batch: int = 2048


UI_LIMITS = Limits(max_epochs=40, min_batch=32, max_batch=1024)  # 40: the default recipe fits

# The settings a person may change from the CLI (`train --batch-size …`) and the Train tab; the rest is the
# recipe, changed in code. CLI flags are generated from this and the field's type.
TUNABLE: dict[str, str] = {
    "epochs": "passes over the training data",
    "batch_size": "images per gradient step",
    "validation_split": "the last fraction of the training set, held out (the notebook's 0.999 leaves 60 images)",
    "learning_rate": "Adam's learning rate (the peak of the one-cycle schedule)",
    "dropout": "dropout after each hidden layer",
    "augment": "canvas-like distortions while training",
    "pens": "also train on real pen handwriting: UNIPEN's training writers, drawn as the pad draws",
    "pen_weight": "times each pen digit is seen per epoch, each time a different drawing of it",
    "pen_val_writers": "train on UNIPEN's validation writers too (off: they are held out to tune on)",
    "pen_styles": "chance a training drawing of a plain 0/1/7 gets a slash, flag or crossbar",
    "train_subset": "train on the first N MNIST training images only (0 = all)",
    "seed": "random seed of weights, shuffling, augmentation and pen drawings",
}

# The Spanish notebook exactly: validation_split=0.999 leaves 60 training images.
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
)

PRESETS: dict[str, HyperParams] = {
    "default": HyperParams(),  # the shipped recipe: the dataclass defaults
    "seed": NOTEBOOK,
    # A minute-long run for trying the Train tab: the notebook's plain training on a fifth of the data.
    "fast": NOTEBOOK.replace(epochs=2, batch_size=128, validation_split=0.1, train_subset=12000),
}


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
