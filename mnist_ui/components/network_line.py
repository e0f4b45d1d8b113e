"""On the Draw tab, under the ten bars: what the other network reads of the same drawing ("The convolutional
network reads 7, 97% sure."), so a learner sees where the notebook's dense network and the convolutional one
differ on their own digit.

Painted in the browser from the `network` field of the pad's answers (mnist_ui.components.fast_read), while
the pen moves as the bars are: no request of its own. A blank pad clears it; empty when the other network is
not shipped with this server.
"""

from __future__ import annotations

import gradio as gr

from mnist_ui.components.lang_switch import speaking

CSS = """
.network-line { margin: 4px 0 8px; padding: 8px 10px; border-left: 4px solid #a1a1aa; font-size: 16px;
                background: var(--block-background-fill, #fafafa); }
.network-line:empty { display: none; }
.network-line.differs { border-left-color: #ea580c; }
"""

TEMPLATE = '<p class="network-line" id="network-line" aria-live="polite"></p>'

JS = r"""
const line = element.querySelector('.network-line');
let painted = null;  // the last reading, painted again when the language changes
function paint(r) {
  painted = r;
  if (r.status !== 'ok') { line.textContent = ''; line.classList.remove('differs'); return; }
  const n = r.network;
  if (!n || n.digit === null) { line.textContent = ''; return; }
  const differs = n.digit !== r.digit, v = {digit: n.digit, p: Math.round(n.confidence * 100) + '%'};
  line.textContent = `${W[n.name] || n.name} ${W.reads.replace(/\{(\w+)\}/g, (_, k) => v[k])}` +
                     (differs ? ' ' + W.differ : '');
  line.classList.toggle('differs', differs);
}
function repaint() { if (painted) paint(painted); }
document.addEventListener('reading', (e) => {
  if (e.detail && e.target.closest && e.target.closest('#result')) paint(e.detail);
});
"""


def build() -> gr.HTML:
    """The line; it paints itself from the answers the Draw tab's result panel receives."""
    return gr.HTML(
        "", html_template=TEMPLATE, css_template=CSS, js_on_load=speaking(JS, "network."), elem_id="network-line-box"
    )
