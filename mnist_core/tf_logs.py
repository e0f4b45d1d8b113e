"""TensorFlow's own logs kept off a person's terminal: one line per event is what the demo and the CLI print.

On a machine without a GPU, importing TensorFlow prints a dozen C++ lines ("could not find cuda drivers",
"failed call to cuInit", the oneDNN notice) before its log level applies, and its Python side adds warnings.
`quiet()` sets the levels before the import; `importing()` holds the C++ lines back while the import runs and
replays whatever else was written meanwhile. `--verbose` (demo) leaves everything as TensorFlow prints it.
Stdlib only: importing it imports nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator

# A native log record ("I0000 00:00:1796654131.556905   13720 port.cc:153] …"), absl's notice before its
# logging starts, and the one record that runs onto a second line (cpu_feature_guard's instruction list).
NATIVE_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d+:\d+:\d+\.\d+\s+\d+ \S+:\d+\]|WARNING: All log messages before absl::InitializeLog|"
    r"To enable the following instructions:)"
)
_VERBOSE = threading.Event()
_IMPORT = threading.Lock()


def quiet(verbose: bool = False) -> None:
    """Before TensorFlow is imported: its C++ logs off (level 3), its Python loggers
    at errors, Keras' and TensorFlow's Python warnings off. With `verbose`, nothing is changed."""
    if verbose:
        _VERBOSE.set()
        return
    if not os.environ.get("TF_CPP_MIN_LOG_LEVEL"):  # a level the user set is kept
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("keras", "tensorflow", "absl"):
        warnings.filterwarnings("ignore", module=module)


@contextlib.contextmanager
def importing() -> Iterator[None]:
    """Around the first import of TensorFlow: what is written to the process's stderr meanwhile (by any thread)
    is held in a file, then replayed without TensorFlow's native lines; replayed whole if the import fails."""
    if _VERBOSE.is_set() or "tensorflow" in sys.modules:
        yield
        return
    with _IMPORT:
        sys.stderr.flush()
        saved = os.dup(2)
        failed = False
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                lines = sink.read().decode(errors="replace").splitlines(keepends=True)
                kept = lines if failed else [line for line in lines if not NATIVE_LINE.match(line)]
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
