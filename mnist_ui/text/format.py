"""How the pages write numbers and digits: percentages, per-digit Markdown tables."""

from __future__ import annotations

from collections.abc import Sequence

DIGITS = [str(d) for d in range(10)]


def percent(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}%}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: the first column a name, the others numbers (right-aligned)."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def digit_table(
    rows: Sequence[Sequence[str]], first: str = "digit", before: Sequence[str] = (), after: Sequence[str] = ()
) -> str:
    """Per-digit numbers with a row per digit 0–9 and a column per series, so it fits a phone at any count.

    Each of `rows` is a series: its name, the `before` cells (e.g. overall scores), ten cells, the `after` cells.
    """
    labels = [*before, *DIGITS, *after]
    body = [[label, *[series[1 + i] for series in rows]] for i, label in enumerate(labels)]
    return table([first, *[series[0] for series in rows]], body)
