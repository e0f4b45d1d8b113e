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
    mnist_images,
    preset,
)
from mnist_core.model.files import read_metadata
from mnist_core.serving.snapshot import FinetuneSnapshot, Snapshot, TrainSnapshot
from mnist_ui.server.access import sees_paths, session_of, without_paths
from mnist_ui.server.actions import cancel, run, start, start_finetune, switch, version_choices
from mnist_ui.server.context import JOB_LANE, WATCH_LANE, AppContext
from mnist_ui.text.format import digit_table, percent, table
from mnist_ui.text.words import T, lang_of, say, translated

WIDE = 220  # px a setting needs for its label and a slider's two ends: four to a row on a desktop, one on a phone


def _bound(value: float | str | None) -> Any:
    return getattr(UI_LIMITS, value) if isinstance(value, str) else value


def control(name: str, spec: Control, value: Any) -> gr.components.Component:
    """The Train tab's control for a HyperParams field, as its `setting(control=...)` describes it, named and
    explained in the learner's words ("setting.<field>" in mnist_ui/text/)."""
    low, high = _bound(spec.low), _bound(spec.high)
    words: dict[str, Any] = {"label": T(f"setting.{name}"), "info": T(f"setting.{name}.what")}
    if spec.hidden:
        return gr.Number(value, visible=False, precision=0)
    if spec.choices:
        choices = [(T(f"setting.{name}.{choice}"), choice) for choice in spec.choices]
        return gr.Radio(choices, value=value, elem_id=f"train-{name}", **words)
    if isinstance(getattr(HyperParams(), name), bool):
        return gr.Checkbox(value, min_width=WIDE, elem_id=f"train-{name}", **words)
    if spec.box:
        return gr.Number(value, minimum=low, maximum=high, min_width=WIDE, elem_id=f"train-{name}", **words)
    return gr.Slider(low, high, value=value, step=spec.step, min_width=WIDE, elem_id=f"train-{name}", **words)


def describe(hp: HyperParams, lang: str | None) -> str:
    """What a run of `hp` trains on, made from its fields: "2 epochs on 10,800 MNIST images"."""
    images = f"{mnist_images(hp):,}"
    what = say(lang, "train.describe_one" if hp.epochs == 1 else "train.describe", epochs=hp.epochs, images=images)
    return what + (say(lang, "train.describe_pens") if hp.pens else "")


def preset_info(lang: str | None) -> str:
    """Each preset and what it trains on, under the preset's radio."""
    return "\n".join(f"- {say(lang, f'train.preset.{name}', what=describe(hp, lang))}" for name, hp in PRESETS.items())


def curve_frames(snap: Snapshot, lang: str | None = None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
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
    frame["series"] = frame["series"].map(lambda series: series_name(series, lang))
    return frame[is_loss].reset_index(drop=True), frame[~is_loss].reset_index(drop=True)


def series_name(series: str, lang: str | None) -> str:
    """ "validation loss" in the page's words: the colour map's keys are made the same way."""
    part, _, metric = series.partition(" ")
    return f"{say(lang, f'train.curve.{part}')} {say(lang, f'train.curve.{metric}')}"


def status_html(snap: Snapshot, notice: str = "", sees: bool = False, lang: str | None = None) -> str:
    """The job's state in a few lines; server paths in its messages only for a viewer who may see them."""
    head = f"<p><b>{html.escape(translated(lang, without_paths(notice, sees)))}</b></p>" if notice else ""
    if snap.state == "idle":
        return head + f"<p>{say(lang, 'train.idle')}</p>"
    state = "finetune" if snap.kind == "finetune" and snap.state == "training" else snap.state
    title = say(lang, f"train.state.{state}")
    bar = f'<progress value="{snap.fraction:.3f}" max="1"></progress>' if snap.running else ""
    what = say(lang, "train.job_finetune" if snap.kind == "finetune" else "train.job", job=snap.job_id)
    return (
        f"{head}<p><b>{title} ({what})</b> — {html.escape(translated(lang, without_paths(snap.where(), sees)))}</p>"
        f"{bar}<p class='elapsed'>{say(lang, 'train.elapsed', seconds=f'{snap.elapsed_s:.0f}')}</p>"
    )


def comparison_md(snap: Snapshot, lang: str | None = None) -> str:
    """Old vs new: MNIST test overall and per digit, and real handwriting where measured."""
    if snap.state != "completed" or snap.new_accuracy is None:
        return ""
    if isinstance(snap, FinetuneSnapshot):
        return finetune_md(snap, lang)
    if not isinstance(snap, TrainSnapshot):
        return ""

    old_cells = [percent(a, 1) for a in snap.old_per_class] if snap.old_per_class else ["—"] * 10
    rows = [
        [
            say(lang, "train.old", label=html.escape(translated(lang, snap.old_label))),
            percent(snap.old_accuracy),
            percent(snap.old_pen_accuracy),
            *old_cells,
        ],
        [
            say(lang, "train.new", label=Path(snap.new_path).stem),
            f"**{percent(snap.new_accuracy)}**",
            f"**{percent(snap.new_pen_accuracy)}**",
            *[percent(a, 1) for a in snap.new_per_class],
        ],
    ]
    columns = [say(lang, "train.mnist_test"), say(lang, "train.real_handwriting")]
    lines = [say(lang, "train.old_new"), digit_table(rows, say(lang, "train.accuracy"), columns)]
    verdict = say(lang, "train.now_serving" if snap.activated else "train.still_old")
    lesson = lesson_md(snap, lang)
    return "\n".join(lines) + f"\n\n{verdict}" + (f"\n\n{lesson}" if lesson else "")


def split_md(split: float, subset: float = 0, lang: str | None = None) -> str:
    """What the validation split does to the training images, in numbers: the notebook's lesson at 0.999."""
    hp = HyperParams(validation_split=float(split), train_subset=int(subset or 0))
    learn, total = mnist_images(hp), mnist_images(hp.replace(validation_split=0.0))
    numbers = {"check": f"{total - learn:,}", "total": f"{total:,}", "learn": f"{learn:,}"}
    return say(lang, "train.split", split=f"{hp.validation_split:g}", **numbers)


def lesson_md(snap: TrainSnapshot, lang: str | None = None) -> str:
    """After a run of the notebook's split: its accuracy beside the default recipe's and the notebook's own."""
    if snap.hp is None or snap.hp.validation_split != NOTEBOOK.validation_split:
        return ""
    default = read_metadata(SHIPPED_MODEL).get("metrics", {}).get("test_accuracy")
    return say(
        lang,
        "train.lesson",
        learn=f"{mnist_images(snap.hp):,}",
        this=percent(snap.new_accuracy, 1),
        default=percent(default, 1),
        notebook=percent(NOTEBOOK_ACCURACY, 1),
    )


def finetune_md(snap: FinetuneSnapshot, lang: str | None = None) -> str:
    """Before vs after a fine-tune: MNIST test and the held-out collected drawings, and why it is (not) served."""
    held = say(lang, "train.held_collected", count=f"{snap.holdout_count:,}")
    header = [say(lang, "train.model"), say(lang, "train.mnist_test"), held]
    rows = [
        [
            say(lang, "train.before", label=html.escape(translated(lang, snap.old_label))),
            percent(snap.old_accuracy),
            percent(snap.old_holdout),
        ],
        [
            say(lang, "train.after", label=Path(snap.new_path).stem),
            f"**{percent(snap.new_accuracy)}**",
            f"**{percent(snap.new_holdout)}**",
        ],
    ]
    lines = [say(lang, "train.before_after"), table(header, rows)]
    if snap.activated:
        verdict = say(lang, "train.tuned_serving")
    elif snap.reason.startswith("keep"):
        reason = translated(lang, snap.reason.removeprefix("keep the current model: "))
        verdict = say(lang, "train.not_served", reason=html.escape(reason))
    else:
        verdict = say(lang, "train.still_old")
    learnt = say(lang, "train.learnt_from", count=f"{snap.drawings:,}", verdict=verdict)
    return "\n".join(lines) + f"\n\n{learnt}"


def drawings_label(ctx: AppContext, lang: str | None = None) -> str:
    """The Train tab's checkbox: how many collected drawings a retrain would add."""
    counts = ctx.drawings.counts()
    if counts is None:
        return say(lang, "train.include_off")
    if not counts.total:
        return say(lang, "train.include_none")
    return say(lang, "train.include", train=f"{counts.total - counts.holdout:,}", held=f"{counts.holdout:,}")


def collected_controls(ctx: AppContext, lang: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkbox and the fine-tune button as the collected drawings allow: nothing to press that acts on none."""
    counts = ctx.drawings.counts()
    some = counts is not None and counts.total > 0
    tune_label = say(lang, "train.finetune" if some else "train.finetune_none")
    return (
        gr.update(label=drawings_label(ctx, lang), interactive=some, value=False),
        gr.update(value=tune_label, interactive=some and ctx.settings.retrain_allowed),
    )


def versions_update(ctx: AppContext, sees: bool = False, lang: str | None = None) -> dict[str, Any]:
    """The saved versions, the serving one marked; each picked by its path, or by its name for a viewer who may
    not see the server's paths (`actions.switch_version` takes both)."""
    current = ctx.holder.current.path
    serving = str(current.resolve()) if current else None

    def key(path: str) -> str:
        return path if sees else Path(path).stem

    choices = version_choices(ctx)
    named = [(translated(lang, label), path) for label, path in choices]
    labelled = [(say(lang, "train.serving_mark", label=n) if p == serving else n, key(p)) for n, p in named]
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
    presets: gr.Markdown
    split: gr.Markdown

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.status, self.loss_plot, self.acc_plot, self.compare, self.versions, self.cancel]

    def in_words(self, lang: str, split: float, subset: float = 0) -> dict[Any, Any]:
        """The lines the server writes before any run, in `lang`: on load and when the language changes."""
        return {self.presets: preset_info(lang), self.split: split_md(split, subset, lang)}

    def show(
        self, ctx: AppContext, snap: Snapshot, notice: str = "", sees: bool = False, lang: str | None = None
    ) -> dict[Any, Any]:
        """What the page shows of `snap`, in `lang`; Cancel can be pressed only while a job runs."""
        loss, acc = curve_frames(snap, lang)
        versions = versions_update(ctx, sees, lang) if snap.state == "completed" else gr.update()
        return {
            self.cancel: gr.update(interactive=snap.running),
            self.status: status_html(snap, notice, sees, lang),
            self.loss_plot: _plot_update("loss", loss, lang),
            self.acc_plot: _plot_update("accuracy", acc, lang),
            self.compare: comparison_md(snap, lang),
            self.versions: versions,
        }


def train_notice(ctx: AppContext, sees: bool = False, lang: str | None = None) -> dict[str, Any]:
    text = ""
    if not ctx.settings.retrain_allowed:
        text = say(lang, "train.disabled", reason=ctx.settings.retrain_reason)
    elif problem := ctx.jobs.data_problem():
        text = say(lang, "train.no_data", problem=without_paths(problem, sees))
    return gr.update(value=f'<div class="warning-banner">{html.escape(text)}</div>', visible=bool(text))


def _colours(metric: str, lang: str | None) -> dict[str, str]:
    return {series_name(f"train {metric}", lang): "#2563eb", series_name(f"validation {metric}", lang): "#ea580c"}


def _plot_update(metric: str, frame: pd.DataFrame | None, lang: str | None) -> Any:
    """A curve's points with its series and axes named in the page's language."""
    return gr.update(
        value=frame,
        color_map=_colours(metric, lang),
        x_title=say(lang, "train.curve.epoch"),
        y_title=say(lang, f"train.curve.{metric}"),
    )


def _plot(metric: str, elem_id: str, **extra: Any) -> gr.LinePlot:
    # The legend does not render for series added while streaming: the label names them.
    return gr.LinePlot(
        x="epoch",
        y="value",
        color="series",
        height=300,
        elem_id=elem_id,
        label=T(f"train.{metric}_plot"),
        color_map=_colours(metric, None),
        x_title=say(None, "train.curve.epoch"),  # an axis title is no translatable prop: set in words on load
        y_title=say(None, f"train.curve.{metric}"),
        **extra,
    )


def _plots() -> tuple[gr.LinePlot, gr.LinePlot]:
    return _plot("loss", "loss-plot"), _plot("accuracy", "acc-plot", y_lim=[0, 1])


def build(ctx: AppContext) -> tuple[gr.Tab, TrainPage, dict[str, gr.components.Component], gr.HTML]:
    """The tab, what a run updates, the settings controls by field, and the notice banner."""
    first = PRESETS["fast"]
    with gr.Tab(T("tab.train"), id="train", elem_id="tab-train") as tab:
        notice = gr.HTML(visible=False)
        with gr.Row():
            preset_radio = gr.Radio(
                list(PRESETS), value="fast", label=T("train.preset"), info=T("train.preset.what"), elem_id="preset"
            )
            with gr.Column():
                serve = gr.Checkbox(True, label=T("train.serve"))
                include = gr.Checkbox(False, label=T("train.include_off"), elem_id="train-drawings", interactive=False)
        presets = gr.Markdown(elem_id="preset-info")  # each preset in the visitor's words, on load
        rows = ({n: c for n, c in CONTROLS.items() if c.choices}, {n: c for n, c in CONTROLS.items() if not c.choices})
        with gr.Row():  # choices (the network) in a row of their own, above the sliders
            controls = {name: control(name, spec, getattr(first, name)) for name, spec in rows[0].items()}
        with gr.Row(elem_id="train-controls"):
            controls |= {name: control(name, spec, getattr(first, name)) for name, spec in rows[1].items()}
        split = gr.Markdown(elem_id="split-lesson")  # in the visitor's words, on load
        retrain_btn, cancel_btn, watch_btn = _job_buttons(ctx)
        tune_epochs, tune_btn = _finetune_row(ctx)
        status = gr.HTML(elem_id="train-status")  # on load
        with gr.Row():
            loss_plot, acc_plot = _plots()
        compare = gr.Markdown(elem_id="train-compare", elem_classes=["fit-table"])
        with gr.Row():
            versions = gr.Dropdown(
                [], label=T("train.versions"), scale=4, interactive=True, allow_custom_value=True
            )  # choices change at run time
            switch_btn = gr.Button(T("train.switch"), scale=1, interactive=ctx.settings.retrain_allowed, min_width=180)
        switch_status = gr.Markdown(elem_id="switch-status")
    page = TrainPage(status, loss_plot, acc_plot, compare, versions, cancel_btn, presets, split)
    all_controls = controls | {"drawings": include}
    _wire(ctx, page, preset_radio, serve, all_controls, (retrain_btn, cancel_btn, watch_btn, switch_btn), switch_status)
    _wire_split(controls, split)
    _wire_finetune(ctx, page, tune_btn, tune_epochs, serve)

    def opened(request: gr.Request) -> tuple[dict[str, Any], ...]:
        lang = lang_of(request)
        return train_notice(ctx, sees_paths(ctx, request), lang), *collected_controls(ctx, lang)

    tab.select(opened, None, [notice, include, tune_btn], api_name="train_notice", api_visibility="private")
    return tab, page, controls, notice


def _wire_split(controls: dict[str, gr.components.Component], split: gr.Markdown) -> None:
    """The line under the settings follows the validation split (and the subset a quick run takes)."""
    split_slider, subset = cast(gr.Slider, controls["validation_split"]), cast(gr.Number, controls["train_subset"])

    def follow(split_value: float, subset_value: float, request: gr.Request) -> str:
        return split_md(split_value, subset_value, lang_of(request))

    gr.on(
        [split_slider.change, subset.change],
        follow,
        [split_slider, subset],
        split,
        api_name="split_lesson",
        api_visibility="private",
        show_progress="hidden",
    )


def _job_buttons(ctx: AppContext) -> tuple[gr.Button, gr.Button, gr.Button]:
    with gr.Row():
        retrain_btn = gr.Button(
            T("train.retrain"),
            variant="primary",
            interactive=ctx.settings.retrain_allowed,
            elem_id="retrain",
            min_width=150,
        )
        cancel_btn = gr.Button(
            T("train.cancel"), variant="stop", elem_id="cancel", interactive=ctx.jobs.snapshot().running, min_width=150
        )  # pressable only while a job runs: TrainPage.show
        watch_btn = gr.Button(T("train.watch"), elem_id="watch", min_width=WIDE)
    return retrain_btn, cancel_btn, watch_btn


def _finetune_row(ctx: AppContext) -> tuple[gr.Slider, gr.Button]:
    with gr.Row(equal_height=True):
        epochs = gr.Slider(
            1, FINETUNE_LIMITS.max_epochs, value=FINETUNE_EPOCHS, step=1, label=T("train.finetune_epochs"), scale=1
        )
        some = bool((counts := ctx.drawings.counts()) and counts.total)
        button = gr.Button(
            T("train.finetune" if some else "train.finetune_none"),
            interactive=ctx.settings.retrain_allowed and some,
            elem_id="finetune",
            scale=2,
            min_width=WIDE,
        )
    return epochs, button


def _wire_finetune(ctx: AppContext, page: TrainPage, button: gr.Button, epochs: gr.Slider, serve: gr.Checkbox) -> None:
    async def finetune(rounds: float, serve_it: bool, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        sees = sees_paths(ctx, request)
        lang = lang_of(request)
        async for snap, notice in run(ctx, start_finetune(ctx, rounds, bool(serve_it), session_of(request))):
            yield page.show(ctx, snap, notice, sees, lang)

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
        sees, lang = sees_paths(ctx, request), lang_of(request)
        async for snap, notice in run(ctx, refused):
            yield page.show(ctx, snap, notice, sees, lang)

    async def watch(request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        sees, lang = sees_paths(ctx, request), lang_of(request)
        async for snap, _ in run(ctx):
            yield page.show(ctx, snap, sees=sees, lang=lang)

    def on_cancel(request: gr.Request) -> str:
        return translated(lang_of(request), cancel(ctx, request))

    def on_switch(path: str | None, request: gr.Request) -> dict[Any, Any]:
        sees = sees_paths(ctx, request)
        said = translated(lang_of(request), without_paths(switch(ctx, path, request), sees))
        return {switch_status: said, page.versions: versions_update(ctx, sees, lang_of(request))}

    preset_radio.change(fill_preset, preset_radio, list(shown.values()), api_name="fill_preset", **hidden)
    retrain_btn.click(
        retrain, {preset_radio, serve, *controls.values()}, page.outputs, api_name="retrain_ui", **JOB_LANE, **hidden
    )
    watch_btn.click(watch, None, page.outputs, api_name="watch_ui", **WATCH_LANE, **hidden)
    cancel_btn.click(on_cancel, None, switch_status, api_name="cancel_ui", concurrency_limit=None, **hidden)
    switch_btn.click(on_switch, page.versions, [switch_status, page.versions], api_name="switch_ui", **hidden)
