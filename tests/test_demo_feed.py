"""The demo feed server: SSE framing, resume from the log, heartbeats and fault injection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from opscenter.demo_feed import DemoFeedServer, EventLog
from opscenter.domain import AlertType, Deletion, Kind, ShotAlert
from opscenter.envelope import decode_event
from opscenter.errors import ParseError
from opscenter.sse import SseComment, SseMessage, SseParser


def shot(i: int) -> ShotAlert:
    return ShotAlert(
        id=f"S-{i}", version=1, detected_at=time.time(), lat=39.29, lon=-76.61,
        alert_type=AlertType.SINGLE, rounds=1,
    )


class StreamReader:
    """Reads an SSE response with the project's parser, for asserting on what went over the wire."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.parser = SseParser()
        self.items: list[SseMessage | SseComment] = []

    @property
    def messages(self) -> list[SseMessage]:
        return [m for m in self.items if isinstance(m, SseMessage)]

    async def read_until(self, done, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not done(self):
                chunk = await self.resp.content.readany()
                if not chunk:
                    raise EOFError("stream ended")
                self.items.extend(self.parser.feed(chunk))

    async def idle_for(self, seconds: float) -> bytes:
        """Whatever bytes arrive within `seconds` (b'' when the server sends nothing)."""
        try:
            async with asyncio.timeout(seconds):
                return await self.resp.content.readany()
        except TimeoutError:
            return b""


def seqs(messages: list[SseMessage]) -> list[int]:
    return [decode_event(m.data, "t").seq for m in messages]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[DemoFeedServer]:
    srv = DemoFeedServer(heartbeat_s=0.2)
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def url(srv: DemoFeedServer, path: str = "/events") -> str:
    return f"http://127.0.0.1:{srv.port}{path}"


@pytest.mark.asyncio
async def test_fresh_client_gets_whole_log_then_live(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    for i in range(1, 6):
        server.publish(shot(i))
    async with session.get(url(server)) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert "no-cache" in resp.headers["Cache-Control"]
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 5)
        server.publish(shot(6))
        server.publish(Deletion(Kind.SHOT, "S-1", 2))
        await reader.read_until(lambda r: len(r.messages) >= 7)
    assert seqs(reader.messages) == list(range(1, 8))
    assert [m.id for m in reader.messages] == [str(i) for i in range(1, 8)]
    last = decode_event(reader.messages[-1].data, "t")
    assert last.payload == Deletion(Kind.SHOT, "S-1", 2)


@pytest.mark.asyncio
async def test_resume_from_last_event_id_then_since_query(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    for i in range(1, 11):
        server.publish(shot(i))
    async with session.get(url(server), headers={"Last-Event-ID": "7"}) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 3)
        server.publish(shot(11))
        await reader.read_until(lambda r: len(r.messages) >= 4)
    assert seqs(reader.messages) == [8, 9, 10, 11]
    async with session.get(url(server, "/events?since=9")) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 2)
    assert seqs(reader.messages) == [10, 11]
    # The header wins over the query string when both are present.
    async with session.get(url(server, "/events?since=1"), headers={"Last-Event-ID": "10"}) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 1)
    assert seqs(reader.messages) == [11]


@pytest.mark.asyncio
async def test_idle_stream_sends_heartbeats(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    async with session.get(url(server)) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.items) >= 3, timeout=2.0)
    assert reader.items == [SseComment("hb")] * 3


@pytest.mark.asyncio
async def test_health_reports_seq_and_clients(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    for i in range(1, 4):
        server.publish(shot(i))
    async with session.get(url(server)) as stream:
        await StreamReader(stream).read_until(lambda r: len(r.messages) >= 3)
        async with session.get(url(server, "/health")) as resp:
            body = await resp.json()
    assert body["seq"] == 3
    assert body["clients"] == 1
    assert body["stalled"] is False


@pytest.mark.asyncio
async def test_drop_clients_aborts_open_streams(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    server.publish(shot(1))
    async with session.get(url(server)) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 1)
        assert server.drop_clients() == 1
        with pytest.raises((aiohttp.ClientError, EOFError)):
            await reader.read_until(lambda r: False, timeout=2.0)
    await asyncio.sleep(0.05)
    assert server.clients == 0


@pytest.mark.asyncio
async def test_stall_sends_nothing_then_resumes(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    server.publish(shot(1))
    async with session.get(url(server)) as resp:
        reader = StreamReader(resp)
        await reader.read_until(lambda r: len(r.messages) >= 1)
        server.stall(0.8)
        server.publish(shot(2))
        # Heartbeats are every 0.2 s, so 0.6 s of silence proves they stopped too.
        assert await reader.idle_for(0.6) == b""
        await reader.read_until(lambda r: len(r.messages) >= 2, timeout=2.0)
    assert seqs(reader.messages) == [1, 2]


@pytest.mark.asyncio
async def test_stall_withholds_response_headers(server: DemoFeedServer, session: aiohttp.ClientSession) -> None:
    server.stall(0.6)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await session.get(url(server))
    async with session.get(url(server)) as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.55


@pytest.mark.asyncio
async def test_garbage_frames_are_interleaved_and_undecodable(session: aiohttp.ClientSession) -> None:
    srv = DemoFeedServer(garbage_every=3)
    await srv.start()
    try:
        for i in range(1, 7):
            srv.publish(shot(i))
        async with session.get(url(srv)) as resp:
            reader = StreamReader(resp)
            await reader.read_until(lambda r: len(r.messages) >= 8)
    finally:
        await srv.stop()
    good, bad = [], []
    for m in reader.messages:
        try:
            good.append(decode_event(m.data, "t").seq)
        except ParseError:
            bad.append(int(m.id))
    assert good == [1, 2, 3, 4, 5, 6]
    assert bad == [3, 6]


@pytest.mark.asyncio
async def test_log_outlives_restart_on_same_port(session: aiohttp.ClientSession) -> None:
    srv = DemoFeedServer()
    port = await srv.start()
    srv.publish(shot(1))
    await srv.stop()
    srv.publish(shot(2))  # published while down: kept for the next run
    assert await srv.start("127.0.0.1", port) == port
    other = DemoFeedServer(log=srv.log)
    try:
        other_port = await other.start()
        for p in (port, other_port):
            async with session.get(f"http://127.0.0.1:{p}/events") as resp:
                reader = StreamReader(resp)
                await reader.read_until(lambda r: len(r.messages) >= 2)
            assert seqs(reader.messages) == [1, 2]
    finally:
        await other.stop()
        await srv.stop()


def test_event_log_trims_oldest_and_resumes_from_first_retained() -> None:
    log = EventLog(maxlen=10)
    for seq in range(1, 26):
        log.append(seq, f"{seq},".encode())
    assert log.last_seq == 25
    assert 10 <= len(log) <= 20
    chunk, cursor = log.after(0)
    kept = [int(x) for x in chunk.decode().rstrip(",").split(",")]
    assert kept == list(range(log.first_seq, 26))
    assert cursor == 25
    assert log.after(25) == (b"", 25)
    assert log.after(40) == (b"", 40)
    with pytest.raises(ValueError):
        log.append(27, b"gap")


class FakeSource:
    """Emits one shot per whole simulated second it advances over."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.calls: list[float] = []

    def advance_to(self, t: float) -> list[ShotAlert]:
        self.calls.append(t)
        out = [shot(int(s)) for s in range(int(self.now) + 1, int(t) + 1)]
        self.now = max(self.now, t)
        return out


@pytest.mark.asyncio
async def test_source_is_advanced_at_speed_from_the_injected_clock(session: aiohttp.ClientSession) -> None:
    wall = [1000.0]
    source = FakeSource(start=1_700_000_000.0)
    srv = DemoFeedServer(source, speed=60.0, clock=lambda: wall[0], tick_s=0.01)
    await srv.start()
    try:
        wall[0] += 0.5  # half a wall second = 30 sim seconds
        async with asyncio.timeout(2.0):
            while srv.log.last_seq < 30:
                await asyncio.sleep(0.01)
        assert srv.sim_now == pytest.approx(1_700_000_030.0)
        assert srv.log.last_seq == 30
        await srv.stop()
        wall[0] += 100.0  # time passing while stopped does not count
        await srv.start()
        wall[0] += 0.25
        async with asyncio.timeout(2.0):
            while srv.log.last_seq < 45:
                await asyncio.sleep(0.01)
        assert srv.sim_now == pytest.approx(1_700_000_045.0)
        async with session.get(url(srv, "/health")) as resp:
            assert (await resp.json())["sim_time"] == pytest.approx(1_700_000_045.0)
    finally:
        await srv.stop()
    assert source.calls == sorted(source.calls)

