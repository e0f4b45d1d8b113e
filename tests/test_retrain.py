"""Retraining through the API: progress, a new serving version, cancel, one job per server, faults."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image

from app_helpers import App, free_port, running_app, served_model
from conftest import digit_on_canvas

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

# preset, epochs, batch, validation split, learning rate, dropout, augment, serve when done, subset
QUICK = ("fast", 2, 128, 0.1, 1e-3, 0.5, False, True, 3000)
LONG = ("fast", 5, 64, 0.1, 1e-3, 0.5, False, True, 12000)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return served_model(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrain-home")


@pytest.fixture(scope="module")
def app(model: Path, home: Path, mnist_dir: Path):
    with running_app(model, home, env={"MNIST_DATA": str(mnist_dir)}) as running:
        yield running


@pytest.fixture(scope="module")
def digit_png(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (_, _), (x_test, _) = mnist
    path = tmp_path_factory.mktemp("retrain-digit") / "seven.png"
    Image.fromarray(digit_on_canvas(x_test[0])).save(path)
    return path


def states(job) -> list[dict]:
    return [out[4] for out in job.outputs() if isinstance(out[4], dict)]


def wait_for(job, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = states(job)
        if seen and predicate(seen[-1]):
            return seen[-1]
        if job.done():
            break
        time.sleep(0.1)
    raise AssertionError(f"condition not reached; last states: {states(job)[-3:]}")


def test_retrain_streams_progress_and_serves_the_new_version(app: App, home: Path, model: Path,
                                                             digit_png: Path) -> None:
    client = Client(app.url, verbose=False)
    before = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    job = client.submit(*QUICK, api_name="/retrain")
    latencies = []
    while not job.done():
        started = time.monotonic()
        answer = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
        latencies.append(time.monotonic() - started)
        assert answer["digit"] == 7
        time.sleep(0.2)
    final = states(job)[-1]
    assert final["state"] == "completed", final
    assert final["activated"] and Path(final["new_path"]).parent == home / "models"
    progress = [s for s in states(job) if s["state"] == "training" and s["batches"]]
    assert len({(s["epoch"], s["batch"]) for s in progress}) >= 3, "expected several progress updates"
    assert [s["fraction"] for s in progress] == sorted(s["fraction"] for s in progress)
    assert len(latencies) >= 3 and sorted(latencies)[len(latencies) // 2] < 2.0
    assert json.loads((home / "models" / "serving.json").read_text())["model"] == final["new_path"]
    after = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    assert after["probabilities"] != before["probabilities"], "the new model should be serving"
    assert job.outputs()[-1][1] is not None  # the loss curve

    message, _ = client.predict(str(model.resolve()), api_name="/switch_version")
    assert message.startswith("now serving")
    assert client.predict(handle_file(str(digit_png)), api_name="/predict_image") == before
    refused, _ = client.predict("/etc/hostname", api_name="/switch_version")
    assert refused == "not switched: /etc/hostname is not a saved version"


def test_second_retrain_is_refused_watch_follows_and_cancel_is_quick(app: App, home: Path) -> None:
    first, second = Client(app.url, verbose=False), Client(app.url, verbose=False)
    versions_before = sorted((home / "models").glob("*.keras"))
    serving_before = (home / "models" / "serving.json").read_text()
    job = first.submit(*LONG, api_name="/retrain")
    wait_for(job, lambda s: s["state"] == "training" and s["batch"] > 0, timeout=120)

    refused = second.submit(*QUICK, api_name="/retrain")
    answer = refused.result(timeout=30)[4]
    assert "already running" in answer["notice"] and "epoch" in answer["notice"]

    watch = second.submit(api_name="/watch")
    wait_for(watch, lambda s: s["state"] == "training" and s["job_id"] == answer["job_id"], timeout=30)

    asked = time.monotonic()
    assert "cancelling" in second.predict(api_name="/cancel")
    final = wait_for(job, lambda s: s["state"] != "training", timeout=10)
    took = time.monotonic() - asked
    assert final["state"] == "cancelled", final
    assert took <= 2.0, f"cancel took {took:.1f} s"
    watched = wait_for(watch, lambda s: s["state"] == "cancelled", timeout=10)
    assert "not changed" in watched["message"]
    assert sorted((home / "models").glob("*.keras")) == versions_before
    assert (home / "models" / "serving.json").read_text() == serving_before


def test_out_of_range_settings_are_refused(app: App, model: Path) -> None:
    from gradio_client.exceptions import AppError

    from mnist_core.config import preset
    from mnist_core.jobs import JobManager
    from mnist_core.serving import ModelHolder, open_initial

    client = Client(app.url, verbose=False)
    with pytest.raises(AppError, match="greater than maximum value 30"):
        client.predict("fast", 99, 128, 0.1, 1e-3, 0.5, False, True, 2000, api_name="/retrain")
    jobs = JobManager(ModelHolder(open_initial(model)))
    assert jobs.start(preset("fast").replace(batch_size=4096)) == (False, "not started: batch size must be 32–1024")
    assert client.predict(api_name="/cancel") == "nothing to cancel: no training is running"


def test_injected_nan_keeps_the_old_model(model: Path, tmp_path: Path, mnist_dir: Path, digit_png: Path) -> None:
    env = {"MNIST_DATA": str(mnist_dir), "MNIST_DEMO_FAULT": "nan"}
    with running_app(model, tmp_path / "home", env=env) as running:
        client = Client(running.url, verbose=False)
        before = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
        final = client.predict(*QUICK, api_name="/retrain")[4]
        after = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    assert final["state"] == "failed", final
    assert "loss became nan" in final["message"] and "not changed" in final["message"]
    assert after == before
    assert not list((tmp_path / "home" / "models").glob("*.keras"))


def test_public_server_without_auth_refuses_to_retrain(model: Path) -> None:
    import demo
    from mnist_core.jobs import JobManager
    from mnist_core.serving import ModelHolder, open_initial

    args = demo._parser().parse_args(["--host", "0.0.0.0"])
    settings, warnings = demo.decide(args, [])
    assert not settings.retrain_allowed and "--auth" in settings.retrain_reason
    assert warnings and "without --auth" in warnings[0]
    assert demo.decide(args, [("u", "p")])[0].retrain_allowed
    assert demo.decide(demo._parser().parse_args(["--share", "--allow-public-retrain"]), [])[0].retrain_allowed

    holder = ModelHolder(open_initial(model))
    app = demo.build_app(holder, JobManager(holder), settings)
    app.queue()
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        answer = Client(f"http://127.0.0.1:{app.server_port}/", verbose=False).predict(*QUICK, api_name="/retrain")[4]
    finally:
        app.close()
    assert answer["notice"].startswith("retraining is disabled") and answer["state"] == "idle"
