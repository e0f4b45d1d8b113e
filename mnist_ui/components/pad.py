"""The stroke pad: a canvas in a `gr.HTML` that sends the pen's strokes, not a picture.

Gradio's Sketchpad exports and uploads three PNGs per stroke (about a second before the first request
leaves the browser); these few kilobytes of points leave at once, while the pen moves, and the server
draws them with the same renderer that draws real pen handwriting for training (mnist_core.imaging.strokes).
The value is `{"v": 1, "width": S, "height": S, "pen": P, "strokes": [[[x, y], ...], ...]}` on a pad of
S = RENDER_SIDE units whatever its size on the screen, so the same drawing has the same value after the page
re-lays itself (a correction knows it again: one drawing, one label). While drawing, the latest value goes to
the server function `read_pad` with one request in flight, at most every SEND_EVERY_MS (longer when the round
trip is); pen-up, undo and clear always get their answer. The answers are painted by the result panel,
outside Gradio's event queue.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import gradio as gr

from mnist_core.imaging.strokes import FORMAT_VERSION, PEN_FRACTION, RENDER_SIDE
from mnist_ui.components.lang_switch import speaking

SEND_EVERY_MS = 80

HTML = """
<div class="pad-wrap">
  <canvas class="pad" data-w-aria="aria"></canvas>
  <div class="pad-hint" data-w="hint"></div>
  <div class="pad-tools">
    <button type="button" class="pad-undo" data-w-title="undo_title" data-w="undo"></button>
    <button type="button" class="pad-clear" data-w-title="clear_title" data-w="clear"></button>
  </div>
</div>
"""

CSS = """
.pad-wrap { position: relative; width: 100%; max-width: 448px; margin: 0 auto; }
.pad { display: block; width: 100%; aspect-ratio: 1 / 1; background: #fff; border: 1px solid #d4d4d8;
       border-radius: 10px; touch-action: none; cursor: crosshair; user-select: none; -webkit-user-select: none; }
.pad-hint { position: absolute; top: 45%; left: 0; right: 0; text-align: center; color: #71717a;
            font-size: 20px; pointer-events: none; }
.pad-wrap.drawn .pad-hint { display: none; }
.pad-tools { display: flex; gap: 8px; margin-top: 8px; }
.pad-tools button { flex: 1; padding: 10px; font-size: 16px; border-radius: 8px; border: 1px solid #d4d4d8;
                    background: var(--button-secondary-background-fill, #f4f4f5); cursor: pointer; }
.pad-tools button:disabled { opacity: .45; cursor: default; }
"""

JS = """
const canvas = element.querySelector('canvas.pad');
const wrap = element.querySelector('.pad-wrap');
const undoBtn = element.querySelector('.pad-undo');
const clearBtn = element.querySelector('.pad-clear');
const ctx = canvas.getContext('2d');
const PEN = __PEN__, VERSION = __VERSION__, EVERY = __EVERY__, PANEL = '__PANEL__', UNITS = __UNITS__,
  INSIDE = '__INSIDE__';
let strokes = [];          // points in [0, 1] of the pad side: the pad may be resized between strokes
let current = null, lastSent = 0, timer = null;
let busy = false, again = false, final = false, rtt = EVERY / 2;

function side() { return canvas.getBoundingClientRect().width || 1; }
function fit() {
  const dpr = window.devicePixelRatio || 1, s = side();
  canvas.width = Math.round(s * dpr); canvas.height = Math.round(s * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  redraw();
}
function pen() { const s = side(); ctx.lineWidth = PEN * s; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
                 ctx.strokeStyle = '#000'; ctx.fillStyle = '#000'; return s; }
function path(points) {
  const s = pen();
  if (points.length === 1) {
    ctx.beginPath(); ctx.arc(points[0][0] * s, points[0][1] * s, PEN * s / 2, 0, 7); ctx.fill(); return;
  }
  ctx.beginPath(); ctx.moveTo(points[0][0] * s, points[0][1] * s);
  for (const p of points.slice(1)) ctx.lineTo(p[0] * s, p[1] * s);
  ctx.stroke();
}
function redraw() {
  const s = side(); ctx.clearRect(0, 0, s, s);
  for (const st of strokes) path(st);
  if (current) path(current);
  wrap.classList.toggle('drawn', strokes.length > 0 || !!current);
  undoBtn.disabled = clearBtn.disabled = strokes.length === 0;
}
function value() {
  const s = UNITS, r = (v) => Math.round(v * s * 10) / 10;
  const all = current ? strokes.concat([current]) : strokes;
  const points = all.map(st => st.map(p => [r(p[0]), r(p[1])]));
  return JSON.stringify({v: VERSION, width: r(1), height: r(1), pen: r(PEN), strokes: points});
}
function show(reading) {
  const panel = document.querySelector('#' + PANEL + ' .result-panel');
  if (panel) panel.dispatchEvent(new CustomEvent('reading', {detail: reading, bubbles: true}));
}
// Which model reads: the visitor's own (its key, set by components/model_badge.py) unless they chose the shared one.
function whose() {
  const p = window.mnistPersonal || {};
  return [p.mode === 'shared' ? null : (p.key || null), p.mode === 'compare'];
}
// Whether the answer should bring the network's insides: only while a view of them is open on the page.
function looking() { return !!(INSIDE && document.querySelector(INSIDE)); }
// One request in flight, always for the latest drawing; while the pen moves the next one waits at least
// EVERY ms and twice the last round trip, so a busy server gets fewer drawings instead of a queue of them.
function gap() { return Math.max(EVERY, 2 * rtt); }
async function send() {
  clearTimeout(timer); timer = null;
  if (busy) { again = true; return; }
  const last = final;
  busy = true; again = false; final = false;
  const drawing = value(), sent = performance.now();
  lastSent = sent;
  props.value = drawing;  // what the Right / Wrong buttons keep
  try {
    show(await server.read_pad(drawing, last, ...whose(), looking()));
    rtt = 0.7 * rtt + 0.3 * (performance.now() - sent);
  } catch (err) {
    show({status: 'error', message: W.no_answer,
          probabilities: [], pixels: ''});
  }
  busy = false;
  if (final) send(); else if (again && current) soon();
}
function soon() {
  const wait = gap() - (performance.now() - lastSent);
  if (wait <= 0) send(); else if (!timer) timer = setTimeout(() => { timer = null; if (current) send(); }, wait);
}
function settle() { final = true; if (!busy) send(); }  // pen-up, undo, clear: this answer always comes
function point(e) {
  const b = canvas.getBoundingClientRect();
  return [(e.clientX - b.left) / b.width, (e.clientY - b.top) / b.height];
}
canvas.addEventListener('pointerdown', (e) => {
  if (e.button !== undefined && e.button > 0) return;
  e.preventDefault(); canvas.setPointerCapture(e.pointerId);
  current = [point(e)]; redraw();
});
canvas.addEventListener('pointermove', (e) => {
  if (!current) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) current.push(point(ev));
  redraw();
  if (busy) again = true; else soon();
});
function finish(e) {
  if (!current) return;
  if (e && e.type === 'pointerup') current.push(point(e));
  strokes.push(current); current = null; redraw(); settle();
}
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', finish);
canvas.addEventListener('lostpointercapture', () => finish(null));
undoBtn.addEventListener('click', () => { strokes.pop(); redraw(); settle(); });
clearBtn.addEventListener('click', () => { strokes = []; current = null; redraw(); settle(); });
element.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); undoBtn.click(); }
  if (e.key === 'Escape') clearBtn.click();
});
element.addEventListener('reread', () => { if (strokes.length) settle(); });  // another model chosen
canvas.tabIndex = 0;
new ResizeObserver(fit).observe(canvas);
fit();
"""


def stroke_pad(
    read: Callable[..., Coroutine[Any, Any, dict[str, Any]]], panel: str, elem_id: str = "pad", inside: str = ""
) -> gr.HTML:
    """The pad component; its value (a JSON string) is what `/predict_strokes` takes.

    `read` is the server function that answers each drawing (mnist_ui.components.fast_read); its answers go to the
    result panel whose elem_id is `panel`. While the CSS selector `inside` matches (an open inside view), each
    drawing asks for the network's insides too.
    """
    js = (
        JS.replace("__PEN__", f"{PEN_FRACTION:.6f}")
        .replace("__VERSION__", str(FORMAT_VERSION))
        .replace("__EVERY__", str(SEND_EVERY_MS))
        .replace("__PANEL__", panel)
        .replace("__UNITS__", str(RENDER_SIDE))
        .replace("__INSIDE__", inside)
    )
    return gr.HTML(
        "",
        html_template=HTML,
        css_template=CSS,
        js_on_load=speaking(js, "pad."),
        elem_id=elem_id,
        apply_default_css=False,
        server_functions=[read],
    )
