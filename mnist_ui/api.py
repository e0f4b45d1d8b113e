"""The named API: what scripts call with gradio_client. Every answer is plain JSON; readings are the CLI's JSON.

Reading endpoints never raise: a bad file or malformed strokes come back as a reading with status
"error" and a one-line message. Training endpoints stream the job's state as dicts. Teaching endpoints
(/correct, /drawings, /import_drawings) never raise either: a refusal is one line that names the fix.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from mnist_core.config import FINETUNE_EPOCHS, TUNABLE
from mnist_core.imaging.strokes import StrokeError, parse
from mnist_core.serving.readings import Reading
from mnist_ui.server import access, actions
from mnist_ui.server.context import JOB_LANE, WATCH_LANE, AppContext
from mnist_ui.server.personal import SHARED, Answer
from mnist_ui.server.reading import editor_source, read_files, uploaded_path
from mnist_ui.server.transfers import export_idx, export_zip, import_zip
from mnist_ui.tabs.drawings import Exports

RETRAIN_DOC = """Start a training (one at a time per server) and stream its state until it ends.

settings: any of {names}; and drawings (true: also train on the collected drawings). The rest
comes from the preset. serve: serve the new model when it finishes, if it reads no worse than the serving one.
"""


def state(snap_json: dict[str, Any], notice: str = "", sees: bool = True) -> dict[str, Any]:
    """A job's JSON; for a caller who may not see the server's paths, new_path is the version's name (what
    /switch_version also takes) and paths in its lines are cut to file names."""
    answer = snap_json | ({"notice": notice} if notice else {})
    if sees:
        return answer
    hidden = {k: access.without_paths(v, False) for k, v in answer.items() if isinstance(v, str)}
    return answer | hidden | {"new_path": Path(answer["new_path"]).stem if answer.get("new_path") else ""}


def register(ctx: AppContext, exports: Exports) -> None:
    """Declare the endpoints inside the app's Blocks; `exports` are the Drawings tab's export buttons."""
    _reading_endpoints(ctx)
    _personal_endpoints(ctx)
    _training_endpoints(ctx)
    _teaching_endpoints(ctx)
    _import_endpoint(ctx)
    _finetune_endpoint(ctx)
    _export_endpoints(ctx, exports)


async def _stream(ctx: AppContext, refused: str, request: gr.Request | None) -> AsyncIterator[dict[str, Any]]:
    sees = access.sees_paths(ctx, request)
    async for snap, notice in actions.run(ctx, refused):
        yield state(snap.to_json(), notice, sees)


def _reading_endpoints(ctx: AppContext) -> None:
    """Readings never raise: bad input comes back as a reading with status "error"."""

    def predict(editors: list[dict[str, Any] | None]) -> tuple[list[dict[str, Any]]]:
        """Read a digit from a sketch-pad value {"background", "layers", "composite"} with image files.

        Batched: calls that wait in the queue together share one forward pass through the network.
        """
        readings = read_files(ctx.holder, [editor_source(e) for e in editors])
        return ([r.to_json(model=SHARED) for r in readings],)

    def predict_image(image: dict[str, Any] | None, profile: str | None = None) -> dict[str, Any]:
        """Read a digit from an image file (PNG, JPEG, …): black on white, white on black, transparent or a photo.
        profile: a key /personalize gave, to read with that visitor's model ("model" says which answered)."""
        return read_image(ctx, uploaded_path(image), profile)

    def predict_strokes(strokes: str | dict[str, Any] | None, profile: str | None = None) -> dict[str, Any]:
        """Read a digit from pen strokes: {"v": 1, "width": W, "height": H, "strokes": [[[x, y], ...], ...]}.
        profile: a key /personalize gave, to read with that visitor's model ("model" says which answered)."""
        try:
            drawing = parse(strokes)
        except StrokeError as exc:
            return Reading("error", str(exc)).to_json(model=SHARED)
        if ctx.personal is None:
            return ctx.holder.read_drawings([drawing])[0].to_json(model=SHARED)
        return ctx.personal.read_drawings([drawing], [profile])[0].to_json()

    def ping(editor: dict[str, Any] | None) -> dict[str, Any]:
        """Same input and transport as /predict, no model: the baseline for bench/api_load.py."""
        return Reading("blank", "pong").to_json()

    gr.api(predict, api_name="predict", batch=True, max_batch_size=8, concurrency_limit=4, concurrency_id="read")
    gr.api(predict_image, api_name="predict_image", concurrency_limit=4, concurrency_id="read")
    gr.api(predict_strokes, api_name="predict_strokes", concurrency_limit=4, concurrency_id="read")
    gr.api(ping, api_name="ping", concurrency_limit=4, api_visibility="undocumented")


def read_image(ctx: AppContext, source: str | Reading | None, profile: str | None) -> dict[str, Any]:
    """One uploaded image, read with the visitor's model when `profile` names one (refusals worded as usual)."""
    personal = ctx.personal
    if personal is None or not profile:
        return read_files(ctx.holder, [source])[0].to_json(model=SHARED)
    answers: list[Answer] = []

    def read(paths: list[Any]) -> list[Reading]:
        answers.extend(personal.read_images(paths, [profile] * len(paths)))
        return [a.reading for a in answers]

    reading = read_files(ctx.holder, [source], read)[0]
    first = answers[0] if answers else Answer(reading)
    return Answer(reading, first.model, first.note).to_json()


def _personal_endpoints(ctx: AppContext) -> None:
    """Each visitor's own model (docs/teaching.md): on public links too, it changes nothing anyone else sees."""

    def personalize(
        drawings: list[dict[str, Any]] | str, profile: str | None = None, request: gr.Request | None = None
    ) -> dict[str, Any]:
        """Teach a personal model: drawings is a JSON list of {"label": 0-9, "strokes": <the pad's value>}.
        They are added to profile (or a new one) and the model is adapted on all of them, in seconds.

        Returns {"profile": key, "drawings": N, "seconds": s, "message": one line}; a refusal has profile None.
        """
        return actions.personalize(ctx, drawings, profile, request)

    def forget_profile(profile: str) -> str:
        """Delete a profile: its drawings and its model. One line."""
        return actions.forget_profile(ctx, profile)

    gr.api(personalize, api_name="personalize", concurrency_limit=1, concurrency_id="personalize")
    gr.api(forget_profile, api_name="forget_profile", concurrency_limit=4, concurrency_id="correct")


def _training_endpoints(ctx: AppContext) -> None:
    """One training at a time per server; its state streams as dicts."""

    async def retrain(
        settings: dict[str, Any] | None = None,
        preset: str = "fast",
        serve: bool = True,
        request: gr.Request | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        owner = access.session_of(request)
        async for answer in _stream(ctx, actions.start(ctx, preset, dict(settings or {}), serve, owner), request):
            yield answer

    retrain.__doc__ = RETRAIN_DOC.format(names=", ".join(TUNABLE))

    async def watch(request: gr.Request | None = None) -> AsyncIterator[dict[str, Any]]:
        """Stream the running (or last) training's state without starting one."""
        async for answer in _stream(ctx, "", request):
            yield answer

    def cancel(request: gr.Request) -> str:
        """Stop the running training within a batch; nothing is saved."""
        return actions.cancel(ctx, request)

    def switch(path: str, request: gr.Request) -> str:
        """Serve a saved version (its path, as `models` lists it) or the shipped model from now on."""
        return access.without_paths(actions.switch(ctx, path, request), access.sees_paths(ctx, request))

    gr.api(retrain, api_name="retrain", **JOB_LANE)
    gr.api(watch, api_name="watch", **WATCH_LANE)
    gr.api(cancel, api_name="cancel", concurrency_limit=None)
    gr.api(switch, api_name="switch_version", concurrency_limit=2)


def _teaching_endpoints(ctx: AppContext) -> None:
    """Corrections (never raise: a refusal is saved=False with one line) and fine-tuning on them."""

    def correct(
        label: int,
        strokes: str | dict[str, Any] | None = None,
        image: dict[str, Any] | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """Keep a drawing with its right label: the pad's strokes (as /predict_strokes takes them) or an image
        file (handle_file). The server reads it again with the serving model and stores both.

        Returns {"saved", "message", "id", "label", "predicted", "total", "of_label"}; message is e.g.
        "saved — 37 drawings collected (5 of 7)" or "not saved: <why, and what to do>".
        """
        source: dict[str, Any] = {"strokes": strokes}
        if strokes is None and image is not None:
            path = uploaded_path(image)
            if isinstance(path, Reading):
                return {"saved": False, "message": f"not saved: {path.message}"}
            source = {"image": path}
        done = ctx.drawings.correct(ctx.holder.current, label, source, access.visitor(request)).to_json()
        return done | {"message": access.without_paths(done["message"], access.sees_paths(ctx, request))}

    def drawings(request: gr.Request | None = None) -> dict[str, Any]:
        """How many drawings are kept: per digit, in all, read wrong, held out to measure fine-tunes; the database
        file to a local or logged-in caller, "kept on this server" to others."""
        collector, sees = ctx.drawings, access.sees_paths(ctx, request)
        counts = collector.counts()
        if counts is None:
            return {"kept": False, "message": access.without_paths(collector.problem, sees) or collector.where()}
        return {
            "kept": True,
            "per_digit": list(counts.per_digit),
            "total": counts.total,
            "wrong": counts.wrong,
            "holdout": counts.holdout,
            "database": access.shown_path(collector.path, sees),  # not "path": gradio_client would fetch it
        }

    gr.api(correct, api_name="correct", concurrency_limit=4, concurrency_id="correct")
    gr.api(drawings, api_name="drawings", concurrency_limit=4, concurrency_id="correct")


def _import_endpoint(ctx: AppContext) -> None:
    """Drawings kept on another server (its /export_drawings zip) join this one's collection."""

    def import_drawings(file: dict[str, Any] | None, request: gr.Request | None = None) -> str:
        """Import a zip /export_drawings made (handle_file): good rows go in together, bad ones are skipped and
        listed, rows already kept are skipped; one line per problem."""
        path = uploaded_path(file)
        if isinstance(path, Reading):
            return f"not imported: {path.message}"
        return access.without_paths(import_zip(ctx, path, request), access.sees_paths(ctx, request))

    gr.api(import_drawings, api_name="import_drawings", concurrency_id="drawings")


def _finetune_endpoint(ctx: AppContext) -> None:
    """Fine-tuning on the collected drawings runs as the server's one job, like /retrain."""

    async def finetune(
        epochs: int = FINETUNE_EPOCHS, serve: bool = True, request: gr.Request | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Fine-tune the serving model on the collected drawings (one job at a time, like /retrain) and stream
        its state; it is served only if it reads MNIST test and the held-out drawings no worse."""
        refused = actions.start_finetune(ctx, epochs, serve, access.session_of(request))
        async for answer in _stream(ctx, refused, request):
            yield answer

    gr.api(finetune, api_name="finetune", **JOB_LANE)


def _export_endpoints(ctx: AppContext, exports: Exports) -> None:
    """The Drawings tab's export buttons are these endpoints: an answer with files needs a File component.

    Each returns ([file paths], one line); on a public server only a logged-in user may export.
    """

    def export_drawings(request: gr.Request) -> tuple[list[str] | None, str]:
        return export_zip(ctx, request)

    def export_drawings_idx(request: gr.Request) -> tuple[list[str] | None, str]:
        return export_idx(ctx, request)

    lane: dict[str, Any] = {"show_progress": "hidden", "concurrency_id": "drawings"}
    outputs = [exports.files, exports.status]
    exports.zip_btn.click(export_drawings, None, outputs, api_name="export_drawings", **lane)
    exports.idx_btn.click(export_drawings_idx, None, outputs, api_name="export_drawings_idx", **lane)
