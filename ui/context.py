"""What every tab needs from the server: the serving model, the training job, and the launch decisions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnist_core.jobs import JobManager
from mnist_core.serving import ModelHolder


@dataclass(frozen=True)
class Settings:
    """Launch decisions the pages need to know about."""

    retrain_allowed: bool = True
    retrain_reason: str = ""
    public: bool = False  # --share or a non-loopback host: visitors are strangers to each other


@dataclass(frozen=True)
class AppContext:
    holder: ModelHolder
    jobs: JobManager
    settings: Settings
    started_with: Path | None = None  # the model the server started with: always one may switch back to
