"""The drawings store's files for the page and the API: export a zip (PNGs + labels.csv) or MNIST IDX files, import a
zip. On a public server only a logged-in user may: the drawings are other visitors'."""

from __future__ import annotations

import datetime as dt
import html
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr

from mnist_core.drawings import transfer
from mnist_core.drawings.store import DrawingError, StoreError
from mnist_core.errors import first_line
from mnist_ui.server.access import may_control
from mnist_ui.server.context import AppContext

EXPORT_DIR = Path(tempfile.gettempdir()) / "mnist-demo-exports"
EXPORT_KEEP_S = 3600.0
PRIVATE = "on a public server only a logged-in user may see or change the collected drawings"


def _export_folder() -> Path:
    """A fresh folder for one export; exports older than an hour are removed (Gradio keeps its own copy)."""
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    for old in EXPORT_DIR.iterdir():
        try:
            if time.time() - old.stat().st_mtime > EXPORT_KEEP_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-"), dir=EXPORT_DIR))


def export_zip(ctx: AppContext, request: gr.Request | None) -> tuple[list[str] | None, str]:
    """([the zip's path], one line): PNGs of what the model saw, the drawings as sent, labels.csv."""
    if not may_control(ctx, request):
        return None, f"not exported: {PRIVATE}"
    try:
        store = ctx.drawings.store()
        path = _export_folder() / "drawings.zip"
        count = transfer.export_zip(store, path)
    except StoreError as exc:
        return None, f"not exported: {ctx.drawings.failed(exc)}"
    except OSError as exc:
        return None, f"not exported: {first_line(exc)}"
    return [str(path)], f"exported {count:,} drawings to drawings.zip (labels.csv, digits/, strokes/, originals/)"


def export_idx(ctx: AppContext, request: gr.Request | None) -> tuple[list[str] | None, str]:
    """(the two gzipped MNIST IDX files, one line): read them like MNIST's own train-images/labels."""
    if not may_control(ctx, request):
        return None, f"not exported: {PRIVATE}"
    try:
        paths = transfer.export_idx(ctx.drawings.store(), _export_folder())
    except StoreError as exc:
        return None, f"not exported: {ctx.drawings.failed(exc)}"
    except OSError as exc:
        return None, f"not exported: {first_line(exc)}"
    return [str(p) for p in paths], f"exported as MNIST IDX files: {paths[0].name}, {paths[1].name}"


def import_zip(ctx: AppContext, path: str | None, request: gr.Request | None) -> str:
    """A zip the export made (labels.csv may be edited to relabel): good rows go in together, bad ones are
    listed and skipped, nothing is half-imported."""
    if not may_control(ctx, request):
        return f"not imported: {PRIVATE}"
    if not path:
        return "choose a zip made by “Export zip” first"
    try:
        added, skipped = transfer.import_zip(ctx.drawings.store(), path)
    except DrawingError as exc:
        return f"not imported: {exc}"
    except StoreError as exc:
        return f"not imported (nothing was added): {ctx.drawings.failed(exc)}"
    lines = [f"imported {added:,} drawing{'s' * (added != 1)}" + (f", skipped {len(skipped):,}:" if skipped else "")]
    lines += [f"- {html.escape(reason)}" for reason in skipped[:20]]
    if len(skipped) > 20:
        lines.append(f"- … and {len(skipped) - 20:,} more")
    return "\n".join(lines)
