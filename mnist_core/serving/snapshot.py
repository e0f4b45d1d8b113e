"""What a page sees of the server's job: an immutable snapshot, one class per job kind with only its own fields.

Every request gets a whole snapshot, so a page that polls while the worker writes never sees half an update.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from mnist_core.config import HyperParams

JobState = Literal["idle", "loading", "training", "saving", "completed", "cancelled", "failed"]
JobKind = Literal["train", "finetune"]
RUNNING: tuple[JobState, ...] = ("loading", "training", "saving")
WHAT: dict[JobKind, str] = {"train": "training", "finetune": "fine-tune"}
DOWNLOADING = "downloading"  # a loading job's message while MNIST comes in: shown as it is

# The API's answer has every key in every state (None where this job kind measures nothing), so a client reads
# one shape whatever ran last.
_NOT_MEASURED: dict[str, Any] = {
    "old_pen_accuracy": None,
    "new_pen_accuracy": None,
    "old_holdout": None,
    "new_holdout": None,
    "holdout_count": 0,
}


@dataclass(frozen=True)
class Snapshot:
    """What every job shows: its state, progress, curve, the serving model before and the new one after.

    A bare Snapshot is the idle server (no job yet); a job's is a TrainSnapshot or a FinetuneSnapshot.
    """

    kind: ClassVar[JobKind] = "train"  # what the idle server's Retrain button would start
    job_id: int = 0
    state: JobState = "idle"
    owner: str = ""  # who started it (a browser session or API client): who may cancel it on a public server
    message: str = "no training has run since the server started"
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    fraction: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    curve: tuple[tuple[float, str, float], ...] = ()  # (epochs done, series, value)
    old_label: str = ""
    old_accuracy: float | None = None
    old_per_class: tuple[float, ...] = ()
    new_path: str = ""
    new_accuracy: float | None = None
    new_per_class: tuple[float, ...] = ()
    activated: bool = False
    drawings: int = 0  # collected drawings the run learns from
    reason: str = ""  # the serve gate's verdict: why the new model is (not) served

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def what(self) -> str:
        """'training #3' or 'fine-tune #4'."""
        return f"{WHAT[self.kind]} #{self.job_id}"

    def where(self) -> str:
        """'epoch 2/5, batch 40/94 (47%), about 30 s left' — the one line a watcher wants."""
        if not self.running:
            return self.message
        if self.state == "saving":
            return "evaluating on the test sets and saving"
        if self.state == "loading":
            if self.message.startswith(DOWNLOADING):
                return self.message
            return "loading the MNIST training data" + (" and the collected drawings" if self.drawings else "")
        if not self.epochs:
            return "starting (building the model)"
        eta = f", about {self.eta_s:.0f} s left" if self.eta_s is not None else ""
        return f"epoch {self.epoch}/{self.epochs}, batch {self.batch}/{self.batches} ({self.fraction:.0%}){eta}"

    def to_json(self) -> dict[str, Any]:
        """The API view: plain numbers and strings."""
        return (
            {
                "job_id": self.job_id,
                "state": self.state,
                "message": self.message,
                "where": self.where(),
                "epoch": self.epoch,
                "epochs": self.epochs,
                "batch": self.batch,
                "batches": self.batches,
                "fraction": round(self.fraction, 4),
                "eta_s": self.eta_s,
                "points": len(self.curve),
                "old_accuracy": self.old_accuracy,
                "new_accuracy": self.new_accuracy,
                "new_path": self.new_path,
                "activated": self.activated,
                "kind": self.kind,
                "drawings": self.drawings,
                "reason": self.reason,
            }
            | _NOT_MEASURED
            | self._measured()
        )

    def _measured(self) -> dict[str, Any]:
        return {}

    def to_state(self, max_points: int) -> dict[str, Any]:
        """Every field as JSON, for the other servers (`from_state`); the curve thinned to about `max_points`."""
        state = dataclasses.asdict(self)
        state["kind"] = self.kind
        state["curve"] = thin(self.curve, max_points)
        return state


@dataclass(frozen=True)
class TrainSnapshot(Snapshot):
    """A model trained from scratch, also compared on real handwriting when the server has UNIPEN."""

    kind: ClassVar[JobKind] = "train"
    hp: HyperParams | None = None
    old_pen_accuracy: float | None = None
    new_pen_accuracy: float | None = None

    def _measured(self) -> dict[str, Any]:
        return {"old_pen_accuracy": self.old_pen_accuracy, "new_pen_accuracy": self.new_pen_accuracy}


@dataclass(frozen=True)
class FinetuneSnapshot(Snapshot):
    """The serving model fine-tuned on the collected drawings, compared on their held-out fifth."""

    kind: ClassVar[JobKind] = "finetune"
    old_holdout: float | None = None
    new_holdout: float | None = None
    holdout_count: int = 0

    def _measured(self) -> dict[str, Any]:
        return {"old_holdout": self.old_holdout, "new_holdout": self.new_holdout, "holdout_count": self.holdout_count}


Point = tuple[float, str, float]
_KINDS: dict[str, type[Snapshot]] = {"train": TrainSnapshot, "finetune": FinetuneSnapshot}
_TUPLES = ("old_per_class", "new_per_class")


def from_state(state: dict[str, Any]) -> Snapshot:
    """The snapshot `to_state` wrote; KeyError, TypeError or ValueError when it is not one."""
    cls = _KINDS[state["kind"]]
    known = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in state.items() if k in known}
    values["curve"] = tuple((float(x), str(series), float(y)) for x, series, y in values.get("curve", ()))
    values |= {name: tuple(float(v) for v in values[name]) for name in _TUPLES if name in values}
    if isinstance(values.get("hp"), dict):
        values["hp"] = HyperParams.from_dict(values["hp"])
    return cls(**values)


def thin(curve: tuple[Point, ...], max_points: int) -> tuple[Point, ...]:
    """Every k-th point of each series and its last, in order: the shape of the curve in a bounded size."""
    if len(curve) <= max_points:
        return curve
    step = math.ceil(len(curve) / max_points)
    series: dict[str, list[int]] = {}
    for i, (_, name, _) in enumerate(curve):
        series.setdefault(name, []).append(i)
    keep = {i for indices in series.values() for i in [*indices[::step], indices[-1]]}
    return tuple(point for i, point in enumerate(curve) if i in keep)
