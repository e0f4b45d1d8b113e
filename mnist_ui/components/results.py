"""The result panel that the Draw and Upload tabs share: the verdict, ten bars in 0–9 order, the 28×28.

One `gr.HTML` whose value is one small JSON object per answer (`panel_value`), painted by the browser in
the frame it arrives: CSS bars on a fixed 0–1 axis and the 784 pixels put on a canvas. No chart library
re-renders and no picture file is written or fetched. The Draw tab's pad hands its answers straight to
the panel as a `reading` DOM event carrying the same JSON (mnist_ui.components.pad), so they skip the event queue.
A visually hidden live region tells screen readers the digit and the ten probabilities.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import gradio as gr
import numpy as np

from mnist_core.serving.readings import BLANK_MESSAGE, Reading
from mnist_ui.components.lang_switch import speaking

DIGITS = [str(d) for d in range(10)]
CSS = """
.result-panel .verdict { min-height: 110px; display: flex; align-items: center; }
.result-panel .digit { font-size: 96px; font-weight: 700; line-height: 1; }
.result-panel .conf { font-size: 20px; margin-left: 12px; color: var(--body-text-color-subdued); }
.result-panel .hint { font-size: 28px; color: var(--body-text-color-subdued); }
.result-panel .unsure .digit { color: #b45309; }
.result-panel .nodigit { font-size: 44px; font-weight: 700; line-height: 1.1; color: #b45309; }
.result-panel .error { font-size: 18px; color: #b91c1c; }
.result-panel .body { display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; margin: 8px 0; }
.result-panel .probs { flex: 1 1 150px; }
.result-panel .seen { flex: 0 0 124px; }
.result-panel .bars { display: grid; grid-template-columns: repeat(10, 1fr); gap: 4px; }
.result-panel .col { display: flex; flex-direction: column; align-items: center; }
.result-panel .track { position: relative; width: 100%; height: 124px; background: #f4f4f5;
                       border-bottom: 1px solid #a1a1aa; border-radius: 3px 3px 0 0; }
.result-panel .fill { position: absolute; left: 0; right: 0; bottom: 0; height: 0; background: #f97316;
                      border-radius: 3px 3px 0 0; }
.result-panel .col.top .fill { background: #ea580c; }
.result-panel .col span { font-size: 15px; margin-top: 2px; }
.result-panel figure { margin: 0; text-align: center; }
.result-panel figure canvas { width: 124px; height: 124px; image-rendering: pixelated; background: #000;
                              border-radius: 4px; display: block; }
.result-panel figcaption { font-size: 12px; color: var(--body-text-color-subdued); margin-top: 2px; }
.result-panel .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
                         white-space: nowrap; }
"""

TEMPLATE = """
<div class="result-panel">
  <div class="verdict" id="{prefix}verdict"></div>
  <div class="body">
    <figure class="probs" aria-hidden="true"><div class="bars" id="{prefix}bars">{columns}</div>
      <figcaption data-w="probs"></figcaption></figure>
    <figure class="seen" id="{prefix}seen"><canvas width="28" height="28"></canvas>
      <figcaption data-w="seen"></figcaption></figure>
  </div>
  <div class="sr-only" aria-live="polite" id="{prefix}reading-text"></div>
</div>
"""
COLUMN = '<div class="col"><div class="track"><div class="fill"></div></div><span>{d}</span></div>'

# Runs once per panel: paints the JSON of `panel_value` on every value the server sends (`watch`) and
# on every `reading` event the pad dispatches on this element.
JS = r"""
const box = () => element.querySelector('.result-panel');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
// The server's readings are in English (the API's words); the page's own come from `W`, and a message the
// server sends from a fixed set ("reading.<key>" in mnist_ui/text/) is shown in the page's language.
const EN = WORDS.en;
const tr = (text) => { const k = Object.keys(EN).find((key) => key.startsWith('msg.') && EN[key] === text);
                       return k ? W[k] : text; };
const fill = (text, v) => text.replace(/\{(\w+)\}/g, (_, k) => v[k]);
let painted = null;  // the last reading, painted again when the language changes
function verdict(r) {
  if (r.status === 'blank') return `<div class="hint">${esc(tr(r.hint))}</div>`;
  if (r.status === 'error') return `<div class="error">${esc(tr(r.message))}</div>`;
  if (r.not_digit) return `<div class="unsure"><span class="nodigit">${esc(W.not_digit)}</span>` +
                         `<span class="conf">${esc(tr(r.doubt))}</span></div>`;
  const sure = Math.round(r.confidence * 100) + '%';
  const conf = r.unsure ? fill(W.maybe, {digit: r.digit, p: sure}) : fill(W.sure, {p: sure});
  return `<div class="${r.unsure ? 'unsure' : 'sure'}"><span class="digit">${r.digit}${r.unsure ? '?' : ''}</span>` +
         `<span class="conf">${conf}</span></div>`;
}
function pixels(canvas, b64) {
  const c = canvas.getContext('2d'), img = c.createImageData(28, 28);
  const raw = b64 ? atob(b64) : '';
  for (let i = 0; i < 784; i++) {
    const v = raw ? raw.charCodeAt(i) : 0;
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255;
  }
  c.putImageData(img, 0, 0);
}
function said(r) {
  if (r.status !== 'ok') return tr(r.status === 'blank' ? r.hint : r.message);
  if (r.not_digit) return `${W.not_digit}: ${tr(r.doubt)}.`;
  const all = r.probabilities.map((p, d) => `${d}: ${Math.round(p * 100)}%`).join(', ');
  const sure = Math.round(r.confidence * 100) + '%';
  return fill(r.unsure ? W.said_unsure : W.said, {digit: r.digit, p: sure, all});
}
function repaint() { if (painted) paint(painted); }
function paint(r) {
  const root = box(); if (!root) return;
  painted = r;
  root.querySelector('.verdict').innerHTML = verdict(r);
  const top = r.status === 'ok' && !r.not_digit ? r.digit : -1;
  root.querySelectorAll('.col').forEach((col, d) => {
    col.querySelector('.fill').style.height = (100 * (r.probabilities[d] || 0)).toFixed(1) + '%';
    col.classList.toggle('top', d === top);
  });
  pixels(root.querySelector('figure canvas'), r.pixels);
  root.querySelector('.sr-only').textContent = said(r);
  element.dataset.painted = String(performance.now());
}
const fromValue = () => { try { paint(JSON.parse(props.value)); } catch (e) { /* not a reading yet */ } };
element.addEventListener('reading', (e) => paint(e.detail));
watch('value', fromValue);
fromValue();
"""


def panel_value(reading: Reading, hint: str) -> dict[str, Any]:
    """What the panel paints: the reading's JSON (3 decimals are plenty for bars) and the 28×28 as base64 bytes."""
    probs = reading.probabilities if reading.probabilities is not None else np.zeros(10)
    pixels = ""
    if reading.image is not None:
        cells = np.clip(np.asarray(reading.image, np.float32) * 255.0, 0, 255).astype(np.uint8)
        pixels = base64.b64encode(cells.tobytes()).decode("ascii")
    if reading.status == "blank" and reading.message not in ("", BLANK_MESSAGE):
        hint = reading.message  # a picture with nothing to read says so; an empty pad shows the tab's hint
    return {
        "status": reading.status,
        "message": reading.message,
        "hint": hint,
        "not_digit": reading.not_digit,
        "doubt": reading.doubt if reading.not_digit else "",
        "digit": reading.digit,
        "confidence": round(reading.confidence, 3),
        "unsure": reading.unsure,
        "probabilities": [round(float(p), 3) for p in probs],
        "pixels": pixels,
    }


class ResultPanel:
    """One HTML component: `show` maps a reading onto its one JSON value."""

    def __init__(self, hint: str, prefix: str) -> None:
        self.hint = hint
        columns = "".join(COLUMN.format(d=d) for d in DIGITS)
        self.html = gr.HTML(
            self.value(Reading("blank", "")),
            html_template=TEMPLATE.format(prefix=prefix, columns=columns),
            js_on_load=speaking(JS, "result.", "msg."),
            elem_id=f"{prefix}result",
            apply_default_css=False,
        )

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.html]

    def value(self, reading: Reading) -> str:
        return json.dumps(panel_value(reading, self.hint), separators=(",", ":"))

    def show(self, reading: Reading) -> dict[gr.components.Component, Any]:
        return {self.html: self.value(reading)}
