"""Train tab: retrain with a preset and your settings, live curves, cancel, old vs new, switch versions."""

from __future__ import annotations

import asyncio
import html
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from mnist_core.config import PRESETS, SHIPPED_MODEL, TUNABLE, UI_LIMITS, HyperParams, preset
from mnist_core.drawings.store import StoreError
from mnist_core.errors import first_line
from mnist_core.model.files import ModelError, read_metadata
from mnist_core.model.versions import list_versions
from mnist_core.serving.jobs import Snapshot
from mnist_ui.context import JOB_LANE, WATCH_LANE, AppContext
from mnist_ui.model_tab import describe_time
from mnist_ui.results import DIGITS

POLL_S = 0.5
FINETUNE_EPOCHS = 3
PRESET_INFO = "default = the shipped recipe (about 20 min); fast ≈ a minute; seed = the Spanish notebook exactly"


CONTROLS: dict[str, Callable[[Any], gr.components.Component]] = {  # a control per tunable field the page shows
    "epochs": lambda v: gr.Slider(1, UI_LIMITS.max_epochs, value=v, step=1, label="Epochs"),
    "batch_size": lambda v: gr.Slider(UI_LIMITS.min_batch, UI_LIMITS.max_batch, value=v, step=1, label="Batch size"),
    "validation_split": lambda v: gr.Slider(0.0, 0.999, value=v, step=0.001, label="Validation split"),
    "learning_rate": lambda v: gr.Number(v, label="Learning rate", minimum=1e-6, maximum=0.1),
    "dropout": lambda v: gr.Slider(0.0, 0.9, value=v, step=0.05, label="Dropout"),
    "augment": lambda v: gr.Checkbox(v, label="Augmentation (canvas-like distortions)"),
    "pens": lambda v: gr.Checkbox(v, label="Include real pen handwriting (UNIPEN's training writers)"),
    "train_subset": lambda v: gr.Number(v, visible=False, precision=0),  # set from ?subset=N
}


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


def curve_frames(snap: Snapshot) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Loss and accuracy curves for the live plots.

    Gradio 6.31's LinePlot fixes its series on the first data it draws: an empty frame leaves it
    blank for good, and a series that appears later (validation, at the first epoch end) is never
    drawn. So: None until there is data, and every series present from the start (a NaN point).
    """
    if not snap.curve:
        return None, None
    start = snap.curve[0][0]
    placeholders = [(start, f"validation {name}", math.nan) for name in ("loss", "accuracy")]
    frame = pd.DataFrame(list(snap.curve) + placeholders, columns=["epoch", "series", "value"])
    is_loss = frame["series"].str.endswith("loss")
    return frame[is_loss].reset_index(drop=True), frame[~is_loss].reset_index(drop=True)


def status_html(snap: Snapshot, notice: str = "") -> str:
    head = f"<p><b>{html.escape(notice)}</b></p>" if notice else ""
    if snap.state == "idle":
        return head + "<p>No training yet. Choose settings and press <b>Retrain</b>.</p>"
    title = {
        "loading": "Preparing",
        "training": "Training",
        "saving": "Saving",
        "completed": "Done",
        "cancelled": "Cancelled",
        "failed": "Failed",
    }[snap.state]
    if snap.kind == "finetune":
        title = title.replace("Training", "Fine-tuning")
    bar = f'<progress value="{snap.fraction:.3f}" max="1"></progress>' if snap.running else ""
    what = "fine-tune" if snap.kind == "finetune" else "training"
    return (
        f"{head}<p><b>{title} ({what} #{snap.job_id})</b> — {html.escape(snap.where())}</p>{bar}"
        f"<p style='opacity:.7'>elapsed {snap.elapsed_s:.0f} s</p>"
    )


def comparison_md(snap: Snapshot) -> str:
    """Old vs new: MNIST test overall and per digit, and real handwriting where measured."""
    if snap.state != "completed" or snap.new_accuracy is None:
        return ""
    if snap.kind == "finetune":
        return finetune_md(snap)

    def pct(a: float | None) -> str:
        return "—" if a is None else f"{a:.2%}"

    old_cells = [f"{a:.1%}" for a in snap.old_per_class] if snap.old_per_class else ["—"] * 10
    lines = [
        "### Old vs new",
        "| model | MNIST test | real handwriting | " + " | ".join(DIGITS) + " |",
        "|---|---:|---:|" + "---:|" * 10,
        f"| old: {html.escape(snap.old_label)} | {pct(snap.old_accuracy)} | {pct(snap.old_pen_accuracy)} | "
        + " | ".join(old_cells)
        + " |",
        f"| new: {Path(snap.new_path).stem} | **{pct(snap.new_accuracy)}** | **{pct(snap.new_pen_accuracy)}** | "
        + " | ".join(f"{a:.1%}" for a in snap.new_per_class)
        + " |",
    ]
    verdict = (
        "The new model is serving now."
        if snap.activated
        else "The old model is still serving; pick the new version below to switch."
    )
    return "\n".join(lines) + f"\n\n{verdict}"


def finetune_md(snap: Snapshot) -> str:
    """Before vs after a fine-tune: MNIST test and the held-out collected drawings, and why it is (not) served."""

    def pct(a: float | None) -> str:
        return "—" if a is None else f"{a:.2%}"

    lines = [
        "### Before vs after fine-tuning",
        f"| model | MNIST test | held-out collected drawings ({snap.holdout_count:,}) |",
        "|---|---:|---:|",
        f"| before: {html.escape(snap.old_label)} | {pct(snap.old_accuracy)} | {pct(snap.old_holdout)} |",
        f"| after: {Path(snap.new_path).stem} | **{pct(snap.new_accuracy)}** | **{pct(snap.new_holdout)}** |",
    ]
    if snap.activated:
        verdict = (
            "The fine-tuned model is serving now: it reads the held-out drawings no worse and MNIST test "
            "within the allowed drop."
        )
    elif snap.reason.startswith("keep"):
        verdict = f"Not served — {html.escape(snap.reason.removeprefix('keep the current model: '))}."
        verdict += " It is kept as a version below."
    else:
        verdict = "The old model is still serving; pick the new version below to switch."
    return "\n".join(lines) + f"\n\nLearnt from {snap.drawings:,} collected drawings. {verdict}"


def drawings_label(ctx: AppContext) -> str:
    """The Train tab's checkbox: how many collected drawings a retrain would add."""
    counts = ctx.drawings.counts()
    if counts is None:
        return "Include the collected drawings (none are kept on this server)"
    n = counts.total - counts.holdout
    return f"Include the collected drawings ({n:,} to train on; {counts.holdout:,} held out to measure)"


def version_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, path): trained versions newest first, the shipped model, the model the server started with."""
    choices = []
    for version in list_versions():
        acc = version.metadata.get("metrics", {}).get("test_accuracy")
        when = describe_time(version.metadata.get("created"))
        choices.append(
            (
                f"{version.name} · {acc:.2%} MNIST test · {when}" if acc is not None else version.name,
                str(version.path.resolve()),
            )
        )
    if SHIPPED_MODEL.is_file():
        acc = read_metadata(SHIPPED_MODEL).get("metrics", {}).get("test_accuracy")
        choices.append(
            (
                f"shipped model · {acc:.2%} MNIST test" if acc is not None else "shipped model",
                str(SHIPPED_MODEL.resolve()),
            )
        )
    start = ctx.started_with
    if start is not None and str(start.resolve()) not in [p for _, p in choices]:
        choices.insert(0, (f"{start.stem} (started with --model)", str(start.resolve())))
    return choices


def versions_update(ctx: AppContext) -> dict[str, Any]:
    current = ctx.holder.current.path
    value = str(current.resolve()) if current else None
    labelled = [(f"{label}  ← serving" if path == value else label, path) for label, path in version_choices(ctx)]
    return gr.update(choices=labelled, value=value)


def switch_version(ctx: AppContext, path: str | None) -> str:
    """Serve another saved version (or the shipped model) from now on; relative paths are resolved."""
    if not ctx.settings.retrain_allowed:
        return f"switching models is disabled: {ctx.settings.retrain_reason}"
    if not path:
        return "pick a version first"
    resolved = str(Path(path).expanduser().resolve())
    if resolved not in [known for _, known in version_choices(ctx)]:
        return f"not switched: {path} is not a saved version"
    try:
        served = ctx.holder.switch_to(Path(resolved))
    except (ModelError, OSError) as exc:
        return f"not switched: {first_line(exc)}"
    return f"now serving the {served.label}"


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


@dataclass
class TrainPage:
    """The components a training run updates."""

    status: gr.HTML
    loss_plot: gr.LinePlot
    acc_plot: gr.LinePlot
    compare: gr.Markdown
    versions: gr.Dropdown

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.status, self.loss_plot, self.acc_plot, self.compare, self.versions]

    def show(self, ctx: AppContext, snap: Snapshot, notice: str = "") -> dict[Any, Any]:
        loss, acc = curve_frames(snap)
        versions = versions_update(ctx) if snap.state == "completed" else gr.update()
        return {
            self.status: status_html(snap, notice),
            self.loss_plot: loss,
            self.acc_plot: acc,
            self.compare: comparison_md(snap),
            self.versions: versions,
        }


def train_notice(ctx: AppContext) -> dict[str, Any]:
    text = ""
    if not ctx.settings.retrain_allowed:
        text = f"Retraining is disabled: {ctx.settings.retrain_reason}"
    elif problem := ctx.jobs.data_problem():
        text = f"No training data: {problem}"
    return gr.update(value=f'<div class="warning-banner">{html.escape(text)}</div>', visible=bool(text))


def _plot(metric: str, elem_id: str, label: str, **extra: Any) -> gr.LinePlot:
    # The legend does not render for series added while streaming: the label names them.
    return gr.LinePlot(
        x="epoch",
        y="value",
        color="series",
        height=300,
        elem_id=elem_id,
        label=label,
        color_map={f"train {metric}": "#2563eb", f"validation {metric}": "#ea580c"},
        x_title="epoch",
        y_title=metric,
        **extra,
    )


def _plots() -> tuple[gr.LinePlot, gr.LinePlot]:
    loss = _plot("loss", "loss-plot", "Loss: blue = training (mean so far in the epoch), orange = validation")
    acc = _plot("accuracy", "acc-plot", "Accuracy: blue = training, orange = validation", y_lim=[0, 1])
    return loss, acc


def build(ctx: AppContext) -> tuple[gr.Tab, TrainPage, dict[str, gr.components.Component], gr.HTML]:
    """The tab, what a run updates, the settings controls by field, and the notice banner."""
    first = PRESETS["fast"]
    with gr.Tab("Train", id="train", elem_id="tab-train") as tab:
        notice = gr.HTML(visible=False)
        with gr.Row():
            preset_radio = gr.Radio(list(PRESETS), value="fast", label="Preset", info=PRESET_INFO)
            with gr.Column():
                serve = gr.Checkbox(True, label="Serve the new model when it finishes (if it reads no worse)")
                include = gr.Checkbox(False, label=drawings_label(ctx), elem_id="train-drawings")
        with gr.Row():
            controls = {name: make(getattr(first, name)) for name, make in CONTROLS.items()}
        with gr.Row():
            retrain_btn = gr.Button(
                "Retrain", variant="primary", interactive=ctx.settings.retrain_allowed, elem_id="retrain"
            )
            cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
            watch_btn = gr.Button("Watch the running training", elem_id="watch")
        with gr.Row(equal_height=True):
            tune_epochs = gr.Slider(1, 10, value=FINETUNE_EPOCHS, step=1, label="Fine-tune epochs", scale=1)
            tune_btn = gr.Button(
                "Fine-tune on collected drawings",
                interactive=ctx.settings.retrain_allowed,
                elem_id="finetune",
                scale=2,
            )
        status = gr.HTML(status_html(ctx.jobs.snapshot()), elem_id="train-status")
        with gr.Row():
            loss_plot, acc_plot = _plots()
        compare = gr.Markdown()
        with gr.Row():
            versions = gr.Dropdown(
                [], label="Saved versions", scale=4, interactive=True, allow_custom_value=True
            )  # choices change at run time
            switch_btn = gr.Button("Serve this version", scale=1, interactive=ctx.settings.retrain_allowed)
        switch_status = gr.Markdown(elem_id="switch-status")
    page = TrainPage(status, loss_plot, acc_plot, compare, versions)
    all_controls = controls | {"drawings": include}
    _wire(ctx, page, preset_radio, serve, all_controls, (retrain_btn, cancel_btn, watch_btn, switch_btn), switch_status)
    _wire_finetune(ctx, page, tune_btn, tune_epochs, serve)
    tab.select(
        lambda: train_notice(ctx),
        None,
        notice,
        api_name="train_notice",
        api_visibility="private",
    )
    return tab, page, controls, notice


def _wire_finetune(ctx: AppContext, page: TrainPage, button: gr.Button, epochs: gr.Slider, serve: gr.Checkbox) -> None:
    async def finetune(rounds: float, serve_it: bool, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        refused = start_finetune(ctx, rounds, bool(serve_it), request.session_hash or "")
        if refused:
            yield page.show(ctx, ctx.jobs.snapshot(), refused)
            return
        async for snap in follow(ctx):
            yield page.show(ctx, snap)

    button.click(
        finetune,
        [epochs, serve],
        page.outputs,
        api_name="finetune_ui",
        **JOB_LANE,
        api_visibility="private",
        show_progress="hidden",
    )


def _wire(
    ctx: AppContext,
    page: TrainPage,
    preset_radio: gr.Radio,
    serve: gr.Checkbox,
    controls: dict[str, gr.components.Component],
    buttons: tuple[gr.Button, ...],
    switch_status: gr.Markdown,
) -> None:
    retrain_btn, cancel_btn, watch_btn, switch_btn = buttons
    by_component = {component: name for name, component in controls.items()}
    hidden: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}

    def fill_preset(name: str) -> dict[Any, Any]:
        hp = preset(name)
        values = {c: getattr(hp, f) for f, c in controls.items() if f not in ("train_subset", "drawings")}
        return values | {controls["epochs"]: min(hp.epochs, UI_LIMITS.max_epochs)}

    async def retrain(values: dict[Any, Any], request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        settings = {by_component[c]: v for c, v in values.items() if c in by_component}
        refused = start(ctx, values[preset_radio], settings, bool(values[serve]), request.session_hash or "")
        if refused:
            yield page.show(ctx, ctx.jobs.snapshot(), refused)
            return
        async for snap in follow(ctx):
            yield page.show(ctx, snap)

    async def watch() -> AsyncIterator[dict[Any, Any]]:
        async for snap in follow(ctx):
            yield page.show(ctx, snap)

    def cancel(request: gr.Request) -> str:
        return ctx.jobs.cancel(who=None if may_control(ctx, request) else request.session_hash or "")

    def switch(path: str | None, request: gr.Request) -> dict[Any, Any]:
        message = (
            switch_version(ctx, path)
            if may_control(ctx, request)
            else "not switched: on a public server only a logged-in user may switch models"
        )
        return {switch_status: message, page.versions: versions_update(ctx)}

    tunable = [c for name, c in controls.items() if name != "drawings"]
    preset_radio.change(fill_preset, preset_radio, tunable, api_name="fill_preset", **hidden)
    retrain_btn.click(
        retrain,
        {preset_radio, serve, *controls.values()},
        page.outputs,
        api_name="retrain_ui",
        **JOB_LANE,
        **hidden,
    )
    watch_btn.click(watch, None, page.outputs, api_name="watch_ui", **WATCH_LANE, **hidden)
    cancel_btn.click(cancel, None, switch_status, api_name="cancel_ui", concurrency_limit=None, **hidden)
    switch_btn.click(switch, page.versions, [switch_status, page.versions], api_name="switch_ui", **hidden)


def may_control(ctx: AppContext, request: gr.Request | None) -> bool:
    """Anyone on a local demo; on a public one only a logged-in user (or the run's starter, checked by the job)."""
    return not ctx.settings.public or bool(request is not None and request.username)
