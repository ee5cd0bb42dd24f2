"""WebSocket, polling and replay connectors and the feed manager, against real local servers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from opscenter.connectors import safe_parse
from opscenter.demo_feed import DemoFeedServer
from opscenter.domain import AlertType, Deletion, Record, ShotAlert
from opscenter.envelope import encode_event
from opscenter.errors import ParseError
from opscenter.feed_config import FeedConfig
from opscenter.feed_health import FeedHealth, FeedState, SkewMeter
from opscenter.feed_manager import FeedManager
from opscenter.formats.base import FormatParser, Parsed
from opscenter.formats.registry import make_parser
from opscenter.poll_client import PollingFeedClient
from opscenter.quarantine import Quarantine
from opscenter.replay import FileReplayClient, in_event_order
from opscenter.ws_client import WebSocketFeedClient

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
FAST = {"stall_timeout": 0.3, "backoff_initial": 0.01, "backoff_max": 0.05}
from tests.conftest import wait_until


def shot(i: int, version: int = 1, at: float | None = None) -> ShotAlert:
    return ShotAlert(id=f"S-{i}", version=version, detected_at=at if at is not None else time.time(),
                     lat=39.29, lon=-76.61, alert_type=AlertType.SINGLE, rounds=1)


def envelope(seq: int, payload: Record | Deletion, sent_at: float | None = None) -> str:
    return encode_event(seq, time.time() if sent_at is None else sent_at, payload)


async def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    await wait_until(predicate, timeout, step=0.01, what=what)


async def serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    return runner, runner.addresses[0][1]


class Sink:
    """What reached the consumer: (record, feed) pairs, plus every state change seen."""

    def __init__(self) -> None:
        self.items: list[tuple[Record | Deletion, str]] = []
        self.states: list[FeedHealth] = []

    def __call__(self, item: Record | Deletion, feed: str) -> None:
        self.items.append((item, feed))

    def ids(self) -> list[str]:
        return [item.id for item, _ in self.items]


# -- a WebSocket feed server -----------------------------------------------------------------


def ws_text_frame(payload: bytes) -> bytes:
    """An unmasked server-to-client text frame (so a test can send half of one)."""
    size = len(payload)
    if size < 126:
        head = bytes([0x81, size])
    elif size < 65536:
        head = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return head + payload


class WsFeedServer:
    """Sends its log from the client's resume point; faults on demand.

    Each entry has a key (the seq of the event, or of the event a garbage message precedes);
    with `expect_subscribe` a client first sends {"resume_after": seq} and gets every entry
    with a higher key, otherwise everything from the start.
    """

    def __init__(self, expect_subscribe: bool = False, stall_s: float = 0.8) -> None:
        self.log: list[tuple[int, str]] = []
        self.next_key = 1
        self.expect_subscribe = expect_subscribe
        self.stall_s = stall_s
        self.received: list[str] = []
        self.connections = 0
        self.refuse = 0  # answer the next N handshakes with HTTP 500
        self.faults: list[str] = []  # "drop_mid", "stall", "close": applied in order on live streams
        self.applied: list[str] = []
        self.current: object | None = None
        self._wake = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/ws", self.handler)

    def publish(self, text: str, event: bool = True) -> None:
        """Append a message; `event=False` for one that carries no seq (garbage, protocol)."""
        self.log.append((self.next_key, text))
        if event:
            self.next_key += 1
        self._wake.set()

    def inject(self, fault: str) -> None:
        self.faults.append(fault)
        self._wake.set()

    async def _read(self, ws: web.WebSocketResponse) -> None:
        async for msg in ws:  # autoping answers the client's pings in here
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.received.append(msg.data)

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        if self.refuse > 0:
            self.refuse -= 1
            return web.Response(status=500, text="feed down")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        cursor = 0
        if self.expect_subscribe:
            first = await ws.receive(timeout=2)
            self.received.append(first.data)
            after = int(json.loads(first.data)["resume_after"])
            cursor = next((i for i, (key, _) in enumerate(self.log) if key > after), len(self.log))
        reader = asyncio.create_task(self._read(ws))
        self.current = stream = object()  # faults go to the newest connection only
        try:
            while not ws.closed:
                fault = self.faults[0] if self.faults and self.current is stream else None
                if fault is not None and not (fault in ("drop_mid", "dup") and not 0 < cursor < len(self.log)):
                    self.faults.pop(0)
                    self.applied.append(fault)
                    if await self._apply(fault, request, ws, reader, cursor):
                        return ws
                    continue
                if cursor < len(self.log):
                    await ws.send_str(self.log[cursor][1])
                    cursor += 1
                    continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), 0.05)
                except TimeoutError:
                    pass
        except (ConnectionError, RuntimeError):
            pass
        finally:
            reader.cancel()
        return ws

    async def _apply(self, fault: str, request: web.Request, ws: web.WebSocketResponse,
                     reader: asyncio.Task[None], cursor: int) -> bool:
        """Apply one fault; True when it ended the connection."""
        transport = request.transport
        if fault == "drop_mid":
            frame = ws_text_frame(self.log[cursor][1].encode())
            assert transport is not None
            transport.write(frame[: len(frame) // 2])
            await asyncio.sleep(0.01)
            transport.abort()
        elif fault == "stall":
            reader.cancel()  # no pongs either: a hung server
            await asyncio.sleep(self.stall_s)
            if transport is not None:
                transport.abort()
        elif fault == "close":
            await ws.close()
        elif fault == "dup":
            await ws.send_str(self.log[cursor - 1][1])
            return False
        return True


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def start(client: object) -> asyncio.Task[None]:
    return asyncio.create_task(client.run())  # type: ignore[attr-defined]


async def finish(client: object, task: asyncio.Task[None]) -> None:
    await client.stop()  # type: ignore[attr-defined]
    await task
    assert client.health.state is FeedState.STOPPED  # type: ignore[attr-defined]


# -- WebSocket ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_websocket_subscribes_resumes_after_a_mid_frame_drop_and_replies(session: aiohttp.ClientSession) -> None:
    server = WsFeedServer(expect_subscribe=True)
    runner, port = await serve(server.app)
    got: list[int] = []
    states: list[FeedHealth] = []

    def on_message(data: bytes) -> None:
        event = json.loads(data)
        if event.get("ask") == "ack":
            asyncio.ensure_future(client.send(json.dumps({"ack": event["id"]})))
            return
        got.append(event["seq"])

    async def subscribe(send: Callable[[str | bytes], object]) -> None:
        await send(json.dumps({"resume_after": got[-1] if got else 0}))  # type: ignore[misc]

    client = WebSocketFeedClient("tak", f"http://127.0.0.1:{port}/ws", on_message, on_open=subscribe,
                                 session=session, on_state=states.append, rng=random.Random(1), **FAST)
    task = await start(client)
    try:
        for i in range(1, 41):
            server.publish(envelope(i, shot(i)))
        await until(lambda: len(got) == 40)
        server.inject("drop_mid")
        for i in range(41, 81):
            server.publish(envelope(i, shot(i)))
        await until(lambda: len(got) == 80)
        server.publish(json.dumps({"ask": "ack", "id": "x1"}), event=False)
        await until(lambda: '{"ack": "x1"}' in server.received)
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert got == list(range(1, 81))  # nothing lost, nothing twice: the half frame was dropped
    assert server.applied == ["drop_mid"] and server.connections == 2
    assert [json.loads(m)["resume_after"] for m in server.received[:2]] == [0, 40]
    assert client.health.reconnects == 1
    assert FeedState.RECONNECTING in [s.state for s in states]


@pytest.mark.asyncio
async def test_websocket_stall_goes_stale_then_recovers(session: aiohttp.ClientSession) -> None:
    server = WsFeedServer(stall_s=0.8)
    runner, port = await serve(server.app)
    got: list[bytes] = []
    states: list[FeedHealth] = []
    client = WebSocketFeedClient("cot", f"ws://127.0.0.1:{port}/ws", got.append, session=session,
                                 on_state=states.append, heartbeat_s=0.05, rng=random.Random(2), **FAST)
    task = await start(client)
    try:
        server.publish(envelope(1, shot(1)))
        await until(lambda: len(got) == 1)
        await asyncio.sleep(0.6)  # idle but answering pings: still connected, not stale
        assert client.health.state is FeedState.CONNECTED and client.health.stalls == 0
        server.inject("stall")
        await until(lambda: client.health.stalls == 1, what="stall detected")
        stale = [s for s in states if s.state is FeedState.STALE]
        assert stale and stale[0].summary(time.time()).startswith("STALE: no data for")
        server.publish(envelope(2, shot(2)))
        await until(lambda: client.health.state is FeedState.CONNECTED and len(got) >= 3)
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert server.connections >= 2
    assert "no data for 0.3 s" in stale[0].last_error


@pytest.mark.asyncio
async def test_websocket_http_500_and_server_restart(session: aiohttp.ClientSession) -> None:
    server = WsFeedServer()
    server.refuse = 3
    runner, port = await serve(server.app)
    got: list[bytes] = []
    states: list[FeedHealth] = []
    client = WebSocketFeedClient("ws", f"ws://127.0.0.1:{port}/ws", got.append, session=session,
                                 on_state=states.append, rng=random.Random(3), **FAST)
    task = await start(client)
    try:
        server.publish(envelope(1, shot(1)))
        await until(lambda: len(got) == 1)
        errors = [s.last_error for s in states if s.state is FeedState.RECONNECTING]
        assert len(errors) == 3 and all("500" in e for e in errors)
        await runner.cleanup()
        await until(lambda: client.health.state in (FeedState.RECONNECTING, FeedState.CONNECTING))
        await asyncio.sleep(0.2)  # a few refused connections while it is down
        runner, _ = await serve(server.app, port)
        await until(lambda: len(got) == 2, what="resent log after restart")  # this server resends from 0
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert client.health.reconnects >= 4


# -- polling -----------------------------------------------------------------------------------


class PollServer:
    """Serves one document with an ETag (or Last-Modified); counts what it answered."""

    def __init__(self, body: bytes, validator: str = "etag") -> None:
        self.body = body
        self.validator = validator
        self.requests = 0
        self.bodies = 0
        self.not_modified = 0
        self.fail = 0  # answer the next N requests with 500
        self.hang = 0  # never answer the next N requests
        self.auth: list[str | None] = []
        self.app = web.Application()
        self.app.router.add_get("/doc", self.handler)

    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'

    def modified(self) -> str:
        return f"Wed, 01 Jan 2026 00:{hashlib.sha1(self.body).digest()[0] % 60:02d}:00 GMT"

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.auth.append(request.headers.get("Authorization"))
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500, text="boom")
        if self.hang > 0:
            self.hang -= 1
            await asyncio.sleep(3)
        if self.validator == "etag":
            headers = {"ETag": self.etag()}
            fresh = request.headers.get("If-None-Match") == self.etag()
        elif self.validator == "last-modified":
            headers = {"Last-Modified": self.modified()}
            fresh = request.headers.get("If-Modified-Since") == self.modified()
        else:
            headers, fresh = {}, False
        if fresh:
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        self.bodies += 1
        return web.Response(body=self.body, headers=headers, content_type="application/x-ndjson")


@pytest.mark.asyncio
@pytest.mark.parametrize("validator", ["etag", "last-modified", "none"])
async def test_polling_uses_conditional_requests(session: aiohttp.ClientSession, validator: str) -> None:
    server = PollServer(b"v1", validator)
    runner, port = await serve(server.app)
    bodies: list[bytes] = []
    client = PollingFeedClient("cap", f"http://127.0.0.1:{port}/doc", bodies.append, interval_s=0.02,
                               session=session, rng=random.Random(4), **FAST)
    task = await start(client)
    try:
        await until(lambda: server.requests >= 8)
        server.body = b"v2"
        await until(lambda: bodies == [b"v1", b"v2"])
        await until(lambda: server.requests >= 16)
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert bodies == [b"v1", b"v2"]  # each document handed on once
    assert server.requests <= client.requests <= server.requests + 1  # one may be in flight at stop()
    if validator == "none":
        assert server.not_modified == 0 and server.bodies == server.requests
        assert client.health.duplicates == server.requests - 2  # same bytes again: not re-delivered
    else:
        assert server.bodies == 2 and server.not_modified == server.requests - 2
        assert server.not_modified - 1 <= client.not_modified <= server.not_modified
    assert client.health.reconnects == 0


@pytest.mark.asyncio
async def test_polling_failures_back_off_turn_stale_and_recover(session: aiohttp.ClientSession) -> None:
    server = PollServer(b"doc")
    runner, port = await serve(server.app)
    bodies: list[bytes] = []
    states: list[FeedHealth] = []
    client = PollingFeedClient("usgs", f"http://127.0.0.1:{port}/doc", bodies.append, interval_s=0.05,
                               session=session, on_state=states.append, rng=random.Random(5),
                               stall_timeout=0.4, backoff_initial=0.02, backoff_max=0.08)
    task = await start(client)
    try:
        await until(lambda: client.health.state is FeedState.CONNECTED)
        server.fail = 10**6
        await until(lambda: client.health.state is FeedState.STALE, what="stale after failing polls")
        failing = server.requests
        summary = client.health.summary(time.time())
        server.fail = 0
        await until(lambda: client.health.state is FeedState.CONNECTED, what="recovery")
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert summary.startswith("STALE: no data for")
    retrying = [s for s in states if s.state is FeedState.RECONNECTING]
    assert retrying and all("HTTP 500" in s.last_error for s in retrying)
    assert client.health.stalls == 1 and failing > 5
    assert bodies == [b"doc"]  # the document did not change: not delivered again after recovery


@pytest.mark.asyncio
async def test_polling_a_server_that_never_answers_times_out(session: aiohttp.ClientSession) -> None:
    server = PollServer(b"doc")
    server.hang = 1
    runner, port = await serve(server.app)
    bodies: list[bytes] = []
    client = PollingFeedClient("hang", f"http://127.0.0.1:{port}/doc", bodies.append, interval_s=0.05,
                               request_timeout_s=0.2, session=session, rng=random.Random(6), **FAST)
    task = await start(client)
    try:
        await until(lambda: bodies == [b"doc"])
        health = client.health
    finally:
        await finish(client, task)
        await runner.cleanup()
    assert health.reconnects == 1 and "no answer within 0.2 s" not in health.last_error  # cleared on success
    assert server.requests >= 2


# -- replay ------------------------------------------------------------------------------------


def test_in_event_order_keeps_deletions_behind_their_record() -> None:
    a, b = shot(1, at=200.0), shot(2, at=100.0)
    gone = Deletion(a.kind, "S-1", 2)
    assert [item for _, item in in_event_order([a, gone, b])] == [b, a, gone]


@pytest.mark.asyncio
async def test_replay_emits_in_event_time_order_with_progress() -> None:
    path = EXAMPLES / "briefing.jsonl"
    got: list[Record | Deletion] = []
    client = FileReplayClient("briefing", path, make_parser("envelope", "briefing"), got.append, speed=0)
    await client.run()
    times = [getattr(r, "detected_at", None) or getattr(r, "received_at") for r in got]
    file_order = [json.loads(line)["record"]["id"] for line in path.read_text().splitlines()]
    assert len(got) == 15 and times == sorted(times)
    assert [r.id for r in got] != file_order  # the recording is shuffled; the replay is not
    health = client.health
    assert health.received == health.total == 15 and health.state is FeedState.STOPPED
    assert health.summary(time.time()) == "replay finished · 15/15 events"


@pytest.mark.asyncio
async def test_replay_paces_by_speed_and_reports_progress(tmp_path: Path) -> None:
    t0 = 1.76e9
    lines = [envelope(i, shot(i, at=t0 + (i - 1) * 10.0)) for i in range(1, 6)]  # 40 s of events
    (tmp_path / "b.jsonl").write_text("\n".join(lines[2:]) + "\n{broken\n")
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:2]) + "\n")
    got: list[float] = []
    rejected: list[ParseError] = []
    client = FileReplayClient("night", tmp_path, make_parser("envelope", "night"),
                              lambda r: got.append(time.monotonic()), on_reject=rejected.append, speed=100.0)
    task = await start(client)
    await until(lambda: client.health.state is FeedState.CONNECTED and client.health.received >= 2)
    mid = client.health.summary(time.time())
    await task
    assert mid.startswith("replaying · ") and mid.endswith("/5 events")
    assert 0.3 <= got[-1] - got[0] <= 1.0  # 40 s at 100x is 0.4 s
    assert len(rejected) == 1 and rejected[0].source == "night" and "b.jsonl: line 4" in rejected[0].reason
    assert client.health.rejected == 1 and client.health.received == 5


@pytest.mark.asyncio
async def test_replay_of_a_missing_file_is_quarantined_not_fatal(tmp_path: Path) -> None:
    rejected: list[ParseError] = []
    client = FileReplayClient("gone", tmp_path / "nope.jsonl", make_parser("envelope", "gone"),
                              lambda r: None, on_reject=rejected.append)
    await client.run()
    assert len(rejected) == 1 and "cannot read nope.jsonl" in rejected[0].reason
    assert client.health.total == 0
    assert client.health.summary(time.time()).startswith("replay failed: cannot read nope.jsonl")


# -- the manager ---------------------------------------------------------------------------------


class LineParser(FormatParser):
    """A tiny test format, "id,rounds" per line; "boom" makes it crash (a parser bug)."""

    name = "lines"
    description = "test"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        for line in data.decode().splitlines():
            if line == "boom":
                raise RuntimeError("index out of range")
            ident, _, rounds = line.partition(",")
            if not rounds.isdigit():
                yield self.fail(f"bad rounds {rounds!r}", line)
                continue
            yield ShotAlert(id=ident, version=1, detected_at=1.7e9, lat=39.3, lon=-76.6,
                            alert_type=AlertType.SINGLE, rounds=int(rounds))


def factory(fmt: str, source: str) -> FormatParser:
    return LineParser(source) if fmt == "lines" else make_parser(fmt, source)


def test_safe_parse_turns_a_parser_crash_into_a_parse_error() -> None:
    out = list(safe_parse(LineParser("x"), b"a,1\nboom\nb,2"))
    assert isinstance(out[0], ShotAlert) and isinstance(out[1], ParseError)
    assert out[1].reason == "parser failed: RuntimeError: index out of range" and out[1].raw == b"a,1\nboom\nb,2"


@pytest.mark.asyncio
async def test_manager_runs_sse_websocket_and_poll_feeds_on_one_session(session: aiohttp.ClientSession) -> None:
    demo = DemoFeedServer(heartbeat_s=0.1, garbage_every=5, clock=lambda: time.time() - 3.4)
    demo_port = await demo.start()
    ws = WsFeedServer()
    ws_runner, ws_port = await serve(ws.app)
    poll = PollServer(b"P-1,3\nP-2,x\nboom\n")
    poll_runner, poll_port = await serve(poll.app)
    raw = WsFeedServer()  # another format over a WebSocket
    raw_runner, raw_port = await serve(raw.app)
    quarantine = Quarantine(clock=time.time)
    sink = Sink()
    configs = [
        FeedConfig("demo", "sse", url=f"http://127.0.0.1:{demo_port}/events", stall_timeout_s=1.0),
        FeedConfig("cot", "websocket", url=f"ws://127.0.0.1:{ws_port}/ws", stall_timeout_s=1.0),
        FeedConfig("cad", "poll", format="lines", url=f"http://127.0.0.1:{poll_port}/doc", interval_s=0.05,
                   stall_timeout_s=1.0),
        FeedConfig("lines-ws", "websocket", format="lines", url=f"ws://127.0.0.1:{raw_port}/ws", stall_timeout_s=1.0),
    ]
    manager = FeedManager(configs, sink, quarantine, session, parser_factory=factory, rng=random.Random(7))
    manager.start()
    try:
        for i in range(1, 21):
            demo.publish(shot(i))
            ws.publish(envelope(i, shot(100 + i), sent_at=time.time() + 5.0))
        ws.publish("{not json", event=False)
        raw.publish("W-1,2\nW-2,4")
        await until(lambda: len(sink.items) >= 20 + 20 + 1 + 2, what="records from every feed")
        await until(lambda: len(quarantine) >= 4 + 1 + 2)
        health = {h.name: h for h in manager.health()}
    finally:
        await manager.stop()
        for runner in (ws_runner, poll_runner, raw_runner):
            await runner.cleanup()
        await demo.stop()
    by_feed: dict[str, list[str]] = {}
    for item, feed in sink.items:
        by_feed.setdefault(feed, []).append(item.id)
    assert sum(h.reconnects for h in health.values()) == 0, [h.last_error for h in health.values()]
    assert by_feed["demo"] == [f"S-{i}" for i in range(1, 21)]
    assert by_feed["cot"] == [f"S-{100 + i}" for i in range(1, 21)]
    assert by_feed["cad"] == ["P-1"] and by_feed["lines-ws"] == ["W-1", "W-2"]
    reasons = {(q.source, q.reason.split(" (")[0]) for q in quarantine.items()}
    assert ("demo", "not JSON") in reasons and ("cot", "not JSON") in reasons
    assert ("cad", "bad rounds 'x'") in reasons
    assert ("cad", "parser failed: RuntimeError: index out of range") in reasons
    assert health["demo"].rejected == 4 and health["cot"].rejected == 1 and health["cad"].rejected == 2
    assert health["demo"].received == 20 and health["cot"].received == 20 and health["lines-ws"].received == 2
    # The demo's clock runs 3.4 s behind ours, the WebSocket sender's 5 s ahead.
    assert health["demo"].clock_skew_s == pytest.approx(3.4, abs=0.3)
    assert re.search(r"· clock skew \+3\.\d s$", health["demo"].summary(time.time()))  # + network latency
    assert health["cot"].clock_skew_s == pytest.approx(-5.0, abs=0.3)
    assert re.search(r"· clock skew -[45]\.\d s$", health["cot"].summary(time.time()))
    assert health["cad"].clock_skew_s is None and "skew" not in health["cad"].summary(time.time())
    assert all(h.state is FeedState.STOPPED for h in manager.health())


@pytest.mark.asyncio
async def test_manager_sse_in_another_format_gets_raw_data(session: aiohttp.ClientSession) -> None:
    from opscenter.sse import format_sse

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(format_sse(1, "L-1,1\nL-2,2") + format_sse(2, "L-3,z") + format_sse(None, "L-4,4"))
        await asyncio.sleep(5)
        return resp

    app = web.Application()
    app.router.add_get("/events", events)
    runner, port = await serve(app)
    quarantine = Quarantine(clock=time.time)
    sink = Sink()
    manager = FeedManager([FeedConfig("lines", "sse", format="lines", url=f"http://127.0.0.1:{port}/events")],
                          sink, quarantine, session, parser_factory=factory)
    manager.start()
    try:
        await until(lambda: len(sink.items) == 3 and len(quarantine) == 1)
        health = manager.health()[0]
    finally:
        await manager.stop()
        await runner.cleanup()
    assert sink.ids() == ["L-1", "L-2", "L-4"]
    assert health.received == 3 and health.rejected == 1 and health.last_seq == 2
    assert quarantine.items()[0].source == "lines" and quarantine.items()[0].raw == b"L-3,z"


@pytest.mark.asyncio
async def test_manager_replays_a_file_feed(session: aiohttp.ClientSession) -> None:
    quarantine = Quarantine(clock=time.time)
    sink = Sink()
    config = FeedConfig("briefing", "replay", path=EXAMPLES / "briefing.jsonl", speed=0)
    manager = FeedManager([config], sink, quarantine, session)
    manager.start()
    try:
        await until(lambda: manager.health()[0].state is FeedState.STOPPED and len(sink.items) == 15)
    finally:
        await manager.stop()
    assert {feed for _, feed in sink.items} == {"briefing"} and len(set(sink.ids())) == 15


def test_skew_meter_is_a_running_median() -> None:
    meter = SkewMeter(window=5)
    assert meter.median() is None
    for offset in (1.0, 100.0, 2.0, 3.0, -50.0):
        meter.add(1000.0 + offset, 1000.0)
    assert meter.median() == 2.0
    for _ in range(5):
        meter.add(10.0, 12.5)
    assert meter.median() == -2.5 and len(meter) == 5
    health = FeedHealth("x", "u", state=FeedState.CONNECTED, last_message_at=9.5, clock_skew_s=-2.5)
    assert health.summary(10.0) == "connected · last msg 0.5 s · clock skew -2.5 s"
    assert "skew" not in FeedHealth("x", "u", clock_skew_s=1.9).summary(10.0)


@pytest.fixture
def tls_server_cert(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.mark.asyncio
async def test_tls_certificates_are_verified(session: aiohttp.ClientSession, tls_server_cert: tuple[Path, Path]) -> None:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_server_cert)
    server = PollServer(b"doc")
    runner = web.AppRunner(server.app, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    bodies: list[bytes] = []
    slow = {**FAST, "stall_timeout": 3.0}  # the TLS handshake must fail on the certificate, not time out
    clients = [
        PollingFeedClient("p", f"https://127.0.0.1:{port}/doc", bodies.append, interval_s=0.05, session=session, **slow),
        WebSocketFeedClient("w", f"wss://127.0.0.1:{port}/doc", bodies.append, session=session, **slow),
    ]
    tasks = [await start(c) for c in clients]
    try:
        await until(lambda: all(c.health.reconnects >= 1 for c in clients))
        errors = [c.health.last_error for c in clients]
    finally:
        for client, task in zip(clients, tasks):
            await finish(client, task)
        await runner.cleanup()
    assert bodies == [] and server.requests == 0
    assert all("certificate" in e.lower() for e in errors), errors
