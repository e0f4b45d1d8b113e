"""The drawings store's files for the page and the API: export a zip (PNGs + labels.csv) or MNIST IDX files, import a
zip. On a public server only a logged-in user may: the drawings are other visitors'.

Exports are written in a folder private to the server (0700 under the demo's home; one found there that is a link,
someone else's or open to others is not used as it is), and Gradio serves them from its own copy. An import keeps
to the import limits (`mnist_ui.server.limits`), one at a time; its answer is plain text, shown as text.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

import gradio as gr

from mnist_core.config import user_home
from mnist_core.drawings import transfer
from mnist_core.drawings.store import DrawingError, StoreBusy, StoreError, StoreFull
from mnist_core.errors import first_line
from mnist_ui.server.access import may_control, visitor
from mnist_ui.server.context import AppContext
from mnist_ui.server.limits import IMPORTS

EXPORT_KEEP_S = 3600.0
PRIVATE = "on a public server only a logged-in user may see or change the collected drawings"
SKIPS_SHOWN = 20


def export_root() -> Path:
    """The server's folder for exports, `exports/` in the demo's home: made 0700, or, when it is there already,
    used only if it is a real folder of this user's (made 0700 if others could read it); OSError in one line."""
    root = user_home() / "exports"
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        pass
    found = os.lstat(root)
    if not stat.S_ISDIR(found.st_mode):
        raise OSError(f"the export folder {root} is not a folder (a link?); remove it and export again")
    if found.st_uid != os.getuid():
        raise OSError(f"the export folder {root} belongs to another user; remove it and export again")
    if found.st_mode & 0o077:
        root.chmod(0o700)
    return root


def _export_folder() -> Path:
    """A fresh folder for one export; exports older than an hour are removed (Gradio keeps its own copy), and
    anything in the folder that is not a folder of ours is taken out, never followed."""
    root = export_root()
    for old in root.iterdir():
        try:
            found = os.lstat(old)
            if not stat.S_ISDIR(found.st_mode):
                old.unlink()
            elif time.time() - found.st_mtime > EXPORT_KEEP_S:
                shutil.rmtree(old)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-"), dir=root))


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
    listed and skipped, nothing is half-imported. Plain text: the page shows it as text, never as Markdown."""
    if not may_control(ctx, request):
        return f"not imported: {PRIVATE}"
    if not path:
        return "choose a zip made by “Export zip” first"
    try:
        store = ctx.drawings.store()
        if refused := ctx.drawings.gate.refusal(IMPORTS, visitor(ctx, request)):
            return f"not imported: {refused}"
        added, skipped = transfer.import_zip(store, path)
    except (DrawingError, StoreBusy) as exc:
        return f"not imported: {exc}"
    except StoreFull as exc:
        return f"not imported (nothing was added): {exc}"
    except StoreError as exc:
        return f"not imported (nothing was added): {ctx.drawings.failed(exc)}"
    lines = [f"imported {added:,} drawing{'s' * (added != 1)}" + (f", skipped {len(skipped):,}:" if skipped else "")]
    lines += [f"- {reason}" for reason in skipped[:SKIPS_SHOWN]]
    if len(skipped) > SKIPS_SHOWN:
        lines.append(f"- … and {len(skipped) - SKIPS_SHOWN:,} more")
    return "\n".join(lines)
