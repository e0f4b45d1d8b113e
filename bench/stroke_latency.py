"""Pen to answer in headless Chromium: the demo's stroke pad, with its inside view closed and open, beside two
minimal Gradio apps.

Each app runs in its own process: `demo.py` (the shipped model, its own MNIST_DEMO_HOME), a minimal
`gr.HTML` pad whose `change` (sent on pointer-up) answers a counter through Gradio's queue into a
`gr.HTML`, and a minimal `gr.Sketchpad` app answering the same way. The same digit-length mouse strokes
(a 1, a 7 or a 0, about a second each, cleared in between) are drawn on each. On the demo the strokes alternate
between the Draw tab's "Inside the network" view closed and open (the same page and server, so the two rows
share the machine's state): open, every reading also brings the network's insides, painted in the same frame.
Inside the page a MutationObserver watches the answer elements (the demo's result panel and inside view, the
minimal apps' output); "shown" is two animation frames after its last change for the
finished drawing, when the page has painted it. Printed per app:

- pointer-up → answer shown, p50 and p95;
- answers shown per second while the pen is down (the minimal apps send nothing until pointer-up);
- requests per stroke (pad readings through `component_server`, queue events through `queue/join`);
- CPU per stroke, which a busy machine stretches less than wall time: the server process's (from /proc) and the
  page's main thread (Chromium's TaskDuration);

and the inside view's cost: open p50 over closed p50 (the issue asks for at most 1.10).

    python -m bench.stroke_latency [--strokes 20] [--demo-only] [--model assets/cnn.keras]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_ui.testing import ONE, SEVEN, ZERO, chromium, draw, origin, running_app, running_source

SHAPES = [ONE, SEVEN, ZERO]
MOVES = 20  # mouse moves per stroke
MOVE_PAUSE_S = 0.035  # with the moves themselves, about a second per stroke, as a person draws a digit
QUIET_MS = 700  # no change for this long: the page has shown its last answer

HTML_PAD_APP = """
import itertools, sys
import gradio as gr

JS = \"\"\"
element.addEventListener('pointerdown', (e) => e.preventDefault());
element.addEventListener('pointerup', () => { props.value = String(performance.now()); });  // fires change
\"\"\"
count = itertools.count()
with gr.Blocks() as app:
    pad = gr.HTML("", html_template='<div class="surface" style="width:448px;height:448px;background:#eee"></div>',
                  js_on_load=JS, elem_id="pad", apply_default_css=False)
    out = gr.HTML(elem_id="answer")
    pad.change(lambda _: str(next(count)), pad, out, api_name="constant", show_progress="hidden")
app.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""
SKETCHPAD_APP = """
import itertools, sys
import gradio as gr

count = itertools.count()
with gr.Blocks() as app:
    pad, out = gr.Sketchpad(elem_id="sketch"), gr.HTML(elem_id="answer")
    pad.change(lambda _: str(next(count)), pad, out, api_name="constant", show_progress="hidden")
app.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""

# Times every change of the answer elements and the frame after the next one (the change is on screen).
OBSERVE = """(selector) => {
  const B = window.__bench = {downs: [], ups: [], changes: [], shown: []};
  performance.setResourceTimingBufferSize(100000);  // the default 250 entries fill up within a few strokes
  addEventListener('pointerdown', () => B.downs.push(performance.now()), true);
  addEventListener('pointerup', () => B.ups.push(performance.now()), true);
  const seen = new MutationObserver(() => {
    B.changes.push(performance.now());
    requestAnimationFrame(() => requestAnimationFrame(() => B.shown.push(performance.now())));
  });
  for (const answer of document.querySelectorAll(selector)) {
    seen.observe(answer, {subtree: true, childList: true, attributes: true, characterData: true});
  }
}"""
QUIET = """(quiet) => new Promise((resolve) => {
  const B = window.__bench, up = B.ups.length ? B.ups[B.ups.length - 1] : 0;
  const tick = () => {
    const last = Math.max(0, ...B.shown);
    if (last > up && performance.now() - last > quiet) resolve(true); else setTimeout(tick, 50);
  };
  tick();
})"""
OPEN_VIEW = """(open) => { const d = document.querySelector('#inside details'); if (d.open !== open) d.open = open; }"""
REQUESTS = """(since) => performance.getEntriesByType('resource').filter(e => e.startTime >= since &&
  (e.name.includes('component_server') || e.name.includes('queue/join'))).length"""


@dataclass
class Target:
    """One app to draw on: where its surface is, how to clear it, where its answer shows."""

    name: str
    url: str
    surface: str
    clear: str
    answer: str
    pid: int  # the server's process, whose CPU a stroke costs
    prepare: str = ""  # a button to click before each stroke (the Sketchpad's brush)
    square: float = 1.0  # the share of the surface's shorter side the 448-pixel stroke square covers


@dataclass
class Stroke:
    up_to_shown_ms: float
    answers_while_down: int
    drawing_s: float
    requests: int
    server_cpu_ms: float  # the server process's CPU over the stroke and its answers
    page_ms: float  # the page's main-thread task time over the same (Chromium's TaskDuration)


def cpu_ms(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux; clock ticks of 10 ms, so summed over strokes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def page_ms(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return 1000 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def settle(page: Any) -> None:
    """Wait until nothing has changed for QUIET_MS (or never changed after the last pointer-up)."""
    page.wait_for_function(
        """(quiet) => { const B = window.__bench; return performance.now() - Math.max(0, ...B.shown) > quiet; }""",
        arg=QUIET_MS,
    )


def one_stroke(page: Any, cdp: Any, target: Target, shape: list[list[list[float]]]) -> Stroke:
    clear = page.locator(target.clear).first if target.clear else None
    if clear is not None and clear.is_visible() and clear.is_enabled():
        clear.click()
    if target.prepare:  # the Sketchpad draws nothing until its brush is picked, again after each clear
        page.click(target.prepare)
    settle(page)
    since, cpu, task = page.evaluate("performance.now()"), cpu_ms(target.pid), page_ms(cdp)
    draw(page, shape, at=origin(page, target.surface, target.square), moves=MOVES, pause_s=MOVE_PAUSE_S)
    page.evaluate(QUIET, QUIET_MS)
    bench = page.evaluate("window.__bench")
    down, up = bench["downs"][-1], bench["ups"][-1]
    return Stroke(
        max(bench["shown"]) - up,
        sum(1 for t in bench["changes"] if down < t < up),
        (up - down) / 1000,
        page.evaluate(REQUESTS, since),
        cpu_ms(target.pid) - cpu,
        page_ms(cdp) - task,
    )


def run(
    browser: Any, target: Target, strokes: int, warmup: int = 2, views: tuple[bool, ...] = ()
) -> list[list[Stroke]]:
    """`strokes` per entry of `views` (the inside view closed or open before each stroke, taking turns), after
    `warmup` strokes each; with no `views`, one list of `strokes` on the page as it opens."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    turns = views or (None,)
    try:
        page.goto(target.url)
        page.wait_for_selector(target.surface)
        page.wait_for_selector(target.answer, state="attached")
        page.wait_for_timeout(1500)
        page.evaluate(OBSERVE, target.answer)
        results: list[list[Stroke]] = [[] for _ in turns]
        for i in range((warmup + strokes) * len(turns)):
            view = turns[i % len(turns)]
            if view is not None:
                page.evaluate(OPEN_VIEW, view)  # opening reads the drawing again: one_stroke settles first
            results[i % len(turns)].append(one_stroke(page, cdp, target, SHAPES[(i // len(turns)) % len(SHAPES)]))
        return [kept[warmup:] for kept in results]
    finally:
        context.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, results: list[Stroke]) -> str:
    ups = [r.up_to_shown_ms for r in results]
    rates = [r.answers_while_down / r.drawing_s for r in results]
    return (
        f"{name:<32} {percentile(ups, 0.5):>7,.0f} ms {percentile(ups, 0.95):>8,.0f} ms "
        f"{statistics.median(rates):>10.1f} {statistics.mean(r.drawing_s for r in results):>7.2f} s"
        f" {statistics.mean(r.requests for r in results):>9.1f}"
        f" {statistics.mean(r.server_cpu_ms for r in results):>8.0f}"
        f" {statistics.mean(r.page_ms for r in results):>9.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--strokes", type=int, default=20, help="strokes per app (and per view), after 2 warm-up strokes"
    )
    parser.add_argument("--demo-only", action="store_true", help="only the demo, its inside view closed and open")
    parser.add_argument("--model", type=Path, help="the model the demo serves (default: the shipped dense network)")
    args = parser.parse_args()
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as home, chromium() as browser:
        with running_app(args.model, Path(home)) as app:
            demo = Target(
                "stroke pad (demo.py)",
                app.url,
                "#pad canvas.pad",
                "#pad .pad-clear",
                "#result, #inside",
                app.process.pid,
            )
            closed, opened = run(browser, demo, args.strokes, views=(False, True))
            rows += [report("demo, inside view closed", closed), report("demo, inside view open", opened)]
            ratio = percentile([r.up_to_shown_ms for r in opened], 0.5) / percentile(
                [r.up_to_shown_ms for r in closed], 0.5
            )
        if not args.demo_only:
            rows += minimal_apps(browser, args.strokes)
    print(f"\nPen to answer in headless Chromium, {args.strokes} digit-length strokes per row (1, 7, 0 in turn)")
    print(f"the demo serves {args.model or 'the shipped model'}")
    print(f"load average (1 min) at the start: {load:.2f}, at the end: {os.getloadavg()[0]:.2f}")
    head = f"{'app':<32} {'pointer-up → shown':>22} {'answers/s':>10} {'stroke':>9} {'requests':>9}"
    print(f"{head} {'CPU ms a stroke':>18}")
    print(f"{'':<32} {'p50':>10} {'p95':>11} {'pen down':>10} {'lasted':>9} {'/stroke':>9} {'server':>8} {'page':>9}")
    for row in rows:
        print(row)
    print(f"inside view open / closed, pointer-up → shown p50: {ratio:.2f}")
    return 0


def minimal_apps(browser: Any, strokes: int) -> list[str]:
    """The two reference apps' rows: a gr.HTML pad and a gr.Sketchpad, each answering a counter."""
    rows = []
    with running_source(HTML_PAD_APP) as (url, pid):
        pad = Target("gr.HTML pad (minimal app)", url, "#pad .surface", "", "#answer", pid)
        rows.append(report(pad.name, run(browser, pad, strokes)[0]))
    with running_source(SKETCHPAD_APP) as (url, pid):
        sketch = Target(
            "gr.Sketchpad (minimal app)",
            url,
            "#sketch .pixi-target canvas",
            '#sketch button[aria-label="Clear canvas"]',
            "#answer",
            pid,
            prepare='#sketch button[aria-label="Brush"]',
            square=0.6,
        )
        rows.append(report(sketch.name, run(browser, sketch, strokes)[0]))
    return rows


if __name__ == "__main__":
    sys.exit(main())
