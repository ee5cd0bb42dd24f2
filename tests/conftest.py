"""Shared fixtures: one QApplication and one qasync loop for the whole session (Qt tests only)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Callable

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def qapp_args():
    """Runs before pytest-qt makes the QApplication: the attributes Qt needs first."""
    from ui.app import prepare_environment

    prepare_environment(offscreen=True)
    return ["opscenter-tests"]


@pytest.fixture(scope="session")
def qt_loop(qapp):
    """A qasync loop over the session's QApplication; never closed between tests."""
    import qasync

    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()  # while the QApplication still exists


@pytest.fixture
def run(qt_loop, qtbot):
    """Run coroutines as the app does: Qt's event processing drives the asyncio loop.

    The loop counts as running for the whole test (as under `app.exec()` in the wall), so
    pytest-qt's own event processing between steps never finds a task without its loop.
    """
    asyncio.set_event_loop(qt_loop)
    asyncio.events._set_running_loop(qt_loop)

    def run_coroutine(coro, timeout: float = 60.0):
        task = qt_loop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()

    yield run_coroutine
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.02,
                     what: str = "condition") -> None:
    """Await until `predicate()` holds; fails the test with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(step)


def utc(*parts: int) -> float:
    """Epoch seconds of a UTC wall time, for hand-computed expectations."""
    from datetime import datetime, timezone

    return datetime(*parts, tzinfo=timezone.utc).timestamp()


def split_parsed(items) -> tuple[list, list]:
    """A parser's output as (records, errors)."""
    from opscenter.errors import ParseError

    records, errors = [], []
    for item in items:
        (errors if isinstance(item, ParseError) else records).append(item)
    return records, errors


def audit_actions(db: Path) -> list[tuple[str, str]]:
    """(actor, action) of every audit entry in a hub's database, after checking the chain."""
    from opscenter.audit import AuditLog

    with AuditLog(db) as audit:
        assert audit.verify().ok
        return [(e.actor, e.action) for e in audit.entries()]


async def stop_clients(clients, tasks) -> None:
    """Stop hub clients and wait for their run() tasks."""
    for client in clients:
        await client.stop()
    await asyncio.gather(*tasks, return_exceptions=True)


async def serve_app(app):
    """Start an aiohttp app on a free loopback port; returns (runner, port). Clean up the runner."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]
