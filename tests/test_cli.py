"""`python -m mnist_core` as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import digit_on_canvas
from PIL import Image

from mnist_core import cli, config
from mnist_core.model import versions

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """As a user runs it: without the test session's TF_CPP_MIN_LOG_LEVEL, unless `env` sets one."""
    base = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "mnist_core", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **(env or {})},
        timeout=600,
    )


def test_help_for_every_command():
    for command in ("train", "finetune", "evaluate", "predict", "models"):
        result = run(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_train_flags_are_made_from_the_hyperparameter_fields():
    """Each field with help is a flag of its type (bools as --x/--no-x, `flag=` adds a name); unset stays None."""
    parser = cli._parser()
    args = parser.parse_args(["train", "--seed", "3", "--no-augment", "--subset", "500", "--pen-styles", "0.25"])
    assert (args.seed, args.augment, args.train_subset, args.pen_styles) == (3, False, 500, 0.25)
    assert all(
        getattr(args, name) is None
        for name in config.TUNABLE
        if name not in ("seed", "augment", "train_subset", "pen_styles")
    )
    help_text = "".join(parser._subparsers._group_actions[0].choices["train"].format_help().split())
    assert all("".join(about.split()) in help_text for about in config.TUNABLE.values())
    assert "hidden_units" not in config.TUNABLE and "--hidden-units" not in help_text


def test_predict_json_reads_drawn_digits_in_one_batch(small_model, mnist, tmp_path):
    _, (x_test, y_test) = mnist
    files = []
    for i in range(40):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(digit_on_canvas(x_test[i])).save(path)
        files.append(str(path))
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(blank)
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    result = run("predict", "--json", "--model", str(small_model.path), *files, str(blank), str(junk))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [*files, str(blank), str(junk)]
    digits = np.array([line["digit"] for line in lines[:40]])
    assert (digits == y_test[:40]).mean() >= 0.85
    assert all(len(line["probabilities"]) == 10 for line in lines)
    assert abs(sum(lines[0]["probabilities"]) - 1) < 1e-3
    assert lines[40]["digit"] is None and lines[40]["status"] == "blank"
    assert lines[41]["digit"] is None and "not a readable image" in lines[41]["message"]
    assert result.returncode == 1  # one file could not be read


def test_evaluate_json(small_model, mnist_dir):
    result = run("evaluate", "--json", "--model", str(small_model.path), env={"MNIST_DATA": str(mnist_dir)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["params"] == 5_824_522
    assert abs(report["accuracy"] - small_model.report.accuracy) < 1e-9
    assert np.array(report["confusion_matrix"]).sum() == 10_000


def test_missing_model_is_one_clear_line(tmp_path):
    result = run("predict", "--model", str(tmp_path / "nope.keras"), "x.png")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nope.keras" in result.stderr


def train_fast(subset: int, mnist_dir: Path, home: Path) -> subprocess.CompletedProcess:
    """`train --preset fast --epochs 1 --subset N` with its data and home folder."""
    env = {"MNIST_DATA": str(mnist_dir), "MNIST_DEMO_HOME": str(home)}
    return run("train", "--preset", "fast", "--epochs", "1", "--subset", str(subset), env=env)


@pytest.mark.slow  # a real training in a subprocess
def test_train_fast_run_saves_a_version_quietly_and_keeps_serving(mnist_dir, isolated_home):
    stale = isolated_home / "models" / ".mnist-old.staging-1-2.keras"  # what a killed save left behind
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a model")
    os.utime(stale, (0, 0))
    result = train_fast(3000, mnist_dir, isolated_home)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "epoch 1/1" in result.stdout and "test accuracy" in result.stdout
    saved = list((isolated_home / "models").glob("*.keras"))
    assert len(saved) == 1 and not stale.exists()
    meta = json.loads(saved[0].with_suffix(".json").read_text())
    assert meta["command"] == "python -m mnist_core train --preset fast --epochs 1 --subset 3000"
    assert (
        f"the demo still serves the shipped model (use: python -m mnist_core models use {saved[0].stem})"
        in result.stdout
    )
    assert versions.serving_path() == config.SHIPPED_MODEL
    # TensorFlow's start-up lines ("I0000 … cudart_stub", "E0000 … failed call to cuInit") are gone
    noise = [
        line
        for line in result.stderr.replace("\r", "\n").splitlines()
        if line.strip() and not line.lstrip().startswith("epoch ")
    ]
    assert noise == []


@pytest.mark.slow  # the fast preset as a person runs it: 2 epochs on its images
def test_fast_preset_trains_on_the_images_it_announces(mnist_dir, isolated_home):
    announced = config.mnist_images(config.preset("fast"))
    out = isolated_home / "fast.keras"
    result = run("train", "--preset", "fast", "--out", str(out), env={"MNIST_DATA": str(mnist_dir)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"training preset 'fast': {config.describe(config.preset('fast'))}" in result.stdout
    assert f"on {announced:,} MNIST images" in result.stdout
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["train_images"] == announced == 10_800
    assert f"trained 2 epochs on {announced:,} images" in result.stdout


def test_train_refuses_an_unwritable_home_before_training(tmp_path, mnist_dir):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the home folder should be")
    result = train_fast(500, mnist_dir, blocker / "home")
    assert result.returncode == 2 and "training preset" not in result.stdout
    assert result.stderr == (
        f"error: cannot save models in {blocker / 'home' / 'models'}: not a directory; "
        "set MNIST_DEMO_HOME to a writable folder\n"
    )
    result = run("train", "--out", str(tmp_path / "model.h5"))
    assert result.returncode == 2 and result.stderr.startswith("error: --out must name a .keras file")


def _version(source: Path, folder: Path, name: str, age_s: float, **metrics: float) -> Path:
    target = folder / f"{name}.keras"
    shutil.copyfile(source, target)
    meta = json.loads(source.with_suffix(".json").read_text())
    meta["metrics"] |= metrics
    target.with_suffix(".json").write_text(json.dumps(meta))
    os.utime(target, (time.time() - age_s, time.time() - age_s))
    return target


def test_models_lists_chooses_and_deletes(small_model, isolated_home):
    folder = isolated_home / "models"
    folder.mkdir(parents=True)
    old = _version(small_model.path, folder, "mnist-old", 60, test_accuracy=0.9123, pen_test_accuracy=0.8456)
    new = _version(small_model.path, folder, "mnist-new", 0, test_accuracy=0.9345)
    env = {"MNIST_DEMO_HOME": str(isolated_home)}
    listing = run("models", env=env).stdout.splitlines()
    rows = [line.split() for line in listing[1:4]]
    assert [row[:2] for row in rows] == [["mnist-new", "93.45%"], ["mnist-old", "91.23%"], ["*", "shipped"]]
    assert rows[1][2] == "84.56%" and rows[0][2] == "-"

    worse = run("models", "use", "mnist-old", env=env)  # 91.23% against the shipped model's sidecar score
    assert worse.returncode == 2 and versions.serving_path() == config.SHIPPED_MODEL
    assert worse.stderr.startswith("error: not switched: reads MNIST test worse (") and worse.stderr.count("\n") == 1
    assert (
        "than the shipped model, which the demo serves" in worse.stderr
        and "models use mnist-old --force" in worse.stderr
    )
    forced = run("models", "use", "mnist-old", "--force", env=env)
    assert forced.returncode == 0 and "reads MNIST test worse" in forced.stderr
    assert versions.serving_path() == old
    assert run("models", env=env).stdout.splitlines()[2].startswith("* mnist-old")
    for name, message in (
        ("mnist-old", "mnist-old is what the demo serves; serve another first"),
        ("shipped", "is a shipped model; it is never deleted"),
        ("nope", "no model named 'nope'; list them with: python -m mnist_core models"),
    ):
        refused = run("models", "delete", name, env=env)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and message in refused.stderr
    assert run("models", "delete", str(new), env=env).returncode == 0
    assert not new.exists() and not new.with_suffix(".json").exists() and old.exists()

    assert run("models", "use", "assets/model.keras", env=env).returncode == 0  # relative to where it runs
    assert versions.serving_path() == config.SHIPPED_MODEL
    # Either shipped network, without the gate: the dense one reads worse than the convolutional one
    assert run("models", "use", "shipped-cnn", env=env).returncode == 0
    assert versions.serving_path() == config.SHIPPED_CNN
    back = run("models", "use", "shipped", env=env)
    assert back.returncode == 0 and back.stderr == "" and "the shipped model now" in back.stdout
    assert versions.serving_path() == config.SHIPPED_MODEL
    broken = folder / "broken.keras"
    broken.write_bytes(b"not a zip")
    refused = run("models", "use", str(broken), env=env)
    assert refused.returncode == 2 and "broken.keras is not a usable .keras model" in refused.stderr
    assert versions.serving_path() == config.SHIPPED_MODEL


def test_after_save_serves_only_when_asked_and_prunes(small_model, isolated_home, capsys, monkeypatch):
    folder = isolated_home / "models"
    folder.mkdir(parents=True)
    monkeypatch.setattr(cli, "MAX_VERSIONS", 2)
    paths = [_version(small_model.path, folder, f"mnist-{i}", 100 - i) for i in range(3)]
    cli._after_save(paths[2], serve=True)
    assert versions.serving_path() == paths[2]
    out = capsys.readouterr().out
    assert "the demo serves it from its next start" in out and "beyond 2: mnist-0\n" in out
    newest = _version(small_model.path, folder, "mnist-3", 0)
    cli._after_save(newest, serve=False)
    out = capsys.readouterr().out
    assert "the demo still serves mnist-2 (use: python -m mnist_core models use mnist-3)" in out
    assert "removed the oldest versions beyond 2: mnist-1\n" in out
    assert versions.serving_path() == paths[2] and sorted(p.stem for p in folder.glob("*.keras")) == [
        "mnist-2",
        "mnist-3",
    ]


def _collect(db: Path, count: int) -> None:
    """`count` pad drawings of 0, 1 and 7 (each a little different), stored as the demo stores corrections."""
    from mnist_core.drawings.store import DrawingStore
    from mnist_core.imaging.strokes import drawing_to_mnist, parse
    from mnist_ui.testing import ONE, SEVEN, ZERO, pad_value

    store = DrawingStore(db)
    rng = np.random.default_rng(0)
    for i in range(count):
        label, shape = [(0, ZERO), (1, ONE), (7, SEVEN)][i % 3]
        value = pad_value(shape)
        value["strokes"] = [[[x + rng.normal(0, 3), y + rng.normal(0, 3)] for x, y in s] for s in value["strokes"]]
        store.add(label, drawing_to_mnist(parse(value)), strokes=value, predicted=label)


@pytest.mark.slow
def test_finetune_learns_from_collected_drawings_and_saves_a_version(small_model, mnist_dir, isolated_home):
    db = isolated_home / "elsewhere.sqlite3"
    _collect(db, 45)
    env = {"MNIST_DATA": str(mnist_dir), "MNIST_DEMO_HOME": str(isolated_home), "UNIPEN_DATA": ""}
    out = isolated_home / "tuned.keras"
    args = ("finetune", "--drawings", str(db), "--epochs", "1", "--model", str(small_model.path), "--out", str(out))
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fine-tuning ") and f"from {db}" in lines[0]
    assert any(line.startswith("MNIST test ") and "→" in line for line in lines)
    assert any(line.startswith("held-out drawings ") for line in lines)
    assert any(line.startswith(("serve the new model", "keep the current model")) for line in lines)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["finetune"]["counts"]["collected"] + meta["finetune"]["counts"]["holdout"] == 45
    assert meta["command"] == "python -m mnist_core " + " ".join(args)
    assert versions.serving_path() == config.SHIPPED_MODEL  # without --serve nothing changes what the demo serves


def test_finetune_without_drawings_is_one_clear_line(tmp_path, isolated_home):
    result = run("finetune", "--drawings", str(tmp_path / "none.sqlite3"), env={"MNIST_DEMO_HOME": str(isolated_home)})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no drawings database at" in result.stderr and "--drawings DB" in result.stderr
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database " * 100)
    result = run("finetune", "--drawings", str(garbage), env={"MNIST_DEMO_HOME": str(isolated_home)})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot be used" in result.stderr
    empty = tmp_path / "empty.sqlite3"
    _collect(empty, 0)
    result = run("finetune", "--drawings", str(empty), env={"MNIST_DEMO_HOME": str(isolated_home)})
    assert result.returncode == 2 and "no collected drawings to learn from yet" in result.stderr
