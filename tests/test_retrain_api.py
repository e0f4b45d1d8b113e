"""Retraining through the API: progress streams, a better model is served and a worse one only kept,
the serving pointer and /switch_version, one job per server, /watch, a quick /cancel, refusals, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BuildCtx, build_ctx, digit_on_canvas, launched
from PIL import Image

from mnist_core.config import HOME_ENV, mnist_images, preset
from mnist_core.serving.recipes import FAULT_ENV

pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file

pytestmark = pytest.mark.slow

QUICK = {"epochs": 2, "train_subset": 5000}  # the fast preset otherwise: ~90% on MNIST test in seconds
TINY = {"epochs": 1, "train_subset": 1000, "batch_size": 128}  # ~70%: worse than the shipped model
LONG = {"epochs": 5, "batch_size": 64, "train_subset": 12000}  # long enough to be caught running


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrain-home")


@pytest.fixture(scope="module")
def server(weak: Path, home: Path, mnist_dir: Path) -> Iterator[str]:
    """The demo serving the weak model, able to train (MNIST, and UNIPEN when the run has it): the app `demo.py`
    builds, launched in this process, which has TensorFlow loaded already (a server of its own would load it
    again). Its models stay in the module's home."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(HOME_ENV, str(home))
        with launched(build_ctx(weak, data_path=str(mnist_dir))) as running:
            yield running


@pytest.fixture
def url(server: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The module's server, with the test in its home: what one test trains, the next may switch to."""
    monkeypatch.setenv(HOME_ENV, str(home))
    return server


@pytest.fixture(scope="module")
def digit_png(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (_, _), (x_test, _) = mnist
    path = tmp_path_factory.mktemp("retrain-digit") / "seven.png"
    Image.fromarray(digit_on_canvas(x_test[0])).save(path)
    return path


def serving(home: Path) -> str:
    """The model the server will serve at its next start (the pointer it writes when the serving model changes)."""
    pointer = home / "models" / "serving.json"
    return json.loads(pointer.read_text())["model"] if pointer.is_file() else ""


def versions(home: Path) -> list[Path]:
    return sorted((home / "models").glob("*.keras"))


def serve(client: Client, path: str | Path) -> str:
    message = client.predict(str(path), api_name="/switch_version")
    assert message.startswith("now serving"), message
    return message


def states(job: Any) -> list[dict]:
    return [out for out in job.outputs() if isinstance(out, dict)]


def wait_for(job: Any, predicate: Callable[[dict], bool], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = states(job)
        if seen and predicate(seen[-1]):
            return seen[-1]
        if job.done():
            break
        time.sleep(0.1)
    raise AssertionError(f"condition not reached in {timeout:.0f} s; last states: {states(job)[-3:]}")


def settle(client: Client) -> None:
    """No training left running from an earlier test (a failed assertion may leave one)."""
    client.predict(api_name="/cancel")
    deadline = time.monotonic() + 60
    while client.predict(api_name="/cancel") != "nothing to cancel: no training is running":
        assert time.monotonic() < deadline, "a training would not stop"
        time.sleep(0.5)


def test_the_fast_preset_trains_on_the_images_it_announces(url: str) -> None:
    """No settings: the preset alone decides how many images, and the sidecar says it trained on them."""
    client = Client(url, verbose=False)
    settle(client)
    final = client.predict({}, "fast", False, api_name="/retrain")
    assert final["state"] == "completed", final
    sidecar = json.loads(Path(final["new_path"]).with_suffix(".json").read_text())
    assert sidecar["train_images"] == mnist_images(preset("fast")) == 10_800
    assert f"trained 2 epochs on {10_800:,} images" in final["message"], final


def test_retrain_streams_progress_and_serves_a_better_model(url: str, home: Path, weak: Path, digit_png: Path) -> None:
    client = Client(url, verbose=False)
    settle(client)
    serve(client, weak)
    before = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    job = client.submit(QUICK, "fast", True, api_name="/retrain")
    latencies = []
    while not job.done():
        started = time.monotonic()
        answer = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
        latencies.append(time.monotonic() - started)
        assert answer["status"] == "ok", answer
        time.sleep(0.5)  # a reading every half second is plenty, and leaves the training its CPU
    seen = states(job)
    final = seen[-1]
    assert final["state"] == "completed", final
    assert final["activated"] and "now serving" in final["message"], final
    assert final["new_accuracy"] > final["old_accuracy"] + 0.2, final
    assert Path(final["new_path"]).parent == home / "models" and Path(final["new_path"]).is_file()
    progress = [s for s in seen if s["state"] == "training" and s["batches"]]
    assert len({(s["epoch"], s["batch"]) for s in progress}) >= 3, f"expected several progress updates: {progress}"
    assert [s["fraction"] for s in progress] == sorted(s["fraction"] for s in progress)
    assert [s["points"] for s in progress] == sorted(s["points"] for s in progress) and progress[-1]["points"] > 0
    assert {s["job_id"] for s in seen} == {final["job_id"]}
    assert len(latencies) >= 3 and sorted(latencies)[len(latencies) // 2] < 3.0, latencies
    assert serving(home) == final["new_path"]
    after = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    assert after["probabilities"] != before["probabilities"], "the new model should be serving"
    assert after["digit"] == 7, after


def test_switch_version_serves_known_models_and_refuses_others(
    url: str, home: Path, weak: Path, digit_png: Path
) -> None:
    """Relative paths resolve against the server's working directory: the repository root."""
    from mnist_core.config import SHIPPED_MODEL

    client = Client(url, verbose=False)
    settle(client)

    def read() -> dict:
        return client.predict(handle_file(str(digit_png)), api_name="/predict_image")

    assert serve(client, weak) == "now serving the trained version weak"
    weak_answer = read()
    assert serve(client, "assets/model.keras") == "now serving the shipped model"
    assert serving(home) == str(SHIPPED_MODEL.resolve())
    shipped_answer = read()
    assert shipped_answer["digit"] == 7 and shipped_answer != weak_answer
    for path in (
        "/etc/hostname",
        "assets/../assets/examples/browser_drawn_7.png",
        str(home / "models" / "no.keras"),
        "../model.keras",
    ):
        assert client.predict(path, api_name="/switch_version") == f"not switched: {path} is not a saved version"
    assert client.predict("", api_name="/switch_version") == "pick a version first"
    assert serving(home) == str(SHIPPED_MODEL.resolve()) and read() == shipped_answer
    serve(client, weak)
    assert serving(home) == str(weak.resolve()) and read() == weak_answer


def test_a_worse_model_is_kept_but_not_served(url: str, home: Path, digit_png: Path) -> None:
    from mnist_core.config import SHIPPED_MODEL

    client = Client(url, verbose=False)
    settle(client)
    serve(client, "assets/model.keras")
    before = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    kept_before = versions(home)
    final = client.predict(TINY, "fast", True, api_name="/retrain")
    assert final["state"] == "completed", final
    assert not final["activated"], final
    assert final["new_accuracy"] < final["old_accuracy"], final
    message = final["message"]
    assert "not served" in message and "worse" in message and f"{final['old_accuracy']:.2%}" in message, message
    assert "\n" not in message
    assert Path(final["new_path"]).is_file() and versions(home) == sorted([*kept_before, Path(final["new_path"])])
    assert serving(home) == str(SHIPPED_MODEL.resolve())
    assert client.predict(handle_file(str(digit_png)), api_name="/predict_image") == before
    assert serve(client, final["new_path"]).startswith("now serving the trained version")  # kept: one may switch
    serve(client, "assets/model.keras")


def test_second_retrain_is_refused_watch_follows_and_cancel_is_quick(url: str, home: Path) -> None:
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    settle(first)
    kept_before = versions(home)
    serving_before = serving(home)
    job = first.submit(LONG, "fast", True, api_name="/retrain")
    running = wait_for(job, lambda s: s["state"] == "training" and s["batch"] > 0, timeout=180)

    refused = second.predict(QUICK, "fast", True, api_name="/retrain")
    assert "already running" in refused["notice"] and "epoch" in refused["notice"], refused
    assert refused["job_id"] == running["job_id"] and refused["state"] == "training"

    watch = second.submit(api_name="/watch")
    watched = wait_for(watch, lambda s: s["state"] == "training" and s["batch"] > 0, timeout=60)
    assert watched["job_id"] == running["job_id"]

    asked = time.monotonic()
    assert second.predict(api_name="/cancel").startswith("cancelling training")
    final = wait_for(job, lambda s: s["state"] not in ("loading", "training"), timeout=30)
    took = time.monotonic() - asked
    assert final["state"] == "cancelled", final
    assert took <= 5.0, f"cancel took {took:.1f} s"
    watched = wait_for(watch, lambda s: s["state"] == "cancelled", timeout=30)
    assert "not changed" in watched["message"], watched
    assert versions(home) == kept_before
    assert serving(home) == serving_before
    assert second.predict(api_name="/cancel") == "nothing to cancel: no training is running"


def test_a_convolutional_network_trains_serves_answers_beside_and_cancels(url: str, home: Path, weak: Path) -> None:
    """The Train tab's "convolutional" with the fast preset, through /retrain: it trains, is judged, serves; the
    dense network then answers beside it when asked; a longer run of it cancels as quickly as a dense one."""
    from mnist_core.model.files import load_classifier
    from mnist_ui.testing import SEVEN, pad_value

    client = Client(url, verbose=False)
    settle(client)
    serve(client, weak)  # an earlier test may leave the shipped model serving, which a quick run never beats
    final = client.predict({**QUICK, "architecture": "cnn"}, "fast", True, api_name="/retrain")
    assert final["state"] == "completed" and final["activated"], final
    assert load_classifier(Path(final["new_path"])).architecture == "cnn"
    strokes = json.dumps(pad_value(SEVEN))
    plain = client.predict(strokes, None, api_name="/predict_strokes")
    both = client.predict(strokes, None, True, api_name="/predict_strokes")
    assert "other_network" not in plain and both["digit"] == plain["digit"] == 7, (plain, both)
    assert both["other_network"]["network"] == "dense" and both["other_network"]["digit"] == 7, both
    assert 0.5 < both["other_network"]["confidence"] <= 1.0, both
    job = client.submit({**LONG, "architecture": "cnn"}, "fast", True, api_name="/retrain")
    wait_for(job, lambda s: s["state"] == "training" and s["batch"] > 0, timeout=180)
    asked = time.monotonic()
    assert client.predict(api_name="/cancel").startswith("cancelling training")
    stopped = wait_for(job, lambda s: s["state"] not in ("loading", "training"), timeout=30)
    assert stopped["state"] == "cancelled" and time.monotonic() - asked <= 5.0, stopped
    assert serving(home) == final["new_path"]
    serve(client, weak)


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "too many epochs": ({"epochs": 99}, "epochs must be 1–40"),
    "no epochs": ({"epochs": 0}, "epochs must be 1–40"),
    "huge batches": ({"batch_size": 4096}, "batch size must be 32–1024"),
    "tiny batches": ({"batch_size": 8}, "batch size must be 32–1024"),
    "learning rate": ({"learning_rate": 5}, "learning rate must be 1e-6–0.1"),
    "a fraction of an epoch": ({"epochs": 2.5}, "not a whole number"),
    "validation split": ({"validation_split": 1.5}, "validation split must be in [0, 1)"),
    "dropout": ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    "negative subset": ({"train_subset": -5}, "train_subset must be ≥ 0"),
    "not a number": ({"epochs": "many"}, "many"),
    "a word for a switch": ({"augment": "false"}, "'false'"),  # bool("false") is True: it must not mean "on"
    "unknown setting": ({"hidden_units": 16}, "unknown setting 'hidden_units'"),
    "unknown network": ({"architecture": "rnn"}, "architecture must be one of dense, cnn"),
    "a network too costly": (
        {"architecture": "cnn", "cnn_layers": "c256 c256 p c512 c512 p d1024"},
        "million multiply-adds a digit, over the",
    ),
}


@pytest.mark.parametrize(("settings", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_settings_are_refused_in_one_line(url: str, settings: dict[str, Any], reason: str) -> None:
    client = Client(url, verbose=False)
    settle(client)
    last_job = client.predict(api_name="/watch")["job_id"]
    job = client.submit(settings, "fast", True, api_name="/retrain")
    answer = wait_for(job, lambda s: True, timeout=60)  # the first state: a refusal is the only one
    if not answer.get("notice"):
        settle(client)  # it started: stop it before failing
        pytest.fail(f"{settings} started training #{answer['job_id']}: {answer['where']}")
    notice = answer["notice"]
    assert notice.startswith("not started: ") and reason in notice and "\n" not in notice, answer
    assert answer["job_id"] == last_job


def test_unknown_preset_is_refused(url: str) -> None:
    answer = Client(url, verbose=False).predict(None, "slowest", True, api_name="/retrain")
    assert answer["notice"] == "not started: unknown preset 'slowest'; choose one of default, seed, cnn, fast", answer


def test_injected_nan_keeps_the_old_model(
    weak: Path, isolated_home: Path, mnist_dir: Path, digit_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server of its own: the fault is read from the environment when the job starts."""
    monkeypatch.setenv(FAULT_ENV, "nan")
    with launched(build_ctx(weak, data_path=str(mnist_dir))) as url:
        client = Client(url, verbose=False)
        before = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
        final = client.predict({"epochs": 1, "train_subset": 2000}, "fast", True, api_name="/retrain")
        after = client.predict(handle_file(str(digit_png)), api_name="/predict_image")
    assert final["state"] == "failed", final
    assert "nan" in final["message"].lower() and "not changed" in final["message"], final
    assert not final["activated"] and not final["new_path"]
    assert after == before
    assert not list((isolated_home / "models").glob("*.keras"))
    assert serving(isolated_home) == ""


def test_public_server_without_auth_refuses_retraining(demo_model: Path, ctx: BuildCtx) -> None:
    """The launch decisions `demo.py main` makes, on the app it builds: in-process, on loopback."""
    from mnist_ui.launch import decide, parser

    args = parser().parse_args(["--host", "0.0.0.0"])
    settings, warnings = decide(args, [])
    assert not settings.retrain_allowed and settings.public and "--auth" in settings.retrain_reason
    assert len(warnings) == 1 and "without --auth" in warnings[0] and "Train tab is disabled" in warnings[0]
    assert decide(args, [("u", "p")]) == (settings.__class__(True, "", True), [])
    allowed, warned = decide(parser().parse_args(["--share", "--allow-public-retrain"]), [])
    assert allowed.retrain_allowed and "--allow-public-retrain" in warned[0]
    assert decide(parser().parse_args([]), [])[0].retrain_allowed

    with launched(ctx(settings=settings)) as url:
        client = Client(url, verbose=False)
        answer = client.predict(QUICK, "fast", True, api_name="/retrain")
        switched = client.predict(str(demo_model), api_name="/switch_version")
        cancelled = client.predict(api_name="/cancel")
    assert answer["notice"].startswith("retraining is disabled: the demo is public"), answer
    assert answer["state"] == "idle" and answer["job_id"] == 0
    assert switched.startswith("not switched") and "logged-in" in switched, switched
    assert cancelled == "nothing to cancel: no training is running"
