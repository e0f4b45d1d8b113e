"""Issue 21, item 3: the server's file paths (its user name, its folders) only for a viewer who may know them —
a logged-in user, or a local one (a loopback client of a loopback server, no proxy in between). Everyone else
reads "kept on this server"."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mnist_core.config import SHIPPED_MODEL
from mnist_ui import api
from mnist_ui.server import access, actions
from mnist_ui.server.collect import Collector
from mnist_ui.server.context import Settings
from mnist_ui.tabs import drawings as drawings_tab
from mnist_ui.tabs import model as model_tab
from mnist_ui.testing import REPO, App
from mnist_ui.text.words import say

STRANGER = {"X-Forwarded-For": "203.0.113.7"}  # what a reverse proxy adds for a visitor from the internet


def request(host: str = "127.0.0.1", username: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """The parts of a gr.Request that decide who is asking."""
    return SimpleNamespace(client=SimpleNamespace(host=host), username=username, headers=headers or {})


@pytest.mark.parametrize(
    ("public", "asking", "sees"),
    [
        (False, request(), True),
        (False, request("::1"), True),
        (False, request("192.168.1.20"), False),
        (False, request(headers={"x-forwarded-for": "203.0.113.7"}), False),
        (False, request(headers={"x-real-ip": "127.0.0.1"}), False),  # behind a proxy loopback means nothing
        (True, request(), False),  # --share or a public --host: even a loopback client may be the tunnel
        (True, request("203.0.113.7", username="owner"), True),
        (False, None, False),  # no request: who asks is unknown
    ],
    ids=["local", "local-ipv6", "lan", "proxied", "proxied-loopback", "public", "logged-in", "no-request"],
)
def test_who_sees_the_servers_paths(public: bool, asking: Any, sees: bool, ctx: Any) -> None:
    assert access.sees_paths(ctx(settings=Settings(public=public)), asking) is sees


def test_lines_for_a_stranger_name_files_not_folders() -> None:
    line = "drawings database /home/alice/.cache/mnist-demo/drawings.sqlite3 is locked; see ~/notes/x.txt"
    assert access.without_paths(line, False) == "drawings database drawings.sqlite3 is locked; see x.txt"
    assert access.without_paths(line, True) == line
    assert access.without_paths("see https://example.org/a/b", False) == "see https://example.org/a/b"
    assert access.shown_path(Path("/srv/x.keras"), False) == access.KEPT_HERE


def test_pages_show_a_stranger_no_path(ctx: Any, tmp_path: Path) -> None:
    served = ctx(collector=Collector(tmp_path / "folder" / "drawings.sqlite3"))
    for sees in (False, True):
        texts = [
            served.drawings.where(sees),
            drawings_tab.counts_md(served, sees),
            model_tab.model_summary(served.holder.current, sees),
        ]
        shown = "\n".join(texts)
        assert (str(tmp_path) in shown and str(SHIPPED_MODEL) in shown) is sees, shown
    assert drawings_tab.counts_md(served, False) == say(None, "drawings.empty")  # none yet: how to collect, no table
    one = {"v": 1, "width": 448, "height": 448, "strokes": [[[224, 100], [224, 340]]]}
    served.drawings.store().add(7, np.zeros((28, 28), np.float32), strokes=one, predicted=1)
    assert say(None, "drawings.kept_here") in drawings_tab.counts_md(served, False)
    assert str(tmp_path) in drawings_tab.counts_md(served, True)


def test_a_jobs_answer_names_the_version_not_its_folder() -> None:
    job = {"state": "completed", "new_path": "/home/alice/.cache/mnist-demo/models/mnist-20261206-010203.keras"}
    job["message"] = f"trained, saved as {job['new_path']}"
    stranger = api.state(job, sees=False)
    assert stranger["new_path"] == "mnist-20261206-010203"
    assert "/home" not in json.dumps(stranger)
    assert api.state(job) == job


def test_switching_by_name_as_a_stranger_is_offered(ctx: Any) -> None:
    served = ctx(model=SHIPPED_MODEL)
    assert actions.switch_version(served, SHIPPED_MODEL.stem).startswith("now serving")
    assert actions.switch_version(served, "no-such-version") == "not switched: no-such-version is not a saved version"


@pytest.mark.slow
def test_a_visitor_through_a_proxy_gets_no_path_from_the_api_or_the_page(app: App) -> None:
    from gradio_client import Client

    secret = [str(REPO), str(app.home), str(Path.home())]
    stranger = Client(app.url, headers=STRANGER, verbose=False)
    answers = [
        stranger.predict(api_name="/drawings"),
        stranger.predict(5, '{"v": 1, "width": 10, "height": 10, "strokes": []}', api_name="/correct"),
        stranger.predict(f"{app.home}/nothing.keras", api_name="/switch_version"),
    ]
    assert answers[0]["database"] == access.KEPT_HERE, answers[0]
    page = urllib.request.Request(app.url + "config", headers=STRANGER)
    with urllib.request.urlopen(page, timeout=30) as response:
        answers.append(response.read().decode())
    shown = json.dumps(answers)
    assert not [s for s in secret if s in shown], shown
    local = Client(app.url, verbose=False).predict(api_name="/drawings")
    assert local["database"].endswith("drawings.sqlite3") and local["database"] != access.KEPT_HERE
