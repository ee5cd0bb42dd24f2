"""Subscribe to a Server-Sent Events feed and keep subscribed, without losing or repeating events.

The client resumes with `Last-Event-ID` (the last seq it handed on), drops anything at or below
that seq, and reconnects after any failure — refused connection, HTTP error, cut stream, or a
stall where not even a heartbeat arrives — with capped exponential backoff and full jitter, so a
wall of screens does not hammer a recovering server in lockstep. Bad messages go to `on_reject`
and the feed carries on. `health` says at every moment whether the data can be trusted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from dataclasses import replace
from typing import Callable, Mapping

import aiohttp
from yarl import URL

from .domain import FeedEvent
from .envelope import decode_event
from .errors import FeedError, ParseError
from .feed_health import FeedHealth, FeedState, SkewMeter
from .sse import EPOCH_HEADER, MAX_MESSAGE_BYTES, SseComment, SseMessage, SseParser

logger = logging.getLogger(__name__)

_SECRET_QUERY_KEYS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth", "sig", "signature"}
)
_MAX_ERROR_TEXT = 200
# Bytes decoded between yields to the event loop: ~50 events, a few milliseconds of work.
_READ_BYTES = 16 * 1024


def redact_url(url: str) -> str:
    """The url without user:password and with secret-looking query values masked."""
    parsed = URL(url)
    if parsed.user is not None or parsed.password is not None:
        parsed = parsed.with_user(None)
    if any(key.lower() in _SECRET_QUERY_KEYS for key in parsed.query):
        parsed = parsed.with_query(
            [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in parsed.query.items()]
        )
    return str(parsed)


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Full-jitter delay before reconnect `attempt` (1-based): uniform in [0, min(max, initial*2^(n-1))]."""
    ceiling = min(maximum, initial * 2.0 ** min(max(attempt - 1, 0), 60))
    return rng.uniform(0.0, ceiling)


class _Stalled(FeedError):
    """No bytes at all for longer than the stall timeout."""


def _describe(exc: BaseException) -> str:
    """Short operator-facing text for a connection failure."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate rejected: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return f"cannot resolve host {exc.host}: {os_error.strerror}"
        if os_error.errno and os_error.errno > 0:
            return os.strerror(os_error.errno).lower()
        return str(os_error) or type(os_error).__name__
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connection lost mid-stream"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


class SseFeedClient:
    """One subscription to one SSE feed; `run()` until `stop()`, reading `health` at any time."""

    def __init__(
        self,
        name: str,
        url: str,
        on_event: Callable[[FeedEvent], None],
        on_reject: Callable[[ParseError], None] | None = None,
        session: aiohttp.ClientSession | None = None,
        stall_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rng: random.Random | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        *,
        last_seq: int = 0,
        on_state: Callable[[FeedHealth], None] | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        epoch: str | None = None,
        on_data: Callable[[bytes], None] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self._url = url
        self._on_event = on_event
        self._on_reject = on_reject
        self._on_state = on_state
        self._session = session
        self.stall_timeout = stall_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rng = rng if rng is not None else random.Random()
        self._headers = dict(headers or {})
        self._clock = clock
        self._max_message_bytes = max_message_bytes
        parsed = URL(url)
        self._secrets = [s for s in (parsed.password, parsed.raw_password, *secrets) if s]
        # Raw mode, for formats other than the envelope: each message's data goes to `on_data`
        # unparsed; numeric ids still drive resume and de-duplication.
        self._on_data = on_data
        self.skew = SkewMeter()
        self._health = FeedHealth(name=name, url=redact_url(url), last_seq=last_seq)
        self.epoch: str | None = epoch
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._healthy = False

    @property
    def health(self) -> FeedHealth:
        """A snapshot; the client keeps updating its own copy."""
        return replace(self._health, clock_skew_s=self.skew.median())

    def count_delivered(self, events: int = 1, sent_at: float | None = None) -> None:
        """Raw mode: the consumer turned a message into `events` records (sent_at: clock skew)."""
        now = self._clock()
        self._health.received += events
        self._health.last_event_at = now
        if sent_at is not None:
            self.skew.add(now, sent_at)

    def count_rejected(self, errors: int = 1) -> None:
        """Raw mode: the consumer refused a message (it went to the quarantine)."""
        self._health.rejected += errors

    def _set_state(self, state: FeedState) -> None:
        self._health.state = state
        if self._on_state is not None:
            self._on_state(replace(self._health))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:_MAX_ERROR_TEXT]

    async def run(self) -> None:
        """Connect, read and reconnect until `stop()`; returns once stopped."""
        if self._task is not None:
            raise RuntimeError(f"feed {self.name} is already running")
        self._task = asyncio.current_task()
        session = self._session
        own_session = session is None
        try:
            if own_session:
                session = aiohttp.ClientSession()
            assert session is not None
            await self._loop(session)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            if own_session and session is not None:
                await session.close()
            self._health.next_retry_at = None
            self._health.connected_since = None
            self._set_state(FeedState.STOPPED)
            self._task = None

    async def stop(self) -> None:
        """Stop reading and wait for `run()` to return."""
        self._stopping = True
        task = self._task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _loop(self, session: aiohttp.ClientSession) -> None:
        health = self._health
        while not self._stopping:
            self._set_state(FeedState.CONNECTING)
            self._healthy = False
            stalled = False
            try:
                await self._connect_and_read(session)
                error = "stream closed by server"
            except _Stalled as exc:
                stalled, error = True, str(exc)
            except FeedError as exc:
                error = str(exc)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = _describe(exc)
            if self._stopping:
                return
            health.attempt += 1
            health.reconnects += 1
            health.last_error = self._scrub(error)
            health.connected_since = None
            delay = backoff_delay(health.attempt, self.backoff_initial, self.backoff_max, self._rng)
            health.next_retry_at = self._clock() + delay
            if stalled:
                health.stalls += 1
            self._set_state(FeedState.STALE if stalled else FeedState.RECONNECTING)
            logger.info("feed %s: %s; retry %d in %.2f s", self.name, health.last_error, health.attempt, delay)
            await asyncio.sleep(delay)
            health.next_retry_at = None

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **self._headers}
        if self._health.last_seq > 0:
            headers["Last-Event-ID"] = str(self._health.last_seq)
            if self.epoch:
                headers[EPOCH_HEADER] = self.epoch
        # The session's own total timeout must not cut a healthy stream; stalls are ours to detect.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.stall_timeout, sock_read=None)
        try:
            async with asyncio.timeout(self.stall_timeout):
                resp = await session.get(self._url, headers=headers, timeout=timeout)
        except TimeoutError:
            raise FeedError(f"no response within {self.stall_timeout:g} s") from None
        try:
            await self._read(resp)
        except BaseException:
            resp.close()
            raise
        resp.release()

    async def _read(self, resp: aiohttp.ClientResponse) -> None:
        if resp.status != 200:
            raise FeedError(f"HTTP {resp.status} {resp.reason or ''}".rstrip())
        content_type = resp.headers.get("Content-Type", "")
        if not content_type.startswith("text/event-stream"):
            raise FeedError(f"not an event stream (Content-Type {content_type[:60]!r})")
        health = self._health
        epoch = resp.headers.get(EPOCH_HEADER)
        if epoch and epoch != self.epoch:
            if self.epoch is not None:
                # The server's numbering restarted: seqs start over, records stay idempotent.
                logger.warning("feed %s: new stream epoch %s (was %s); resynchronising",
                               self.name, epoch, self.epoch)
                health.last_seq = 0
                health.resyncs += 1
            self.epoch = epoch
        health.connected_since = self._clock()
        health.last_error = ""
        self._set_state(FeedState.CONNECTED)
        parser = SseParser(self._max_message_bytes)
        content = resp.content
        stall_timeout = self.stall_timeout
        while True:
            try:
                async with asyncio.timeout(stall_timeout):
                    chunk = await content.read(_READ_BYTES)
            except TimeoutError:
                raise _Stalled(f"no data for {stall_timeout:g} s") from None
            if not chunk:
                return
            self._handle_chunk(parser, chunk)
            if len(chunk) == _READ_BYTES:
                # More is probably buffered and read() would not suspend: let the UI breathe.
                await asyncio.sleep(0)

    def _handle_chunk(self, parser: SseParser, chunk: bytes) -> None:
        """Parse and deliver everything one network chunk completes (kept tight: it is the hot path)."""
        health = self._health
        now = self._clock()
        health.last_message_at = now
        items = parser.feed(chunk)
        if not items:
            return
        if not self._healthy:
            self._healthy = True
            health.attempt = 0
        name = self.name
        on_event = self._on_event
        on_reject = self._on_reject
        if self._on_data is not None:
            self._deliver_raw(items)
            return
        skew = self.skew
        for item in items:
            if type(item) is SseComment:
                continue
            try:
                event = decode_event(item.data, source=name)  # type: ignore[union-attr]
            except ParseError as err:
                health.rejected += 1
                if on_reject is not None:
                    try:
                        on_reject(err)
                    except Exception:
                        logger.exception("feed %s: reject handler failed", name)
                continue
            if event.seq <= health.last_seq:
                health.duplicates += 1
                continue
            event = replace(event, received_at=now)
            skew.add(now, event.sent_at)
            health.last_seq = event.seq
            health.received += 1
            health.last_event_at = now
            try:
                on_event(event)
            except Exception:
                logger.exception("feed %s: consumer failed on seq %d", name, event.seq)

    def _deliver_raw(self, items: list[SseComment | SseMessage]) -> None:
        """Hand each message's data on as bytes; a numeric id is a seq for resume. The consumer
        counts what it made of them (`count_delivered`, `count_rejected`).

        Messages without their own id inherit the last one (SSE rules), so only an id *below*
        the last delivered one counts as a repeat; equal ids pass and the store absorbs them.
        """
        health = self._health
        on_data = self._on_data
        assert on_data is not None
        for item in items:
            if type(item) is SseComment:
                continue
            ident = item.id  # type: ignore[union-attr]
            if ident.isascii() and ident.isdigit() and len(ident) <= 18:
                seq = int(ident)
                if seq < health.last_seq:
                    health.duplicates += 1
                    continue
                health.last_seq = seq
            try:
                on_data(item.data.encode("utf-8"))  # type: ignore[union-attr]
            except Exception:
                logger.exception("feed %s: consumer failed on a message", self.name)
