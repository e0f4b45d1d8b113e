"""MNIST fetched as Keras fetches it, against a local server: this machine has no internet, so a file in Keras'
mnist.npz format is built from the official IDX files and served on 127.0.0.1 under MNIST_URL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import closed_port

from mnist_core.data import download
from mnist_core.data.mnist import DataError, load_mnist, local_source, missing


@pytest.fixture
def no_local_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MNIST_DATA and no copy in Keras' cache: only a download can give MNIST."""
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def test_downloaded_once_into_the_home_with_progress(mnist, mirror, no_local_copy, monkeypatch):
    monkeypatch.setenv(download.URL_ENV, f"{mirror}/mnist.npz")
    assert local_source() is None and missing() is None  # the server answers: a run may start
    heard: list[tuple[int, int]] = []
    (x_train, y_train), (x_test, _) = load_mnist(fetch=True, on_progress=lambda *got: heard.append(got))
    assert np.array_equal(x_train, mnist[0][0]) and np.array_equal(y_train, mnist[0][1])
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    kept = download.downloaded_copy()
    assert kept.is_file() and local_source() == kept
    assert len(heard) > 2 and heard[-1][0] == heard[-1][1] == kept.stat().st_size
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    monkeypatch.setenv(download.URL_ENV, f"http://127.0.0.1:{closed_port()}/mnist.npz")
    (again, _), _ = load_mnist(fetch=True)  # once: the next run reads the kept copy, with no network
    assert np.array_equal(again, x_train)


def test_offline_is_one_line_that_says_what_to_do(no_local_copy, monkeypatch):
    monkeypatch.setenv(download.URL_ENV, f"http://127.0.0.1:{closed_port()}/mnist.npz")
    line = missing()
    assert line is not None and "\n" not in line
    assert "--data PATH" in line and "connect this machine to the internet once" in line
    with pytest.raises(DataError) as caught:
        load_mnist(fetch=True)
    assert "--data PATH" in str(caught.value) and "\n" not in str(caught.value)
    assert not download.downloaded_copy().exists()
    with pytest.raises(DataError, match="MNIST_DATA"):
        load_mnist()  # without `fetch` nothing is downloaded: a report never reaches for the network


def test_a_broken_file_is_refused_and_not_kept(mirror, no_local_copy, monkeypatch):
    monkeypatch.setenv(download.URL_ENV, f"{mirror}/broken.npz")
    with pytest.raises(DataError, match=r"mnist\.npz"):
        load_mnist(fetch=True)
    assert not download.downloaded_copy().exists()


def test_from_keras_address_the_file_must_be_keras_own(mirror, no_local_copy, monkeypatch):
    """Keras checks its file's sha256; so does this download when it comes from Keras' address."""
    monkeypatch.setattr(download, "KERAS_URL", f"{mirror}/mnist.npz")
    monkeypatch.delenv(download.URL_ENV, raising=False)
    with pytest.raises(DataError, match=r"not Keras' mnist\.npz"):
        load_mnist(fetch=True)
    assert not download.downloaded_copy().exists()


def test_a_copy_keras_downloaded_is_read_where_keras_keeps_it(mirror_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").symlink_to(mirror_dir / "mnist.npz")
    assert local_source() == cache / "mnist.npz" and missing() is None
    (_, y_train), _ = load_mnist()
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
