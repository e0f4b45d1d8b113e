"""On the Draw tab, for a visitor with a personal model: which model answered, a switch back to the shared one
(or both side by side).

The visitor's key is in `gr.BrowserState` (mnist_ui.tabs.teach); `KEY_JS` copies it to `window.mnistPersonal`,
where the pads read it (mnist_ui.components.pad sends it with each drawing) and this badge keeps the chosen mode. The
badge paints the `model` (and, when comparing, the `shared` reading) of every answer the Draw tab's panel
gets: no request of its own. Hidden for a visitor without a personal model.
"""

from __future__ import annotations

import gradio as gr

from mnist_ui.components.lang_switch import speaking
from mnist_ui.server.context import AppContext

# Runs in the browser whenever the key is loaded or changes: the pads and the badge read it from here.
KEY_JS = """(key) => {
  const p = window.mnistPersonal = window.mnistPersonal || {key: null, mode: 'personal'};
  p.key = key || null;
  if (!p.key) p.mode = 'personal';
  document.dispatchEvent(new CustomEvent('personal-key'));
}"""

CSS = """
.model-badge { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin: 6px 0;
               padding: 8px 10px; border: 1px solid #bfdbfe; background: #eff6ff; border-radius: 8px; }
.model-badge[hidden] { display: none; }
.model-badge .who { font-weight: 600; }
.model-badge .modes { display: flex; gap: 4px; }
.model-badge .modes button { padding: 4px 10px; border-radius: 6px; border: 1px solid #93c5fd; background: #fff;
                             cursor: pointer; font-size: 14px; }
.model-badge .modes button[aria-pressed="true"] { background: #2563eb; color: #fff; border-color: #2563eb; }
.model-badge .said { flex-basis: 100%; font-size: 14px; color: var(--body-text-color-subdued); }
.model-badge .said:empty { display: none; }
"""

TEMPLATE = """
<div class="model-badge" hidden aria-live="polite">
  <span class="who" id="model-who" data-w="reads"></span>
  <span class="modes" role="group" data-w-aria="which">
    <button type="button" data-mode="personal" data-w="yours"></button>
    <button type="button" data-mode="shared" data-w="shared"></button>
    <button type="button" data-mode="compare" data-w="compare"></button>
  </span>
  <div class="said" id="model-said"></div>
</div>
"""

JS = r"""
const root = element.querySelector('.model-badge');
const who = root.querySelector('.who'), said = root.querySelector('.said');
const state = () => (window.mnistPersonal = window.mnistPersonal || {key: null, mode: 'personal'});
const pct = (c) => Math.round(c * 100) + '%';
function modes() {
  const s = state();
  root.hidden = !s.key;
  root.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.mode === s.mode)));
}
root.querySelectorAll('button').forEach((b) => b.addEventListener('click', () => {
  state().mode = b.dataset.mode; modes();
  const pad = document.querySelector('#pad .pad-wrap');  // read the drawing again with the chosen model
  if (pad) pad.dispatchEvent(new CustomEvent('reread', {bubbles: true}));
}));
document.addEventListener('personal-key', modes);
let painted = null;  // the last reading, painted again when the language changes
function paint(r) {
  painted = r;
  who.textContent = r.model === 'personal' ? W.by_yours : W.by_shared;
  if (r.note) said.textContent = r.note;
  else if (r.shared && r.shared.digit !== null) {
    const v = {shared: r.shared.digit, sp: pct(r.shared.confidence), yours: r.digit, yp: pct(r.confidence)};
    said.textContent = W.both.replace(/\{(\w+)\}/g, (_, k) => v[k]);
  } else said.textContent = '';
}
function repaint() { if (painted) paint(painted); }
document.addEventListener('reading', (e) => {
  const r = e.detail;
  if (r && r.model && e.target.closest && e.target.closest('#result')) paint(r);
});
watch('value', () => { if (props.value) said.textContent = props.value; });
modes();
"""


def build(ctx: AppContext, profile: gr.BrowserState) -> gr.HTML:
    """The badge under the Draw tab's correct bar (corrections teach the visitor's model: `components.correct_bar`)."""
    return gr.HTML(
        "",
        html_template=TEMPLATE,
        css_template=CSS,
        js_on_load=speaking(JS, "badge."),
        elem_id="model-badge",
        apply_default_css=False,
    )
