"""Model tab: which model serves, its settings and architecture, and how it reads MNIST and real pens; beside it
the other network (the notebook's dense one or the convolutional one), summed up side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_core.config import SUMMARY
from mnist_core.data.mnist import DataError
from mnist_core.drawings.store import StoreError
from mnist_core.model.forward import Classifier
from mnist_core.model.versions import describe_time
from mnist_core.serving.holder import Served
from mnist_ui.components.gallery import enlarge, thumbnails
from mnist_ui.server.access import sees_paths, shown_path, without_paths
from mnist_ui.server.context import AppContext
from mnist_ui.text.format import digit_table, percent, table
from mnist_ui.text.words import T, lang_of, say, translated

# The dense network's layers as Keras names them (mnist_core/model/network.py): what the notebook's
# `model.summary()` prints; the convolutional network's names follow its kind and count ("conv 1" → conv_1).
DENSE_NAMES = {"hidden 1": "dense_layer", "dropout 1": "dropout", "hidden 2": "dense_layer_2", "dropout 2": "dropout_2"}
KERAS_TYPES = {"conv": "Conv2D", "pool": "MaxPooling2D", "hidden": "Dense", "dropout": "Dropout", "output": "Dense"}


def keras_row(architecture: str, name: str, shape: str) -> tuple[str, str, str]:
    """A layer as `model.summary()` prints it: its name (type), its output shape, and which line explains it."""
    kind = name.split()[0]
    keras_name = "dense_layer_3" if name == "output" and architecture == "dense" else name.replace(" ", "_")
    keras_name = DENSE_NAMES.get(name, keras_name) if architecture == "dense" else keras_name
    dims = ", ".join(shape.split("×"))
    what = {"hidden": "dense", "output": "output", "dropout": "dropout", "conv": "conv", "pool": "pool"}[kind]
    return f"{keras_name} ({KERAS_TYPES[kind]})", f"(None, {dims})", f"model.layer.{what}"


def architecture_table(served: Served, lang: str | None = None) -> str:
    """From the served weights' shapes (no TensorFlow, no model build), named as the notebook's summary names them,
    each with a line on what it does."""
    if served.classifier is None:
        return say(lang, "model.no_model")
    head = say(lang, "model.layers_head").split("|")
    rows = [["pixels (InputLayer)", "(None, 784)", "0", say(lang, "model.layer.input")]]
    for layer in served.classifier.summary():
        name, shape, what = keras_row(served.classifier.architecture, layer.name, layer.shape)
        rows.append([name, shape, f"{layer.params:,}", say(lang, what)])
    rows.append([say(lang, "model.total"), "", f"**{served.classifier.params:,}**", ""])
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---|"] + ["| " + " | ".join(r) + " |" for r in rows]
    return say(lang, "model.architecture") + "\n\n" + "\n".join(lines)


def layer_line(classifier: Classifier, lang: str | None = None) -> str:
    """The layers in one line, dropout left out: "conv 32 → conv 32 → pool → … → dense 256 → 10"."""
    parts = []
    for layer in classifier.summary():
        if layer.kind.startswith("conv"):
            parts.append(f"{say(lang, 'model.net.conv')} {layer.shape.split('×')[-1]}")
        elif layer.kind.startswith("max-pool"):
            parts.append(say(lang, "model.net.pool"))
        elif layer.kind.startswith("dense"):
            parts.append(layer.shape if layer.name == "output" else f"{say(lang, 'model.net.dense')} {layer.shape}")
    return " → ".join(parts)


def networks_md(ctx: AppContext, lang: str | None = None) -> str:
    """The served network and the other one side by side: what each is, its layers, parameters and accuracies."""
    served = ctx.holder.current
    other = ctx.networks.beside(served)
    titled = [(say(lang, "model.net.serving", label=translated(lang, served.label)), served)]
    titled += [(say(lang, "model.net.beside", label=translated(lang, other.label)), other)] if other else []
    nets = [(title, s.classifier, s.metadata.get("metrics", {})) for title, s in titled if s.classifier is not None]
    if not nets:
        return ""
    rows = [
        [say(lang, "model.net.network"), *[say(lang, f"setting.architecture.{c.architecture}") for _, c, _ in nets]],
        [say(lang, "model.net.layers"), *[layer_line(c, lang) for _, c, _ in nets]],
        [say(lang, "model.net.parameters"), *[f"{c.params:,}" for _, c, _ in nets]],
        [say(lang, "model.net.mnist"), *[percent(m.get("test_accuracy")) for _, _, m in nets]],
        [say(lang, "model.net.pens"), *[percent(m.get("pen_test_accuracy")) for _, _, m in nets]],
    ]
    return say(lang, "model.networks") + "\n\n" + table(["", *[title for title, _, _ in nets]], rows)


def shown_value(name: str, value: Any, lang: str | None) -> str:
    """A setting's value as a learner reads it: yes/no, "all" images, the schedule in words."""
    if isinstance(value, bool):
        return say(lang, "value.yes" if value else "value.no")
    if name == "train_subset" and not value:
        return say(lang, "setting.train_subset.all")
    if name in ("lr_schedule", "architecture"):
        return say(lang, f"setting.{name}.{value}")
    return f"{value:,}" if isinstance(value, int) else f"{value:g}" if isinstance(value, float) else str(value)


def settings_table(hp: dict[str, Any], lang: str | None) -> str:
    """How a model was trained: each setting's plain name, its value, and what it does."""
    shown = [k for k in SUMMARY if k in hp and (k != "cnn_layers" or hp.get("architecture") == "cnn")]
    head = say(lang, "model.settings_head").split("|")
    rows = [
        [say(lang, f"setting.{k}"), f"**{shown_value(k, hp[k], lang)}**", say(lang, f"setting.{k}.what")] for k in shown
    ]
    rows.append([say(lang, "setting.loss"), say(lang, "setting.loss.value"), say(lang, "setting.loss.what")])
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows]
    return say(lang, "model.settings_title") + "\n\n" + "\n".join(lines)


def model_summary(served: Served, sees: bool = False, lang: str | None = None) -> str:
    """What serves and how it was made; its file and the paths in its command only for a viewer who may see
    the server's paths (`access.sees_paths`)."""
    meta = served.metadata
    hp = meta.get("hyperparameters", {})
    where = shown_path(served.path, sees)
    file = f"`{where}`" if sees and served.path else where
    lines = [say(lang, "model.serving", label=translated(lang, served.label)), say(lang, "model.file", where=file)]
    if served.warning:
        lines.append(f"\n⚠️ {translated(lang, without_paths(served.warning, sees))}")
    if not meta:
        if served.path is not None:
            lines.append(say(lang, "model.no_record"))
        return "\n\n".join(lines)
    lines.append(
        say(lang, "model.trained", when=describe_time(meta.get("created")))
        + (
            say(lang, "model.trained_in", seconds=f"{meta['training_seconds']:.0f}")
            if meta.get("training_seconds")
            else ""
        )
        + (say(lang, "model.trained_on", images=f"{meta['train_images']:,}") if meta.get("train_images") else "")
    )
    metrics = meta.get("metrics", {})
    if served.test_accuracy is not None:
        lines.append(say(lang, "model.mnist_accuracy", accuracy=f"{served.test_accuracy:.2%}"))
    if metrics.get("pen_test_accuracy") is not None:
        count, accuracy = f"{metrics.get('pen_test_count', 0):,}", f"{metrics['pen_test_accuracy']:.2%}"
        lines.append(say(lang, "model.pen_accuracy", count=count, accuracy=accuracy))
    if hp:
        lines.append(settings_table(hp, lang))
    if meta.get("command"):
        lines.append("\n" + say(lang, "model.command", command=without_paths(meta["command"], sees)))
    return "\n\n".join(lines)


def confusion_image(matrix: list[list[int]], lang: str | None = None) -> Image.Image:
    """A heat map with counts, drawn with Pillow: rows are true digits, columns predictions."""
    m = np.asarray(matrix, dtype=np.float64)
    cell, left, top = 46, 64, 64
    font = ImageFont.load_default(size=15)
    img = Image.new("RGB", (left + 10 * cell + 8, top + 10 * cell + 8), "white")
    pen = ImageDraw.Draw(img)
    off_diag = m.copy()
    np.fill_diagonal(off_diag, 0)
    worst = max(off_diag.max(), 1.0)
    pen.text((left + 5 * cell, 8), say(lang, "model.matrix_predicted"), fill=(80, 80, 80), font=font, anchor="mt")
    pen.text((8, top - 24), say(lang, "model.matrix_true"), fill=(80, 80, 80), font=font)
    for t in range(10):
        pen.text((left - 16, top + t * cell + cell // 2), str(t), fill="black", font=font, anchor="mm")
        pen.text((left + t * cell + cell // 2, top - 14), str(t), fill="black", font=font, anchor="mm")
        row_total = max(m[t].sum(), 1.0)
        for p in range(10):
            x, y = left + p * cell, top + t * cell
            if t == p:
                share = m[t, p] / row_total
                color = (int(255 - 150 * share), int(255 - 60 * share), int(255 - 150 * share))
            else:
                share = (m[t, p] / worst) ** 0.5
                color = (255, int(255 - 170 * share), int(255 - 170 * share))
            pen.rectangle([x, y, x + cell - 1, y + cell - 1], fill=color, outline=(225, 225, 225))
            pen.text((x + cell // 2, y + cell // 2), f"{int(m[t, p])}", fill="black", font=font, anchor="mm")
    return img


def mistakes_gallery(report: dict[str, Any], lang: str | None = None) -> list[tuple[np.ndarray, str]]:
    items = []
    for m in report.get("most_confident_mistakes", []):
        if "image" in m:
            img = 255 - np.asarray(m["image"], dtype=np.uint8)
            items.append((enlarge(img), say(lang, "model.read_as", label=m["label"], predicted=m["predicted"])))
    return items


def per_class_table(per_class: list[float], lang: str | None = None) -> str:
    row = [say(lang, "model.accuracy"), *[percent(a, 1) for a in per_class]]
    return digit_table([row], say(lang, "model.digit"))


def report_section(report: dict[str, Any], part: str, lang: str | None = None) -> tuple[str, Image.Image]:
    """A test set's section (`part`: "mnist" or "pen"): its accuracy, count, loss, per digit, and its matrix."""
    text = say(
        lang,
        "model.section",
        title=say(lang, f"model.{part}_title"),
        accuracy=f"{report['accuracy']:.2%}",
        count=f"{report.get('count', 0):,}",
        what=say(lang, f"model.{part}_what"),
        loss=f"{report['loss']:.4f}",
    )
    return text + "\n\n" + per_class_table(report["per_class_accuracy"], lang), confusion_image(
        report["confusion_matrix"], lang
    )


def drawings_md(ctx: AppContext, mnist: float | None = None, sees: bool = False, lang: str | None = None) -> str:
    """The serving model on the held-out collected drawings (never trained on), overall and per digit."""
    collector, served = ctx.drawings, ctx.holder.current
    if not collector.enabled or served.classifier is None:
        return ""
    store = collector.try_store()
    try:
        held = store.holdout_set() if store is not None else None
    except StoreError as exc:
        collector.failed(exc)
        held = None
    if held is None:
        return say(lang, "model.collected", warning=without_paths(collector.warning(), sees))
    images, labels = held
    beside = say(lang, "model.collected_beside", accuracy=f"{mnist:.2%}") if mnist is not None else ""
    if not len(labels):
        return say(lang, "model.collected_none")
    right = served.classifier.predict(images.astype(np.float32) / 255.0).argmax(axis=1) == labels
    per = [right[labels == d] for d in range(10)]
    cells = [f"{r.mean():.0%}" if len(r) else "—" for r in per]
    rows = [[say(lang, "model.accuracy"), *cells], [say(lang, "model.drawings_count"), *[str(len(r)) for r in per]]]
    return (
        say(lang, "model.collected_title", accuracy=f"{right.mean():.2%}", beside=beside)
        + "\n\n"
        + say(lang, "model.collected_rests", count=f"{len(labels):,}")
        + "\n\n"
        + digit_table(rows, say(lang, "model.digit"))
    )


def model_page(
    ctx: AppContext, sees: bool = False, lang: str | None = None
) -> tuple[str, str, str, str, Any, str, Any, list[tuple[np.ndarray, str]], str]:
    """The two networks side by side, summary, architecture, MNIST section + matrix, real-handwriting section +
    matrix, worst mistakes, held-out collected drawings; server paths only for a viewer who may see them."""
    served = ctx.holder.current
    try:
        report = ctx.holder.report(served, ctx.jobs.data_path)
    except (DataError, OSError) as exc:
        note = say(lang, "model.report_unavailable", reason=without_paths(str(exc), sees))
        summary, arch = model_summary(served, sees, lang), architecture_table(served, lang)
        return networks_md(ctx, lang), summary, arch, note, None, "", None, [], drawings_md(ctx, None, sees, lang)
    mnist_md, mnist_img = report_section(report, "mnist", lang)
    pens = report.get("real_handwriting")
    pen_md, pen_img = report_section(pens, "pen", lang) if pens else (say(lang, "model.no_pens"), None)
    return (
        networks_md(ctx, lang),
        model_summary(served, sees, lang),
        architecture_table(served, lang),
        mnist_md,
        mnist_img,
        pen_md,
        pen_img,
        mistakes_gallery(report, lang),
        drawings_md(ctx, float(report["accuracy"]), sees, lang),
    )


def _confusion_view(label: Any) -> gr.Image:
    """The matrix without Gradio's label tag, which sits over the picture's top rows: the text above names it."""
    return gr.Image(label=label, show_label=False, type="pil", interactive=False, height=480, buttons=["download"])


def build(ctx: AppContext) -> tuple[Any, list[gr.components.Component]]:
    """The tab; what it shows, made by `model_page` (on opening it and when the language changes)."""
    with gr.Tab(T("tab.model"), id="model", elem_id="tab-model") as tab:
        networks = gr.Markdown(elem_id="model-networks", elem_classes=["networks-table"])
        with gr.Row(equal_height=False):
            summary = gr.Markdown(elem_id="model-summary", elem_classes=["fit-table", "words-table"])
            arch = gr.Markdown(elem_id="model-arch", elem_classes=["fit-table", "words-table"])
        with gr.Row(equal_height=False):
            with gr.Column():
                mnist_md = gr.Markdown(elem_id="model-mnist", elem_classes=["fit-table"])
                mnist_img = _confusion_view(T("model.matrix_mnist"))
            with gr.Column():
                pen_md = gr.Markdown(elem_id="model-pens", elem_classes=["fit-table"])
                pen_img = _confusion_view(T("model.matrix_pens"))
        gr.Markdown(T("model.mistakes"), elem_id="model-mistakes-title")
        gallery = thumbnails(T("model.mistakes_label"), 8, 300, "model-mistakes")
        drawings = gr.Markdown(elem_id="model-drawings", elem_classes=["fit-table"])

    def page(request: gr.Request) -> tuple[Any, ...]:
        return model_page(ctx, sees_paths(ctx, request), lang_of(request))

    shown = [networks, summary, arch, mnist_md, mnist_img, pen_md, pen_img, gallery, drawings]
    tab.select(page, None, shown, api_name="model_tab", api_visibility="private")
    return tab, shown
