"""What the API and the pages both do: who is asking, start / follow / cancel a job, switch the served model.

One implementation per action, so a refusal reads the same from a button and from gradio_client.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from mnist_core.config import FINETUNE_EPOCHS, TUNABLE, HyperParams, preset
from mnist_core.drawings.store import StoreError
from mnist_core.errors import first_line
from mnist_core.model.files import ModelError
from mnist_core.model.versions import describe_time, known_models
from mnist_core.serving.jobs import Snapshot
from mnist_ui.server.access import may_control, session_of, visitor
from mnist_ui.server.context import AppContext
from mnist_ui.text.format import percent

POLL_S = 0.5
NOT_SWITCHED = "not switched: on a public server only a logged-in user may switch models"


def settings_from(preset_name: str, values: dict[str, Any]) -> HyperParams:
    """A preset with the page's (or an API caller's) values for tunable fields; ValueError (one line) if bad."""
    unknown = set(values) - set(TUNABLE)
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r}; settings are {', '.join(TUNABLE)}")
    defaults = HyperParams()
    try:
        changes = {k: _cast(getattr(defaults, k), v) for k, v in values.items()}
        return preset(preset_name).replace(**changes)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(first_line(exc)) from None


def _cast(default: Any, value: Any) -> Any:
    """The field's own type: a slider's 3.0 epochs is 3; NaN and a fraction of an epoch are refused."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if isinstance(default, int):
        number = float(value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def start(ctx: AppContext, preset_name: str, values: dict[str, Any], serve: bool, owner: str) -> str:
    """'' when a run started, else the one-line reason it did not."""
    if not ctx.settings.retrain_allowed:
        return f"retraining is disabled: {ctx.settings.retrain_reason}"
    values = dict(values)
    include = values.pop("drawings", False)
    if not isinstance(include, bool):
        return f"not started: drawings must be true or false, got {include!r}"
    try:
        hp = settings_from(preset_name, values)
        drawings = ctx.drawings.store() if include else None
    except ValueError as exc:
        return f"not started: {exc}"
    except StoreError as exc:
        return f"not started: the collected drawings cannot be read ({exc}); untick them or fix the database"
    started, message = ctx.jobs.start(hp, activate=serve, owner=owner, drawings=drawings)
    return "" if started else message


def start_finetune(ctx: AppContext, epochs: Any, serve: bool, owner: str) -> str:
    """'' when a fine-tune started, else the one-line reason it did not."""
    if not ctx.settings.retrain_allowed:
        return f"fine-tuning is disabled: {ctx.settings.retrain_reason}"
    try:
        rounds = _cast(FINETUNE_EPOCHS, epochs)
        store = ctx.drawings.store()
    except (TypeError, ValueError) as exc:
        return f"not started: epochs: {first_line(exc)}"
    except StoreError as exc:
        return f"not started: {exc}"
    started, message = ctx.jobs.start_finetune(store, rounds, activate=serve, owner=owner)
    return "" if started else message


async def follow(ctx: AppContext) -> AsyncIterator[Snapshot]:
    """The job's snapshots until it ends; async, so a watching page holds no worker thread while it waits."""
    last: tuple[int, str, int, float] | None = None
    beat = 0.0
    loop = asyncio.get_running_loop()
    while True:
        snap = ctx.jobs.snapshot()
        key = (snap.job_id, snap.state, len(snap.curve), round(snap.fraction, 3))
        if key != last or loop.time() - beat > 2.0:
            last, beat = key, loop.time()
            yield snap
        if not snap.running:
            return
        await asyncio.sleep(POLL_S)


async def run(ctx: AppContext, refused: str = "") -> AsyncIterator[tuple[Snapshot, str]]:
    """(snapshot, notice): the refusal once with the current state, else the job's snapshots until it ends."""
    if refused:
        yield ctx.jobs.snapshot(), refused
        return
    async for snap in follow(ctx):
        yield snap, ""


def cancel(ctx: AppContext, request: gr.Request | None) -> str:
    """Stop the running job within a batch: anyone trusted, else only the session that started it."""
    return ctx.jobs.cancel(who=None if may_control(ctx, request) else session_of(request))


def version_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, path): trained versions newest first, the shipped model, the model the server started with."""
    choices = []
    for version in known_models():
        name = "shipped model" if version.shipped else version.name
        acc = version.metadata.get("metrics", {}).get("test_accuracy")
        when = "" if version.shipped else f" · {describe_time(version.metadata.get('created'))}"
        choices.append(
            (name if acc is None else f"{name} · {percent(acc)} MNIST test{when}", str(version.path.resolve()))
        )
    start = ctx.started_with
    if start is not None and str(start.resolve()) not in [p for _, p in choices]:
        choices.insert(0, (f"{start.stem} (started with --model)", str(start.resolve())))
    return choices


def switch_version(ctx: AppContext, path: str | None) -> str:
    """Serve another saved version (or the shipped model) from now on: its path (relative ones are resolved) or
    its name, the file name without `.keras` that a viewer who may not see paths is given instead."""
    if not ctx.settings.retrain_allowed:
        return f"switching models is disabled: {ctx.settings.retrain_reason}"
    if not path:
        return "pick a version first"
    known = [p for _, p in version_choices(ctx)]
    resolved = str(Path(path).expanduser().resolve())
    if resolved not in known:  # a version's name, as a viewer who may not see paths picks it
        resolved = next((p for p in known if Path(p).stem == path), "")
    if not resolved:
        return f"not switched: {path} is not a saved version"
    try:
        served = ctx.holder.switch_to(Path(resolved))
    except (ModelError, OSError) as exc:
        return f"not switched: {first_line(exc)}"
    return f"now serving the {served.label}"


def switch(ctx: AppContext, path: str | None, request: gr.Request | None) -> str:
    """`switch_version` for a trusted caller; the one refusal line for anyone else."""
    return switch_version(ctx, path) if may_control(ctx, request) else NOT_SWITCHED


NO_PERSONAL = "personal models are off on this server (it was started without a drawings database)"


def personalize(ctx: AppContext, drawings: Any, profile: str | None, request: gr.Request | None) -> dict[str, Any]:
    """Teach `profile`'s model (or a new one) from drawings; a refusal is {"profile": None, …, "message": one line}."""
    if ctx.personal is None:
        return {"profile": None, "drawings": 0, "seconds": 0.0, "message": NO_PERSONAL}
    return ctx.personal.teach(drawings, profile or None, visitor(request) or "anyone").to_json()


def forget_profile(ctx: AppContext, profile: str | None) -> str:
    """Delete a profile's drawings and model; one line either way."""
    return NO_PERSONAL if ctx.personal is None else ctx.personal.forget(profile)


def describe_profile(ctx: AppContext, profile: str | None) -> str:
    return "" if ctx.personal is None else ctx.personal.describe(profile)


def share_drawings(ctx: AppContext, drawings: list[dict[str, Any]], request: gr.Request | None) -> str:
    """Only on the visitor's say-so: their teaching drawings join the shared collection, as corrections do."""
    served, who, kept = ctx.holder.current, visitor(request), 0
    last = ""
    for item in drawings:
        done = ctx.drawings.correct(served, item["label"], {"strokes": item["strokes"]}, who)
        kept, last = kept + done.saved, last if done.saved else done.message
    return f"shared {kept} of {len(drawings)} drawings with the collection" + (f" ({last})" if last else "")
