"""Inside the network, under the Draw tab's answer: collapsed until one click opens it, then painted with every reading.

No request of its own: while it is open the pad asks its server function for the insides with each drawing
(`inside_value`, computed in the reading's batch thread only for those who look), and the answer carries them
to this view as part of the same `reading` event the result panel paints. Opening it reads the drawing once
more, so it never shows an old one. Pictures travel as small PNGs (`tests/test_inside.py` keeps a reading's
insides under 12 KB); a unit's weight picture (a filter's 3×3 pattern) is made once per served model. The dense
network shows its first layer's units, the convolutional one its first convolution's filters, each with where on the
drawing it fired (`model.inside` decides which; the page follows the reading's `first`).
"""

from __future__ import annotations

import base64
import struct
import threading
import zlib
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from mnist_core.imaging.pictures import Steps
from mnist_core.imaging.strokes import RENDER_SIDE
from mnist_core.model.forward import Classifier
from mnist_core.model.inside import FirstLayer, Inside, look_inside, unit_picture
from mnist_core.serving.readings import Reading
from mnist_ui.components.lang_switch import speaking
from mnist_ui.server.personal import SHARED

PUSH_FULL = 0.9  # the push map's strongest tenth of inked pixels is full colour
SHOWN_SIDE = RENDER_SIDE // 4  # the drawing and its box travel at most this wide; the view shows them at 64–100 px
ORANGE, WHITE, BLUE = np.array([234, 88, 12]), np.array([255, 255, 255]), np.array([37, 99, 235])
STEPS = 16  # shades on each side of zero: enough for the eye, and a unit's noisy picture compresses far better


def _palette() -> list[int]:
    """Index STEPS is white (zero), 2·STEPS orange (most positive), 0 blue (most negative), even steps between."""
    t = np.abs(np.arange(2 * STEPS + 1) - float(STEPS))[:, None] / STEPS
    far = np.where(np.arange(2 * STEPS + 1)[:, None] >= STEPS, ORANGE, BLUE)
    return np.round(WHITE + (far - WHITE) * t).astype(np.uint8).ravel().tolist()


PALETTE = bytes(_palette())
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(pixels: np.ndarray, palette: bytes = b"") -> str:
    """8-bit pixels (H, W) as a base64 PNG: grey, or indices into `palette` (RGB triples). Written here, not by PIL:
    the CNN's view encodes a dozen small pictures for each reading, and PIL's generic save path costs several times
    the compression itself on each. Rows unfiltered, zlib level 1:
    on pictures this small, much faster than the default level and barely larger."""
    height, width = pixels.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row starts with its filter type, 0 (none)
    rows[:, 1:] = pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 3 if palette else 0, 0, 0, 0)
    data = (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + (_chunk(b"PLTE", palette) if palette else b"")
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )
    return base64.b64encode(data).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def grey_png(values: np.ndarray) -> str:
    """Floats in [0, 1] (1 = ink) as an 8-bit grey PNG: white ink on black, as the network sees it."""
    return png(np.clip(np.asarray(values) * 255.0 + 0.5, 0, 255).astype(np.uint8))


def signed_png(values: np.ndarray, full: float = 1.0) -> str:
    """Signed values as a PNG in the orange–white–blue palette; the `full` quantile of the non-zero magnitudes (and
    all above it) is full colour. A push map's few strongest pixels would otherwise leave the rest pale."""
    values = np.asarray(values, np.float32)
    magnitudes = np.abs(values[values != 0])
    at = min(magnitudes.size - 1, int(full * magnitudes.size))
    scale = float(np.partition(magnitudes, at)[at]) if magnitudes.size else 1.0
    shades = np.clip(np.round(values / scale * STEPS), -STEPS, STEPS) + STEPS
    return png(shades.astype(np.uint8), PALETTE)


def small_png(ink: Image.Image) -> str:
    """An ink picture ("L", 255 = ink), reduced by a whole factor so its longer side is at most SHOWN_SIDE."""
    factor = -(-max(ink.size) // SHOWN_SIDE)
    return png(np.asarray(ink.reduce(factor) if factor > 1 else ink))


class UnitPictures:
    """Each first-layer unit's weight picture as a PNG, made once for the served model (it changes only with it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._classifier: Classifier | None = None
        self._made: dict[int, str] = {}

    def get(self, classifier: Classifier, unit: int) -> str:
        with self._lock:
            if self._classifier is not classifier:
                self._classifier, self._made = classifier, {}
            made = self._made.get(unit)
        if made is None:
            made = signed_png(unit_picture(classifier, unit))
            with self._lock:
                if self._classifier is classifier:
                    self._made[unit] = made
        return made


UNITS = UnitPictures()


def path_pictures(steps: Steps, seen: np.ndarray, deskewed: bool) -> list[dict[str, str]]:
    """The drawing's way to the network, each picture the one the code made; the last is what the network reads."""
    shown = [
        {"key": "drawing", "png": small_png(steps.ink)},
        {"key": "box", "png": small_png(steps.box)},
        {"key": "fit", "png": grey_png(steps.fit)},
        {"key": "centred", "png": grey_png(steps.centred)},
    ]
    if deskewed:
        shown.append({"key": "deskewed", "png": grey_png(seen)})
    return shown


def unit_pictures(classifier: Classifier, first: FirstLayer) -> list[dict[str, Any]]:
    """The strongest units or filters: number, activation, weight picture, and for a filter where it fired (`map`,
    white where it did not, full orange at its own strongest place)."""
    shown = [
        {"n": int(n), "a": round(float(a), 2), "png": UNITS.get(classifier, int(n))}
        for n, a in zip(first.units, first.activations, strict=True)
    ]
    if first.maps is not None:
        for unit, fired in zip(shown, first.maps, strict=True):
            unit["map"] = signed_png(fired)
    return shown


def inside_value(classifier: Classifier | None, reading: Reading, answered_by: str = SHARED) -> dict[str, Any] | None:
    """What the view paints for one reading of a drawing by the shared network `classifier`, or None when there is
    nothing to look into; `answered_by` another model (a visitor's own), the view says so."""
    if classifier is None or reading.status != "ok" or reading.image is None or reading.steps is None:
        return None
    inside: Inside = look_inside(classifier, reading.image.reshape(-1))
    first = inside.first
    return {
        "path": path_pictures(reading.steps, reading.image, classifier.deskew),
        "first": first.kind,
        "units": unit_pictures(classifier, first),
        "on": first.on,
        "total": first.total,
        "push": signed_png(inside.push, PUSH_FULL),
        "answer": inside.answer,
        "runner": inside.runner_up,
        "probabilities": [round(float(p), 4) for p in inside.probabilities],
        "shared": answered_by != SHARED,
    }


CSS = """
.inside details { border: 1px solid #d4d4d8; border-radius: 10px; padding: 0 12px; margin-top: 8px;
                  contain: content; will-change: transform; }  /* a reading repaints this layer, not the page */
.inside summary { cursor: pointer; font-size: 18px; font-weight: 600; padding: 12px 0; min-height: 44px;
                  box-sizing: border-box; }
.inside h4 { margin: 10px 0 4px; font-size: 15px; }
.inside p { margin: 4px 0; font-size: 14px; color: var(--body-text-color-subdued); }
.inside .body > section { display: none; }
.inside.has .body > section { display: block; }
.inside.has .empty { display: none; }
.inside .strip { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.inside figure { margin: 0; text-align: center; }
.inside figure img { display: block; image-rendering: pixelated; border-radius: 4px; }
.inside .path img { width: 64px; height: 64px; object-fit: contain; background: #000; }
.inside .units img { width: 60px; height: 60px; border: 1px solid #e4e4e7; }
.inside figcaption { font-size: 12px; max-width: 72px; color: var(--body-text-color-subdued); }
.inside .units figcaption { display: flex; align-items: center; justify-content: center; gap: 4px; }
.inside .units img.kernel { display: inline-block; width: 21px; height: 21px; border-radius: 2px; }
body.present .inside .units img.kernel { width: 30px !important; height: 30px !important; }
.inside .why img { width: 140px; height: 140px; border: 1px solid #e4e4e7; }
.inside .prow { display: grid; grid-template-columns: 1.2em 1fr 3.2em; gap: 6px; align-items: center;
                font-size: 14px; font-variant-numeric: tabular-nums; }
.inside .ptrack { height: 12px; background: #f4f4f5; border-radius: 3px; overflow: hidden; }
.inside .pfill { height: 100%; background: #a1a1aa; }
.inside .prow.answer .pfill { background: #ea580c; }
.inside .prow.runner .pfill { background: #2563eb; }
.inside .prow span:last-child { text-align: right; }
"""

TEMPLATE = """
<div class="inside">
  <details id="inside-details">
    <summary data-w="summary"></summary>
    <div class="body">
      <p class="empty" data-w="empty"></p>
      <p class="shared-note" data-w="shared" hidden></p>
      <section class="path"><h4 data-w="path"></h4><div class="strip"></div></section>
      <section class="units"><h4 data-w="units"></h4><p class="conv" data-w="convolution" hidden></p><p class="on"></p>
        <div class="strip"></div><p class="legend"></p></section>
      <section class="why"><h4></h4><figure><img alt=""></figure><p class="legend"></p></section>
      <section class="probs"><h4 data-w="probs"></h4><div class="rows"></div><p data-w="softmax"></p></section>
    </div>
  </details>
</div>
"""

# Runs once: paints the `inside` part of every reading the pad hands to the result panel PANEL.
JS = """
const PANEL = '__PANEL__';
const root = element.querySelector('.inside'), details = root.querySelector('details');
const say = (key, v) => W[key].replace(/\\{(\\w+)\\}/g, (_, k) => v[k]);
const src = (png) => 'data:image/png;base64,' + png;
// Numbers as the rest of the page writes them in both languages: 21,632 (Latin-American Spanish groups as English).
const num = (n) => new Intl.NumberFormat(document.documentElement.lang === 'es' ? 'es-MX' : 'en').format(n);
// The words for the first layer: a dense network's units, or a convolution's filters (each also shows where it fired).
const FIRST = {
  units: {title: 'units', on: 'on', legend: 'units_legend'},
  filters: {title: 'filters', on: 'filters_on', legend: 'filters_legend'},
};
const FIGURES = {
  plain: '<figure><img alt="" decoding="async"><figcaption></figcaption></figure>',
  filter: '<figure><img alt="" decoding="async"><figcaption><img class="kernel" alt="" decoding="async">' +
    '<span></span></figcaption></figure>',
};
// Only what changed is written: the same text or picture written again would still cost the page a layout.
function put(el, value) { if (el.textContent !== value) el.textContent = value; }
function show(img, url, alt) {
  if (img.getAttribute('src') !== url) img.setAttribute('src', url);
  if (img.alt !== alt) img.alt = alt;
}
function pct(p) {
  if (p > 0.995 && p < 1) return '>99%';
  if (p > 0 && p < 0.005) return '<1%';
  return Math.round(p * 100) + '%';
}
// Pictures and rows are made once and then only updated: a reading while the pen moves repaints in place, and a
// picture that has not changed (a unit that fires again) is not decoded again.
function figures(strip, n, kind = 'plain') {
  if (strip.dataset.kind !== kind) { strip.replaceChildren(); strip.dataset.kind = kind; }  // another network now
  while (strip.children.length > n) strip.lastChild.remove();
  while (strip.children.length < n) strip.insertAdjacentHTML('beforeend', FIGURES[kind]);
  return [...strip.children];
}
function picture(fig, png, caption, alt) {
  show(fig.firstChild, src(png), alt);
  put(fig.lastChild.querySelector('span') || fig.lastChild, caption);
}
const rows = root.querySelector('.probs .rows');
rows.innerHTML = [...Array(10).keys()].map((d) =>
  `<div class="prow"><span>${d}</span><div class="ptrack"><div class="pfill"></div></div><span></span></div>`).join('');
let painted = null;  // the last reading, painted again when the language changes
function repaint() { if (painted) paint(painted); }
function paint(r) {
  painted = r;
  const ins = r && r.inside;
  root.classList.toggle('has', !!ins);
  if (!ins) return;
  const last = ins.path.length - 1;
  figures(root.querySelector('.path .strip'), ins.path.length).forEach((fig, i) => {
    const key = ins.path[i].key;
    picture(fig, ins.path[i].png, i === last ? `${W[key]}: ${W.reads}` : W[key], W[key]);
  });
  const words = FIRST[ins.first], filters = ins.first === 'filters';
  const share = Math.round(100 * ins.on / ins.total) + '%';
  put(root.querySelector('.units h4'), W[words.title]);
  root.querySelector('.units .conv').hidden = !filters;
  put(root.querySelector('.units .on'), say(words.on, {on: num(ins.on), total: num(ins.total), share}));
  figures(root.querySelector('.units .strip'), ins.units.length, filters ? 'filter' : 'plain').forEach((fig, i) => {
    const u = ins.units[i];
    picture(fig, filters ? u.map : u.png, u.a.toFixed(filters ? 2 : 1), '#' + u.n);
    if (filters) show(fig.querySelector('.kernel'), src(u.png), '#' + u.n);
  });
  put(root.querySelector('.units .legend'), say(words.legend, {k: ins.units.length}));
  const v = {answer: ins.answer, runner: ins.runner};
  put(root.querySelector('.why h4'), say('why', v));
  show(root.querySelector('.why img'), src(ins.push), say('why_legend', v));
  put(root.querySelector('.why .legend'), say('why_legend', v));
  [...rows.children].forEach((row, d) => {
    const p = ins.probabilities[d], kind = 'prow' + (d === ins.answer ? ' answer' : d === ins.runner ? ' runner' : '');
    if (row.className !== kind) row.className = kind;
    const width = (100 * p).toFixed(1) + '%', fill = row.querySelector('.pfill');
    if (fill.style.width !== width) fill.style.width = width;
    put(row.lastChild, pct(p));
  });
  root.querySelector('.shared-note').hidden = !ins.shared;
  element.dataset.painted = String(performance.now());
}
document.addEventListener('reading', (e) => {
  if (e.target.closest && e.target.closest('#' + PANEL)) paint(e.detail);
});
if (document.body.classList.contains('present')) details.open = true;  // presentation mode shows it
// Opened: read the drawing on the pad again, this time with its insides (one request, not one per stroke).
details.addEventListener('toggle', () => {
  const pad = document.querySelector('#pad .pad-wrap');
  if (details.open && pad) pad.dispatchEvent(new CustomEvent('reread', {bubbles: true}));
});
"""

ELEM_ID = "inside"
OPEN = f"#{ELEM_ID} details[open]"  # the pad sends its drawings with "show me the insides" while this matches


def build(panel: str) -> gr.HTML:
    """The view under the result panel whose elem_id is `panel`; collapsed until opened."""
    return gr.HTML(
        "",
        html_template=TEMPLATE,
        css_template=CSS,
        js_on_load=speaking(JS.replace("__PANEL__", panel), "inside."),
        elem_id=ELEM_ID,
        apply_default_css=False,
    )
