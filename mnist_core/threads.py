"""One compute thread per numerical library, set before the first `import numpy` of the process.

OpenBLAS reads its thread count once, when NumPy loads it: set later, it starts a thread per core that
spins after every matmul. A reading is three small matmuls, so the spinning cost four times the CPU of
the answer and halved how many people one server could take. Stdlib only, so importing it imports nothing.
"""

from __future__ import annotations

import os

CAPS = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}
# TensorFlow needs none: its stock CPU build trains in its own Eigen pool (one thread per core), which
# these do not touch; bench/train_throughput.py checks that training is as fast as without them.


def cap_threads() -> None:
    """Put the caps into os.environ unless the caller already chose a value."""
    for name, value in CAPS.items():
        os.environ.setdefault(name, value)
