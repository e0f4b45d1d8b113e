"""Draw-a-digit web demo: a thin Gradio layer over mnist_core (serving, jobs, predict, evaluate).

`python demo.py` serves the current model on http://127.0.0.1:7860, offline, with no data needed;
TensorFlow is imported only when someone retrains.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# A prediction is three small matmuls: one BLAS thread each. Multi-threaded OpenBLAS spins every core
# per call and, with several requests at once, made /predict 2× slower than a no-op under load.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import html  # noqa: E402
import ipaddress  # noqa: E402
import math  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from mnist_core.config import PRESETS, UI_LIMITS, preset  # noqa: E402
from mnist_core.data import DataError  # noqa: E402
from mnist_core.jobs import JobManager, Snapshot  # noqa: E402
from mnist_core.model import LAYER_NAMES  # noqa: E402
from mnist_core.predict import BLANK_MESSAGE, Reading  # noqa: E402
from mnist_core.serving import ModelHolder, Served, describe_time, open_initial, upscale, version_choices  # noqa: E402
from mnist_core.storage import ModelError, serving_path  # noqa: E402

EXAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "examples"
LOOPBACK = ("localhost",)
CANVAS = 448  # the drawing surface in browser pixels
BRUSH_RADIUS = 11  # ≈ 22 px strokes: after scaling a ~300 px digit to 20 px, close to MNIST's pen
POLL_S = 0.5
DIGITS = [str(d) for d in range(10)]
UNREADABLE = "that file is not a readable image; send a PNG, JPEG, BMP, GIF or WebP"

# Gradio's sketchpad starts with no tool selected; pick the brush as soon as it exists so the first
# stroke draws. Also re-picked after "Clear canvas", which drops the tool again.
READY_TO_DRAW_JS = """
() => {
  const pick = () => {
    const brush = document.querySelector('#sketch button[aria-label="Brush"]');
    if (!brush) return false;
    if (!brush.classList.contains('selected') && brush.getAttribute('aria-pressed') !== 'true') brush.click();
    return true;
  };
  let tries = 0;
  const timer = setInterval(() => { if (pick() || ++tries > 100) clearInterval(timer); }, 150);
  document.addEventListener('click', (e) => {
    if (e.target.closest('#sketch button[aria-label="Clear canvas"], #clear-sketch, #tab-draw-button')) {
      setTimeout(pick, 150);
    }
  }, true);
}
"""

CSS = """
.verdict .digit { font-size: 96px; font-weight: 700; line-height: 1; }
.verdict .conf { font-size: 20px; margin-left: 12px; color: var(--body-text-color-subdued); }
.verdict .hint { font-size: 28px; color: var(--body-text-color-subdued); }
.verdict .unsure .digit { color: #b45309; }
.verdict .error { font-size: 18px; color: #b91c1c; }
.verdict { min-height: 120px; display: flex; align-items: center; }
.warning-banner { background: #fef3c7; border: 1px solid #f59e0b; border-radius: 8px; padding: 8px 12px; }
.seen img { image-rendering: pixelated; }
#train-status progress { width: 100%; height: 14px; }
"""


@dataclass(frozen=True)
class Settings:
    """Launch decisions the pages need to know about."""

    retrain_allowed: bool
    retrain_reason: str


# ---------------------------------------------------------------- readings → page and API


def reading_json(reading: Reading) -> dict[str, Any]:
    """The API answer: plain JSON, the same for /predict and /predict_image."""
    probs = reading.probabilities if reading.probabilities is not None else np.zeros(10)
    return {"digit": reading.digit, "confidence": round(reading.confidence, 6), "unsure": reading.unsure,
            "probabilities": [round(float(p), 6) for p in probs], "message": reading.message}


def verdict_html(reading: Reading, hint: str = "draw a digit") -> str:
    if reading.status == "blank":
        return f'<div class="hint">{hint}</div>'
    if reading.status == "error":
        return f'<div class="error">{html.escape(reading.message)}</div>'
    if reading.unsure:
        return (f'<div class="unsure"><span class="digit">{reading.digit}?</span>'
                f'<span class="conf">{html.escape(reading.message)}</span></div>')
    return (f'<div><span class="digit">{reading.digit}</span>'
            f'<span class="conf">{reading.confidence:.0%} sure</span></div>')


def bars(reading: Reading) -> pd.DataFrame:
    probs = reading.probabilities if reading.probabilities is not None else np.zeros(10)
    return pd.DataFrame({"digit": DIGITS, "probability": [float(p) for p in probs]})


def seen_image(reading: Reading) -> np.ndarray | None:
    return None if reading.image is None else upscale(reading.image)


def page_outputs(reading: Reading, hint: str = "draw a digit") -> tuple[str, pd.DataFrame, np.ndarray | None]:
    return verdict_html(reading, hint), bars(reading), seen_image(reading)


def sketch_source(editor: dict[str, Any] | None) -> Any:
    """The composite (ink on white) if present, else the top layer (ink on transparent), else None."""
    if not editor:
        return None
    if editor.get("error"):
        return Reading("error", editor["error"])
    if editor.get("composite") is not None:
        return editor["composite"]
    layers = [layer for layer in editor.get("layers") or [] if layer is not None]
    return layers[-1] if layers else editor.get("background")


def read_source(holder: ModelHolder, source: Any) -> Reading:
    return read_sources(holder, [source])[0]


def read_sources(holder: ModelHolder, sources: list[Any]) -> list[Reading]:
    """Never raises; a refused upload is described without the server's temporary file path."""
    readings = [source if isinstance(source, Reading) else Reading("blank", BLANK_MESSAGE) for source in sources]
    todo = [i for i, source in enumerate(sources) if source is not None and not isinstance(source, Reading)]
    for i, reading in zip(todo, holder.read_many([sources[i] for i in todo])):
        source = sources[i]
        if reading.status == "error" and isinstance(source, str):
            reading = Reading("error", UNREADABLE if "not a readable image" in reading.message
                              else reading.message.replace(source, Path(source).name))
        readings[i] = reading
    return readings


def tolerate_bad_files(component: gr.Sketchpad | gr.Image) -> None:
    """Make a non-image upload reach our function (which answers with a message) instead of a traceback.

    Wraps the instance's preprocess rather than subclassing: Gradio writes a .pyi stub next to any
    module that defines a component subclass.
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except Exception:  # noqa: BLE001 - Pillow refused the sender's file; our reader words the refusal
            if isinstance(component, gr.Image):
                return None if payload is None or payload.path is None else str(payload.path)
            return {"background": None, "layers": [], "composite": None, "error": UNREADABLE}

    component.preprocess = preprocess  # type: ignore[method-assign]


# ---------------------------------------------------------------- model tab


def architecture_table(served: Served) -> str:
    """From the served weights' shapes: no TensorFlow, no model build."""
    if served.classifier is None:
        return "no model is loaded"
    rows = ["| layer | type | output | parameters |", "|---|---|---|---:|", "| pixels | input | 784 | 0 |"]
    layers = served.classifier.layers
    for i, ((w, b), name) in enumerate(zip(layers, LAYER_NAMES, strict=True)):
        act = "softmax" if i == len(layers) - 1 else "relu"
        rows.append(f"| {name} | Dense ({act}) | {w.shape[1]} | {w.size + b.size:,} |")
        if i < len(layers) - 1:
            rows.append(f"| dropout{'' if i == 0 else f'_{i + 1}'} | Dropout | {w.shape[1]} | 0 |")
    rows.append(f"| **total** | | | **{served.classifier.params:,}** |")
    return "\n".join(rows)


def model_summary(served: Served) -> str:
    meta = served.metadata
    hp = meta.get("hyperparameters", {})
    where = "—" if served.path is None else f"`{served.path}`"
    lines = [f"### Serving: {served.label}", f"File: {where}"]
    if served.warning:
        lines.append(f"\n⚠️ {served.warning}")
    if meta:
        lines.append(f"Trained {describe_time(meta.get('created'))}"
                     + (f" in {meta['training_seconds']:.0f} s" if meta.get("training_seconds") else "")
                     + (f" on {meta['train_images']:,} images" if meta.get("train_images") else ""))
        if served.test_accuracy is not None:
            lines.append(f"Test accuracy (from its sidecar): **{served.test_accuracy:.2%}**")
        if hp:
            keys = ["epochs", "batch_size", "learning_rate", "lr_schedule", "dropout", "validation_split",
                    "augment", "deskew", "train_subset", "seed"]
            lines.append("Settings: " + " · ".join(f"{k.replace('_', ' ')} **{hp[k]}**" for k in keys if k in hp))
        if meta.get("command"):
            lines.append(f"\nCommand: `{meta['command']}`")
    elif served.path is not None:
        lines.append("No sidecar with training settings was found next to this file.")
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
        if "image" not in m:
            continue
        img = 255 - np.asarray(m["image"], dtype=np.uint8)
        big = np.kron(img, np.ones((4, 4), np.uint8))
        items.append((big, f"{m['label']} read as {m['predicted']}"))
    return items


def per_class_table(per_class: dict[str, float]) -> str:
    return ("| digit | " + " | ".join(DIGITS) + " |\n|---|" + "---:|" * 10 + "\n| accuracy | "
            + " | ".join(f"{per_class[d]:.1%}" for d in DIGITS) + " |")


# ---------------------------------------------------------------- train tab


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


def status_html(snap: Snapshot) -> str:
    if snap.state == "idle":
        return "<p>No training yet. Choose settings and press <b>Retrain</b>.</p>"
    title = {"loading": "Preparing", "training": "Training", "completed": "Done", "cancelled": "Cancelled",
             "failed": "Failed"}[snap.state]
    detail = snap.where() if snap.running else snap.message
    bar = f'<progress value="{snap.fraction:.3f}" max="1"></progress>' if snap.running else ""
    return (f"<p><b>{title} (training #{snap.job_id})</b> — {html.escape(detail)}</p>{bar}"
            f"<p style='opacity:.7'>elapsed {snap.elapsed_s:.0f} s</p>")


def comparison_md(snap: Snapshot) -> str:
    """Old vs new on the test set: overall and per digit, one row per model."""
    if snap.state != "completed" or snap.new_accuracy is None:
        return ""
    old = f"{snap.old_accuracy:.2%}" if snap.old_accuracy is not None else "unknown"
    old_cells = [f"{a:.1%}" for a in snap.old_per_class] if snap.old_per_class else ["—"] * 10
    new_cells = [f"{a:.1%}" for a in snap.new_per_class]
    lines = ["### Old vs new on the MNIST test set",
             "| model | accuracy | " + " | ".join(DIGITS) + " |", "|---|---:|" + "---:|" * 10,
             f"| old: {html.escape(snap.old_label)} | {old} | " + " | ".join(old_cells) + " |",
             f"| new: {Path(snap.new_path).stem} | **{snap.new_accuracy:.2%}** | " + " | ".join(new_cells) + " |"]
    verdict = ("The new model is serving now." if snap.activated
               else "The old model is still serving; pick the new version below to switch.")
    return "\n".join(lines) + f"\n\n{verdict}"


# ---------------------------------------------------------------- the app


def build_app(holder: ModelHolder, jobs: JobManager, settings: Settings) -> gr.Blocks:
    """All tabs; every event named, UI-only events hidden from the API."""
    hidden = {"api_visibility": "private"}

    def predict_sketch(editor: dict[str, Any] | None) -> tuple[str, pd.DataFrame, np.ndarray | None]:
        return page_outputs(read_source(holder, sketch_source(editor)))

    def predict_api(editors: list[dict[str, Any] | None]) -> tuple[list[dict[str, Any]]]:
        """Read a digit from a sketchpad value {"background", "layers", "composite"}.

        Batched: calls waiting in the queue together share one forward pass through the network.
        """
        return ([reading_json(r) for r in read_sources(holder, [sketch_source(e) for e in editors])],)

    def predict_image_api(path: str | None) -> dict[str, Any]:
        """Read a digit from an image file (PNG, JPEG, …): black-on-white, white-on-black or a photo."""
        return reading_json(read_source(holder, path))

    def predict_upload(path: str | None) -> tuple[str, pd.DataFrame, np.ndarray | None]:
        return page_outputs(read_source(holder, path), hint="upload a picture of one digit")

    def ping(editor: dict[str, Any] | None) -> dict[str, Any]:
        """Same input and transport as /predict, no model: the baseline for bench/api_load.py."""
        return {"digit": None, "confidence": 0.0, "unsure": False, "probabilities": [0.0] * 10, "message": "pong"}

    def model_tab() -> tuple[str, str, str, str, Image.Image | None, list[tuple[np.ndarray, str]]]:
        served = holder.current
        try:
            report = holder.report(served, jobs.data_path)
        except (DataError, OSError) as exc:
            note = f"Test-set report unavailable: {exc}"
            return model_summary(served), architecture_table(served), note, "", None, []
        acc = (f"### MNIST test accuracy: {report['accuracy']:.2%}\n\n"
               f"{report.get('count', 10000):,} test images, loss {report['loss']:.4f}. "
               "Confusion matrix below: rows are the true digit, columns what the model read.")
        return (model_summary(served), architecture_table(served), acc, per_class_table(report["per_class_accuracy"]),
                confusion_image(report["confusion_matrix"]), mistakes_gallery(report))

    def fill_preset(name: str) -> tuple[Any, ...]:
        hp = preset(name)
        return (min(hp.epochs, UI_LIMITS.max_epochs), hp.batch_size, hp.validation_split, hp.learning_rate,
                hp.dropout, hp.augment)

    def train_notice() -> dict[str, Any]:
        text = ""
        if not settings.retrain_allowed:
            text = f"Retraining is disabled: {settings.retrain_reason}"
        elif problem := jobs.data_problem():
            text = f"No training data: {problem}"
        return gr.update(value=f'<div class="warning-banner">{html.escape(text)}</div>', visible=bool(text))

    started_with = holder.current.path

    def known_versions() -> list[tuple[str, str]]:
        """Saved versions, the shipped model and the model the server started with: all one may switch to."""
        choices = version_choices()
        if started_with and str(started_with.resolve()) not in [path for _, path in choices]:
            choices.insert(0, (f"{started_with.stem} (started with --model)", str(started_with.resolve())))
        return choices

    def versions_update() -> dict[str, Any]:
        current = holder.current.path
        value = str(current.resolve()) if current else None
        labelled = [(f"{label}  ← serving" if path == value else label, path) for label, path in known_versions()]
        return gr.update(choices=labelled, value=value)

    def job_outputs(snap: Snapshot, extra: str = "") -> tuple[Any, ...]:
        loss, acc = curve_frames(snap)
        text = status_html(snap) if not extra else f"<p><b>{html.escape(extra)}</b></p>" + status_html(snap)
        versions = versions_update() if snap.state == "completed" else gr.update()
        return text, loss, acc, comparison_md(snap), snap.to_json() | ({"notice": extra} if extra else {}), versions

    def watch(extra: str = "") -> Iterator[tuple[Any, ...]]:
        """Poll the job until it ends; a page closing just stops this generator, never the job."""
        last: tuple[int, str, int, float] | None = None
        beat = 0.0
        while True:
            snap = jobs.snapshot()
            key = (snap.job_id, snap.state, len(snap.curve), round(snap.fraction, 3))
            if key != last or time.monotonic() - beat > 2.0:
                last, beat = key, time.monotonic()
                yield job_outputs(snap, extra)
            if not snap.running:
                return
            time.sleep(POLL_S)

    def retrain(preset_name: str, epochs: float, batch_size: float, validation_split: float, learning_rate: float,
                dropout: float, augment: bool, activate: bool, subset: float) -> Iterator[tuple[Any, ...]]:
        """Start a training run (one at a time per server) and stream its progress."""
        if not settings.retrain_allowed:
            yield job_outputs(jobs.snapshot(), f"retraining is disabled: {settings.retrain_reason}")
            return
        try:
            hp = preset(preset_name).replace(
                epochs=int(epochs), batch_size=int(batch_size), validation_split=float(validation_split),
                learning_rate=float(learning_rate), dropout=float(dropout), augment=bool(augment),
                train_subset=max(0, int(subset or 0)))
        except (ValueError, TypeError) as exc:
            yield job_outputs(jobs.snapshot(), f"not started: {exc}")
            return
        started, message = jobs.start(hp, activate=bool(activate))
        if not started:
            yield job_outputs(jobs.snapshot(), message)
            return
        yield from watch()

    def watch_job() -> Iterator[tuple[Any, ...]]:
        """Follow the running (or last) training without starting one."""
        yield from watch()

    def cancel_job() -> str:
        """Ask the running training to stop; it stops within a batch and saves nothing."""
        return jobs.cancel()

    def switch_version(path: str | None) -> tuple[str, dict[str, Any]]:
        """Serve another saved version (or the shipped model) from now on."""
        if not settings.retrain_allowed:
            return f"switching models is disabled: {settings.retrain_reason}", versions_update()
        if not path:
            return "pick a version first", versions_update()
        if path not in [known for _, known in known_versions()]:
            return f"not switched: {path} is not a saved version", versions_update()
        try:
            served = holder.switch_to(Path(path))
        except ModelError as exc:
            return f"not switched: {exc}", versions_update()
        return f"now serving the {served.label}", versions_update()

    def on_load(request: gr.Request) -> tuple[Any, ...]:
        subset = 0
        try:
            subset = max(0, int(request.query_params.get("subset", 0)))
        except (TypeError, ValueError):
            pass
        return (banner(), subset, train_notice(), versions_update(), *job_outputs(jobs.snapshot())[:4])

    def banner() -> dict[str, Any]:
        warning = holder.current.warning
        return gr.update(value=f'<div class="warning-banner">⚠️ {html.escape(warning)}</div>', visible=bool(warning))

    with gr.Blocks(title="Draw a digit") as demo:
        gr.Markdown("# Draw a digit\nA dense network trained on MNIST reads your handwriting. "
                    "Draw one digit, large, in the middle of the pad.")
        warning_box = gr.HTML(visible=False)
        with gr.Tabs():
            with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=480):
                        sketch = gr.Sketchpad(
                            label="Draw here", elem_id="sketch", type="pil", image_mode="RGBA", format="png",
                            canvas_size=(CANVAS, CANVAS), fixed_canvas=True, layers=False, height=CANVAS + 120,
                            brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
                            eraser=gr.Eraser(default_size=24), transforms=(), sources=(),
                            buttons=["download"])
                        gr.ClearButton([sketch], value="Clear", elem_id="clear-sketch")
                    with gr.Column(scale=2, min_width=320):
                        verdict = gr.HTML('<div class="hint">draw a digit</div>', elem_id="verdict",
                                          elem_classes=["verdict"])
                        bar_plot = gr.BarPlot(bars(Reading("blank", "")), x="digit", y="probability", y_lim=[0, 1],
                                              label="Probability of each digit", height=230,
                                              elem_id="bars", show_label=True)
                        seen = gr.Image(label="What the model saw (28×28)", height=240, width=240,
                                        interactive=False, elem_id="seen", elem_classes=["seen"],
                                        buttons=["download"])
                sketch.change(predict_sketch, sketch, [verdict, bar_plot, seen], show_progress="hidden",
                              concurrency_limit=4, api_name="predict_sketch", **hidden)
            with gr.Tab("Upload", id="upload", elem_id="tab-upload"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        upload = gr.Image(label="A photo or scan of one digit", type="filepath", image_mode=None,
                                           sources=["upload", "clipboard"], height=360, elem_id="upload-image")
                    with gr.Column(scale=2, min_width=320):
                        up_verdict = gr.HTML('<div class="hint">upload a picture of one digit</div>',
                                             elem_id="up-verdict", elem_classes=["verdict"])
                        up_bars = gr.BarPlot(bars(Reading("blank", "")), x="digit", y="probability", y_lim=[0, 1],
                                             label="Probability of each digit", height=230)
                        up_seen = gr.Image(label="What the model saw (28×28)", height=240, width=240,
                                           interactive=False, elem_classes=["seen"])
                examples = sorted(EXAMPLES_DIR.glob("*.png"))
                if examples:
                    gr.Examples([[str(p)] for p in examples], inputs=[upload], label="Examples: click one",
                                elem_id="examples", examples_per_page=12)
                upload.change(predict_upload, upload, [up_verdict, up_bars, up_seen], show_progress="hidden",
                              concurrency_limit=4, api_name="predict_upload", **hidden)
            with gr.Tab("Model", id="model", elem_id="tab-model") as model_tab_ui:
                with gr.Row(equal_height=False):
                    with gr.Column():
                        summary_md = gr.Markdown()
                    with gr.Column():
                        gr.Markdown("### Architecture")
                        arch_md = gr.Markdown()
                accuracy_md = gr.Markdown()
                per_class_md = gr.Markdown()
                with gr.Row(equal_height=False):
                    confusion = gr.Image(label="Confusion matrix", type="pil", interactive=False, height=540,
                                         buttons=["download"])
                    gallery = gr.Gallery(label="Most confident mistakes on the test set", columns=5, height=540,
                                         object_fit="contain")
            with gr.Tab("Train", id="train", elem_id="tab-train") as train_tab_ui:
                notice = gr.HTML(visible=False)
                fast = PRESETS["fast"]
                with gr.Row():
                    preset_radio = gr.Radio(["fast", "default", "seed"], value="fast", label="Preset",
                                            info="fast ≈ a minute; default = the shipped recipe; seed = the notebook")
                    activate = gr.Checkbox(True, label="Serve the new model when it finishes")
                with gr.Row():
                    epochs = gr.Slider(1, UI_LIMITS.max_epochs, value=fast.epochs, step=1, label="Epochs")
                    batch = gr.Slider(UI_LIMITS.min_batch, UI_LIMITS.max_batch, value=fast.batch_size, step=1,
                                      label="Batch size")
                    vsplit = gr.Slider(0.0, 0.999, value=fast.validation_split, step=0.001, label="Validation split")
                with gr.Row():
                    lr = gr.Number(fast.learning_rate, label="Learning rate", minimum=1e-6, maximum=0.1)
                    dropout = gr.Slider(0.0, 0.9, value=fast.dropout, step=0.05, label="Dropout")
                    augment = gr.Checkbox(fast.augment, label="Augmentation (canvas-like distortions)")
                subset = gr.Number(0, visible=False, precision=0)
                with gr.Row():
                    retrain_btn = gr.Button("Retrain", variant="primary", interactive=settings.retrain_allowed,
                                            elem_id="retrain")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
                    watch_btn = gr.Button("Watch the running training", elem_id="watch")
                status = gr.HTML(status_html(jobs.snapshot()), elem_id="train-status")
                with gr.Row():
                    # The legend does not render for series added while streaming: the label names them.
                    loss_plot = gr.LinePlot(
                        x="epoch", y="value", color="series", height=300, elem_id="loss-plot",
                        label="Loss: blue = training (mean so far in the epoch), orange = validation",
                        color_map={"train loss": "#2563eb", "validation loss": "#ea580c"},
                        x_title="epoch", y_title="loss")
                    acc_plot = gr.LinePlot(
                        x="epoch", y="value", color="series", height=300, elem_id="acc-plot",
                        label="Accuracy: blue = training, orange = validation",
                        color_map={"train accuracy": "#2563eb", "validation accuracy": "#ea580c"},
                        x_title="epoch", y_title="accuracy", y_lim=[0, 1])
                compare = gr.Markdown()
                job_json = gr.JSON(visible=False)
                with gr.Row():
                    versions = gr.Dropdown([], label="Saved versions", scale=4, interactive=True,
                                           allow_custom_value=True)  # choices change at run time
                    switch_btn = gr.Button("Serve this version", scale=1, interactive=settings.retrain_allowed)
                switch_status = gr.Markdown()

        api_in = gr.Image(type="filepath", image_mode=None, visible=False)
        for component in (sketch, upload, api_in):
            tolerate_bad_files(component)
        api_out = gr.JSON(visible=False)
        gr.Button(visible=False).click(predict_api, sketch, api_out, api_name="predict", concurrency_limit=4,
                                      batch=True, max_batch_size=8)
        gr.Button(visible=False).click(predict_image_api, api_in, api_out, api_name="predict_image",
                                      concurrency_limit=4)
        gr.Button(visible=False).click(ping, sketch, api_out, api_name="ping", concurrency_limit=4,
                                      api_visibility="undocumented")

        model_outputs = [summary_md, arch_md, accuracy_md, per_class_md, confusion, gallery]
        model_tab_ui.select(model_tab, None, model_outputs, api_name="model_tab", **hidden)
        train_tab_ui.select(train_notice, None, notice, api_name="train_notice", **hidden)
        preset_radio.change(fill_preset, preset_radio, [epochs, batch, vsplit, lr, dropout, augment],
                            api_name="fill_preset", **hidden)
        job_targets = [status, loss_plot, acc_plot, compare, job_json, versions]
        retrain_inputs = [preset_radio, epochs, batch, vsplit, lr, dropout, augment, activate, subset]
        retrain_btn.click(retrain, retrain_inputs, job_targets, api_name="retrain", concurrency_limit=None,
                          show_progress="hidden")
        watch_btn.click(watch_job, None, job_targets, api_name="watch", concurrency_limit=None,
                        show_progress="hidden")
        cancel_btn.click(cancel_job, None, switch_status, api_name="cancel", concurrency_limit=None,
                         show_progress="hidden")
        switch_btn.click(switch_version, versions, [switch_status, versions], api_name="switch_version")
        demo.load(on_load, None, [warning_box, subset, notice, versions, status, loss_plot, acc_plot, compare],
                  api_name="on_load", **hidden)
    return demo


# ---------------------------------------------------------------- launch


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(description="Draw-a-digit web demo (Gradio).")
    p.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to bind (env GRADIO_SERVER_NAME; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", "7860")),
                   help="port (env GRADIO_SERVER_PORT; default 7860)")
    p.add_argument("--share", action="store_true", default=env("GRADIO_SHARE", "").lower() in ("1", "true", "yes"),
                   help="ask for a public gradio.live link (env GRADIO_SHARE=1)")
    p.add_argument("--auth", default=env("MNIST_DEMO_AUTH"),
                   help="require a login: user:password (env MNIST_DEMO_AUTH)")
    p.add_argument("--auth-file", help="require a login: a file with one user:password per line")
    p.add_argument("--model", help="a .keras file to serve (default: the chosen or newest trained version, "
                                   "else the shipped model)")
    p.add_argument("--data", help="MNIST folder or mnist.npz for retraining and the test report "
                                  "(default: $MNIST_DATA, else Keras' download)")
    p.add_argument("--allow-public-retrain", action="store_true",
                   help="allow retraining on a shared or non-loopback server without --auth")
    return p


def read_auth(args: argparse.Namespace) -> list[tuple[str, str]]:
    """user:password pairs from --auth and --auth-file; a malformed line is a one-line error."""
    pairs: list[str] = []
    if args.auth:
        pairs.append(args.auth)
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"error: cannot read --auth-file {args.auth_file}: {exc.strerror}") from None
        pairs += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    result = []
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise SystemExit("error: auth entries must look like user:password")
        result.append((user, password))
    return result


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def decide(args: argparse.Namespace, auth: list[tuple[str, str]]) -> tuple[Settings, list[str]]:
    """Who may retrain, and the warnings to print before serving."""
    public = args.share or not is_loopback(args.host)
    warnings = []
    if public and not auth:
        where = "a share link" if args.share else f"host {args.host}"
        warnings.append(f"warning: serving on {where} without --auth: anyone who can reach it can use the demo")
    if public and not auth and not args.allow_public_retrain:
        reason = ("the demo is public (--share or a non-loopback --host) without a login; restart it with "
                  "--auth user:password or --allow-public-retrain")
        return Settings(False, reason), warnings
    return Settings(True, ""), warnings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    auth = read_auth(args)
    settings, warnings = decide(args, auth)
    for line in warnings:
        print(line, file=sys.stderr)
    requested = Path(args.model) if args.model else serving_path()
    served = open_initial(requested)
    if served.warning:
        print(f"warning: {served.warning}", file=sys.stderr)
    holder = ModelHolder(served)
    jobs = JobManager(holder, args.data)
    threading.Thread(target=_warm_report, args=(holder, args.data), daemon=True, name="report-warmup").start()
    demo = build_app(holder, jobs, settings)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth or None,
                prevent_thread_lock=True, css=CSS, js=READY_TO_DRAW_JS, show_error=False, quiet=True,
                footer_links=["api"])
    local = f"http://{args.host}:{demo.server_port}"
    if args.share and not demo.share_url:
        print(f"share link unavailable (no internet): serving locally at {local}", flush=True)
    elif demo.share_url:
        print(f"serving at {local} and publicly at {demo.share_url}", flush=True)
    else:
        print(f"serving at {local}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM stops the demo like Ctrl+C: the server closes instead of lingering."""
    raise KeyboardInterrupt


def _warm_report(holder: ModelHolder, data_path: str | None) -> None:
    """Compute (or read) the served model's test report off the request path, so the Model tab opens fast."""
    try:
        holder.report(data_path=data_path)
    except (DataError, OSError):
        pass


if __name__ == "__main__":
    sys.exit(main())
