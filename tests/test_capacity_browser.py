"""Issue #36, finding 8, in real Chromium: what an imported labels.csv says is shown as the words it is.

A row whose id was a Markdown link ("Your session expired: log in again") rendered as a live link in the
Drawings tab's status line, and one whose id was a Markdown image made every visitor's browser fetch it (a
beacon). Here the beacon is a loopback server that counts its hits; the status line must show the text and
hold no link, no image, and nothing may be fetched."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import StartApp

from mnist_ui.testing import NO_DATA, App

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
STATUS_TEXT = "(e) => { const box = e.querySelector('textarea'); return box ? box.value : e.innerText; }"


@pytest.fixture
def beacon() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording every request: what a remote image in the page would fetch."""
    hits: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()


def hostile_zip(beacon_url: str) -> bytes:
    """labels.csv only: ids that are a Markdown link, a Markdown image and an HTML image (no pictures, so every
    row is skipped and the status line quotes each id)."""
    ids = ["[Your session expired: log in again](http://evil.example/)", f"![x]({beacon_url}/b.png)", "<img src=x>"]
    table = "id,label\n" + "".join(f'"{rid}",1\n' for rid in ids)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("labels.csv", table)
    return buf.getvalue()


@pytest.fixture
def app(app_factory: StartApp, demo_model: Path) -> App:
    return app_factory(demo_model, env=NO_DATA)


def test_an_imported_labels_csv_is_shown_as_text(
    app: App, browser: Any, beacon: tuple[str, list[str]], tmp_path: Path
) -> None:
    beacon_url, hits = beacon
    zipped = tmp_path / "hostile.zip"
    zipped.write_bytes(hostile_zip(beacon_url))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app.url)
        page.get_by_role("tab", name="Drawings").click()
        page.locator("#tab-drawings input[type=file]").first.set_input_files(str(zipped))
        time.sleep(1.0)  # the file uploads before Import may use it
        page.click("#drawings-import")
        page.wait_for_function(f"() => ({STATUS_TEXT})(document.querySelector('#drawings-status')).includes('skipped')")
        status = page.locator("#drawings-status")
        shown = status.evaluate(STATUS_TEXT)
        time.sleep(1.0)  # a remote image would have been fetched by now
        assert "[Your session expired" in shown and "![x](" in shown and "<img src=x>" in shown, shown
        assert status.locator("a").count() == 0 and status.locator("img").count() == 0, status.inner_html()
        assert hits == [], hits
    finally:
        context.close()
