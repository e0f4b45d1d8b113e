"""What Gradio keeps for each session, made small and bounded (issue #36).

Gradio 6 makes a `SessionState` for every new session hash it sees: every browser tab, but also every call of
the documented two-step API (`/gradio_api/call/…`, which makes a hash per call) and every request to a
server function, which any client may send with a new hash each time, even for a function that does not
exist. Each one copied the configuration of every component on the page (`config_values`, ~250 KB here)
for Gradio's deep links, which this demo never offers; 10,000 of them (Gradio's default capacity) took a
server from 224 MB to 2,982 MB. A lean session fills that copy only for the components an event of that
session changed, and builds the rest if a deep link ever asks; at most SESSIONS are kept, least recently
used dropped first (a dropped tab that comes back starts a fresh one: only an open gallery selection is lost).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio.state_holder
from gradio.state_holder import SessionState

SESSIONS = 2_000  # Gradio's state_session_capacity: tabs and API clients held at once; each lean one ~14 KB


class _Page:
    """What `SessionState.__init__` reads of the app: its default configuration, and no components to copy."""

    def __init__(self, blocks: Any) -> None:
        self.default_config = blocks.default_config
        self.blocks: dict[int, Any] = {}


class LeanSessionState(SessionState):
    """Gradio's session, without the up-front copy of every component's configuration."""

    def __init__(self, blocks: Any) -> None:
        super().__init__(_Page(blocks))  # type: ignore[arg-type]  # duck-typed: what __init__ reads
        self._page_blocks = blocks.blocks  # the app's own dict: shared, not copied

    @property
    def components(self) -> Iterator[dict]:
        """Every component's configuration as this session has it, built when asked (deep links only)."""
        for key, block in list(self.blocks_config.blocks.items()):
            if key in self._page_blocks:
                config = self.config_values.get(key) or self.blocks_config.config_for_block(key, [], block)
                if config:
                    yield config


def lean_sessions() -> None:
    """From now on, Gradio's state holder makes lean sessions (it looks the class up at each new session)."""
    gradio.state_holder.SessionState = LeanSessionState  # type: ignore[misc]
