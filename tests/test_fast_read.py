"""The pad's reading path (mnist_ui/components/fast_read.py): what it answers, who goes first, and that it asks for
the login."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import BuildCtx, build_ctx, launched

from mnist_core.imaging.strokes import MAX_JSON_BYTES
from mnist_core.serving.readings import Reading
from mnist_ui.components.fast_read import Batcher, pad_reader
from mnist_ui.testing import SEVEN, pad_value


def test_waiting_readings_share_a_batch_and_a_finished_drawing_goes_first() -> None:
    batches: list[list[str]] = []
    hold = threading.Event()

    def read(values: list[Any]) -> list[Reading]:
        batches.append(values)
        hold.wait(10)
        return [Reading("blank", value) for value in values]

    async def scenario() -> list[str]:
        batcher = Batcher(read, lanes=1, most=3)
        first = asyncio.create_task(batcher.ask("draft 1", False))
        while not batches:  # the first batch is reading, in its thread
            await asyncio.sleep(0.01)
        names = ("draft 2", "draft 3", "pen-up")
        waiting = [asyncio.create_task(batcher.ask(name, name == "pen-up")) for name in names]
        waiting.append(asyncio.create_task(batcher.ask("draft 4", False)))
        await asyncio.sleep(0.05)
        hold.set()
        return [r.message for r in await asyncio.gather(first, *waiting)]

    assert asyncio.run(scenario()) == ["draft 1", "draft 2", "draft 3", "pen-up", "draft 4"]
    assert batches == [["draft 1"], ["pen-up", "draft 2", "draft 3"], ["draft 4"]]


def test_pad_reader_answers_what_the_panel_paints(ctx: BuildCtx) -> None:
    read = pad_reader(ctx(), "draw a digit")
    answer = asyncio.run(read([json.dumps(pad_value(SEVEN)), True]))
    assert (answer["status"], answer["digit"], len(answer["probabilities"])) == ("ok", 7, 10)
    assert len(base64.b64decode(answer["pixels"])) == 28 * 28
    assert asyncio.run(read(None))["status"] == "blank"
    too_big = asyncio.run(read(["x" * (MAX_JSON_BYTES + 1), False]))
    assert too_big["status"] == "error" and "too large" in too_big["message"]


def pad_call(http: httpx.Client, session: str = "t1") -> httpx.Response:
    """What the pad's `server.read_pad(drawing, final)` sends."""
    config = http.get("config").json()
    pad = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "pad")
    data = [json.dumps(pad_value(SEVEN)), True]
    body = {"session_hash": session, "component_id": pad, "fn_name": "read_pad", "data": data}
    return http.post("gradio_api/component_server/", json=body)


@pytest.mark.slow
def test_the_pads_readings_need_the_login(demo_model: Path) -> None:
    login = [("ann", "secret-pass")]  # as `python demo.py --auth ann:secret-pass` passes it to Gradio
    with launched(build_ctx(demo_model), auth=login) as url, httpx.Client(base_url=url, timeout=60) as http:
        body: dict[str, Any] = {"session_hash": "t1", "component_id": 1, "fn_name": "read_pad", "data": None}
        assert http.post("gradio_api/component_server/", json=body).status_code in (401, 403)
        assert http.post("login", data={"username": "ann", "password": "secret-pass"}).status_code == 200
        answer = pad_call(http)
        assert answer.status_code == 200 and answer.json()["digit"] == 7
