"""Train tab: retrain with a preset and your settings, live curves, cancel, old vs new, switch versions."""

from __future__ import annotations

import html
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gradio as gr
import pandas as pd

from mnist_core.config import (
    CONTROLS,
    FINETUNE_EPOCHS,
    FINETUNE_LIMITS,
    NOTEBOOK,
    NOTEBOOK_ACCURACY,
    PRESETS,
    SHIPPED_MODEL,
    UI_LIMITS,
    Control,
    HyperParams,
    describe,
    mnist_images,
    preset,
)
from mnist_core.model.files import read_metadata
from mnist_core.serving.snapshot import FinetuneSnapshot, Snapshot, TrainSnapshot
from mnist_ui.server.access import sees_paths, session_of, without_paths
from mnist_ui.server.actions import cancel, run, start, start_finetune, switch, version_choices
from mnist_ui.server.context import JOB_LANE, WATCH_LANE, AppContext
from mnist_ui.text.format import digit_table, percent, table
from mnist_ui.text.lesson import SEED

PRESET_INFO = "; ".join(f"{name} = {describe(hp)}" for name, hp in PRESETS.items())


NONE_COLLECTED = "Include the collected drawings (none yet: press “Wrong? It is a:” under a reading to collect one)"
WIDE = 220  # px a setting needs for its label and a slider's two ends: four to a row on a desktop, one on a phone


def _bound(value: float | str | None) -> Any:
    return getattr(UI_LIMITS, value) if isinstance(value, str) else value


def control(name: str, spec: Control, value: Any) -> gr.components.Component:
    """The Train tab's control for a HyperParams field, as its `setting(control=...)` describes it."""
    low, high = _bound(spec.low), _bound(spec.high)
    if spec.hidden:
        return gr.Number(value, visible=False, precision=0)
    if spec.choices:
        return gr.Radio(list(spec.choices), value=value, label=spec.label, elem_id=f"train-{name}")
    if isinstance(getattr(HyperParams(), name), bool):
        return gr.Checkbox(value, label=spec.label, min_width=WIDE)
    if spec.box:
        return gr.Number(value, label=spec.label, minimum=low, maximum=high, min_width=WIDE)
    return gr.Slider(low, high, value=value, step=spec.step, label=spec.label, min_width=WIDE)


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


def status_html(snap: Snapshot, notice: str = "", sees: bool = False) -> str:
    """The job's state in a few lines; server paths in its messages only for a viewer who may see them."""
    head = f"<p><b>{html.escape(without_paths(notice, sees))}</b></p>" if notice else ""
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
        f"{head}<p><b>{title} ({what} #{snap.job_id})</b> — {html.escape(without_paths(snap.where(), sees))}</p>"
        f"{bar}<p class='elapsed'>elapsed {snap.elapsed_s:.0f} s</p>"
    )


def comparison_md(snap: Snapshot) -> str:
    """Old vs new: MNIST test overall and per digit, and real handwriting where measured."""
    if snap.state != "completed" or snap.new_accuracy is None:
        return ""
    if isinstance(snap, FinetuneSnapshot):
        return finetune_md(snap)
    if not isinstance(snap, TrainSnapshot):
        return ""

    old_cells = [percent(a, 1) for a in snap.old_per_class] if snap.old_per_class else ["—"] * 10
    rows = [
        [f"old: {html.escape(snap.old_label)}", percent(snap.old_accuracy), percent(snap.old_pen_accuracy), *old_cells],
        [
            f"new: {Path(snap.new_path).stem}",
            f"**{percent(snap.new_accuracy)}**",
            f"**{percent(snap.new_pen_accuracy)}**",
            *[percent(a, 1) for a in snap.new_per_class],
        ],
    ]
    lines = ["### Old vs new", digit_table(rows, "accuracy", ["MNIST test", "real handwriting"])]
    verdict = (
        "The new model is serving now."
        if snap.activated
        else "The old model is still serving; pick the new version below to switch."
    )
    lesson = lesson_md(snap)
    return "\n".join(lines) + f"\n\n{verdict}" + (f"\n\n{lesson}" if lesson else "")


def split_md(split: float, subset: float = 0) -> str:
    """What the validation split does to the training images, in numbers: the notebook's lesson at 0.999."""
    hp = HyperParams(validation_split=float(split), train_subset=int(subset or 0))
    learn, total = mnist_images(hp), mnist_images(hp.replace(validation_split=0.0))
    return SEED["split"].format(split=f"{hp.validation_split:g}", check=total - learn, total=total, learn=learn)


def lesson_md(snap: TrainSnapshot) -> str:
    """After a run of the notebook's split: its accuracy beside the default recipe's and the notebook's own."""
    if snap.hp is None or snap.hp.validation_split != NOTEBOOK.validation_split:
        return ""
    default = read_metadata(SHIPPED_MODEL).get("metrics", {}).get("test_accuracy")
    return SEED["result"].format(
        learn=mnist_images(snap.hp),
        this=percent(snap.new_accuracy, 1),
        default=percent(default, 1),
        notebook=percent(NOTEBOOK_ACCURACY, 1),
    )


def finetune_md(snap: FinetuneSnapshot) -> str:
    """Before vs after a fine-tune: MNIST test and the held-out collected drawings, and why it is (not) served."""
    header = ["model", "MNIST test", f"held-out collected drawings ({snap.holdout_count:,})"]
    rows = [
        [f"before: {html.escape(snap.old_label)}", percent(snap.old_accuracy), percent(snap.old_holdout)],
        [
            f"after: {Path(snap.new_path).stem}",
            f"**{percent(snap.new_accuracy)}**",
            f"**{percent(snap.new_holdout)}**",
        ],
    ]
    lines = ["### Before vs after fine-tuning", table(header, rows)]
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
    if not counts.total:
        return NONE_COLLECTED
    n = counts.total - counts.holdout
    return f"Include the collected drawings ({n:,} to train on; {counts.holdout:,} held out to measure)"


def collected_controls(ctx: AppContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkbox and the fine-tune button as the collected drawings allow: nothing to press that acts on none."""
    counts = ctx.drawings.counts()
    some = counts is not None and counts.total > 0
    tune_label = "Fine-tune on collected drawings" + ("" if some else " (none yet)")
    return (
        gr.update(label=drawings_label(ctx), interactive=some, value=False),
        gr.update(value=tune_label, interactive=some and ctx.settings.retrain_allowed),
    )


def versions_update(ctx: AppContext, sees: bool = False) -> dict[str, Any]:
    """The saved versions, the serving one marked; each picked by its path, or by its name for a viewer who may
    not see the server's paths (`actions.switch_version` takes both)."""
    current = ctx.holder.current.path
    serving = str(current.resolve()) if current else None

    def key(path: str) -> str:
        return path if sees else Path(path).stem

    choices = version_choices(ctx)
    labelled = [(f"{label}  ← serving" if path == serving else label, key(path)) for label, path in choices]
    return gr.update(choices=labelled, value=key(serving) if serving else None)


@dataclass
class TrainPage:
    """The components a training run updates."""

    status: gr.HTML
    loss_plot: gr.LinePlot
    acc_plot: gr.LinePlot
    compare: gr.Markdown
    versions: gr.Dropdown
    cancel: gr.Button

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.status, self.loss_plot, self.acc_plot, self.compare, self.versions, self.cancel]

    def show(self, ctx: AppContext, snap: Snapshot, notice: str = "", sees: bool = False) -> dict[Any, Any]:
        """What the page shows of `snap`; Cancel can be pressed only while a job runs."""
        loss, acc = curve_frames(snap)
        versions = versions_update(ctx, sees) if snap.state == "completed" else gr.update()
        return {
            self.cancel: gr.update(interactive=snap.running),
            self.status: status_html(snap, notice, sees),
            self.loss_plot: loss,
            self.acc_plot: acc,
            self.compare: comparison_md(snap),
            self.versions: versions,
        }


def train_notice(ctx: AppContext, sees: bool = False) -> dict[str, Any]:
    text = ""
    if not ctx.settings.retrain_allowed:
        text = f"Retraining is disabled: {ctx.settings.retrain_reason}"
    elif problem := ctx.jobs.data_problem():
        text = f"No training data: {without_paths(problem, sees)}"
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
                include = gr.Checkbox(False, label=drawings_label(ctx), elem_id="train-drawings", interactive=False)
        rows = ({n: c for n, c in CONTROLS.items() if c.choices}, {n: c for n, c in CONTROLS.items() if not c.choices})
        with gr.Row():  # choices (the network) in a row of their own, above the sliders
            controls = {name: control(name, spec, getattr(first, name)) for name, spec in rows[0].items()}
        with gr.Row(elem_id="train-controls"):
            controls |= {name: control(name, spec, getattr(first, name)) for name, spec in rows[1].items()}
        split = gr.Markdown(split_md(first.validation_split), elem_id="split-lesson")  # ?subset=N comes on load
        retrain_btn, cancel_btn, watch_btn = _job_buttons(ctx)
        tune_epochs, tune_btn = _finetune_row(ctx)
        status = gr.HTML(status_html(ctx.jobs.snapshot()), elem_id="train-status")
        with gr.Row():
            loss_plot, acc_plot = _plots()
        compare = gr.Markdown(elem_id="train-compare", elem_classes=["fit-table"])
        with gr.Row():
            versions = gr.Dropdown(
                [], label="Saved versions", scale=4, interactive=True, allow_custom_value=True
            )  # choices change at run time
            switch_btn = gr.Button(
                "Serve this version", scale=1, interactive=ctx.settings.retrain_allowed, min_width=180
            )
        switch_status = gr.Markdown(elem_id="switch-status")
    page = TrainPage(status, loss_plot, acc_plot, compare, versions, cancel_btn)
    all_controls = controls | {"drawings": include}
    _wire(ctx, page, preset_radio, serve, all_controls, (retrain_btn, cancel_btn, watch_btn, switch_btn), switch_status)
    _wire_split(controls, split)
    _wire_finetune(ctx, page, tune_btn, tune_epochs, serve)

    def opened(request: gr.Request) -> tuple[dict[str, Any], ...]:
        return train_notice(ctx, sees_paths(ctx, request)), *collected_controls(ctx)

    tab.select(opened, None, [notice, include, tune_btn], api_name="train_notice", api_visibility="private")
    return tab, page, controls, notice


def _wire_split(controls: dict[str, gr.components.Component], split: gr.Markdown) -> None:
    """The line under the settings follows the validation split (and the subset a quick run takes)."""
    split_slider, subset = cast(gr.Slider, controls["validation_split"]), cast(gr.Number, controls["train_subset"])
    gr.on(
        [split_slider.change, subset.change],
        split_md,
        [split_slider, subset],
        split,
        api_name="split_lesson",
        api_visibility="private",
        show_progress="hidden",
    )


def _job_buttons(ctx: AppContext) -> tuple[gr.Button, gr.Button, gr.Button]:
    with gr.Row():
        retrain_btn = gr.Button(
            "Retrain", variant="primary", interactive=ctx.settings.retrain_allowed, elem_id="retrain", min_width=150
        )
        cancel_btn = gr.Button(
            "Cancel", variant="stop", elem_id="cancel", interactive=ctx.jobs.snapshot().running, min_width=150
        )  # pressable only while a job runs: TrainPage.show
        watch_btn = gr.Button("Watch the running training", elem_id="watch", min_width=WIDE)
    return retrain_btn, cancel_btn, watch_btn


def _finetune_row(ctx: AppContext) -> tuple[gr.Slider, gr.Button]:
    with gr.Row(equal_height=True):
        epochs = gr.Slider(
            1, FINETUNE_LIMITS.max_epochs, value=FINETUNE_EPOCHS, step=1, label="Fine-tune epochs", scale=1
        )
        some = bool((counts := ctx.drawings.counts()) and counts.total)
        button = gr.Button(
            "Fine-tune on collected drawings" + ("" if some else " (none yet)"),
            interactive=ctx.settings.retrain_allowed and some,
            elem_id="finetune",
            scale=2,
            min_width=WIDE,
        )
    return epochs, button


def _wire_finetune(ctx: AppContext, page: TrainPage, button: gr.Button, epochs: gr.Slider, serve: gr.Checkbox) -> None:
    async def finetune(rounds: float, serve_it: bool, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        sees = sees_paths(ctx, request)
        async for snap, notice in run(ctx, start_finetune(ctx, rounds, bool(serve_it), session_of(request))):
            yield page.show(ctx, snap, notice, sees)

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
    shown = {name: c for name, c in controls.items() if name in CONTROLS and not CONTROLS[name].hidden}

    def fill_preset(name: str) -> dict[Any, Any]:
        hp = preset(name)
        return {c: getattr(hp, f) for f, c in shown.items()} | {
            controls["epochs"]: min(hp.epochs, UI_LIMITS.max_epochs)
        }

    async def retrain(values: dict[Any, Any], request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        settings = {by_component[c]: v for c, v in values.items() if c in by_component}
        if not settings.get("train_subset"):  # set by ?subset=N only; otherwise the preset says how many images
            settings.pop("train_subset", None)
        refused = start(ctx, values[preset_radio], settings, bool(values[serve]), session_of(request))
        sees = sees_paths(ctx, request)
        async for snap, notice in run(ctx, refused):
            yield page.show(ctx, snap, notice, sees)

    async def watch(request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        sees = sees_paths(ctx, request)
        async for snap, _ in run(ctx):
            yield page.show(ctx, snap, sees=sees)

    def on_cancel(request: gr.Request) -> str:
        return cancel(ctx, request)

    def on_switch(path: str | None, request: gr.Request) -> dict[Any, Any]:
        sees = sees_paths(ctx, request)
        said = without_paths(switch(ctx, path, request), sees)
        return {switch_status: said, page.versions: versions_update(ctx, sees)}

    preset_radio.change(fill_preset, preset_radio, list(shown.values()), api_name="fill_preset", **hidden)
    retrain_btn.click(
        retrain, {preset_radio, serve, *controls.values()}, page.outputs, api_name="retrain_ui", **JOB_LANE, **hidden
    )
    watch_btn.click(watch, None, page.outputs, api_name="watch_ui", **WATCH_LANE, **hidden)
    cancel_btn.click(on_cancel, None, switch_status, api_name="cancel_ui", concurrency_limit=None, **hidden)
    switch_btn.click(on_switch, page.versions, [switch_status, page.versions], api_name="switch_ui", **hidden)
