"""The whole page: a header, a warning banner, one tab per module, the named API."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from mnist_ui import api
from mnist_ui.components import lang_switch
from mnist_ui.components.correct_bar import CSS as CORRECT_CSS
from mnist_ui.components.model_badge import KEY_JS
from mnist_ui.components.present_mode import CSS as PRESENT_CSS
from mnist_ui.components.results import CSS as RESULTS_CSS
from mnist_ui.components.style import CSS as FIT_CSS
from mnist_ui.server.access import sees_paths, without_paths
from mnist_ui.server.context import AppContext
from mnist_ui.server.failures import guard_events
from mnist_ui.server.personal import browser_secret
from mnist_ui.tabs import draw as draw_tab
from mnist_ui.tabs import drawings as drawings_tab
from mnist_ui.tabs import model as model_tab
from mnist_ui.tabs import teach as teach_tab
from mnist_ui.tabs import train as train_tab
from mnist_ui.tabs import upload as upload_tab
from mnist_ui.tabs.teach import CSS as TEACH_CSS
from mnist_ui.text.words import T, lang_of, remember, say, translated

CSS = (
    RESULTS_CSS
    + CORRECT_CSS
    + TEACH_CSS
    + FIT_CSS
    + PRESENT_CSS
    + lang_switch.CSS
    + """
.warning-banner { background: #fef3c7; border: 1px solid #f59e0b; border-radius: 8px; padding: 8px 12px; }
#train-status progress { width: 100%; height: 14px; }
"""
)


TITLE = " · ".join(say(lang, "page.title") for lang in ("en", "es"))  # the browser tab's: one for both languages


def banner(ctx: AppContext, sees: bool = False, lang: str | None = None) -> dict[str, Any]:
    """The serving model's warning and the drawings database's (corrupt, locked): one line each, the server's
    paths in them only for a viewer who may see them."""
    found = (ctx.holder.current.warning, ctx.drawings.warning())
    warnings = [translated(lang, without_paths(w, sees)) for w in found if w]
    text = "<br>".join(f"⚠️ {html.escape(w)}" for w in warnings)
    return gr.update(value=f'<div class="warning-banner">{text}</div>', visible=bool(warnings))


def build_app(ctx: AppContext) -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        language = lang_switch.header(T("page.intro"))
        warning_box = gr.HTML(visible=False, elem_id="banner")
        profile = gr.BrowserState(None, storage_key="mnist-personal-profile", secret=browser_secret())
        with gr.Tabs() as tabs:
            draw_tab.build(ctx, profile)
            teach_opened, teach_inputs, teach_outputs = teach_tab.build(ctx, profile)
            upload_tab.build(ctx)
            _, model_shown = model_tab.build(ctx)
            _, _, exports = drawings_tab.build(ctx)
            _, page, controls, notice = train_tab.build(ctx)
        api.register(ctx, exports)

        def on_load(request: gr.Request) -> dict[Any, Any]:
            """Banner, ?subset=N for quick trainings, the Train tab's notice, versions and job state."""
            try:
                subset = max(0, int(request.query_params.get("subset", 0)))
            except (TypeError, ValueError):
                subset = 0
            sees, lang = sees_paths(ctx, request), lang_of(request)
            split = float(controls["validation_split"].value or 0)
            return (
                {warning_box: banner(ctx, sees, lang), notice: train_tab.train_notice(ctx, sees, lang)}
                | {controls["train_subset"]: subset}
                | page.show(ctx, ctx.jobs.snapshot(), sees=sees, lang=lang)
                | page.in_words(lang, split, subset)
                | {page.versions: train_tab.versions_update(ctx, sees, lang)}
                | {language: lang}
            )

        demo.load(None, [profile], None, js=KEY_JS)
        demo.load(
            teach_opened,
            teach_inputs,
            teach_outputs,
            api_name="teach_loaded_ui",
            api_visibility="private",
            show_progress="hidden",
        )
        loaded = demo.load(
            on_load,
            None,
            [warning_box, controls["train_subset"], notice, *page.outputs, page.presets, page.split, language],
            api_name="on_load",
            api_visibility="private",
        )
        _wire_language(loaded, ctx, language, (page, controls, notice, model_shown, tabs.children))
    guard_events(demo, ctx)
    return demo


def _wire_language(loaded: Any, ctx: AppContext, language: gr.Radio, views: tuple[Any, ...]) -> None:
    """The switch starts at the request's language (`on_load` sets it); each change re-translates the page in place
    (the browser) and writes again what the server wrote (the Train and Model tabs' lines and tables)."""
    page, controls, notice, model_shown, tabs = views

    def on_language(lang: str, split: float, subset: float, request: gr.Request) -> dict[Any, Any]:
        lang, sees = remember(request, lang), sees_paths(ctx, request)
        return (
            {notice: train_tab.train_notice(ctx, sees, lang)}
            | page.show(ctx, ctx.jobs.snapshot(), sees=sees, lang=lang)
            | page.in_words(lang, split, subset)
            | {page.versions: train_tab.versions_update(ctx, sees, lang)}
            | dict(zip(model_shown, model_tab.model_page(ctx, sees, lang), strict=True))
            | {tab: gr.update(label=say(lang, f"tab.{tab.id}")) for tab in tabs}  # the bar keeps its first words
        )

    # On load the server wrote its lines in the request's language and set the switch to it: the browser's words
    # follow (a French browser gets English, Gradio's own words too); nothing is written again.
    loaded.then(None, [language], None, js=lang_switch.SWITCH_JS, show_progress="hidden")
    language.input(
        on_language,
        [language, controls["validation_split"], controls["train_subset"]],
        [notice, *page.outputs, page.presets, page.split, *model_shown, *tabs],
        js=lang_switch.SWITCH_JS,
        api_name="language_ui",
        api_visibility="private",
        show_progress="hidden",
    )
