"""Slow pure-Python work (forecasts, figures, seeding) off the event loop, on plain threads.

Under the desktop app the loop is qasync's, whose default executor runs jobs on QThreads. These
jobs touch no Qt object, so plain Python threads from one small shared pool serve them with
fewer moving parts, and cap them at two (the wall's own loop keeps a core); every caller goes
through `run_in_thread` instead of `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="opscenter-work")


def run_in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> "asyncio.Future[T]":
    """`fn(*args, **kwargs)` on a worker thread; await the returned future on the running loop."""
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(_POOL, functools.partial(fn, *args, **kwargs))


def when_done(future: "asyncio.Future[T]", ok: Callable[[T], Any],
              failed: Callable[[BaseException], Any]) -> "asyncio.Future[T]":
    """Hand the result to `ok` or the error to `failed` on the loop; a cancelled job says nothing
    (its window is gone). The one place background results come back, so none is dropped silently."""
    def done(fut: "asyncio.Future[T]") -> None:
        if fut.cancelled():
            return
        error = fut.exception()
        if error is not None:
            failed(error)
        else:
            ok(fut.result())

    future.add_done_callback(done)
    return future
