"""On the Draw tab, for a visitor with a personal model: which model answered, a switch back to the shared one
(or both side by side), and corrections that teach their model too.

The visitor's key is in `gr.BrowserState` (mnist_ui.tabs.teach); `KEY_JS` copies it to `window.mnistPersonal`,
where the pads read it (mnist_ui.components.pad sends it with each drawing) and this badge keeps the chosen mode. The
badge paints the `model` (and, when comparing, the `shared` reading) of every answer the Draw tab's panel
gets: no request of its own. Hidden for a visitor without a personal model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import gradio as gr

from mnist_ui.server import actions
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
  <span class="who" id="model-who">Your model reads your drawings</span>
  <span class="modes" role="group" aria-label="Which model reads">
    <button type="button" data-mode="personal">Your model</button>
    <button type="button" data-mode="shared">Shared model</button>
    <button type="button" data-mode="compare">Compare</button>
  </span>
  <div class="said" id="model-said"></div>
</div>
"""

JS = """
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
document.addEventListener('reading', (e) => {
  const r = e.detail;
  if (!r || !r.model || !(e.target.closest && e.target.closest('#result'))) return;
  who.textContent = r.model === 'personal' ? 'Answered by your model' : 'Answered by the shared model';
  if (r.note) said.textContent = r.note;
  else if (r.shared && r.shared.digit !== null) {
    said.textContent = `The shared model reads ${r.shared.digit} (${pct(r.shared.confidence)}); yours ${r.digit} ` +
                       `(${pct(r.confidence)}).`;
  } else said.textContent = '';
});
watch('value', () => { if (props.value) said.textContent = props.value; });
modes();
"""


def taught_line(answer: dict[str, Any]) -> str:
    """What the badge says after a correction taught the visitor's model too."""
    if answer["profile"] is None:
        return f"Your model did not learn it: {answer['message']}"
    return f"Your model learned it too ({answer['drawings']} drawings of yours)."


def teach_correction(
    ctx: AppContext, label: int, value: str | None, key: str | None, request: gr.Request | None
) -> str:
    """A correction on the Draw tab, sent to the visitor's model as well ('' when they have none)."""
    if not key or not value:
        return ""
    try:
        strokes = json.loads(value)
    except ValueError:
        return ""
    return taught_line(actions.personalize(ctx, [{"label": label, "strokes": strokes}], key, request))


def build(ctx: AppContext, pad: gr.HTML, digits: Sequence[gr.Button], profile: gr.BrowserState) -> gr.HTML:
    """The badge under the Draw tab's correct bar; each "It is a N" also teaches the visitor's model."""
    badge = gr.HTML(
        "", html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id="model-badge", apply_default_css=False
    )
    for d, button in enumerate(digits):

        def on_digit(value: str | None, key: str | None, request: gr.Request, label: int = d) -> str:
            return teach_correction(ctx, label, value, key, request)

        button.click(
            on_digit,
            [pad, profile],
            badge,
            api_name=f"personal_is_{d}_ui",
            api_visibility="private",
            show_progress="hidden",
            concurrency_limit=1,
            concurrency_id="personalize",
        )
    return badge
