"""Background work: results and errors come back on the loop; a cancelled job says nothing."""

from __future__ import annotations

import asyncio
import threading

import pytest

from opscenter.background import run_in_thread, when_done


@pytest.mark.asyncio
async def test_results_errors_and_cancellations() -> None:
    seen: list = []
    loop_thread = threading.get_ident()

    def boom() -> None:
        raise ValueError("no history")

    ok = when_done(run_in_thread(lambda: threading.get_ident()), seen.append, lambda e: seen.append(("err", e)))
    bad = when_done(run_in_thread(boom), seen.append, lambda e: seen.append(("err", str(e))))
    await asyncio.gather(ok, bad, return_exceptions=True)
    await asyncio.sleep(0)
    worker = [s for s in seen if isinstance(s, int)]
    assert worker and worker[0] != loop_thread  # it ran off the loop's thread
    assert ("err", "no history") in seen

    cancelled = when_done(run_in_thread(lambda: 1), seen.append, seen.append)
    cancelled.cancel()
    await asyncio.sleep(0.05)
    assert len(seen) == 2
