"""How an exception becomes the one line a person reads."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    """Library errors can span pages (TensorFlow, h5py); a status line shows only their first line."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
