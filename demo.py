"""Draw-a-digit web demo: `python demo.py` serves the current model on http://127.0.0.1:7860, offline.

The pages live in the `mnist_ui` package (one module per tab) over `mnist_core`; this file parses the flags,
loads the model and launches. TensorFlow is imported only when someone retrains.
"""

from __future__ import annotations

from mnist_core.threads import cap_threads

cap_threads()  # first: mnist_ui.launch below already imports NumPy, which reads the caps once

import contextlib  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from mnist_core import tf_logs  # noqa: E402
from mnist_ui.launch import (  # noqa: E402
    collecting,
    decide,
    parser,
    port_problem,
    read_auth,
    serve_until_stopped,
    start,
    stop_signals,
)


def quiet_environment(verbose: bool) -> None:
    """Before Gradio and TensorFlow are imported: no analytics threads (they hang without a network); TensorFlow's
    own logs off unless --verbose; the server's events (a training started or ended, MNIST downloaded) one plain
    line each on stdout."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    tf_logs.quiet(verbose)
    events = logging.getLogger("mnist_demo")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    events.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    auth = read_auth(args)
    settings, warnings = decide(args, auth)
    if problem := port_problem(args.host, args.port):
        print(problem, file=sys.stderr)
        return 2
    quiet_environment(args.verbose)
    from mnist_ui.app import build_app

    for line in warnings:
        print(line, file=sys.stderr)
    demo = build_app(_context(args, settings))
    stop = stop_signals()
    _launch(demo, args, auth)
    serve_until_stopped(demo, stop)
    return 0


def _context(args: Any, settings: Any) -> Any:
    """The serving model (the chosen one, else the shipped one), its job runner and the drawings store."""
    from mnist_core.model.versions import clean_staging, serving_path
    from mnist_core.serving.holder import ModelHolder, open_initial
    from mnist_core.serving.jobs import JobManager
    from mnist_core.serving.shared_job import SharedJob, lock_engine
    from mnist_ui.server.collect import Collector
    from mnist_ui.server.context import AppContext
    from mnist_ui.server.personal import PersonalModels

    clean_staging()
    served = open_initial(Path(args.model) if args.model else serving_path())
    if served.warning:
        print(f"warning: {served.warning}", file=sys.stderr)
    holder = ModelHolder(served)
    holder.follow()  # replicas sharing MNIST_DEMO_HOME serve what any of them switches to (deploy/run.sh)
    collect, not_kept = collecting(args)
    collector = Collector(args.database, enabled=collect, disabled_reason=not_kept)
    if collector.warning():
        print(f"warning: {collector.warning()}; the demo reads drawings as usual", file=sys.stderr)
    personal = PersonalModels(holder, collector.path, args.data, args.pens)
    personal.warm()  # the replayed digits' features, off the request path (about a second)
    try:
        lock = lock_engine(collector.path)  # the one training's lock: in the models folder, or in PostgreSQL
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    jobs = JobManager(holder, args.data, args.pens, shared=SharedJob(engine=lock))
    ctx = AppContext(holder, jobs, settings, served.path, collector, personal)
    threading.Thread(target=_warm_report, args=(ctx,), daemon=True, name="report-warmup").start()
    return ctx


def _launch(demo: Any, args: Any, auth: list[tuple[str, str]]) -> None:
    """Start serving without blocking, then say where in one line (and why there is no public link offline)."""
    with contextlib.redirect_stdout(io.StringIO()):  # Gradio's multi-line frpc advice when offline
        start(demo, args.host, args.port, auth, share=args.share)
    local = f"http://{args.host}:{demo.server_port}"
    if args.share and not demo.share_url:
        print(f"share link unavailable (no internet connection to gradio.live): serving locally at {local}", flush=True)
    else:
        print(f"serving at {local}" + (f" and publicly at {demo.share_url}" if demo.share_url else ""), flush=True)


def _warm_report(ctx: Any) -> None:
    """Compute (or read) the served model's test report off the request path, so the Model tab opens fast; and
    find out whether a training could get MNIST, so the Train tab's first visitor does not wait on the network."""
    from mnist_core.data.mnist import DataError, local_source

    try:
        ctx.holder.report(data_path=ctx.jobs.data_path)
    except (DataError, OSError):
        pass
    if local_source(ctx.jobs.data_path) is None:  # a named copy is read when a run needs it, not at start
        ctx.jobs.data_problem()


if __name__ == "__main__":
    sys.exit(main())
