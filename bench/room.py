"""A room of people drawing at once: N simulated tabs against one server, beside minimal Gradio apps.

Each tab speaks its page's protocol with a session of its own, opened before the room starts drawing (as the
page's load events open it in a browser): while the pen moves (a digit takes about a second) it sends the
growing drawing with one request in flight, at most every 80 ms and twice the last round trip (as
mnist_ui/components/pad.py does); on pen-up it sends the finished drawing, whose answer is timed; then it pauses 1.5 s
and draws the next digit. The apps, each in its own process and measured in turn:

- demo.py: the pad's server function (`/gradio_api/component_server`, fn `read_pad`);
- a minimal app whose `gr.HTML` server function returns a constant (the same route, no model);
- a minimal app answering a constant through Gradio's queue (`queue/join` + `queue/data`), as an
  event listener on a component answers a browser tab.

Printed per app and N: answers/s, pen-up → answer p50/p95, failed answers (an error, a refusal, or no
answer within 10 s), the server's CPU per answer (from /proc, all answers counted) and the simulated tabs' own
CPU per answer (this process, on the same cores: when it nears the server's, the room measures itself too).

With `--via URL …` the room draws on demos already running there, e.g. replicas behind nginx (deploy/run.sh):
each tab keeps its own cookies, as a browser does, so the proxy keeps it on one replica, and names itself in
X-Forwarded-For by an address of the benchmarking range 198.18.0.0/15 (a header only: nothing is sent there), so
the replicas, which trust nginx, count each tab as a visitor of its own for their limits, as they count people;
no minimal apps, and no CPU per answer (the replicas' processes are not this bench's). With `--replicas N` the
bench starts `deploy/run.sh N` twice itself, the drawings in a SQLite file and in PostgreSQL (`--postgres`), and
draws on both in turn. With `--correct-every K` each tab also corrects every K-th digit it draws (`/correct`,
the label it meant), as people who say "Wrong? It is a…": corrections kept per second, their answer's p50/p95
and those not kept are printed too. Several deployments are printed side by side, a column group each.

    python -m bench.room [--tabs 1 10 40 100] [--seconds 20] [--demo-only | --via URL … | --replicas N]
                         [--correct-every K]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mnist_ui.testing import DIGIT_STROKES, pad_value, running_app, running_replicas, running_source

EVERY_S = 0.08  # the pad's shortest gap between two drawings while the pen moves
STROKE_S = 1.0
PAUSE_S = 1.5
TIMEOUT_S = 10.0

SERVER_FUNCTION_APP = """
import sys
import gradio as gr

def read_pad(value):
    return {"status": "ok", "digit": 7, "probabilities": [0.1] * 10}

with gr.Blocks() as app:
    gr.HTML("", elem_id="pad", server_functions=[read_pad])
app.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""
QUEUE_APP = """
import sys
import gradio as gr

with gr.Blocks() as app:
    pad, out = gr.HTML("", elem_id="pad"), gr.HTML(elem_id="answer")
    pad.change(lambda _: "7", pad, out, api_name="constant")
app.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""


@dataclass
class Tally:
    """What all tabs of one run saw."""

    pen_up_ms: list[float] = field(default_factory=list)
    answers: int = 0
    failed: int = 0
    correct_ms: list[float] = field(default_factory=list)  # corrections kept: request → answer
    not_kept: int = 0  # corrections refused or failed


async def correct(client: httpx.AsyncClient, url: str, label: int, value: str) -> bool:
    """`/correct` as its REST API takes it: post the call, then read its one answer from the event stream."""
    posted = await client.post(f"{url}gradio_api/call/correct", json={"data": [label, value, None, None]})
    if posted.status_code != 200:
        return False
    event = posted.json()["event_id"]
    async with client.stream("GET", f"{url}gradio_api/call/correct/{event}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:") and line[5:].strip().startswith("["):
                return bool(json.loads(line[5:])[0].get("saved"))
    return False


class Protocol:
    """How a tab asks its server to read a drawing; `ask` says whether it got a reading (an error is a failure).

    Each tab brings its own client (its connections and cookies, as a browser tab's)."""

    def __init__(self, url: str) -> None:
        self.url = url
        config = httpx.get(f"{url}config", timeout=30).json()
        self.pad = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "pad")
        self.fn_index = next((i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "constant"), 0)

    async def ask(self, client: httpx.AsyncClient, session: str, value: str, final: bool) -> bool:
        body = {"session_hash": session, "component_id": self.pad, "fn_name": "read_pad", "data": [value, final]}
        response = await client.post(f"{self.url}gradio_api/component_server/", json=body)
        return response.status_code == 200 and response.json().get("status") in ("ok", "blank")


class QueueProtocol(Protocol):
    """A browser tab's event: join the queue with its session, then read its stream until completed."""

    async def ask(self, client: httpx.AsyncClient, session: str, value: str, final: bool) -> bool:
        body = {"data": [value], "fn_index": self.fn_index, "session_hash": session, "event_data": None}
        joined = await client.post(f"{self.url}gradio_api/queue/join", json=body)
        if joined.status_code != 200:
            return False
        event = joined.json()["event_id"]
        params = {"session_hash": session}
        async with client.stream("GET", f"{self.url}gradio_api/queue/data", params=params) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") == event:
                    return bool(message.get("success"))
        return False


class Tab:
    """One person: digits drawn one after another, the pad's sending rules, pen-up answers timed."""

    def __init__(
        self, protocol: Protocol, client: httpx.AsyncClient, tally: Tally, seed: int, correct_every: int = 0
    ) -> None:
        self.protocol, self.client, self.tally = protocol, client, tally
        self.session = uuid.uuid4().hex[:11]
        self.rng = random.Random(seed)
        self.rtt = EVERY_S / 2
        # Where in its count of K a tab starts is random, so a short room corrects one in K of all drawings too.
        self.correct_every, self.drawn = correct_every, self.rng.randrange(max(1, correct_every))

    async def send(self, value: str, final: bool = False) -> float | None:
        """Seconds until the answer, or None when it failed; the round trip sets the next gap."""
        started = time.perf_counter()
        try:
            good = await asyncio.wait_for(self.protocol.ask(self.client, self.session, value, final), TIMEOUT_S)
        except (TimeoutError, httpx.HTTPError, ValueError, KeyError):
            good = False
        took = time.perf_counter() - started
        self.tally.answers += good
        self.tally.failed += not good
        self.rtt = 0.7 * self.rtt + 0.3 * took
        return took if good else None

    async def digit(self, strokes: list[list[list[float]]]) -> None:
        """Drafts while the pen moves; the pen lifts STROKE_S after it went down, even mid-request."""
        points = [p for s in strokes for p in s]
        started = time.perf_counter()
        up = started + STROKE_S
        while (now := time.perf_counter()) < up:
            await self.send(json.dumps(pad_value([points[: max(1, int(len(points) * (now - started) / STROKE_S))]])))
            wait = max(EVERY_S, 2 * self.rtt) - (time.perf_counter() - now)
            await asyncio.sleep(max(0.0, min(wait, up - time.perf_counter())))
        if await self.send(json.dumps(pad_value(strokes)), final=True) is not None:  # the answer people wait for
            self.tally.pen_up_ms.append((time.perf_counter() - up) * 1000)

    async def open(self) -> None:
        """The page loads before anyone draws: its load events create the tab's Gradio session (for the demo,
        ~10 ms of the server's event loop: a copy of every component's config), so the first pen-up does not."""
        try:
            await self.protocol.ask(self.client, self.session, "", False)
        except (httpx.HTTPError, ValueError, KeyError):
            pass  # then its first drawing opens the session, as without this step

    async def run(self, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, STROKE_S + PAUSE_S))
        while time.perf_counter() < until:
            label, strokes = self.rng.choice(list(DIGIT_STROKES.items()))
            await self.digit(strokes)
            self.drawn += 1
            if self.correct_every and self.drawn % self.correct_every == 0:
                await self.correct(int(label), strokes)
            await asyncio.sleep(PAUSE_S)

    async def correct(self, label: int, strokes: list[list[list[float]]]) -> None:
        started = time.perf_counter()
        try:
            kept = await asyncio.wait_for(
                correct(self.client, self.protocol.url, label, json.dumps(pad_value(strokes))), TIMEOUT_S
            )
        except (TimeoutError, httpx.HTTPError, ValueError, KeyError):
            kept = False
        if kept:
            self.tally.correct_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.tally.not_kept += 1


def cpu_seconds(pid: int | None) -> float:
    """The process's CPU time so far; 0 for a server that is not ours to read (--via)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int | None, timeout: float = 90.0) -> None:
    """Until the server uses under 5% of a core (the demo warms its test report up after it starts)."""
    ends = time.monotonic() + (timeout if pid is not None else 0)
    while time.monotonic() < ends:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < 0.05:
            return


def tab_client(number: int | None = None) -> httpx.AsyncClient:
    """One tab's connections and cookie jar: a proxy with session affinity sees one browser session per tab. With
    a number, the tab says it is 198.18.x.y (the benchmarking range) in X-Forwarded-For: a visitor of its own to
    replicas that trust their proxy, as people on a proxy's other side are."""
    headers = {} if number is None else {"X-Forwarded-For": f"198.18.{number // 254}.{number % 254 + 1}"}
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=4), timeout=TIMEOUT_S, headers=headers)


@dataclass(frozen=True)
class Room:
    """How a room is run: its tabs, how long, which protocol, whether tabs are visitors apart, corrections."""

    tabs: int
    seconds: float
    queue: bool = False
    proxied: bool = False
    correct_every: int = 0


async def drawn(url: str, pid: int | None, setup: Room) -> tuple[Tally, float, float, float]:
    """(what the tabs saw, wall seconds, the server's CPU seconds, this process's CPU seconds) of one room."""
    protocol = (QueueProtocol if setup.queue else Protocol)(url)
    clients = [tab_client(n if setup.proxied else None) for n in range(setup.tabs)]
    try:
        await Tab(protocol, clients[0], Tally(), 0).digit(DIGIT_STROKES["7"])  # warm up
        tally = Tally()
        people = [Tab(protocol, c, tally, n, setup.correct_every) for n, c in enumerate(clients)]
        for tab in people:  # one after another, as people open a shared link
            await tab.open()
        cpu0, own0, wall0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.gather(*(tab.run(wall0 + setup.seconds) for tab in people))
        wall, cpu, own = time.perf_counter() - wall0, cpu_seconds(pid) - cpu0, time.process_time() - own0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return tally, wall, cpu, own


async def room(url: str, pid: int | None, setup: Room) -> str:
    tally, wall, cpu, own = await drawn(url, pid, setup)
    tabs = setup.tabs
    ups = sorted(tally.pen_up_ms) or [float("nan")]
    per_answer = f"{1000 * cpu / max(1, tally.answers):>10.1f} ms" if pid is not None else f"{'—':>13}"
    return (
        f"{tabs:>5} {tally.answers / wall:>10.1f} {percentile(ups, 0.5):>9.0f} ms {percentile(ups, 0.95):>7.0f} ms "
        f"{tally.failed:>7} {per_answer} {len(tally.pen_up_ms):>8} {1000 * own / max(1, tally.answers):>10.1f} ms"
    )


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(name: str, url: str, pid: int | None, tabs: list[int], seconds: float, queue: bool = False) -> None:
    print(f"\n{name}")
    print(f"{'tabs':>5} {'answers/s':>10} {'pen-up→answer p50':>20} {'p95':>7} {'failed':>7}", end="")
    print(f" {'CPU/answer':>13} {'pen-ups':>8} {'tabs CPU/answer':>16}")
    for n in tabs:
        wait_idle(pid)
        print(asyncio.run(room(url, pid, Room(n, seconds, queue))), flush=True)


GROUP = (
    f"{'answers/s':>9} {'pen-up p50':>10} {'p95':>6} {'failed':>6} {'kept/s':>6} {'correct p50':>11} {'p95':>6} "
    f"{'not kept':>8}"
)


def compare(names: list[str], urls: list[str], tabs: list[int], seconds: float, correct_every: int) -> None:
    """Each room size on every deployment in turn (so the machine's spread hits all alike), side by side."""
    print(f"\n{' ' * 5} " + " | ".join(f"{name:^{len(GROUP)}}" for name in names))
    print(f"{'tabs':>5} " + " | ".join([GROUP] * len(names)))
    for n in tabs:
        cells = []
        for url in urls:
            tally, wall, _, _ = asyncio.run(
                drawn(url, None, Room(n, seconds, proxied=True, correct_every=correct_every))
            )
            ups = sorted(tally.pen_up_ms) or [float("nan")]
            fixes = sorted(tally.correct_ms) or [float("nan")]
            cells.append(
                f"{tally.answers / wall:>9.1f} {percentile(ups, 0.5):>7.0f} ms {percentile(ups, 0.95):>3.0f} ms "
                f"{tally.failed:>6} {len(tally.correct_ms) / wall:>6.2f} {percentile(fixes, 0.5):>8.0f} ms "
                f"{percentile(fixes, 0.95):>3.0f} ms {tally.not_kept:>8}"
            )
        print(f"{n:>5} " + " | ".join(cells), flush=True)


def on_replicas(count: int, tabs: list[int], seconds: float, correct_every: int) -> None:
    """deploy/run.sh COUNT with the drawings in SQLite and again in PostgreSQL, both up at once, drawn on in turn."""
    with contextlib.ExitStack() as stack:
        urls = []
        for engine in ("sqlite", "postgresql"):
            top = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"room-{engine}-")))
            folders = [top / name for name in ("home", "run", "postgres")]
            for folder in folders:
                folder.mkdir()
            pg = folders[2] if engine == "postgresql" else None
            urls.append(stack.enter_context(running_replicas(count, folders[0], folders[1], pg)).url)
        names = [f"{count} replicas, SQLite file", f"{count} replicas, PostgreSQL"]
        compare(names, urls, tabs, seconds, correct_every)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, nargs="+", default=[1, 10, 40, 100], help="tabs drawing at once")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each room draws")
    parser.add_argument("--demo-only", action="store_true", help="skip the minimal apps")
    parser.add_argument(
        "--via", metavar="URL", nargs="+", help="draw on the demos running at these URLs (e.g. nginx before replicas)"
    )
    parser.add_argument("--replicas", type=int, metavar="N", help="start deploy/run.sh N on SQLite and on PostgreSQL")
    parser.add_argument("--correct-every", type=int, default=0, metavar="K", help="each tab corrects every K-th digit")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    if args.replicas:
        on_replicas(args.replicas, args.tabs, args.seconds, args.correct_every)
    elif args.via:
        urls = [url.rstrip("/") + "/" for url in args.via]
        compare([f"the demo at {url}" for url in urls], urls, args.tabs, args.seconds, args.correct_every)
    else:
        with tempfile.TemporaryDirectory() as home, running_app(None, Path(home)) as app:
            measure("demo.py: the pad's server function read_pad", app.url, app.process.pid, args.tabs, args.seconds)
    if not (args.demo_only or args.via or args.replicas):
        with running_source(SERVER_FUNCTION_APP) as (url, pid):
            measure("minimal gr.HTML server function (constant answer)", url, pid, args.tabs, args.seconds)
        with running_source(QUEUE_APP) as (url, pid):
            measure("minimal Gradio app, queue event (constant answer)", url, pid, args.tabs, args.seconds, True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
