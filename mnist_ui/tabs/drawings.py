"""Drawings tab: the corrected drawings this server keeps — counts per digit, a gallery filtered by digit and by
"the model was wrong", delete one or all, export (zip of PNGs + labels.csv, or MNIST IDX files), import a zip.

Handlers are module-level functions of plain values (tested without a browser); `build` wires them. On a public
server only a logged-in user may look at, export, import or delete the drawings: they are other visitors'.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from mnist_core.drawings.engine import shown
from mnist_core.drawings.policy import as_label
from mnist_core.drawings.store import Row, StoreError
from mnist_ui.components.gallery import enlarge, thumbnails
from mnist_ui.components.lang_switch import follow
from mnist_ui.server.access import may_control, sees_paths, without_paths
from mnist_ui.server.context import AppContext
from mnist_ui.server.transfers import PRIVATE, import_zip
from mnist_ui.text.format import DIGITS, digit_table
from mnist_ui.text.words import T, lang_of, say, translated

PAGE = 100  # drawings the gallery shows at once, newest first
ALL = "all digits"


def counts_md(ctx: AppContext, sees_path: bool = False, lang: str | None = None) -> str:
    """Counts per digit, how many the model read wrong, how many are held out; or why there are none.

    The database's file only for a viewer who may see the server's paths (`access.sees_paths`)."""
    collector = ctx.drawings
    if not collector.enabled:
        return collector.where(lang=lang)
    counts = collector.counts()
    if counts is None:
        return f"⚠️ {html.escape(translated(lang, without_paths(collector.warning(), sees_path)))}"
    if not counts.total:
        return say(lang, "drawings.empty")
    cells = [f"{n:,}" for n in counts.per_digit] + [f"**{counts.total:,}**"]
    head = digit_table(
        [[say(lang, "model.drawings_count"), *cells]], say(lang, "model.digit"), after=[say(lang, "drawings.all_col")]
    )
    where = say(lang, "drawings.in_file", path=shown(collector.path)) if sees_path else say(lang, "drawings.kept_here")
    numbers = {"total": f"{counts.total:,}", "wrong": f"{counts.wrong:,}", "held": f"{counts.holdout:,}"}
    return f"{head}\n\n" + say(lang, "drawings.summary", where=where, **numbers)


def thumbnail(row: Row, scale: int = 4) -> np.ndarray:
    """The 28×28 the model saw, dark ink on white, each pixel a `scale`-pixel square."""
    return enlarge(255 - row.image, scale)


def caption(row: Row, lang: str | None = None) -> str:
    read = "—" if row.predicted is None else str(row.predicted)
    mark = " ✗" if row.wrong else ""
    return say(lang, "drawings.caption", id=row.id, label=row.label, read=read) + mark


def gallery(
    ctx: AppContext, digit: str | None, wrong_only: bool, request: gr.Request | None, lang: str | None = None
) -> tuple[list[tuple[np.ndarray, str]], list[int], str]:
    """(images with captions, their row ids, a line saying what is shown), in `lang` (else the request's)."""
    lang = lang or lang_of(request)
    if not may_control(ctx, request):
        return [], [], translated(lang, PRIVATE)
    store = ctx.drawings.try_store()
    if store is None:
        return [], [], without_paths(ctx.drawings.warning(), sees_paths(ctx, request)) or ctx.drawings.where(lang=lang)
    label = None if digit in (None, "", ALL) else as_label(digit)
    try:
        rows = store.rows(label, bool(wrong_only), limit=PAGE)
    except StoreError as exc:
        return [], [], ctx.drawings.failed(exc)
    what = ("" if label is None else say(lang, "drawings.of_digit", digit=label)) + (
        say(lang, "drawings.read_wrong") if wrong_only else ""
    )
    shown = say(lang, "drawings.showing", count=len(rows), what=what) if rows else say(lang, "drawings.no_match")
    return [(thumbnail(r), caption(r, lang)) for r in rows], [r.id for r in rows], shown


def delete_one(ctx: AppContext, row_id: int | None, request: gr.Request | None) -> str:
    if not may_control(ctx, request):
        return f"not deleted: {PRIVATE}"
    if row_id is None:
        return "pick a drawing in the gallery first"
    try:
        gone = ctx.drawings.store().delete(int(row_id))
    except StoreError as exc:
        return f"not deleted: {ctx.drawings.failed(exc)}"
    return f"deleted drawing #{row_id}" if gone else f"drawing #{row_id} was already deleted"


def delete_all(ctx: AppContext, confirmed: bool, request: gr.Request | None) -> str:
    if not may_control(ctx, request):
        return f"not deleted: {PRIVATE}"
    if not confirmed:
        return "not deleted: tick “yes, delete every drawing” first"
    try:
        count = ctx.drawings.store().delete_all()
    except StoreError as exc:
        return f"not deleted: {ctx.drawings.failed(exc)}"
    return f"deleted all {count:,} drawings"


@dataclass
class DrawingsPage:
    counts: gr.Markdown
    digit: gr.Dropdown
    wrong: gr.Checkbox
    gallery: gr.Gallery
    shown: gr.Markdown
    ids: gr.State
    selected: gr.State
    status: gr.Textbox
    viewing: gr.Column  # the filters, the gallery and everything that acts on drawings: hidden while there are none
    delete_one: gr.Button  # pressable once a drawing is picked

    def refresh(
        self, ctx: AppContext, digit: str | None, wrong: bool, request: gr.Request | None, lang: str | None = None
    ) -> dict[Any, Any]:
        lang = lang or lang_of(request)
        items, ids, shown = gallery(ctx, digit, wrong, request, lang)
        counts = ctx.drawings.counts() if ctx.drawings.enabled else None
        return {
            self.counts: counts_md(ctx, sees_paths(ctx, request), lang),
            self.gallery: items,
            self.ids: ids,
            self.shown: shown,
            self.selected: None,
            self.viewing: gr.update(visible=bool(counts and counts.total)),
            self.delete_one: gr.update(interactive=False),
        }

    def said(self, ctx: AppContext, line: str, request: gr.Request | None) -> dict[Any, Any]:
        """The status line, a database error's path cut to its file name for a viewer who may not see paths."""
        return {self.status: translated(lang_of(request), without_paths(line, sees_paths(ctx, request)))}

    @property
    def outputs(self) -> list[Any]:
        return [self.counts, self.gallery, self.ids, self.shown, self.selected, self.viewing, self.delete_one]


@dataclass
class Exports:
    """The export buttons, where their files show and the status line: `api` declares their clicks as the public
    /export_drawings and /export_drawings_idx (an endpoint that returns files needs a File component)."""

    zip_btn: gr.Button
    idx_btn: gr.Button
    files: gr.File
    status: gr.Textbox


def build(ctx: AppContext) -> tuple[gr.Tab, DrawingsPage, Exports]:
    with gr.Tab(T("tab.drawings"), id="drawings", elem_id="tab-drawings") as tab:
        gr.Markdown(T("drawings.intro") if ctx.drawings.enabled else ctx.drawings.where(), elem_id="drawings-where")
        counts = gr.Markdown(elem_id="drawings-counts", elem_classes=["fit-table"])
        # Plain text, never Markdown or HTML: an import's answer quotes what its labels.csv says (a "link", an
        # "image" pointing elsewhere), and the page must show that as the words it is. Placed last, below the import.
        status = gr.Textbox(
            label=T("drawings.status"),
            show_label=False,
            container=False,
            interactive=False,
            lines=1,
            max_lines=24,
            elem_id="drawings-status",
            render=False,
        )
        with gr.Column(visible=False, elem_id="drawings-view") as viewing:  # shown by the tab's refresh when any
            page, deleting, exports = _view(counts, viewing, status)
        upload = gr.File(label=T("drawings.import_file"), file_types=[".zip"], type="filepath", height=140)
        import_btn = gr.Button(T("drawings.import"), elem_id="drawings-import")
        status.render()
    _wire(ctx, page, tab, deleting, (upload, import_btn))
    return tab, page, exports


def _view(counts: gr.Markdown, viewing: gr.Column, status: gr.Textbox) -> tuple[DrawingsPage, tuple[Any, ...], Exports]:
    """The filters, the gallery, delete and export: what acts on collected drawings."""
    with gr.Row(equal_height=True):
        choices: list[Any] = [(T("drawings.all"), ALL), *DIGITS]
        digit = gr.Dropdown(choices, value=ALL, label=T("model.digit"), scale=1)
        wrong = gr.Checkbox(False, label=T("drawings.wrong_only"), scale=1)
        refresh_btn = gr.Button(T("drawings.refresh"), scale=1)
    gr.Markdown(T("drawings.gallery_title"), elem_id="drawings-gallery-title")
    shown = gr.Markdown(elem_id="drawings-shown")
    items = thumbnails(T("drawings.gallery"), 10, 360, "drawings-gallery")
    with gr.Row(equal_height=True):
        delete_btn = gr.Button(
            T("drawings.delete"), variant="stop", elem_id="drawings-delete", min_width=240, interactive=False
        )
        confirm = gr.Checkbox(False, label=T("drawings.confirm"), min_width=200)
        delete_all_btn = gr.Button(
            T("drawings.delete_all"), variant="stop", elem_id="drawings-delete-all", min_width=120
        )
    zip_btn = gr.Button(T("drawings.export_zip"), elem_id="drawings-export")
    idx_btn = gr.Button(T("drawings.export_idx"), elem_id="drawings-export-idx")
    files = gr.File(label=T("drawings.exported"), file_count="multiple", interactive=False, height=140)
    ids, selected = gr.State([]), gr.State(None)  # inside the tab: a State directly in gr.Tabs breaks its tabs
    page = DrawingsPage(counts, digit, wrong, items, shown, ids, selected, status, viewing, delete_btn)
    return page, (refresh_btn, delete_btn, confirm, delete_all_btn), Exports(zip_btn, idx_btn, files, status)


def _wire(
    ctx: AppContext,
    page: DrawingsPage,
    tab: gr.Tab,
    deleting: tuple[Any, ...],
    importing: tuple[gr.File, gr.Button],
) -> None:
    refresh_btn, delete_btn, confirm, delete_all_btn = deleting
    upload, import_btn = importing
    hidden: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden", "concurrency_id": "drawings"}
    view, changed = [page.digit, page.wrong], [*page.outputs, page.status]

    def refresh(digit: str, wrong: bool, request: gr.Request) -> dict[Any, Any]:
        return page.refresh(ctx, digit, wrong, request)

    def pick(ids: list[int], evt: gr.SelectData) -> tuple[int | None, str, dict[str, Any]]:
        index = evt.index if isinstance(evt.index, int) else None
        row_id = ids[index] if index is not None and index < len(ids) else None
        said = "" if row_id is None else f"#{row_id} ✓"
        return row_id, said, gr.update(interactive=row_id is not None)

    def remove(row_id: int | None, digit: str, wrong: bool, request: gr.Request) -> dict[Any, Any]:
        return page.refresh(ctx, digit, wrong, request) | page.said(ctx, delete_one(ctx, row_id, request), request)

    def remove_all(confirmed: bool, digit: str, wrong: bool, request: gr.Request) -> dict[Any, Any]:
        return page.refresh(ctx, digit, wrong, request) | page.said(ctx, delete_all(ctx, confirmed, request), request)

    def bring_in(path: str | None, digit: str, wrong: bool, request: gr.Request) -> dict[Any, Any]:
        return page.refresh(ctx, digit, wrong, request) | page.said(ctx, import_zip(ctx, path, request), request)

    def in_words(lang: str, digit: str, wrong: bool, request: gr.Request) -> dict[Any, Any]:
        return page.refresh(ctx, digit, wrong, request, lang)

    follow(in_words, view, page.outputs, "drawings_words")
    for trigger in (tab.select, refresh_btn.click, page.digit.change, page.wrong.change):
        trigger(refresh, view, page.outputs, api_name="drawings_view", **hidden)
    picked = [page.selected, page.status, page.delete_one]
    page.gallery.select(pick, page.ids, picked, api_name="drawings_pick", **hidden)
    delete_btn.click(remove, [page.selected, *view], changed, api_name="drawings_delete", **hidden)
    delete_all_btn.click(remove_all, [confirm, *view], changed, api_name="drawings_delete_all", **hidden)
    import_btn.click(bring_in, [upload, *view], changed, api_name="drawings_import_ui", **hidden)
