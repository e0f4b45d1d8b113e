"""Every entry point caps BLAS threads before NumPy loads OpenBLAS (set later, the cap is ignored).

Each case runs an entry point as a user would, with the caps removed from its environment, and asks the
OpenBLAS that NumPy loaded how many threads it runs: two on this machine if the cap came too late.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_core.threads import CAPS

REPO = Path(__file__).resolve().parent.parent

# At exit, the loaded OpenBLAS's own thread count; never imports NumPy itself, so the entry point's order counts.
PROBE = """
import atexit, ctypes, runpy, sys

def report():
    libs = {line.split()[-1] for line in open('/proc/self/maps') if 'openblas' in line}
    assert len(libs) == 1, f'NumPy did not load one OpenBLAS: {libs}'
    lib = ctypes.CDLL(libs.pop())
    get = getattr(lib, 'scipy_openblas_get_num_threads64_', None) or lib.openblas_get_num_threads
    print('openblas threads:', get(), flush=True)

atexit.register(report)
kind, target, *sys.argv[1:] = sys.argv[1:]
sys.argv[0] = target
try:
    runpy.run_path(target, run_name='__main__') if kind == 'path' else runpy.run_module(target, run_name='__main__')
except SystemExit:
    pass
"""

ENTRY_POINTS = [
    ("path", "demo.py", "--help"),  # python demo.py
    ("module", "mnist_core", "--help"),  # python -m mnist_core
    ("module", "bench.common", ""),  # python -m bench.NAME: the package init runs first
]


def openblas_threads(kind: str, target: str, arg: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in CAPS}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, kind, target, *([arg] if arg else [])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("openblas threads:")]
    assert lines, f"no thread count from {target}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return lines[-1]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS runs one thread either way")
@pytest.mark.parametrize(("kind", "target", "arg"), ENTRY_POINTS)
def test_entry_point_caps_blas_before_numpy(kind: str, target: str, arg: str) -> None:
    assert openblas_threads(kind, target, arg) == "openblas threads: 1"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS runs one thread either way")
def test_probe_sees_a_late_cap(tmp_path: Path) -> None:
    """The probe itself: a script that imports NumPy before capping runs a thread per core."""
    script = tmp_path / "late_cap.py"
    script.write_text("import numpy, os\nos.environ['OPENBLAS_NUM_THREADS'] = '1'\n")
    assert openblas_threads("path", str(script), "") == f"openblas threads: {os.cpu_count()}"
