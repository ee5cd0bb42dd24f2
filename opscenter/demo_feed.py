"""A live event feed over Server-Sent Events, driven by the simulator or by `publish()`.

The desktop app runs it inside its own event loop so the demo exercises the same path as a
real remote feed (HTTP, SSE framing, resume, reconnects); `run_demo_feed` serves it standalone.

Every payload gets the next `seq` and is framed once, when produced, into a bounded log. Each
stream keeps a cursor into that log, so a client resuming with `Last-Event-ID` (or `?since=`)
gets exactly what it missed, then the live tail, with no gap and no duplicate. Fault injection
(`drop_clients`, `stall`, `garbage_every`) is part of the server because the client's recovery
paths are only trustworthy if tests can drive them on demand.
"""

from __future__ import annotations

import asyncio
import secrets
import logging
import sys
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from aiohttp import web

from .domain import Deletion, Record
from .envelope import encode_event
from .sse import EPOCH_HEADER, HEARTBEAT, format_sse

logger = logging.getLogger(__name__)

Payload = Record | Deletion


class EventSource(Protocol):
    """Anything that yields the payloads produced up to a (simulated) time, e.g. the Simulator."""

    def advance_to(self, t: float) -> list[Payload]: ...


class EventLog:
    """Numbered SSE frames, oldest dropped past `maxlen`; outlives a server so restarts resume."""

    def __init__(self, maxlen: int = 200_000, epoch: str | None = None) -> None:
        self.maxlen = maxlen
        # Names this numbering of events. A server restarted with a new log starts at seq 1
        # again; the epoch tells a resuming client its old seq means nothing here.
        self.epoch = epoch or secrets.token_hex(6)
        self._frames: list[bytes] = []
        self._first_seq = 1  # seq of self._frames[0]

    @property
    def first_seq(self) -> int:
        return self._first_seq

    @property
    def last_seq(self) -> int:
        return self._first_seq + len(self._frames) - 1

    @property
    def next_seq(self) -> int:
        return self.last_seq + 1

    def __len__(self) -> int:
        return len(self._frames)

    def append(self, seq: int, frame: bytes) -> None:
        """Add the frame for `seq`, which must be `next_seq` (the log has no holes)."""
        if seq != self.next_seq:
            raise ValueError(f"expected seq {self.next_seq}, got {seq}")
        self._frames.append(frame)
        if len(self._frames) > 2 * self.maxlen:
            # Trim in bulk so appends stay amortised O(1).
            cut = len(self._frames) - self.maxlen
            del self._frames[:cut]
            self._first_seq += cut

    def after(self, seq: int, limit: int = 2000) -> tuple[bytes, int]:
        """Up to `limit` retained frames with a seq above `seq`, joined, and the new cursor.

        The limit keeps one write (and the memory it pins) bounded for a client far behind.
        """
        start = max(seq + 1, self._first_seq) - self._first_seq
        if start >= len(self._frames):
            return b"", seq
        frames = self._frames[start : start + limit]
        return b"".join(frames), self._first_seq + start + len(frames) - 1


@dataclass(eq=False)
class _Stream:
    request: web.Request
    since: int
    dropped: bool = False


def _parse_seq(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


class DemoFeedServer:
    """Serves `GET /events` (SSE) and `GET /health` (JSON) from an event source or `publish()`."""

    def __init__(
        self,
        source: EventSource | None = None,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
        tick_s: float = 0.1,
        start: float | None = None,
        heartbeat_s: float = 2.0,
        garbage_every: int = 0,
        log: EventLog | None = None,
        max_log: int = 200_000,
        epoch: str | None = None,
    ) -> None:
        self.source = source
        self.speed = speed
        self.clock = clock
        self.tick_s = tick_s
        self.heartbeat_s = heartbeat_s
        self.garbage_every = garbage_every
        self.log = log if log is not None else EventLog(max_log, epoch)
        self._sim_origin = start if start is not None else float(getattr(source, "now", None) or clock())
        self._sim_now = self._sim_origin
        self._wall0 = clock()
        self._streams: set[_Stream] = set()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._data_evt = asyncio.Event()
        self._control_evt = asyncio.Event()
        self._stalled_until = 0.0  # loop time
        self._closing = False
        self.port: int | None = None

    # -- producing -------------------------------------------------------------------------

    @property
    def sim_now(self) -> float:
        return self._sim_now

    @property
    def clients(self) -> int:
        return len(self._streams)

    def publish(self, payload: Payload) -> int:
        """Append one payload to the log and wake the streams; returns its seq."""
        seq = self._append(payload, self.clock())
        self._wake_data()
        return seq

    def _append(self, payload: Payload, sent_at: float) -> int:
        seq = self.log.next_seq
        frame = format_sse(seq, encode_event(seq, sent_at, payload))
        if self.garbage_every > 0 and seq % self.garbage_every == 0:
            # Shares the id of the event before it, so a resume from it loses nothing.
            frame += format_sse(seq, f"{{not json, garbage after seq {seq}")
        self.log.append(seq, frame)
        return seq

    def advance(self) -> int:
        """Bring the source up to the current sim time; returns how many events it produced."""
        if self.source is None:
            return 0
        now = self.clock()
        self._sim_now = self._sim_origin + (now - self._wall0) * self.speed
        payloads = self.source.advance_to(self._sim_now)
        for payload in payloads:
            self._append(payload, now)
        if payloads:
            self._wake_data()
        return len(payloads)

    async def _tick(self) -> None:
        while True:
            try:
                self.advance()
            except Exception:
                logger.exception("demo feed source failed; continuing")
            await asyncio.sleep(self.tick_s)

    def _wake_data(self) -> None:
        evt, self._data_evt = self._data_evt, asyncio.Event()
        evt.set()

    def _wake_all(self) -> None:
        evt, self._control_evt = self._control_evt, asyncio.Event()
        evt.set()
        self._wake_data()

    # -- fault injection -------------------------------------------------------------------

    def drop_clients(self) -> int:
        """Abort every open stream mid-flight (as a network cut would); returns how many."""
        count = 0
        for stream in list(self._streams):
            stream.dropped = True
            transport = stream.request.transport
            if transport is not None:
                transport.abort()
            count += 1
        self._wake_all()
        return count

    def stall(self, seconds: float) -> None:
        """Send nothing at all — not even heartbeats or response headers — for `seconds`."""
        self._stalled_until = asyncio.get_running_loop().time() + max(0.0, seconds)
        self._wake_all()

    def _stall_left(self) -> float:
        return self._stalled_until - asyncio.get_running_loop().time()

    # -- HTTP ------------------------------------------------------------------------------

    async def _wait(self, evt: asyncio.Event, timeout: float) -> None:
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await evt.wait()
        except TimeoutError:
            pass

    async def _wait_out_stall(self, stream: _Stream) -> None:
        while not (stream.dropped or self._closing):
            left = self._stall_left()
            if left <= 0:
                return
            await self._wait(self._control_evt, left)

    def _resume_point(self, request: web.Request) -> int:
        their_epoch = request.headers.get(EPOCH_HEADER) or request.query.get("epoch")
        if their_epoch and their_epoch != self.log.epoch:
            return 0  # another stream's seq: send everything we have
        seq = _parse_seq(request.headers.get("Last-Event-ID"))
        if seq is None:
            seq = _parse_seq(request.query.get("since"))
        return seq or 0

    async def _events(self, request: web.Request) -> web.StreamResponse:
        stream = _Stream(request, self._resume_point(request))
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache, no-store",
                "X-Accel-Buffering": "no",
                EPOCH_HEADER: self.log.epoch,
            }
        )
        self._streams.add(stream)
        try:
            await self._wait_out_stall(stream)
            if not (stream.dropped or self._closing):
                await resp.prepare(request)
                await self._pump(stream, resp)
        except ConnectionError:
            pass  # the client went away or was dropped on purpose
        finally:
            self._streams.discard(stream)
        if stream.dropped or self._closing:
            transport = request.transport
            if transport is not None:
                transport.abort()
        return resp

    async def _pump(self, stream: _Stream, resp: web.StreamResponse) -> None:
        loop = asyncio.get_running_loop()
        cursor = stream.since
        last_write = loop.time()
        while not (stream.dropped or self._closing):
            if self._stall_left() > 0:
                await self._wait_out_stall(stream)
                last_write = loop.time()
                continue
            wake = self._data_evt
            chunk, cursor = self.log.after(cursor)
            if chunk:
                await resp.write(chunk)
                last_write = loop.time()
                continue
            idle = loop.time() - last_write
            if idle >= self.heartbeat_s:
                await resp.write(HEARTBEAT)
                last_write = loop.time()
                continue
            await self._wait(wake, self.heartbeat_s - idle)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "seq": self.log.last_seq,
                "first_seq": self.log.first_seq,
                "clients": self.clients,
                "sim_time": self._sim_now,
                "stalled": self._stall_left() > 0,
            }
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0 picks a free port); returns the port actually bound."""
        if self._runner is not None:
            raise RuntimeError("demo feed already started")
        self._closing = False
        self._data_evt = asyncio.Event()
        self._control_evt = asyncio.Event()
        # Sim time carries on from where a previous run stopped.
        self._sim_origin = self._sim_now
        self._wall0 = self.clock()
        app = web.Application()
        app.router.add_get("/events", self._events)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        if self.source is not None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="demo-feed-tick")
        return self.port

    async def stop(self) -> None:
        """Stop ticking, cut every stream and close the listener; the log is kept."""
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        self._closing = True
        self.drop_clients()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


async def run_demo_feed(
    host: str = "127.0.0.1",
    port: int = 8765,
    scenario: str = "normal",
    seed: int = 1,
    speed: float = 1.0,
    start: float | None = None,
) -> None:
    """Serve the simulated city until cancelled (the `opscenter demo-feed` command)."""
    from .city import build_demo_city
    from .simulator import Simulator

    start = time.time() if start is None else start
    simulator = Simulator(build_demo_city(), scenario=scenario, seed=seed, start=start)
    # Same scenario, seed and start give the same events in the same order: the same epoch,
    # so clients resume across a restart of this process exactly where they were.
    server = DemoFeedServer(simulator, speed=speed, start=start, epoch=f"{scenario}-{seed}-{start:.0f}")
    actual = await server.start(host, port)
    print(f"demo feed: http://{host}:{actual}/events (scenario {scenario}, seed {seed}, speed {speed:g}x)",
          file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
