"""Pen to answer in headless Chromium: the demo's stroke pad against a minimal one-`gr.Sketchpad` app.

Both apps run in their own processes here: `demo.py` (the shipped model, its own MNIST_DEMO_HOME) and a
Gradio app with one Sketchpad whose `.change` returns a constant. The same digit-length mouse strokes
(a 1, a 7 or a 0, about a second each, cleared in between) are drawn on each, and the page's own
network traffic is timed from inside it: a wrapper around `fetch` notes when each queue request leaves
and when its `process_completed` arrives on the event stream; "shown" is two animation frames later,
after the page painted the answer. Printed per app:

- pointer-up → answer shown: from the pointerup event to the answer of the first request sent for the
  finished drawing (the pad's `change`, the Sketchpad's `change`), p50 and p95;
- answers per second while the pen is down (the Sketchpad sends nothing until pointer-up);
- requests per stroke, by event.

    python -m bench.stroke_latency [--strokes 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server import CHROMIUM, CHROMIUM_ARGS, free_port, running_app, wait_until_served
from bench.strokes import ONE, PAD_SIDE, SEVEN, ZERO

SHAPES = [ONE[0], SEVEN[0], ZERO[0]]
MOVES = 20  # mouse moves per stroke
MOVE_PAUSE_S = 0.035  # with the moves themselves, about a second per stroke, as a person draws a digit

MINIMAL_APP = """
import sys
import gradio as gr

with gr.Blocks() as app:
    pad, out = gr.Sketchpad(elem_id="sketch"), gr.Textbox(elem_id="answer")
    pad.change(lambda _: "7", pad, out, api_name="constant")
app.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""

# Runs before the page's own scripts: times queue joins and their completions on the SSE stream.
INSTRUMENT = r"""(() => {
  const B = window.__bench = {joins: [], done: {}, shown: {}, downs: [], ups: []};
  addEventListener('pointerdown', () => B.downs.push(performance.now()), true);
  addEventListener('pointerup', () => B.ups.push(performance.now()), true);
  const painted = (id) => requestAnimationFrame(() => requestAnimationFrame(() => {
    B.shown[id] = performance.now();
  }));
  async function listen(stream) {
    const reader = stream.getReader(), decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, {stream: true});
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        for (const line of message.split('\n')) {
          if (!line.startsWith('data:')) continue;
          try {
            const m = JSON.parse(line.slice(5));
            if (m.msg === 'process_completed') { B.done[m.event_id] = performance.now(); painted(m.event_id); }
          } catch (e) { /* a heartbeat or a partial line */ }
        }
      }
    }
  }
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : (input.url || String(input));
    const sent = performance.now();
    let body = init && init.body;
    if (body === undefined && input instanceof Request && url.includes('/queue/join')) {
      body = await input.clone().text();
    }
    const response = await original(input, init);
    if (url.includes('/queue/join')) {
      let fn = null;
      try { fn = JSON.parse(body).fn_index; } catch (e) { /* not JSON */ }
      response.clone().json().then((j) => B.joins.push({t: sent, fn, id: j.event_id})).catch(() => {});
    } else if (url.includes('/queue/data') && response.body) {
      const [mine, theirs] = response.body.tee();
      listen(mine);
      const {status, statusText, headers} = response;
      return new Response(theirs, {status, statusText, headers});
    }
    return response;
  };
})();"""

ANSWERED = """(fn) => { const B = window.__bench, up = B.ups[B.ups.length - 1];
  return B.joins.some(j => j.fn === fn && j.t >= up && j.id in B.shown); }"""
IDLE = """(quiet) => new Promise((resolve) => {
  const B = window.__bench;
  const tick = () => {
    const last = Math.max(0, ...B.joins.map(j => j.t), ...Object.values(B.done));
    const open = B.joins.some(j => !(j.id in B.shown));
    if (!open && performance.now() - last > quiet) resolve(true); else setTimeout(tick, 50);
  };
  tick();
})"""


@dataclass
class Target:
    """One app to draw on: where its surface is, how to clear it, which events answer a drawing."""

    name: str
    url: str
    surface: str
    clear: str
    answer_fns: dict[int, str]  # fn_index → event name, for the events that read the drawing
    final_fn: int  # the event whose answer is the one for the finished stroke
    prepare: str = ""  # a button to click before each stroke (the Sketchpad's brush)
    square: float = 1.0  # the share of the surface's shorter side the 448-pixel stroke square covers


@dataclass
class Stroke:
    up_to_shown_ms: float
    down_to_first_ms: float | None
    answers_while_down: int
    drawing_s: float
    requests: dict[str, int] = field(default_factory=dict)


def dependencies(url: str) -> dict[str, int]:
    import httpx

    config = httpx.get(f"{url}config", timeout=30).json()
    return {d.get("api_name"): d.get("id", i) for i, d in enumerate(config["dependencies"])}


def draw(page: Any, target: Target, shape: list[list[float]]) -> None:
    box = page.locator(target.surface).first.bounding_box()
    side = min(box["width"], box["height"]) * target.square
    x0, y0 = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    scale = side / PAD_SIDE
    points = [*shape[:: max(1, len(shape) // MOVES)], shape[-1]]
    page.mouse.move(x0 + points[0][0] * scale, y0 + points[0][1] * scale)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x * scale, y0 + y * scale, steps=2)
        time.sleep(MOVE_PAUSE_S)
    page.mouse.up()


def one_stroke(page: Any, target: Target, shape: list[list[float]]) -> Stroke:
    clear = page.locator(target.clear).first
    if clear.is_visible() and clear.is_enabled():
        clear.click()
        page.wait_for_timeout(500)
    if target.prepare:  # the Sketchpad draws nothing until its brush is picked, again after each clear
        page.click(target.prepare)
    page.evaluate(IDLE, 600)
    first_join = page.evaluate("window.__bench.joins.length")
    draw(page, target, shape)
    try:
        page.wait_for_function(ANSWERED, arg=target.final_fn)
    except Exception:
        bench = page.evaluate("window.__bench")
        print(
            f"{target.name}: no answer for the finished stroke; pointer-ups {bench['ups'][-3:]}, "
            f"last requests {bench['joins'][-4:]}",
            file=sys.stderr,
        )
        raise
    page.evaluate(IDLE, 800)
    bench = page.evaluate("window.__bench")
    down, up = bench["downs"][-1], bench["ups"][-1]
    joins = [j for j in bench["joins"][first_join:] if j["fn"] in target.answer_fns]
    final = next(j for j in joins if j["fn"] == target.final_fn and j["t"] >= up)
    during = sorted(bench["shown"][j["id"]] for j in joins if down < bench["shown"].get(j["id"], -1) < up)
    requests: dict[str, int] = {}
    for j in joins:
        requests[target.answer_fns[j["fn"]]] = requests.get(target.answer_fns[j["fn"]], 0) + 1
    return Stroke(
        bench["shown"][final["id"]] - up,
        during[0] - down if during else None,
        len(during),
        (up - down) / 1000,
        requests,
    )


def run(browser: Any, target: Target, strokes: int, warmup: int = 2) -> list[Stroke]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(INSTRUMENT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(target.url)
        page.wait_for_selector(target.surface)
        page.wait_for_timeout(1500)
        results = [one_stroke(page, target, SHAPES[i % len(SHAPES)]) for i in range(warmup + strokes)]
        return results[warmup:]
    finally:
        context.close()


@contextmanager
def minimal_app() -> Iterator[str]:
    """The one-Sketchpad app in its own process, stopped by its PID."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "minimal.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-c", MINIMAL_APP, str(port)],
                stdout=out,
                stderr=out,
                env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
            )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_served(url, server, log, 120)
            yield url
        finally:
            server.terminate()
            server.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, results: list[Stroke]) -> str:
    ups = [r.up_to_shown_ms for r in results]
    rates = [r.answers_while_down / r.drawing_s for r in results]
    firsts = [r.down_to_first_ms for r in results if r.down_to_first_ms is not None]
    kinds = sorted({k for r in results for k in r.requests})
    requests = ", ".join(f"{k} {statistics.mean(r.requests.get(k, 0) for r in results):.1f}" for k in kinds)
    first = f"{statistics.median(firsts):,.0f} ms" if firsts else "—"
    return (
        f"{name:<28} {percentile(ups, 0.5):>7,.0f} ms {percentile(ups, 0.95):>8,.0f} ms "
        f"{statistics.median(rates):>10.1f} {first:>13} {statistics.mean(r.drawing_s for r in results):>6.2f} s"
        f"   {requests}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strokes", type=int, default=20, help="strokes per app, after 2 warm-up strokes (≥ 20)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as home, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with running_app(None, Path(home)) as app:
                deps = dependencies(app.url)
                pad = Target(
                    "stroke pad (demo.py)",
                    app.url,
                    "#pad canvas.pad",
                    "#pad .pad-clear",
                    {deps["pad_change"]: "change"},
                    deps["pad_change"],
                )
                rows.append(report(pad.name, run(browser, pad, args.strokes)))
            with minimal_app() as url:
                deps = dependencies(url)
                sketch = Target(
                    "gr.Sketchpad (minimal app)",
                    url,
                    "#sketch .pixi-target canvas",
                    '#sketch button[aria-label="Clear canvas"]',
                    {deps["constant"]: "change"},
                    deps["constant"],
                    prepare='#sketch button[aria-label="Brush"]',
                    square=0.6,
                )
                rows.append(report(sketch.name, run(browser, sketch, args.strokes)))
        finally:
            browser.close()
    print(f"\nPen to answer in headless Chromium, {args.strokes} digit-length strokes per app (1, 7, 0 in turn)")
    print(
        f"{'app':<28} {'pointer-up → shown':>22} {'answers/s':>10} {'first answer':>13} {'stroke':>8}"
        "   requests per stroke"
    )
    print(f"{'':<28} {'p50':>10} {'p95':>11} {'pen down':>10} {'after down':>13} {'lasted':>8}")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
