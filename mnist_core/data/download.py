"""MNIST fetched the way Keras fetches it: the same address and the same `mnist.npz`, once, into the demo's home.

`keras.datasets.mnist.load_data()` would import TensorFlow, print to the terminal and cache in ~/.keras;
here the same file is streamed with the standard library, its progress reported to the caller (the Train
tab shows it), checked against Keras' own sha256 and kept in `$MNIST_DEMO_HOME/data`. A copy Keras already
downloaded is read where Keras keeps it. `MNIST_URL` names another address serving a file in that format
(a mirror, or the tests' local server).
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from mnist_core.config import user_home

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # keras.datasets.mnist's
URL_ENV = "MNIST_URL"
FILE_NAME = "mnist.npz"
EXPECTED_BYTES = 11_490_434  # Keras' file, to show progress when a server sends no length
CHUNK = 256 * 1024
PROBE_TIMEOUT_S = 3.0  # how long "is the internet there?" may take before a run is refused
READ_TIMEOUT_S = 30.0

Progress = Callable[[int, int], None]  # (bytes so far, bytes expected)


def source_url() -> str:
    return os.environ.get(URL_ENV) or KERAS_URL


def downloaded_copy() -> Path:
    """Where the download is kept: in the demo's home, beside its models."""
    return user_home() / "data" / FILE_NAME


def keras_copy() -> Path:
    """Where `keras.datasets.mnist.load_data()` keeps the same file ($KERAS_HOME, else ~/.keras)."""
    keras_home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(keras_home).expanduser() / "datasets" / FILE_NAME


def cached_copy() -> Path | None:
    """A copy downloaded before, by this demo or by Keras; None when there is none."""
    return next((path for path in (downloaded_copy(), keras_copy()) if path.is_file()), None)


def unreachable(url: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when the download's server answers a connection, else why not in a few words. Cheap (a DNS lookup
    and a TCP connect), so a run can be refused before it starts instead of failing after seconds."""
    parts = urllib.parse.urlsplit(url or source_url())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{URL_ENV} is not an http(s) address"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"{parts.hostname} cannot be reached ({exc.strerror or type(exc).__name__})"
    return None


def fetch(on_progress: Progress | None = None, url: str | None = None) -> Path:
    """Stream the file into the home (a temporary name, renamed when whole and checked) and return its path.

    Raises OSError when the server cannot be reached or the transfer breaks, ValueError when what arrived is
    not Keras' file (a sha256 mismatch from Keras' own address).
    """
    import urllib.error  # only a download needs them: http.client, ssl and email load with them
    import urllib.request

    url = url or source_url()
    dest = downloaded_copy()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{FILE_NAME}.part-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=READ_TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or EXPECTED_BYTES)
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, max(total, done))
        if url == KERAS_URL and digest.hexdigest() != KERAS_SHA256:
            raise ValueError(f"the file from {url} is not Keras' mnist.npz (sha256 {digest.hexdigest()[:12]}…)")
        os.replace(part, dest)
    except urllib.error.URLError as exc:
        raise OSError(f"{urllib.parse.urlsplit(url).hostname} cannot be reached ({exc.reason})") from None
    finally:
        part.unlink(missing_ok=True)
    return dest
