"""The SSE feed client against real local servers: every event exactly once, through every fault."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from opscenter.demo_feed import DemoFeedServer
from opscenter.domain import AlertType, FeedEvent, ShotAlert
from opscenter.envelope import encode_event
from opscenter.errors import ParseError
from opscenter.feed_client import SseFeedClient, backoff_delay, redact_url
from opscenter.feed_health import FeedHealth, FeedState
from opscenter.sse import format_sse

REPO = Path(__file__).resolve().parents[1]
from tests.conftest import wait_until


def shot(i: int) -> ShotAlert:
    return ShotAlert(
        id=f"S-{i}", version=1, detected_at=time.time(), lat=39.29, lon=-76.61,
        alert_type=AlertType.SINGLE, rounds=1,
    )


class Collector:
    """What a consumer of the client saw: events, rejects and every state change."""

    def __init__(self) -> None:
        self.events: list[FeedEvent] = []
        self.rejects: list[ParseError] = []
        self.states: list[FeedHealth] = []

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)

    def assert_exactly_once(self, n: int) -> None:
        assert [e.seq for e in self.events] == list(range(1, n + 1))
        assert all(e.payload.id == f"S-{e.seq}" for e in self.events)
        assert all(e.received_at > 0 for e in self.events)


def make_client(name: str, feed_url: str, seen: Collector, **kwargs: object) -> SseFeedClient:
    options: dict[str, object] = {"stall_timeout": 2.0, "backoff_initial": 0.05, "backoff_max": 0.3, "rng": random.Random(3)}
    options.update(kwargs)
    return SseFeedClient(
        name, feed_url, seen.events.append, on_reject=seen.rejects.append,
        on_state=seen.states.append, **options,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture
async def running() -> AsyncIterator[list[SseFeedClient]]:
    """Clients appended here are run in the background and stopped at the end."""
    clients: list[SseFeedClient] = []
    tasks: list[asyncio.Task[None]] = []

    async def drive() -> None:
        while True:
            while len(tasks) < len(clients):
                tasks.append(asyncio.create_task(clients[len(tasks)].run()))
            await asyncio.sleep(0.005)

    driver = asyncio.create_task(drive())
    yield clients
    driver.cancel()
    for client in clients:
        await client.stop()
    for task in tasks:
        await task  # run() returns normally after stop()
    for client in clients:
        assert client.health.state is FeedState.STOPPED


async def publish_steadily(server_of: Callable[[], DemoFeedServer], first: int, last: int, per_tick: int = 20) -> None:
    for i in range(first, last + 1):
        server_of().publish(shot(i))
        if i % per_tick == 0:
            await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_every_event_once_through_drops_and_server_restarts(running: list[SseFeedClient]) -> None:
    n = 2000
    holder = [DemoFeedServer(heartbeat_s=0.2)]
    port = await holder[0].start()
    seen = Collector()
    client = make_client("demo", f"http://127.0.0.1:{port}/events", seen)
    running.append(client)
    try:
        for first in (1, 301, 601, 901):
            await publish_steadily(lambda: holder[0], first, first + 299)
            assert holder[0].drop_clients() <= 1
        # Full stop; events keep being produced while the listener is down.
        await holder[0].stop()
        await publish_steadily(lambda: holder[0], 1201, 1400)
        await asyncio.sleep(0.2)
        await holder[0].start("127.0.0.1", port)
        await publish_steadily(lambda: holder[0], 1401, 1700)
        # A brand-new server process-alike on the same port, sharing the log.
        await holder[0].stop()
        holder[0] = DemoFeedServer(heartbeat_s=0.2, log=holder[0].log)
        await holder[0].start("127.0.0.1", port)
        await publish_steadily(lambda: holder[0], 1701, n)
        await seen.wait_for(lambda: len(seen.events) >= n, timeout=10)
        await asyncio.sleep(0.1)
    finally:
        await holder[0].stop()
    seen.assert_exactly_once(n)
    health = client.health
    assert health.received == n and health.last_seq == n
    assert health.reconnects >= 3
    assert health.duplicates == 0 and health.rejected == 0
    assert FeedState.RECONNECTING in {h.state for h in seen.states}


@pytest.mark.asyncio
async def test_replayed_duplicates_are_dropped_and_counted(running: list[SseFeedClient]) -> None:
    """A server that ignores Last-Event-ID resends old events; none reach the consumer twice."""
    last_event_ids: list[str | None] = []

    async def events(request: web.Request) -> web.StreamResponse:
        last_event_ids.append(request.headers.get("Last-Event-ID"))
        count = 10 if len(last_event_ids) == 1 else 20
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"".join(format_sse(i, encode_event(i, time.time(), shot(i))) for i in range(1, count + 1)))
        if count == 10:
            return resp  # ends the stream: the client reconnects
        await asyncio.sleep(30)
        return resp

    app = web.Application()
    app.router.add_get("/events", events)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        seen = Collector()
        client = make_client("replay", f"http://127.0.0.1:{runner.addresses[0][1]}/events", seen)
        running.append(client)
        await seen.wait_for(lambda: len(seen.events) >= 20, timeout=5)
        await asyncio.sleep(0.1)
        seen.assert_exactly_once(20)
        assert client.health.duplicates == 10
        assert last_event_ids[:2] == [None, "10"]
    finally:
        await client.stop()
        await runner.cleanup()


SUBPROCESS_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from opscenter.demo_feed import DemoFeedServer
    from opscenter.domain import AlertType, ShotAlert

    async def main(port: int, n: int) -> None:
        # Same events, same numbering after a restart: the same epoch, as the demo feed gives
        # for the same scenario, seed and start.
        server = DemoFeedServer(heartbeat_s=0.2, epoch="fixed-stream")
        print(await server.start("127.0.0.1", port), flush=True)
        for i in range(1, n + 1):
            server.publish(ShotAlert(id=f"S-{i}", version=1, detected_at=1.7e9 + i, lat=39.29,
                                     lon=-76.61, alert_type=AlertType.SINGLE, rounds=1))
            if i % 10 == 0:
                await asyncio.sleep(0.01)
        await asyncio.Event().wait()

    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
    """
)


async def spawn_server(script: Path, port: int, n: int) -> tuple[asyncio.subprocess.Process, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(port), str(n), stdout=asyncio.subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(10):
        line = await proc.stdout.readline()
    return proc, int(line)


@pytest.mark.asyncio
async def test_every_event_once_when_server_process_is_killed(tmp_path: Path, running: list[SseFeedClient]) -> None:
    n = 1500
    script = tmp_path / "feed_server.py"
    script.write_text(SUBPROCESS_SERVER)
    proc, port = await spawn_server(script, 0, n)
    seen = Collector()
    client = make_client("proc", f"http://127.0.0.1:{port}/events", seen)
    running.append(client)
    try:
        for threshold in (400, 900):
            await seen.wait_for(lambda: len(seen.events) >= threshold, timeout=10)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            proc, _ = await spawn_server(script, port, n)
        await seen.wait_for(lambda: len(seen.events) >= n, timeout=10)
        await asyncio.sleep(0.1)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    seen.assert_exactly_once(n)
    assert client.health.reconnects >= 2


@pytest.mark.asyncio
async def test_stall_goes_stale_then_resumes_without_loss(running: list[SseFeedClient]) -> None:
    server = DemoFeedServer(heartbeat_s=0.1)
    port = await server.start()
    seen = Collector()
    client = make_client("stall", f"http://127.0.0.1:{port}/events", seen, stall_timeout=0.5)
    running.append(client)
    try:
        for i in range(1, 51):
            server.publish(shot(i))
        await seen.wait_for(lambda: len(seen.events) >= 50, timeout=5)
        await asyncio.sleep(0.3)  # heartbeats alone keep it healthy
        assert client.health.state is FeedState.CONNECTED and client.health.stalls == 0
        server.stall(1.5)
        for i in range(51, 101):
            server.publish(shot(i))
        await seen.wait_for(lambda: client.health.stalls >= 1, timeout=3)
        stale = [h for h in seen.states if h.state is FeedState.STALE]
        assert stale and stale[0].summary(time.time()).startswith("STALE: no data for")
        await seen.wait_for(lambda: len(seen.events) >= 100, timeout=5)
        await asyncio.sleep(0.1)
    finally:
        await server.stop()
    seen.assert_exactly_once(100)
    assert client.health.duplicates == 0


@pytest.mark.asyncio
async def test_garbage_is_rejected_without_stopping_the_feed(running: list[SseFeedClient]) -> None:
    server = DemoFeedServer(heartbeat_s=0.2, garbage_every=7)
    port = await server.start()
    seen = Collector()
    client = make_client("gunfire", f"http://127.0.0.1:{port}/events", seen)
    running.append(client)
    try:
        await publish_steadily(lambda: server, 1, 300, per_tick=25)
        await seen.wait_for(lambda: len(seen.events) >= 300, timeout=5)
        await asyncio.sleep(0.1)
    finally:
        await server.stop()
    seen.assert_exactly_once(300)
    health = client.health
    assert health.rejected == len(seen.rejects) == 300 // 7
    assert all(isinstance(err, ParseError) and err.source == "gunfire" for err in seen.rejects)
    assert health.reconnects == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.asyncio
async def test_backoff_grows_capped_with_full_jitter(running: list[SseFeedClient]) -> None:
    seen = Collector()
    t0 = 5000.0
    client = make_client(
        "down", f"http://127.0.0.1:{free_port()}/events", seen,
        backoff_initial=0.02, backoff_max=0.16, rng=random.Random(11), clock=lambda: t0,
    )
    running.append(client)
    await seen.wait_for(lambda: client.health.attempt >= 9, timeout=5)
    waits = [h for h in seen.states if h.state is FeedState.RECONNECTING][:9]
    delays = [h.next_retry_at - t0 for h in waits]  # type: ignore[operator]
    caps = [min(0.16, 0.02 * 2**k) for k in range(9)]
    reference = random.Random(11)
    assert delays == pytest.approx([reference.uniform(0, cap) for cap in caps])
    assert all(0 <= d <= cap for d, cap in zip(delays, caps))
    assert max(delays) <= 0.16 and len(set(delays)) == len(delays)
    assert sum(delays[5:]) / 4 > sum(delays[:3]) / 3  # later waits are longer on average
    assert [h.attempt for h in waits] == list(range(1, 10))
    assert all(h.last_error == "connection refused" for h in waits)
    assert "reconnecting" in waits[-1].summary(t0) and "(attempt 9)" in waits[-1].summary(t0)
    assert client.health.received == 0


def test_backoff_delay_is_capped_for_huge_attempts() -> None:
    rng = random.Random(1)
    assert all(0 <= backoff_delay(k, 0.5, 30.0, rng) <= 30.0 for k in (1, 10, 100, 10_000))


@pytest_asyncio.fixture
async def error_server() -> AsyncIterator[tuple[int, list[str | None]]]:
    auth_headers: list[str | None] = []

    async def fail(request: web.Request) -> web.Response:
        auth_headers.append(request.headers.get("Authorization"))
        return web.Response(status=500, text="boom")

    async def not_sse(request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/events", fail)
    app.router.add_get("/html", not_sse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1], auth_headers
    await runner.cleanup()


@pytest.mark.asyncio
async def test_http_500_is_reported_and_credentials_never_exposed(
    error_server: tuple[int, list[str | None]], running: list[SseFeedClient]
) -> None:
    port, auth_headers = error_server
    seen = Collector()
    client = make_client("cad", f"http://alice:s3cr3t@127.0.0.1:{port}/events?token=abc&since=0", seen)
    running.append(client)
    await seen.wait_for(lambda: client.health.attempt >= 2, timeout=5)
    health = client.health
    assert health.state is FeedState.RECONNECTING
    assert "500" in health.last_error
    assert health.url == f"http://127.0.0.1:{port}/events?token=***&since=0"
    everything = repr(health) + "".join(repr(h) for h in seen.states) + health.summary(time.time())
    assert "s3cr3t" not in everything and "alice" not in everything and "abc" not in everything
    assert auth_headers and all(h and h.startswith("Basic ") for h in auth_headers)


@pytest.mark.asyncio
async def test_non_event_stream_response_is_an_error(
    error_server: tuple[int, list[str | None]], running: list[SseFeedClient]
) -> None:
    seen = Collector()
    client = make_client("html", f"http://127.0.0.1:{error_server[0]}/html", seen)
    running.append(client)
    await seen.wait_for(lambda: client.health.attempt >= 1, timeout=5)
    assert "text/html" in client.health.last_error


def test_redact_url_keeps_harmless_parts() -> None:
    assert redact_url("https://u:p@feed.example:8443/a/b?x=1") == "https://feed.example:8443/a/b?x=1"
    assert redact_url("http://h/e?API_KEY=zz") == "http://h/e?API_KEY=***"


@pytest.mark.asyncio
async def test_server_restarted_with_a_new_numbering_resynchronises_without_loss() -> None:
    """A feed process restarted from scratch numbers from 1 again; nothing may be skipped."""
    first = DemoFeedServer(heartbeat_s=0.2)
    port = await first.start("127.0.0.1", 0)
    got: list[FeedEvent] = []
    client = SseFeedClient("restarting", f"http://127.0.0.1:{port}/events", got.append,
                           backoff_initial=0.05, backoff_max=0.2, rng=random.Random(1))
    task = asyncio.create_task(client.run())
    try:
        for i in range(1, 51):
            first.publish(ShotAlert(id=f"A-{i}", version=1, detected_at=1.7e9 + i, lat=39.29,
                                    lon=-76.61, alert_type=AlertType.SINGLE, rounds=1))
        await wait_until(lambda: len(got) == 50)
        await first.stop()
        second = DemoFeedServer(heartbeat_s=0.2)  # a new log: seqs 1..20 again, other events
        await second.start("127.0.0.1", port)
        for i in range(1, 21):
            second.publish(ShotAlert(id=f"B-{i}", version=1, detected_at=1.7e9 + i, lat=39.29,
                                     lon=-76.61, alert_type=AlertType.SINGLE, rounds=1))
        await wait_until(lambda: len(got) == 70)
        assert [e.payload.id for e in got[50:]] == [f"B-{i}" for i in range(1, 21)]
        assert client.health.resyncs == 1
        await second.stop()
    finally:
        await client.stop()
        await task


