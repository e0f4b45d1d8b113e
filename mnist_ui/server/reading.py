"""Images from the network → readings: upload paths, API file payloads, refusals worded for the sender."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from gradio.utils import get_upload_folder

from mnist_core.serving.holder import ModelHolder
from mnist_core.serving.readings import BLANK_MESSAGE, Reading

UNREADABLE = "that file is not a readable image; send a PNG, JPEG, BMP, GIF or WebP"
NOT_UPLOADED = "that file was not uploaded to this server; send it with gradio_client's handle_file"


def uploaded_path(payload: Any) -> str | Reading | None:
    """A file the client uploaded (a path or a gradio FileData dict) → its path inside Gradio's upload folder.

    API payloads are not pre-processed by Gradio, so a client could name any file on the server:
    only files inside the upload folder are read.
    """
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(path, str) or not path:
        return Reading("error", UNREADABLE)
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(get_upload_folder()).resolve()):
        return Reading("error", NOT_UPLOADED)
    return str(resolved)


def editor_source(editor: Any) -> str | Reading | None:
    """A Sketchpad-shaped value {"background", "layers", "composite"}: the composite, else the top layer."""
    if not isinstance(editor, dict):
        return None if editor is None else Reading("error", UNREADABLE)
    if editor.get("composite") is not None:
        return uploaded_path(editor["composite"])
    layers = [layer for layer in editor.get("layers") or [] if layer is not None]
    return uploaded_path(layers[-1] if layers else editor.get("background"))


def read_files(
    holder: ModelHolder,
    sources: list[str | Reading | None],
    read: Callable[[list[str]], list[Reading]] | None = None,
) -> list[Reading]:
    """Never raises; a refused file is described without the server's temporary path. `read` reads the files
    (default: the served model's `read_many`; a visitor's own model otherwise)."""
    readings = [s if isinstance(s, Reading) else Reading("blank", BLANK_MESSAGE) for s in sources]
    todo = [i for i, s in enumerate(sources) if isinstance(s, str)]
    for i, reading in zip(todo, (read or holder.read_many)([cast(str, sources[i]) for i in todo]), strict=True):
        source = sources[i]
        assert isinstance(source, str)
        if reading.status == "error":
            reading = Reading(
                "error",
                UNREADABLE
                if "not a readable image" in reading.message
                else reading.message.replace(source, Path(source).name),
            )
        readings[i] = reading
    return readings
