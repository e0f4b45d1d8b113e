"""A correction on the Draw tab: kept for the shared model (where this server collects) and remembered by the
visitor's own model at once, so the same drawing read again answers what they said. One drawing, one label:
a second click on the same drawing changes its label in both; undo takes it back out of both. No Gradio here.

A visitor with no model of their own gets one with their first correction: the key comes back to be kept in
their browser, as the Teach it tab keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnist_core.drawings.policy import as_label
from mnist_core.imaging.strokes import StrokeError, parse
from mnist_ui.server.collect import LEARNS, Correction, a_digit
from mnist_ui.server.context import AppContext

NOT_COLLECTED = "this server does not collect drawings for the shared model"


@dataclass(frozen=True)
class Corrected:
    """What one click did: whether anything keeps the drawing now, the line for the page, the visitor's key."""

    kept: bool
    message: str
    profile: str | None
    collected: Correction | None = None  # what the shared collection did (None where it does not collect)


def seen_as(ctx: AppContext, value: Any, key: str | None) -> int | None:
    """ "Right": the digit the visitor was shown, read by their own model when they have one; None if unreadable."""
    try:
        drawing = parse(value)
    except StrokeError:
        return None
    if ctx.personal is not None:
        return ctx.personal.read_drawings([drawing], [key])[0].reading.digit
    return ctx.holder.read_drawings([drawing])[0].digit


def correct_drawing(ctx: AppContext, label: Any, value: Any, key: str | None, who: str) -> Corrected:
    """Keep the pad's drawing as `label` (None: "Right", what the visitor was shown) in the collection and in the
    visitor's memory; one line either way."""
    digit = seen_as(ctx, value, key) if label is None else as_label(label)
    if digit is None:
        unread = ctx.drawings.correct(ctx.holder.current, label, {"strokes": value}, who)
        return Corrected(False, unread.message, key, unread)
    collected = None
    if ctx.drawings.enabled:
        collected = ctx.drawings.correct(ctx.holder.current, digit, {"strokes": value}, who)
    taught = ctx.personal.correct(digit, value, key, who) if ctx.personal is not None else None
    remembered = taught is not None and taught.profile is not None
    profile = taught.profile if taught is not None and taught.profile else key
    refused = taught.message if taught is not None and not remembered else None
    if not remembered and (collected is None or not collected.saved):
        reasons = [r for r in (collected.message if collected else None, refused) if r]
        message = "; ".join(reasons) or "not kept: corrections are off on this server"
        return Corrected(False, message, profile, collected)
    again = (collected is not None and collected.relabelled) or (taught is not None and taught.relabelled > 0)
    return Corrected(True, kept_message(digit, again, remembered, collected, refused), profile, collected)


def kept_message(digit: int, again: bool, remembered: bool, collected: Correction | None, refused: str | None) -> str:
    """ "kept as a 7 — your model now reads this 7; the shared model learns from it when it is fine-tuned"."""
    parts = [f"your model now reads this {digit}"] if remembered else []
    if collected is None:
        parts.append(NOT_COLLECTED)
    elif collected.saved:
        parts.append(LEARNS)
    else:
        parts.append(f"the shared collection did not keep it ({collected.message})")
    if not remembered and refused:
        parts.append(f"your model did not learn it ({refused})")
    head = f"changed to {a_digit(digit)}" if again else f"kept as {a_digit(digit)}"
    return f"{head} — {'; '.join(parts)}"


def undo_drawing(ctx: AppContext, value: Any, key: str | None, who: str) -> Corrected:
    """Take the pad's drawing back out of the collection and the visitor's memory."""
    undone = ctx.drawings.undo({"strokes": value}, who) if ctx.drawings.enabled else None
    forgot = ctx.personal.undo(value, key) if ctx.personal is not None else False
    if undone is not None and undone.id is None and not forgot:
        return Corrected(False, undone.message, key)
    if undone is None and not forgot:
        return Corrected(False, "nothing to undo: this drawing is not kept", key)
    parts = ["this drawing is no longer kept"] + (["your model forgot it"] if forgot else [])
    return Corrected(False, f"undone — {'; '.join(parts)}", key)
