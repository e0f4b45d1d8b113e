"""Model tab: which model serves, its settings and architecture, and how it reads MNIST and real pens."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_core.config import SUMMARY
from mnist_core.data.mnist import DataError
from mnist_core.drawings.store import StoreError
from mnist_core.model.network import LAYER_NAMES
from mnist_core.model.versions import describe_time
from mnist_core.serving.holder import Served
from mnist_ui.components.gallery import enlarge, thumbnails
from mnist_ui.server.access import sees_paths, shown_path, without_paths
from mnist_ui.server.context import AppContext
from mnist_ui.text.format import digit_table, percent


def architecture_table(served: Served) -> str:
    """From the served weights' shapes: no TensorFlow, no model build."""
    if served.classifier is None:
        return "no model is loaded"
    rows = ["| layer (kind) | output | parameters |", "|---|---:|---:|", "| pixels (input) | 784 | 0 |"]
    layers = served.classifier.layers
    for i, ((w, b), name) in enumerate(zip(layers, LAYER_NAMES, strict=True)):
        act = "softmax" if i == len(layers) - 1 else "relu"
        rows.append(f"| {name} (Dense, {act}) | {w.shape[1]} | {w.size + b.size:,} |")
        if i < len(layers) - 1:
            rows.append(f"| dropout{'' if i == 0 else f'_{i + 1}'} (Dropout) | {w.shape[1]} | 0 |")
    rows.append(f"| **total** | | **{served.classifier.params:,}** |")
    return "\n".join(rows)


def model_summary(served: Served, sees: bool = False) -> str:
    """What serves and how it was made; its file and the paths in its command only for a viewer who may see
    the server's paths (`access.sees_paths`)."""
    meta = served.metadata
    hp = meta.get("hyperparameters", {})
    where = shown_path(served.path, sees)
    lines = [f"### Serving: {served.label}", f"File: {f'`{where}`' if sees and served.path else where}"]
    if served.warning:
        lines.append(f"\n⚠️ {without_paths(served.warning, sees)}")
    if not meta:
        if served.path is not None:
            lines.append("No sidecar with training settings was found next to this file.")
        return "\n\n".join(lines)
    lines.append(
        f"Trained {describe_time(meta.get('created'))}"
        + (f" in {meta['training_seconds']:.0f} s" if meta.get("training_seconds") else "")
        + (f" on {meta['train_images']:,} images" if meta.get("train_images") else "")
    )
    metrics = meta.get("metrics", {})
    if served.test_accuracy is not None:
        lines.append(f"MNIST test accuracy (from its sidecar): **{served.test_accuracy:.2%}**")
    if metrics.get("pen_test_accuracy") is not None:
        lines.append(
            f"Real handwriting, {metrics.get('pen_test_count', 0):,} digits by UNIPEN writers it never saw: "
            f"**{metrics['pen_test_accuracy']:.2%}**"
        )
    if hp:
        lines.append("Settings: " + " · ".join(f"{k.replace('_', ' ')} **{hp[k]}**" for k in SUMMARY if k in hp))
    if meta.get("command"):
        lines.append(f"\nCommand: `{without_paths(meta['command'], sees)}`")
    return "\n\n".join(lines)


def confusion_image(matrix: list[list[int]]) -> Image.Image:
    """A heat map with counts, drawn with Pillow: rows are true digits, columns predictions."""
    m = np.asarray(matrix, dtype=np.float64)
    cell, left, top = 46, 64, 64
    font = ImageFont.load_default(size=15)
    img = Image.new("RGB", (left + 10 * cell + 8, top + 10 * cell + 8), "white")
    pen = ImageDraw.Draw(img)
    off_diag = m.copy()
    np.fill_diagonal(off_diag, 0)
    worst = max(off_diag.max(), 1.0)
    pen.text((left + 5 * cell, 8), "predicted digit", fill=(80, 80, 80), font=font, anchor="mt")
    pen.text((8, top - 24), "true", fill=(80, 80, 80), font=font)
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


def mistakes_gallery(report: dict[str, Any]) -> list[tuple[np.ndarray, str]]:
    items = []
    for m in report.get("most_confident_mistakes", []):
        if "image" in m:
            img = 255 - np.asarray(m["image"], dtype=np.uint8)
            items.append((enlarge(img), f"{m['label']} read as {m['predicted']}"))
    return items


def per_class_table(per_class: list[float], row: str = "accuracy") -> str:
    return digit_table([[row, *[percent(a, 1) for a in per_class]]])


def report_section(report: dict[str, Any], title: str, what: str) -> tuple[str, Image.Image]:
    text = (
        f"### {title}: {report['accuracy']:.2%}\n\n{report.get('count', 0):,} {what}, loss {report['loss']:.4f}. "
        "Confusion matrix: rows are the true digit, columns what the model read.\n\n"
        + per_class_table(report["per_class_accuracy"])
    )
    return text, confusion_image(report["confusion_matrix"])


def drawings_md(ctx: AppContext, mnist: float | None = None, sees: bool = False) -> str:
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
        return f"### Collected drawings\n\n⚠️ {without_paths(collector.warning(), sees)}"
    images, labels = held
    beside = f" (MNIST test: {mnist:.2%})" if mnist is not None else ""
    if not len(labels):
        return (
            "### Collected drawings\n\nNo held-out collected drawings yet: one in five corrected drawings is "
            "held out (never trained on) to measure the model; correct a few readings on the Draw tab."
        )
    right = served.classifier.predict(images.astype(np.float32) / 255.0).argmax(axis=1) == labels
    per = [right[labels == d] for d in range(10)]
    cells = [f"{r.mean():.0%}" if len(r) else "—" for r in per]
    return (
        f"### Held-out collected drawings: {right.mean():.2%}{beside}\n\n"
        f"Rests on {len(labels):,} drawings people corrected and that no fine-tune learns from.\n\n"
        + digit_table([["accuracy", *cells], ["drawings", *[str(len(r)) for r in per]]])
    )


def model_page(
    ctx: AppContext, sees: bool = False
) -> tuple[str, str, str, Any, str, Any, list[tuple[np.ndarray, str]], str]:
    """Summary, architecture, MNIST section + matrix, real-handwriting section + matrix, worst mistakes,
    held-out collected drawings; server paths only for a viewer who may see them."""
    served = ctx.holder.current
    try:
        report = ctx.holder.report(served, ctx.jobs.data_path)
    except (DataError, OSError) as exc:
        note = f"Test-set report unavailable: {without_paths(str(exc), sees)}"
        summary, arch = model_summary(served, sees), architecture_table(served)
        return summary, arch, note, None, "", None, [], drawings_md(ctx, sees=sees)
    mnist_md, mnist_img = report_section(report, "MNIST test accuracy", "MNIST test images")
    pens = report.get("real_handwriting")
    pen_md, pen_img = (
        report_section(pens, "Real handwriting (UNIPEN writers it never saw)", "pen digits drawn as the pad draws them")
        if pens
        else ("No real-handwriting report for this model (train it with pen data to get one).", None)
    )
    return (
        model_summary(served, sees),
        architecture_table(served),
        mnist_md,
        mnist_img,
        pen_md,
        pen_img,
        mistakes_gallery(report),
        drawings_md(ctx, float(report["accuracy"]), sees),
    )


def _confusion_view(label: str) -> gr.Image:
    """The matrix without Gradio's label tag, which sits over the picture's top rows: the text above names it."""
    return gr.Image(label=label, show_label=False, type="pil", interactive=False, height=480, buttons=["download"])


def build(ctx: AppContext) -> None:
    with gr.Tab("Model", id="model", elem_id="tab-model") as tab:
        with gr.Row(equal_height=False):
            summary = gr.Markdown(elem_id="model-summary")
            with gr.Column():
                gr.Markdown("### Architecture")
                arch = gr.Markdown(elem_id="model-arch", elem_classes=["fit-table"])
        with gr.Row(equal_height=False):
            with gr.Column():
                mnist_md = gr.Markdown(elem_id="model-mnist", elem_classes=["fit-table"])
                mnist_img = _confusion_view("Confusion matrix, MNIST test")
            with gr.Column():
                pen_md = gr.Markdown(elem_id="model-pens", elem_classes=["fit-table"])
                pen_img = _confusion_view("Confusion matrix, real handwriting")
        gr.Markdown(
            "### Most confident mistakes on the MNIST test set\n\nEach captioned: the true digit, then what "
            "the model read.",
            elem_id="model-mistakes-title",
        )
        gallery = thumbnails("Most confident mistakes on the MNIST test set", 8, 300, "model-mistakes")
        drawings = gr.Markdown(elem_id="model-drawings", elem_classes=["fit-table"])

    def page(request: gr.Request) -> tuple[Any, ...]:
        return model_page(ctx, sees_paths(ctx, request))

    tab.select(
        page,
        None,
        [summary, arch, mnist_md, mnist_img, pen_md, pen_img, gallery, drawings],
        api_name="model_tab",
        api_visibility="private",
    )
