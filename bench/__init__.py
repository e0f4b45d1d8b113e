"""Benchmarks that print numbers: run them from the repository's root as `python -m bench.NAME`.

This package's init runs before any bench module, so the thread caps are in place before NumPy loads.
"""

from mnist_core.threads import cap_threads

cap_threads()
