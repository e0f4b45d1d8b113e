"""The page's CSS that makes every tab fit a phone and read at a glance (tests/test_layout_browser.py checks it).

- Fingers: every button on the Draw and Upload tabs (and the tab bar, the footer) is at least 44×44 CSS px;
  the ten "It is a:" digits are a 5×2 grid at any width.
- Reading: hints, captions, slider ends and info lines are zinc-600 on white (7.7:1, above WCAG's 4.5:1)
  instead of Gradio's light grey.
- Tables: numbers never wrap (per-digit tables have a row per digit, mnist_ui.text.format.digit_table, so they
  stay narrow); Gradio's label tags never sit over a picture (captions go under the gallery's pictures).
- The Train tab: slider ends and checkbox labels wrap instead of being clipped; Cancel looks off when it is.
"""

from __future__ import annotations

TAP = 44  # CSS px: the smallest target a finger hits reliably (WCAG 2.5.5, Apple's HIG)
READABLE = "#52525b"  # zinc-600: 7.7:1 on white

CSS = f"""
.gradio-container:not(.dark):not(.dark *) {{
  --body-text-color-subdued: {READABLE}; --block-info-text-color: {READABLE};
  --block-label-text-color: {READABLE}; --input-placeholder-color: #71717a;
}}
.result-panel .conf, .result-panel .hint, .result-panel figcaption {{ color: var(--body-text-color-subdued); }}
.collect-where {{ opacity: 1 !important; color: var(--body-text-color-subdued); }}
#train-status .elapsed {{ color: var(--body-text-color-subdued); }}

/* fingers; on a phone every button of every tab */
@media (max-width: 640px), (pointer: coarse) {{
  button {{ min-height: {TAP}px !important; }}
  button:not([style*="min-width"]) {{ min-width: {TAP}px !important; }}  /* a min_width given in Python stays */
  .thumbs .grid-container {{ grid-template-columns: repeat(4, minmax(0, 1fr)) !important; }}
}}
.tab-container button, button[aria-label="More tabs"], .overflow-dropdown button,
#tab-draw button, #tab-upload button, footer button, footer a {{ min-height: {TAP}px !important; }}
/* tab names whole: Gradio measures the bar to move the tabs that do not fit into "More tabs" */
.tab-container button {{ flex-shrink: 0 !important; white-space: nowrap; }}
.tab-container button:not([style*="min-width"]), button[aria-label="More tabs"], .overflow-dropdown button,
#tab-draw button:not([style*="min-width"]), #tab-upload button:not([style*="min-width"]), footer button, footer a {{
  min-width: {TAP}px !important;
}}
.correct-bar .digit-row {{ display: grid !important; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 6px; }}
.correct-bar .digit-row > * {{ min-width: 0 !important; }}
.correct-bar .digit-row button {{ min-height: 48px !important; }}
#tab-upload .source-selection button, #tab-upload .icon-button-wrapper button {{ padding: 10px !important; }}

/* tables that fit */
.fit-table table {{ width: auto; max-width: 100%; font-variant-numeric: tabular-nums; }}
.fit-table th, .fit-table td {{ padding: 4px 10px !important; }}
.fit-table td:not(:first-child) {{ white-space: nowrap; }}  /* numbers whole; names may wrap at a space */
.fit-table h3 {{ overflow-wrap: anywhere; }}
/* the Model tab's settings and layers: the names and numbers whole, the "what it does" column wraps */
.words-table table {{ width: 100%; }}
.words-table th, .words-table td {{ padding: 4px 8px !important; vertical-align: top; white-space: normal !important;
                                    overflow-wrap: anywhere; }}
/* the Model tab's two networks: words in the cells, so they wrap; the row names stay whole */
.networks-table table {{ width: 100%; table-layout: fixed; }}
.networks-table th, .networks-table td {{ padding: 4px 8px !important; vertical-align: top; overflow-wrap: anywhere; }}
.networks-table th:first-child, .networks-table td:first-child {{ width: 6.5em; }}

/* labels never over pictures: a gallery's captions go under each picture */
.thumbs .thumbnail-item {{ display: flex; flex-direction: column; }}
.thumbs .caption-label {{ position: static !important; max-width: 100% !important; opacity: 1 !important;
                          border: none !important; background: none !important; text-align: center !important; }}

/* the Train tab */
#tab-train .min_value, #tab-train .max_value {{ white-space: nowrap; overflow: visible; flex-shrink: 0; }}
#tab-train .label-text {{ white-space: normal; }}
#tab-train .row, #tab-drawings .row, #train-controls > .form {{ flex-wrap: wrap !important; min-width: 0 !important; }}
#tab-train .min_value, #tab-train .max_value {{ display: inline !important; }}  /* Gradio hides them on a phone */
#train-controls .form > .block {{ flex: 1 1 220px !important; min-width: min(220px, 100%) !important; }}
#tab-train input[role="listbox"], #tab-train .wrap-inner input {{ text-overflow: ellipsis; padding-right: 28px; }}
#cancel:disabled {{ background: var(--button-secondary-background-fill) !important; color: #71717a !important;
                    border-color: var(--border-color-primary) !important; cursor: not-allowed; box-shadow: none; }}
"""
