"""On the Draw tab, under the ten bars: what the other network reads of the same drawing ("The convolutional
network reads 7, 97% sure."), so a learner sees where the notebook's dense network and the convolutional one
differ on their own digit.

Painted in the browser from the `network` field of the pad's answers (mnist_ui.components.fast_read), while
the pen moves as the bars are: no request of its own. A blank pad clears it; empty when the other network is
not shipped with this server.
"""

from __future__ import annotations

import gradio as gr

CSS = """
.network-line { margin: 4px 0 8px; padding: 8px 10px; border-left: 4px solid #a1a1aa; font-size: 16px;
                background: var(--block-background-fill, #fafafa); }
.network-line:empty { display: none; }
.network-line.differs { border-left-color: #ea580c; }
"""

TEMPLATE = '<p class="network-line" id="network-line" aria-live="polite"></p>'

JS = """
const line = element.querySelector('.network-line');
const NAMES = {dense: "The dense network (the notebook's)", cnn: 'The convolutional network'};
document.addEventListener('reading', (e) => {
  const r = e.detail;
  if (!r || !(e.target.closest && e.target.closest('#result'))) return;
  if (r.status !== 'ok') { line.textContent = ''; line.classList.remove('differs'); return; }
  const n = r.network;
  if (!n || n.digit === null) { line.textContent = ''; return; }
  const differs = n.digit !== r.digit;
  line.textContent = `${NAMES[n.name] || n.name} reads ${n.digit}, ${Math.round(n.confidence * 100)}% sure.` +
                     (differs ? ' The two networks differ here.' : '');
  line.classList.toggle('differs', differs);
});
"""


def build() -> gr.HTML:
    """The line; it paints itself from the answers the Draw tab's result panel receives."""
    return gr.HTML("", html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id="network-line-box")
