"""The loader on the real files and on broken copies of them."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_core.data.mnist import DataError, load_mnist

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def test_real_files_match_keras_layout(mnist):
    """The shared copy (or Keras' download) loads exactly like keras.datasets.mnist.load_data()."""
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    assert x_train.max() == 255 and x_train[0, 0, 0] == 0  # white ink on black


def test_environment_variable_is_used(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_dir))
    (_, y_train), _ = load_mnist()
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]


def _idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def _copy(mnist, dest: Path, gunzip: tuple[str, ...] = ()) -> Path:
    """Write the four official IDX files (gzipped unless named in `gunzip`) from the loaded arrays."""
    dest.mkdir(exist_ok=True)
    (x_train, y_train), (x_test, y_test) = mnist
    for name, array in zip(NAMES, (x_train, y_train, x_test, y_test), strict=False):
        if name in gunzip:
            (dest / name).write_bytes(_idx_bytes(array))
        else:
            with gzip.open(dest / f"{name}.gz", "wb", compresslevel=1) as out:
                out.write(_idx_bytes(array))
    return dest


@pytest.fixture(scope="module")
def idx_files(mnist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four official files, gzipped, written once (gzipping 60,000 images takes seconds): tests break copies."""
    return _copy(mnist, tmp_path_factory.mktemp("idx"))


def _copy_of(idx_files: Path, dest: Path, gunzip: tuple[str, ...] = ()) -> Path:
    shutil.copytree(idx_files, dest)
    for name in gunzip:
        packed = dest / f"{name}.gz"
        (dest / name).write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    return dest


def test_raw_idx_files_and_npz(mnist, idx_files, tmp_path):
    folder = _copy_of(idx_files, tmp_path / "raw", gunzip=("t10k-images-idx3-ubyte",))
    _, (x_test, _) = load_mnist(folder)
    assert np.array_equal(x_test, mnist[1][0])
    (x_train, y_train), (x_test, y_test) = mnist
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (_, y2), _ = load_mnist(npz)
    assert np.array_equal(y2, y_train)


def test_missing_folder_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="MNIST_DATA"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file(idx_files, tmp_path):
    folder = _copy_of(idx_files, tmp_path / "d")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels"):
        load_mnist(folder)


def test_truncated_file(idx_files, tmp_path):
    folder = _copy_of(idx_files, tmp_path / "d", gunzip=("t10k-images-idx3-ubyte",))
    raw = folder / "t10k-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:5000])
    with pytest.raises(DataError, match="truncated"):
        load_mnist(folder)


def test_corrupt_gzip(idx_files, tmp_path):
    folder = _copy_of(idx_files, tmp_path / "d")
    target = folder / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(DataError, match="cannot read"):
        load_mnist(folder)


def test_wrong_magic(idx_files, tmp_path):
    folder = _copy_of(idx_files, tmp_path / "d", gunzip=("t10k-labels-idx1-ubyte",))
    raw = folder / "t10k-labels-idx1-ubyte"
    data = bytearray(raw.read_bytes())
    data[3] = 0x03
    raw.write_bytes(bytes(data))
    with pytest.raises(DataError, match="magic"):
        load_mnist(folder)


def test_cli_reports_bad_data_in_one_line(small_model, tmp_path, capsys):
    from mnist_core.cli import main

    assert main(["evaluate", "--model", str(small_model.path), "--data", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "MNIST_DATA" in err
