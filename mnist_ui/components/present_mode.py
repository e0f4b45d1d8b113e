"""Presentation mode: the Draw tab for a room, by `?present=1` or the toggle under the pad.

A big pad, a big answer, the bars and the inside view (opened), readable from the back of a room; nothing
else: no header, no tabs, no correct buttons, no line about where drawings are kept, no banner (both may name
the server's paths), no footer. One class on `<body>` does it, so leaving it gives the page back as it was,
drawing included; the address keeps `?present=1` while it is on, so a reload stays in it.
`tests/test_present_browser.py` checks what shows at 1280×900 and 390×844.
"""

from __future__ import annotations

import gradio as gr

from mnist_ui.components.lang_switch import speaking

# Page-level CSS (a gr.HTML's own css_template is scoped to it). Gradio also prefixes each rule with its container's
# classes, which outweighs `body.present`, so every rule here is !important.
CSS = """
.present-bar { display: flex; justify-content: flex-end; max-width: 448px; margin: 0 auto; }
body.present .present-bar { max-width: min(76vh, 100%) !important; }
.present-bar button { padding: 8px 14px; border-radius: 8px; border: 1px solid #d4d4d8; font-size: 15px;
                      background: var(--button-secondary-background-fill, #f4f4f5); cursor: pointer; min-height: 44px; }
body.present #intro, body.present #banner, body.present .tab-wrapper, body.present footer,
body.present .correct-bar, body.present .collect-where, body.present #model-badge { display: none !important; }
body.present .main.app { padding: 8px !important; }  /* the room sees the pad, not the page's margins */
body.present .pad-wrap { max-width: min(76vh, 100%) !important; }
body.present .pad-hint { font-size: 32px !important; }
body.present .pad-tools button { font-size: 24px !important; padding: 14px !important; }
body.present .result-panel .verdict { min-height: 200px !important; }
body.present .result-panel .digit { font-size: 200px !important; }
body.present .result-panel .conf { font-size: 34px !important; }
body.present .result-panel .hint { font-size: 40px !important; }
body.present .result-panel .track { height: 200px !important; }
body.present .result-panel .col span { font-size: 26px !important; font-weight: 600 !important; }
body.present .result-panel .seen { flex-basis: 200px !important; }
body.present .result-panel figure canvas { width: 200px !important; height: 200px !important; }
body.present .result-panel figcaption { font-size: 18px !important; }
body.present .inside summary { font-size: 26px !important; }
body.present .inside h4 { font-size: 22px !important; }
body.present .inside p, body.present .inside .prow { font-size: 19px !important; }
body.present .inside figcaption { font-size: 16px !important; max-width: 110px !important; }
body.present .inside .path img { width: 100px !important; height: 100px !important; }
body.present .inside .units img { width: 84px !important; height: 84px !important; }
body.present .inside .why img { width: 240px !important; height: 240px !important; }
body.present .inside .ptrack { height: 20px !important; }
@media (max-width: 640px) {
  body.present .result-panel .digit { font-size: 140px !important; }
  body.present .result-panel .verdict { min-height: 150px !important; }
  body.present .result-panel .track { height: 140px !important; }
  body.present .result-panel .seen { flex-basis: 140px !important; }
  body.present .result-panel figure canvas { width: 140px !important; height: 140px !important; }
}
"""

TEMPLATE = '<div class="present-bar"><button type="button" class="present-toggle" aria-pressed="false"></button></div>'

JS = """
const button = element.querySelector('.present-toggle');
function openInside() { const d = document.querySelector('#inside details'); if (d && !d.open) d.open = true; }
function set(on) {
  document.body.classList.toggle('present', on);
  button.textContent = on ? W.leave : W.enter;
  button.setAttribute('aria-pressed', String(on));
  const url = new URL(location.href);
  if (on) url.searchParams.set('present', '1'); else url.searchParams.delete('present');
  history.replaceState(history.state, '', url);
  if (on) { openInside(); requestAnimationFrame(openInside); }  // the inside view may mount after this
}
function repaint() { set(document.body.classList.contains('present')); }
button.addEventListener('click', () => set(!document.body.classList.contains('present')));
set(new URLSearchParams(location.search).get('present') === '1');
"""


def build() -> gr.HTML:
    """The toggle; put it under the Draw tab's pad."""
    return gr.HTML(
        "",
        html_template=TEMPLATE,
        js_on_load=speaking(JS, "present."),
        elem_id="present",
        apply_default_css=False,
    )
