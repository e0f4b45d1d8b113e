"""Shared fixtures: real MNIST from $MNIST_DATA, one small model trained once per session, demo servers
(`python demo.py` started by mnist_ui.testing), the AppContext demo.py builds, and a headless Chromium."""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnist_core.threads import cap_threads

cap_threads()  # before NumPy loads, here and in the xdist workers (they inherit it): in-process apps and trainings

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mnist_ui.testing import (  # noqa: E402
    NO_DATA,
    App,
    data_env,
    new_database,
    postgres,
    postgres_missing,
    running_app,
)

if TYPE_CHECKING:
    from mnist_core.serving.holder import ModelHolder
    from mnist_ui.server.collect import Collector
    from mnist_ui.server.context import AppContext, Settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

StartApp = Callable[..., App]
_RUN_CACHE = pytest.StashKey[str]()
_RUN_POSTGRES = pytest.StashKey[str]()
POSTGRES_ENV = "MNIST_TEST_POSTGRES"  # the folder of this run's PostgreSQL server, shared by the xdist workers
BuildCtx = Callable[..., "AppContext"]


def pytest_configure(config: pytest.Config) -> None:
    """One drawing cache (mnist_core.data.render_cache) for the whole run, set before xdist starts its workers so
    they and every server they start share it: the held-out pen set and the replay set are drawn once a run, not
    once per evaluation and per server. A cache the developer named is used as it is. With --store-durations, the
    controller records the tests' times."""
    if config.getoption("store_durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_DurationRecorder(), "store-durations")
    if "MNIST_DEMO_CACHE" not in os.environ:
        os.environ["MNIST_DEMO_CACHE"] = config.stash[_RUN_CACHE] = tempfile.mkdtemp(prefix="mnist-demo-cache-")
    if POSTGRES_ENV not in os.environ:  # one PostgreSQL server a run, started by the first test that needs it
        os.environ[POSTGRES_ENV] = config.stash[_RUN_POSTGRES] = tempfile.mkdtemp(prefix="mnist-test-postgres-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if folder := config.stash.get(_RUN_CACHE, None):
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ["MNIST_DEMO_CACHE"]
    if folder := config.stash.get(_RUN_POSTGRES, None):
        if (Path(folder) / "data-dir").exists():
            postgres("remove", Path(folder))
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ[POSTGRES_ENV]


# Files that share a session fixture which is costly to make (a model trained, a server started): xdist hands each
# group to one worker, whole, so the fixture is made once a run instead of once per worker that needs it.
SHARING = {
    "tests/test_retrain_api.py": "weak",
    "tests/test_replicas.py": "weak",
    "tests/test_cli.py": "small_model",
    "tests/test_model_files.py": "small_model",
    "tests/test_mnist.py": "small_model",
    "tests/test_personal_api.py": "personal_app",
    "tests/test_personal_browser.py": "personal_app",
    "tests/test_docs.py": "personal_app",
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which would make its plain loadfile scheduler
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with the files of one SHARING group as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharingScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return SHARING.get(file, file)

    return SharingScheduling(config, log)


DURATIONS = Path(__file__).with_name("durations.json")  # seconds per test, from `pytest --store-durations`


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations",
        action="store_true",
        help=f"write each test's seconds (setup, call, teardown) to {DURATIONS.name}, which orders the next runs",
    )


def _estimate(item: pytest.Item, durations: dict[str, float]) -> float:
    """Seconds the test took when durations were stored; a guess by its markers for a test newer than that."""
    if item.nodeid in durations:
        return durations[item.nodeid]
    return 5.0 if any(item.get_closest_marker(m) for m in ("slow", "browser")) else 0.1


@pytest.hookimpl(trylast=True)  # after -m has deselected
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Units (a file, or a SHARING group) longest first by tests/durations.json, each unit's tests in their order:
    pytest-xdist hands out a unit at a time in this order, so the long ones start early and the short ones fill
    both workers' last seconds. Summed over the selected tests only, so `-m` and `-k` runs are ordered too. The
    times only order the run: stale ones cost minutes, never a result."""
    durations = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}

    def unit(item: pytest.Item) -> str:
        file = item.nodeid.split("::", 1)[0]
        return SHARING.get(file, file)

    cost: Counter[str] = Counter()
    for item in items:
        cost[unit(item)] += _estimate(item, durations)
    items.sort(key=lambda item: (-cost[unit(item)], unit(item)))


class _DurationRecorder:
    """--store-durations, in the controller (xdist sends it every worker's reports): each test's setup, call and
    teardown added up; at the end, the entries of every file that ran are replaced by this run's."""

    KEEP_S = 0.5  # shorter tests are left to the marker guess: the file stays short

    def __init__(self) -> None:
        self.took: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.took[report.nodeid] = self.took.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        ran = {nodeid.split("::", 1)[0] for nodeid in self.took}
        old = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
        kept = {k: v for k, v in old.items() if k.split("::", 1)[0] not in ran}
        kept.update({k: round(v, 1) for k, v in self.took.items() if v >= self.KEEP_S})
        DURATIONS.write_text(json.dumps(dict(sorted(kept.items())), indent=1) + "\n")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """$MNIST_DATA: the tests that read MNIST skip (one line naming the variable) without it."""
    path = os.environ.get("MNIST_DATA")
    if not path:
        pytest.skip("needs MNIST: set MNIST_DATA to a folder holding mnist.npz or the four IDX files")
    return Path(path)


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path):
    from mnist_core.data.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session", autouse=True)
def tensorflow_at_full_priority() -> None:
    """TensorFlow makes its thread pools on first use, and a thread inherits its maker's nice value. The demo's
    jobs run niced (serving.jobs.TRAIN_NICE), so when an in-process job was a worker's first TensorFlow use, every
    later training of that worker ran at nice 10 and starved beside a browser (one test: 45 s for 5 CPU s). The
    pools are made here, from the main thread; TensorFlow is loaded already when the tests import it."""
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.constant(1.0) + 1.0


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the developer's own trained models or drawings."""
    home = tmp_path_factory.mktemp("demo-home")
    monkeypatch.setenv("MNIST_DEMO_HOME", str(home))
    monkeypatch.delenv("MNIST_DEMO_DATABASE", raising=False)
    return home


def need_postgres() -> None:
    """Skip without PostgreSQL, except in CI (.ci/run installs it): there its absence fails the test."""
    if reason := postgres_missing():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """This run's PostgreSQL server (deploy/postgres.sh in a temporary folder), started by the first worker that
    asks, under a lock the others wait on; its URL. Each test makes databases of its own on it (`database`)."""
    need_postgres()
    folder = Path(os.environ[POSTGRES_ENV])
    with open(folder / "start.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # freed when the file closes
        return postgres("start", folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """A new, empty drawings database on each engine: a SQLite file, or a database of its own on this run's
    PostgreSQL server."""
    if request.param == "sqlite":
        yield tmp_path / "drawings.sqlite3"
        return
    from mnist_core.drawings.postgres import close_pool

    url = new_database(request.getfixturevalue("postgres_server"))
    yield url
    close_pool(url)


@pytest.fixture(scope="session")
def small_model(mnist, tmp_path_factory: pytest.TempPathFactory):
    """One epoch on 6,000 images: a real, quickly trained model for storage and CLI tests."""
    from mnist_core.config import preset
    from mnist_core.training.workflow import train_evaluate_save

    out = tmp_path_factory.mktemp("models") / "small.keras"
    hp = preset("fast").replace(epochs=1, train_subset=6000, lr_schedule="one_cycle")  # saves the custom schedule too
    outcome = train_evaluate_save(hp, mnist, out, "test fixture", "pytest fixture")
    assert outcome.result.ok, outcome.result.message
    return outcome


@pytest.fixture(scope="session")
def demo_model(request: pytest.FixtureRequest) -> Path:
    """What demo servers serve: the shipped model, else the session's small model (no second training)."""
    from mnist_core.config import SHIPPED_MODEL

    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else request.getfixturevalue("small_model").path


@pytest.fixture(scope="session")
def weak(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook's recipe (`--preset seed`: 60 training images, ~50% on MNIST test), trained once per session.

    Any quick retrain reads better than it, so a server started with it must serve the new model. The same 60
    images and weights as the preset, validated on 1,140 images instead of 59,940: validation only reports, and
    it was 4/5 of the fixture's time (test_training.py checks the preset's own split).
    """
    from mnist_core.config import preset
    from mnist_core.training.workflow import train_evaluate_save

    out = tmp_path_factory.mktemp("weak") / "weak.keras"
    hp = preset("seed").replace(train_subset=1200, validation_split=0.95)
    outcome = train_evaluate_save(hp, mnist, out, "test fixture", "pytest fixture")
    assert outcome.result.ok and outcome.result.n_train == 60, outcome.result.message
    return out


def _starter(stack: ExitStack, homes: pytest.TempPathFactory, share: bool) -> StartApp:
    """start(model, *flags, env=None, home=None): `python demo.py` on a free loopback port, stopped by PID when
    `stack` closes. With `share`, a second identical request gets the server already running."""
    started: dict[tuple, App] = {}

    def start(model: Path | None, *flags: str, env: dict[str, str] | None = None, home: Path | None = None) -> App:
        key = (model, flags, tuple(sorted((env or {}).items())), home)
        if share and key in started:
            return started[key]
        app = stack.enter_context(running_app(model, home or homes.mktemp("demo-home"), flags, env))
        started[key] = app
        return app

    return start


@pytest.fixture(scope="session")
def shared_app_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Servers for tests that only read from them: one per (model, flags, env), kept for the whole session."""
    with ExitStack() as stack:
        yield _starter(stack, tmp_path_factory, share=True)


@pytest.fixture(scope="module")
def module_app_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Servers a test module changes (trains, collects) and checks across its tests; stopped after the module."""
    with ExitStack() as stack:
        yield _starter(stack, tmp_path_factory, share=False)


@pytest.fixture
def app_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Servers of one test's own (odd flags, a broken home, a fault injected); stopped when the test ends."""
    with ExitStack() as stack:
        yield _starter(stack, tmp_path_factory, share=False)


def run_data_env() -> dict[str, str]:
    """This run's MNIST_DATA (and UNIPEN_DATA), for a server that trains or reports; nothing when it has none."""
    mnist = os.environ.get("MNIST_DATA")
    return data_env(Path(mnist) if mnist else None)


@pytest.fixture(scope="session")
def app(shared_app_factory: StartApp, demo_model: Path) -> App:
    """The demo as a user starts it, serving `demo_model`, with this run's data: shared by every reading test."""
    return shared_app_factory(demo_model, env=run_data_env())


@pytest.fixture(scope="session")
def personal_app(shared_app_factory: StartApp) -> App:
    """The demo as a fresh clone starts it, the shipped model and no data (personal models replay the shipped
    sample): one for every personal-model test of the worker. Each client is a visitor of its own, with its own
    profile and rate limit, so the tests never meet in it."""
    from mnist_core.config import SHIPPED_MODEL

    return shared_app_factory(SHIPPED_MODEL, env=NO_DATA)


def build_ctx(
    model: Path | None = None,
    settings: Settings | None = None,
    holder: ModelHolder | None = None,
    collector: Collector | None = None,
    **jobs: Any,
) -> AppContext:
    """The AppContext `demo.py main` builds: a holder serving `model` (or the one given), the real job runner
    (given `jobs` as keyword arguments), the launch settings, the model it started with and the collector."""
    from mnist_core.serving.holder import ModelHolder, open_initial
    from mnist_core.serving.jobs import JobManager
    from mnist_ui.server.context import AppContext, Settings

    if holder is None:
        if model is None:
            raise ValueError("build_ctx needs a model or a holder")
        holder = ModelHolder(open_initial(model))
    return AppContext(holder, JobManager(holder, **jobs), settings or Settings(), holder.current.path, collector)


@contextmanager
def launched(ctx: AppContext, auth: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """The app `demo.py main` builds from `ctx`, launched as it launches it (`mnist_ui.launch.start`) in this
    process on a free loopback port: its URL. For tests that reach into the running app's context, or that need
    no server process of their own."""
    from mnist_ui.app import build_app
    from mnist_ui.launch import start
    from mnist_ui.testing import free_port

    demo = build_app(ctx)
    start(demo, "127.0.0.1", free_port(), auth)
    try:
        yield f"http://127.0.0.1:{demo.server_port}/"
    finally:
        demo.close()


@pytest.fixture
def ctx(request: pytest.FixtureRequest) -> BuildCtx:
    """`build_ctx` serving `demo_model` unless told otherwise."""

    def build(model: Path | None = None, **kwargs: Any) -> AppContext:
        if model is None and kwargs.get("holder") is None:
            model = request.getfixturevalue("demo_model")
        return build_ctx(model, **kwargs)

    return build


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless system Chromium per module (each test opens its own context). Not per session: while
    playwright's sync API is open, asyncio.run() elsewhere in the process fails ("a running event loop")."""
    from mnist_ui.testing import CHROMIUM, chromium

    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}")
    with chromium() as running:
        yield running


def digit_on_canvas(
    digit: np.ndarray, size: int = 600, box: tuple[int, int, int] = (100, 150, 300), ink_dark: bool = True
) -> np.ndarray:
    """An MNIST digit scaled up onto a large white (or black) canvas, as a person might draw it."""
    from PIL import Image

    top, left, side = box
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    canvas = np.zeros((size, size), np.uint8)
    canvas[top : top + side, left : left + side] = big
    return 255 - canvas if ink_dark else canvas


# MNIST as Keras fetches it, served on this machine: there is no internet here, so the download is tested against
# a file in Keras' mnist.npz format built from the official IDX files (mnist_core/data/download.py, MNIST_URL).
@pytest.fixture(scope="session")
def mirror_dir(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding mnist.npz as Keras ships it (the four arrays under Keras' names), and a broken one."""
    folder = tmp_path_factory.mktemp("mirror")
    (x_train, y_train), (x_test, y_test) = mnist
    np.savez_compressed(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (folder / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    return folder


@pytest.fixture(scope="session")
def mirror(mirror_dir: Path) -> Iterator[str]:
    """An HTTP server on a free loopback port serving `mirror_dir`: its address."""
    handler = functools.partial(Quiet, directory=str(mirror_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def closed_port() -> int:
    """A loopback port nothing listens on: a download there fails at once, as with no network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
