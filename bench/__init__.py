"""Benchmarks that print numbers: run them from the repository's root as `python -m bench.NAME`."""
