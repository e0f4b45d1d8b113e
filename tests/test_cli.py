"""`python -m mnist_core` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import digit_on_canvas

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist_core", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=600)


def test_help_for_every_command():
    for command in ("train", "evaluate", "predict"):
        result = run(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


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
    assert [line["file"] for line in lines] == files + [str(blank), str(junk)]
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


def test_train_fast_run_saves_a_version(mnist_dir, isolated_home):
    result = run("train", "--preset", "fast", "--epochs", "1", "--subset", "3000",
                 env={"MNIST_DATA": str(mnist_dir), "MNIST_DEMO_HOME": str(isolated_home)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "epoch 1/1" in result.stdout and "test accuracy" in result.stdout
    saved = list((isolated_home / "models").glob("*.keras"))
    assert len(saved) == 1
    meta = json.loads(saved[0].with_suffix(".json").read_text())
    assert meta["command"] == "python -m mnist_core train --preset fast --epochs 1 --subset 3000"
