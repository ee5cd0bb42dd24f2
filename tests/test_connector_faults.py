"""The fault suite: feeds that misbehave in every way we know of, and not one alert lost or doubled.

A local server injects a shuffled mix of faults while it publishes shot alerts; the alerts go
through the feed manager into a real LiveStore. At the end the set of ids the store received
equals the set published, each id was ADDED exactly once, and every garbage frame is in the
quarantine under the feed's name.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from opscenter.domain import AlertType, Deletion, Record, ShotAlert
from opscenter.envelope import encode_event
from opscenter.feed_config import FeedConfig
from opscenter.feed_health import FeedHealth, FeedState
from opscenter.feed_manager import FeedManager
from opscenter.quarantine import Quarantine
from opscenter.sse import EPOCH_HEADER, HEARTBEAT, format_sse
from opscenter.store import LiveStore, Outcome
from tests.test_connectors import WsFeedServer, serve, until

STALL_TIMEOUT = 0.3
FAST = dict(stall_timeout_s=STALL_TIMEOUT, backoff_initial_s=0.01, backoff_max_s=0.1)


def alert(ident: str, at: float, version: int = 1) -> ShotAlert:
    return ShotAlert(id=ident, version=version, detected_at=at, lat=39.29, lon=-76.61,
                     alert_type=AlertType.MULTIPLE, rounds=3)


@dataclass
class Ledger:
    """What was published and what the store made of what arrived."""

    store: LiveStore = field(default_factory=lambda: LiveStore(clock=time.time, retention_s=10**9))
    published: set[str] = field(default_factory=set)
    outcomes: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    garbage: set[str] = field(default_factory=set)
    states: list[FeedHealth] = field(default_factory=list)

    def on_record(self, item: Record | Deletion, feed: str) -> None:
        self.outcomes[item.id][self.store.apply(item).value] += 1

    def delivered(self) -> set[str]:
        return set(self.outcomes)

    def assert_exactly_once(self, quarantine: Quarantine, feed: str) -> None:
        assert self.delivered() == self.published, (
            f"lost {sorted(self.published - self.delivered())[:5]}, extra {sorted(self.delivered() - self.published)[:5]}")
        added = {ident: c[Outcome.ADDED.value] for ident, c in self.outcomes.items()}
        assert set(added.values()) == {1}, {k: v for k, v in added.items() if v != 1}
        assert self.store.counts[Outcome.ADDED.value] == len(self.published)
        items = quarantine.items()
        assert all(q.source == feed and "not JSON" in q.reason for q in items)
        seen = {q.raw.decode().split()[-1] for q in items}
        assert seen == self.garbage, f"garbage missing from the quarantine: {sorted(self.garbage - seen)}"


class FaultySseServer:
    """An SSE feed whose every connection can be made to fail a different way.

    The log holds (key, frame): events under their seq, a garbage frame under the seq of the
    event after it, so a resume from seq k re-sends whatever came after event k.
    """

    def __init__(self, stall_s: float = 2 * STALL_TIMEOUT) -> None:
        self.stall_s = stall_s
        self.keys: list[int] = []
        self.frames: list[bytes] = []
        self.next_seq = 1
        self.connection_faults: deque[str] = deque()  # "http500", "half_open": for the next connections
        self.stream_fault: str | None = None  # "drop_mid", "cut", "stall", "dup_frame": on the live stream
        self.applied: Counter[str] = Counter()
        self.resumes: list[int] = []
        self.current: object | None = None
        self._wake = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    def publish(self, payload: Record | Deletion) -> None:
        seq = self.next_seq
        self.next_seq += 1
        self._append(seq, format_sse(seq, encode_event(seq, time.time(), payload)))

    def publish_garbage(self, marker: str) -> None:
        self._append(self.next_seq, format_sse(None, "{not json " + marker))

    def _append(self, key: int, frame: bytes) -> None:
        self.keys.append(key)
        self.frames.append(frame)
        self._wake.set()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/events", self.events)
        self.runner, self.port = await serve(app, self.port)

    async def restart(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()
        self.applied["restart"] += 1
        await asyncio.sleep(0.05)  # down for a moment: refused connections
        await self.start()

    async def events(self, request: web.Request) -> web.StreamResponse:
        if self.connection_faults:
            fault = self.connection_faults.popleft()
            self.applied[fault] += 1
            if fault == "http500":
                return web.Response(status=500, text="injected")
            await asyncio.sleep(self.stall_s * 2)  # half-open: accepted, never answered
            return web.Response(status=503)
        since = int(request.headers.get("Last-Event-ID", "0"))
        if request.headers.get(EPOCH_HEADER, "fault-epoch") != "fault-epoch":
            since = 0
        self.resumes.append(since)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", EPOCH_HEADER: "fault-epoch"})
        await resp.prepare(request)
        self.current = object()  # faults go to the newest stream only
        try:
            await self._stream(request, resp, since)
        except ConnectionError:
            pass  # the client went away
        return resp

    async def _stream(self, request: web.Request, resp: web.StreamResponse, since: int) -> None:
        stream = self.current
        cursor = bisect.bisect_right(self.keys, since)
        loop = asyncio.get_running_loop()
        last_write = loop.time()
        transport = request.transport
        assert transport is not None
        while True:
            fault = self.stream_fault if self.current is stream else None
            if fault is not None and not (fault == "drop_mid" and cursor >= len(self.frames)):
                self.stream_fault = None
                self.applied[fault] += 1
                if fault == "dup_frame":
                    await resp.write(next(f for f in reversed(self.frames[:cursor]) if f.startswith(b"id:")))
                    continue
                if fault == "drop_mid":
                    frame = self.frames[cursor]
                    await resp.write(frame[: len(frame) // 2])
                    await asyncio.sleep(0.005)
                elif fault == "stall":
                    await asyncio.sleep(self.stall_s)  # not even a heartbeat
                transport.abort()
                return
            if cursor < len(self.frames):
                end = min(cursor + 25, len(self.frames))
                await resp.write(b"".join(self.frames[cursor:end]))
                cursor, last_write = end, loop.time()
                continue
            if loop.time() - last_write >= 0.1:
                await resp.write(HEARTBEAT)
                last_write = loop.time()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 0.05)
            except TimeoutError:
                pass


FAULT_MIX = {
    "drop_mid": 18, "stall": 10, "half_open": 10, "http500": 14, "garbage": 16,
    "dup_frame": 10, "dup_event": 6, "reorder": 6, "restart": 10,
}


@pytest.mark.asyncio
async def test_sse_feed_survives_100_faults_without_losing_or_doubling_an_alert() -> None:
    faults = [kind for kind, count in FAULT_MIX.items() for _ in range(count)]
    assert len(faults) == 100
    rng = random.Random(2024)
    rng.shuffle(faults)
    server = FaultySseServer()
    await server.start()
    ledger = Ledger()
    quarantine = Quarantine(clock=time.time, capacity=10_000)
    began = time.monotonic()
    t = 1.78e9
    async with aiohttp.ClientSession() as session:
        config = FeedConfig("faulty", "sse", url=f"http://127.0.0.1:{server.port}/events", **FAST)
        manager = FeedManager([config], ledger.on_record, quarantine, session, rng=random.Random(5),
                              on_state=ledger.states.append)
        manager.start()
        try:
            for number, fault in enumerate(faults):
                for k in range(10):
                    t += 1.0
                    ident = f"SST-{number:03d}-{k}"
                    server.publish(alert(ident, t))
                    ledger.published.add(ident)
                await _inject(server, ledger, fault, number, t)
                await asyncio.sleep(rng.uniform(0, 0.02))
            for k in range(10):
                ident = f"SST-end-{k}"
                server.publish(alert(ident, t + k))
                ledger.published.add(ident)
            await until(lambda: ledger.delivered() >= ledger.published, timeout=20, what="every alert delivered")
            await asyncio.sleep(0.2)  # anything doubled would arrive now
            health = manager.health()[0]
        finally:
            await manager.stop()
            assert server.runner is not None
            await server.runner.cleanup()
    elapsed = time.monotonic() - began
    ledger.assert_exactly_once(quarantine, "faulty")
    applied = dict(server.applied)
    for kind in ("drop_mid", "stall", "half_open", "http500", "dup_frame", "restart"):
        assert applied.get(kind) == FAULT_MIX[kind], applied
    stale = sum(1 for s in ledger.states if s.state is FeedState.STALE)
    assert health.stalls >= FAULT_MIX["stall"] and stale >= FAULT_MIX["stall"]
    assert health.duplicates >= 1 and health.resyncs == 0
    assert health.rejected >= FAULT_MIX["garbage"] and len(quarantine) == health.rejected
    assert sum(c[Outcome.DUPLICATE.value] for c in ledger.outcomes.values()) >= FAULT_MIX["dup_event"]
    assert sum(c[Outcome.STALE.value] for c in ledger.outcomes.values()) >= FAULT_MIX["reorder"]
    assert len(server.resumes) >= 30 and all(since > 0 for since in server.resumes[2:])  # resumed, never from 0
    print(f"\nSSE fault suite: {len(ledger.published)} alerts, faults {applied}, "
          f"reconnects {health.reconnects}, stalls {health.stalls}, seq duplicates dropped {health.duplicates}, "
          f"quarantined {len(quarantine)}, {elapsed:.1f} s")


async def _inject(server: FaultySseServer, ledger: Ledger, fault: str, number: int, t: float) -> None:
    if fault == "garbage":
        marker = f"garbage-{number}"
        server.publish_garbage(marker)
        ledger.garbage.add(marker)
    elif fault == "dup_event":  # the same alert again under a new seq (an upstream repeat)
        server.publish(alert(f"SST-{number:03d}-0", t - 9.0))
    elif fault == "reorder":  # a reviewer's version 2 overtakes version 1, and a late detection
        ident = f"SST-{number:03d}-r"
        server.publish(alert(ident, t - 30.0, version=2))
        server.publish(alert(ident, t - 30.0, version=1))
        ledger.published.add(ident)
    elif fault == "restart":
        await server.restart()
    else:
        before = server.applied[fault]
        if fault in ("http500", "half_open"):
            server.connection_faults.append(fault)
            server.stream_fault = "cut"  # the next connection meets the fault
        else:
            server.stream_fault = fault
        await until(lambda: server.applied[fault] > before, timeout=5, what=f"fault {fault} applied")


# -- WebSocket -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_websocket_feed_survives_30_faults_with_resume() -> None:
    mix = {"drop_mid": 6, "stall": 4, "close": 4, "http500": 5, "garbage": 5, "dup": 3, "restart": 3}
    faults = [kind for kind, count in mix.items() for _ in range(count)]
    random.Random(7).shuffle(faults)
    server = WsFeedServer(expect_subscribe=True, stall_s=2 * STALL_TIMEOUT)
    runner, port = await serve(server.app)
    ledger = Ledger()
    seq_of: dict[str, int] = {}
    quarantine = Quarantine(clock=time.time)

    async def resume(send) -> None:  # type: ignore[no-untyped-def]
        delivered = [seq_of[i] for i in ledger.outcomes if i in seq_of]
        await send(json.dumps({"resume_after": max(delivered, default=0)}))

    def publish(ident: str, at: float) -> None:
        seq = server.next_key
        seq_of[ident] = seq
        server.publish(encode_event(seq, time.time(), alert(ident, at)))
        ledger.published.add(ident)

    t = 1.78e9
    async with aiohttp.ClientSession() as session:
        config = FeedConfig("tak", "websocket", url=f"ws://127.0.0.1:{port}/ws", heartbeat_s=0.05, **FAST)
        manager = FeedManager([config], ledger.on_record, quarantine, session, rng=random.Random(8),
                              on_open={"tak": resume}, on_state=ledger.states.append)
        manager.start()
        try:
            for number, fault in enumerate(faults):
                for k in range(8):
                    t += 1.0
                    publish(f"WS-{number:02d}-{k}", t)
                if fault == "garbage":
                    server.publish(f"{{not json garbage-{number}", event=False)
                    ledger.garbage.add(f"garbage-{number}")
                elif fault == "restart":
                    await runner.cleanup()
                    await asyncio.sleep(0.05)
                    runner, _ = await serve(server.app, port)
                else:
                    if fault == "http500":
                        server.refuse += 1
                    before = len(server.applied)
                    server.inject("close" if fault == "http500" else fault)
                    await until(lambda: len(server.applied) > before, timeout=5, what=f"fault {fault}")
            await until(lambda: ledger.delivered() >= ledger.published, timeout=10, what="every alert delivered")
            await asyncio.sleep(0.2)
            health = manager.health()[0]
        finally:
            await manager.stop()
            await runner.cleanup()
    ledger.assert_exactly_once(quarantine, "tak")
    assert Counter(server.applied) == Counter({k: v for k, v in mix.items() if k not in ("garbage", "restart", "http500")}) + Counter({"close": mix["http500"]})
    assert server.refuse == 0  # every injected HTTP 500 was met by a reconnect
    assert health.stalls >= mix["stall"] and health.rejected >= mix["garbage"]
    assert sum(c[Outcome.DUPLICATE.value] for c in ledger.outcomes.values()) >= 1  # the "dup" resends
    print(f"\nWebSocket fault run: {len(ledger.published)} alerts, {len(faults)} faults, reconnects "
          f"{health.reconnects}, stalls {health.stalls}, quarantined {len(quarantine)}")


# -- polling -------------------------------------------------------------------------------------


class FaultyDocument:
    """A polled JSON-lines document of every event so far, with an ETag; faults per request."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.version = 0
        self.faults: deque[str] = deque()  # "http500", "hang", "truncate"
        self.applied: Counter[str] = Counter()
        self.requests = 0
        self.bodies = 0
        self.app = web.Application()
        self.app.router.add_get("/doc", self.handler)

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.version += 1

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.faults:
            fault = self.faults.popleft()
            self.applied[fault] += 1
            if fault == "http500":
                return web.Response(status=500, text="injected")
            if fault == "hang":
                await asyncio.sleep(2 * STALL_TIMEOUT)
                return web.Response(status=503)
            body = "\n".join(self.lines).encode()
            resp = web.StreamResponse(headers={"ETag": f'"v{self.version}"'})
            resp.content_length = len(body)
            await resp.prepare(request)
            await resp.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.abort()
            return resp
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        self.bodies += 1
        return web.Response(body="\n".join(self.lines).encode(), headers={"ETag": etag})


@pytest.mark.asyncio
async def test_polled_feed_survives_faults_and_outages() -> None:
    mix = {"http500": 6, "hang": 4, "truncate": 6, "garbage": 5, "outage": 3}
    faults = [kind for kind, count in mix.items() for _ in range(count)]
    random.Random(9).shuffle(faults)
    doc = FaultyDocument()
    runner, port = await serve(doc.app)
    ledger = Ledger()
    quarantine = Quarantine(clock=time.time)
    seq = 0
    t = 1.78e9
    async with aiohttp.ClientSession() as session:
        config = FeedConfig("cap", "poll", url=f"http://127.0.0.1:{port}/doc", interval_s=0.02, **FAST)
        manager = FeedManager([config], ledger.on_record, quarantine, session, rng=random.Random(10),
                              on_state=ledger.states.append)
        manager.start()
        try:
            for number, fault in enumerate(faults):
                for k in range(6):
                    seq, t = seq + 1, t + 1.0
                    ident = f"CAP-{number:02d}-{k}"
                    doc.add(encode_event(seq, time.time(), alert(ident, t)))
                    ledger.published.add(ident)
                if fault == "garbage":
                    doc.add(f"{{not json garbage-{number}")
                    ledger.garbage.add(f"garbage-{number}")
                elif fault == "outage":  # down for longer than the stall timeout
                    await runner.cleanup()
                    await until(lambda: manager.health()[0].state is FeedState.STALE, timeout=3, what="STALE")
                    runner, _ = await serve(doc.app, port)
                else:
                    before = doc.applied[fault]
                    doc.faults.append(fault)
                    await until(lambda: doc.applied[fault] > before, timeout=5, what=f"fault {fault}")
                await asyncio.sleep(0.03)
            await until(lambda: ledger.delivered() >= ledger.published, timeout=10, what="every alert delivered")
            await until(lambda: manager.health()[0].state is FeedState.CONNECTED, timeout=3)
            health = manager.health()[0]
        finally:
            await manager.stop()
            await runner.cleanup()
    ledger.assert_exactly_once(quarantine, "cap")
    assert dict(doc.applied) == {k: v for k, v in mix.items() if k not in ("garbage", "outage")}
    assert health.stalls >= mix["outage"] and health.reconnects >= mix["http500"] + mix["hang"] + mix["truncate"]
    assert doc.bodies < doc.requests / 2  # most polls were answered 304
    print(f"\npoll fault run: {len(ledger.published)} alerts, {len(faults)} faults, {doc.requests} requests, "
          f"{doc.bodies} bodies, stalls {health.stalls}, quarantined {len(quarantine)}")
