"""Every event's unexpected failure becomes one line (issue #36).

An input nobody checked (a list where a string belongs, a zip broken in a way not foreseen) or a bug used to
reach the visitor as a bare error: Gradio hides an exception's text unless `show_error`, so the page said
"Error" and gradio_client a message-less "599". Once the page is built, each event function is wrapped: the
failure goes to the server's log with its traceback, and the visitor reads one line naming what failed, as a
`gr.Error` (which Gradio always shows), HTML-escaped (Gradio renders it as HTML), without the server's paths
unless this viewer may see them. Functions keep their kind (plain, async, generator) and signature.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import gradio as gr
from gradio.context import LocalContext

from mnist_core.errors import first_line
from mnist_ui.server.access import for_visitor
from mnist_ui.server.context import AppContext

LOG = logging.getLogger("mnist_ui")


def failure(ctx: AppContext, exc: Exception) -> gr.Error:
    """The one line for a failure nobody foresaw, in the words this visitor may read; the traceback is logged."""
    LOG.error("an event failed", exc_info=exc)
    line = f"the server could not do that ({type(exc).__name__}: {first_line(exc)}); check what was sent"
    return gr.Error(html.escape(for_visitor(ctx, LocalContext.request.get(None), line)), print_exception=False)


def guarded(ctx: AppContext, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, with any exception but Gradio's own errors turned into `failure`'s one line."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            inner = fn(*args, **kwargs)
            try:
                async for item in inner:
                    yield item
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - the net under every event: one line, never a bare error
                raise failure(ctx, exc) from None
            finally:
                await inner.aclose()  # a cancelled stream closes the one it wraps (`async for` would not)

        return agen
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - the net under every event: one line, never a bare error
                raise failure(ctx, exc) from None

        return gen
    return _guarded_call(ctx, fn)


def _guarded_call(ctx: AppContext, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coro(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - the net under every event: one line, never a bare error
                raise failure(ctx, exc) from None

        return coro

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - the net under every event: one line, never a bare error
            raise failure(ctx, exc) from None

    return plain


def guard_events(demo: gr.Blocks, ctx: AppContext) -> None:
    """Wrap every event function of the built page (and its named API) once."""
    for event in demo.fns.values():
        if event.fn is not None:
            event.fn = guarded(ctx, event.fn)
