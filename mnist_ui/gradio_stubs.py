"""Import Gradio without its type-stub writer: about a third of every server's start-up CPU.

Gradio 6 regenerates the `.pyi` stub of every component class each time it is imported (for its own
developers' editors: it parses each component's source and rewrites the stub if it differs). A served app
never reads those stubs, and each import spent ~1.3 of its ~3.8 CPU s on them here (`python -m
bench.cold_start` prints the CPU a start costs). The writer is swapped for a no-op as Gradio's module that
defines it loads, before any component class exists; nothing else of Gradio changes. If a Gradio release
drops the writer, this does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

MODULE = "gradio.component_meta"
WRITER = "create_or_modify_pyi"


def _no_stub(*_args: object, **_kwargs: object) -> None:
    """Served apps never read Gradio's stubs: nothing to write."""


class _StubWriterOff(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec else None
        if spec is None or not isinstance(loader, importlib.machinery.SourceFileLoader):
            return spec
        load = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            if hasattr(module, WRITER):
                setattr(module, WRITER, _no_stub)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_writer() -> None:
    """Install once, before Gradio's first import in this process; after it, there is nothing left to skip."""
    if MODULE not in sys.modules and not any(isinstance(f, _StubWriterOff) for f in sys.meta_path):
        sys.meta_path.insert(0, _StubWriterOff())
