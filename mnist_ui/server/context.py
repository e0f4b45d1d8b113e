"""What every tab needs from the server: the serving model, the training job, and the launch decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnist_core.drawings.policy import Network
from mnist_core.serving.holder import ModelHolder
from mnist_core.serving.jobs import JobManager
from mnist_core.serving.other import OtherNetwork

if TYPE_CHECKING:
    from mnist_ui.server.collect import Collector
    from mnist_ui.server.personal import PersonalModels


# Streams that follow a training hold one of Gradio's 40 event slots (its max_threads) while open, async
# or not; with 40 watchers /predict and /cancel would wait for the training to end. Each kind of stream
# gets a lane of its own, so reading and cancelling always find a free slot (the rest queue, in order).
WATCH_LANE: dict[str, Any] = {"concurrency_limit": 8, "concurrency_id": "watch"}
JOB_LANE: dict[str, Any] = {"concurrency_limit": 4, "concurrency_id": "job"}  # start and follow a training


@dataclass(frozen=True)
class Settings:
    """Launch decisions the pages need to know about."""

    retrain_allowed: bool = True
    retrain_reason: str = ""
    public: bool = False  # --share or a non-loopback host: visitors are strangers to each other
    trusted_proxies: tuple[Network, ...] = ()  # --trusted-proxy: whose X-Forwarded-For names the client


@dataclass(frozen=True)
class AppContext:
    holder: ModelHolder
    jobs: JobManager
    settings: Settings
    started_with: Path | None = None  # the model the server started with: always one may switch back to
    collector: Collector | None = None  # corrected drawings; None = not kept (as on a public demo without --collect)
    personal: PersonalModels | None = None  # each visitor's own model; None = readings are all shared
    networks: OtherNetwork = field(default_factory=OtherNetwork)  # the other network, read beside when asked

    @property
    def drawings(self) -> Collector:
        """The collector, or a disabled one that explains itself."""
        if self.collector is None:
            from mnist_ui.server.collect import Collector

            return Collector(enabled=False, disabled_reason="this server was started without a drawings store")
        return self.collector
