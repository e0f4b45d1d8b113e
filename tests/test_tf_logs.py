"""TensorFlow's native lines are held back while it is imported; everything else written meanwhile still shows."""

from __future__ import annotations

import os

import pytest

from mnist_core import tf_logs

NATIVE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"I0000 00:00:1796654128.682991   13720 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    b"E0000 00:00:1796654131.850340   13720 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.\n"
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a process that has not imported TensorFlow yet, and was not started with --verbose."""
    monkeypatch.delitem(__import__("sys").modules, "tensorflow", raising=False)
    monkeypatch.setattr(tf_logs, "_VERBOSE", type(tf_logs._VERBOSE)())


def test_native_lines_are_dropped_and_the_rest_replayed(fresh, capfd):
    with tf_logs.importing():
        os.write(2, NATIVE + b"warning: the drawings database is locked\n")
    assert capfd.readouterr().err == "warning: the drawings database is locked\n"


def test_a_failed_import_shows_everything(fresh, capfd):
    with pytest.raises(ImportError), tf_logs.importing():
        os.write(2, NATIVE[:60] + b"\nthe reason it failed\n")
        raise ImportError("broken install")
    err = capfd.readouterr().err
    assert "the reason it failed" in err and "absl" in err


def test_verbose_leaves_it_all(fresh, capfd):
    tf_logs.quiet(verbose=True)
    with tf_logs.importing():
        os.write(2, NATIVE)
    assert capfd.readouterr().err == NATIVE.decode()
