"""docs/deploy.md's several-hosts recipe, run as written on loopback aliases: two "hosts" (127.0.0.2, 127.0.0.3),
each with a home of its own whose models folder is the one shared volume, both on one PostgreSQL database; host
A's nginx is the front (MNIST_UPSTREAMS names host B's replica), host B has no proxy (MNIST_PROXY=off).
Corrections through the front land once in the one database, read from either host; a visitor's correction
limit is one budget across hosts; a profile taught on one host reads on the other, and forgetting it there is
honoured here within 2 s."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from mnist_core.config import PER_MINUTE
from mnist_core.drawings.store import DrawingStore
from mnist_ui.testing import NGINX, NO_DATA, ONE, SEVEN, Replicas, consecutive_ports, new_database, pad_value
from mnist_ui.testing import running_replicas as deployed

pytest.importorskip("gradio_client")
from gradio_client import Client

pytestmark = pytest.mark.slow
FORGET_S = 2.0


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, postgres_server: str) -> Iterator[tuple[Replicas, Replicas, str]]:
    if not Path(NGINX).is_file():
        pytest.skip("needs nginx (Debian: apt-get install nginx)")
    url = new_database(postgres_server, "hosts")
    folders = {name: tmp_path_factory.mktemp(name) for name in ("a-home", "a-run", "b-home", "b-run", "models")}
    for home in ("a-home", "b-home"):  # the shared volume, mounted as $MNIST_DEMO_HOME/models on each host
        (folders[home] / "models").symlink_to(folders["models"])
    b_port = consecutive_ports(1)
    common = {**NO_DATA, "MNIST_DEMO_DATABASE": url}
    with ExitStack() as stack:
        b = stack.enter_context(
            deployed(
                1,
                folders["b-home"],
                folders["b-run"],
                env={
                    **common,
                    "MNIST_REPLICA_HOST": "127.0.0.3",
                    "MNIST_REPLICA_PORT": str(b_port),
                    "MNIST_PROXY": "off",
                },
            )
        )
        a = stack.enter_context(
            deployed(
                1,
                folders["a-home"],
                folders["a-run"],
                env={**common, "MNIST_REPLICA_HOST": "127.0.0.2", "MNIST_UPSTREAMS": f"127.0.0.3:{b_port}"},
            )
        )
        yield a, b, url


def strokes(digit: list, shift: float = 0) -> str:
    return json.dumps(pad_value([[[x + shift, y] for x, y in stroke] for stroke in digit]))


def test_corrections_through_the_front_land_once_and_read_the_same_from_both_hosts(
    hosts: tuple[Replicas, Replicas, str],
) -> None:
    a, b, url = hosts
    store = DrawingStore(url)
    before = store.counts().total
    served_by, ids = set(), []
    for k in range(16):  # new sessions: the front places each by a fresh affinity key, on either host
        with httpx.Client(base_url=a.url, timeout=60) as session:
            answer, replica = call(session, "correct", [7, strokes(SEVEN, k), None, None])
            assert answer["saved"], answer
            ids.append(answer["id"])
            served_by.add(replica.rsplit(":", 1)[0])
    assert served_by == {"127.0.0.2", "127.0.0.3"}  # both hosts wrote
    assert len(set(ids)) == 16 and store.counts().total == before + 16
    totals = [Client(r, verbose=False).predict(api_name="/drawings")["total"] for r in (*a.replicas, *b.replicas)]
    assert totals == [before + 16] * 2


def call(session: httpx.Client, name: str, data: list[Any]) -> tuple[Any, str]:
    """A named endpoint through its REST API (post, then read the one answer), keeping the session's cookies; the
    answer and which replica gave it (the front's X-Replica header, '' without a proxy)."""
    posted = session.post(f"gradio_api/call/{name}", json={"data": data})
    event = posted.json()["event_id"]
    with session.stream("GET", f"gradio_api/call/{name}/{event}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and line[5:].strip().startswith("["):
                return json.loads(line[5:])[0], posted.headers.get("x-replica", "")
    raise AssertionError(f"no answer from /{name}")


def test_one_visitors_correction_limit_is_one_budget_across_hosts(hosts: tuple[Replicas, Replicas, str]) -> None:
    """The same visitor (one forwarded address, as the front names it) writing to both hosts' replicas directly:
    the limit is counted in the one database, so both together keep PER_MINUTE, not twice that."""
    a, b, _ = hosts
    headers = {"X-Forwarded-For": "198.18.7.7"}  # the benchmarking range: a header only, nothing is sent there
    kept = 0
    with ExitStack() as stack:
        sessions = [
            stack.enter_context(httpx.Client(base_url=r, timeout=60, headers=headers))
            for r in (*a.replicas, *b.replicas)
        ]
        for k in range(PER_MINUTE + 6):
            answer, _ = call(sessions[k % 2], "correct", [1, strokes(ONE, k), None, None])
            kept += bool(answer["saved"])
            assert answer["saved"] or "a minute" in answer["message"], answer
    assert kept == PER_MINUTE


def test_a_profile_taught_on_one_host_reads_on_the_other_and_is_forgotten_by_both(
    hosts: tuple[Replicas, Replicas, str],
) -> None:
    a, b, _ = hosts
    on_a, on_b = Client(a.replicas[0], verbose=False), Client(b.replicas[0], verbose=False)
    lessons = [{"label": 7, "strokes": pad_value([[[x + 9 * k, y] for x, y in s] for s in SEVEN])} for k in range(3)]
    key = on_a.predict(lessons, None, api_name="/personalize")["profile"]
    assert key
    assert on_b.predict(strokes(SEVEN), key, api_name="/predict_strokes")["model"] == "personal"
    assert on_a.predict(strokes(SEVEN), key, api_name="/predict_strokes")["model"] == "personal"
    assert "forgotten" in on_b.predict(key, api_name="/forget_profile")
    forgotten = time.monotonic()
    while on_a.predict(strokes(SEVEN), key, api_name="/predict_strokes")["model"] == "personal":
        assert time.monotonic() - forgotten < 30
        time.sleep(0.05)
    assert time.monotonic() - forgotten <= FORGET_S
