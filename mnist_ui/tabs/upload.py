"""Upload tab: a photo, scan or file of one digit, with examples to click."""

from __future__ import annotations

from typing import Any

import gradio as gr

from mnist_core.config import ASSETS_DIR
from mnist_ui.components import correct_bar
from mnist_ui.components.results import ResultPanel
from mnist_ui.server.context import AppContext
from mnist_ui.server.reading import read_files
from mnist_ui.text.words import T

EXAMPLES_DIR = ASSETS_DIR / "examples"
HINT = "upload a picture of one digit"


def tolerate_bad_files(component: gr.Image) -> None:
    """A non-image upload reaches our reader (which answers with a message) instead of a traceback.

    Wraps the instance's preprocess rather than subclassing: Gradio writes a .pyi stub next to any
    module that defines a component subclass.
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except Exception:  # noqa: BLE001 - Pillow refused the sender's file; our reader words the refusal
            return None if payload is None or payload.path is None else str(payload.path)

    component.preprocess = preprocess  # type: ignore[method-assign]


def image_source(path: str | None) -> dict[str, Any]:
    """What the correct buttons keep from the Upload tab: the uploaded file."""
    return {"image": path}


def build(ctx: AppContext) -> None:
    with gr.Tab(T("tab.upload"), id="upload", elem_id="tab-upload"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gr.Markdown(T("upload.title"))  # above the picture: a label tag would cover it
                upload = gr.Image(
                    label=T("upload.label"),
                    show_label=False,
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    height=360,
                    elem_id="upload-image",
                )
            with gr.Column(scale=2, min_width=300):
                panel = ResultPanel(HINT, prefix="up-")
                correct_bar.build(ctx, upload, image_source, prefix="up-")
        examples = sorted(EXAMPLES_DIR.glob("*.png"))
        if examples:
            gr.Examples(
                [[str(p)] for p in examples],
                inputs=[upload],
                label=T("upload.examples"),
                elem_id="examples",
                examples_per_page=12,
            )
    tolerate_bad_files(upload)

    def on_upload(path: str | None) -> dict[Any, Any]:
        return panel.show(read_files(ctx.holder, [path])[0])

    upload.change(
        on_upload,
        upload,
        panel.outputs,
        show_progress="hidden",
        concurrency_limit=4,
        api_name="predict_upload",
        api_visibility="private",
    )
