"""What every live connector shares: reconnecting with capped, jittered backoff; stall and
state reporting; counters; and keeping secrets out of every text it shows or logs.

One loop for SSE, WebSocket and polling alike, so a fix to reconnecting is a fix everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from dataclasses import replace
from typing import Callable

import aiohttp
from yarl import URL

from .errors import FeedError
from .feed_health import FeedHealth, FeedState, SkewMeter

logger = logging.getLogger(__name__)

_SECRET_QUERY_KEYS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth", "sig", "signature"}
)
MAX_ERROR_TEXT = 200


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


class Stalled(FeedError):
    """The feed went silent (or kept failing) for longer than its stall timeout."""


def describe_error(exc: BaseException) -> str:
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



class ConnectorBase:
    """What every connector reports the same way: health snapshots, counters, state changes
    (with a listener that can never break the feed), and a stop that waits for `run()`."""

    def __init__(self, name: str, health: FeedHealth, clock: Callable[[], float],
                 on_state: Callable[[FeedHealth], None] | None) -> None:
        self.name = name
        self._health = health
        self._clock = clock
        self._on_state = on_state
        self.skew = SkewMeter()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def health(self) -> FeedHealth:
        """A snapshot; the connector keeps updating its own copy."""
        return replace(self._health, clock_skew_s=self.skew.median())

    def count_delivered(self, events: int = 1, sent_at: float | None = None) -> None:
        """The parser turned a message into `events` records (sent_at: for clock skew)."""
        now = self._clock()
        self._health.received += events
        self._health.last_event_at = now
        if sent_at is not None:
            self.skew.add(now, sent_at)

    def count_rejected(self, errors: int = 1) -> None:
        self._health.rejected += errors

    def _set_state(self, state: FeedState) -> None:
        self._health.state = state
        if self._on_state is not None:
            try:
                self._on_state(self.health)
            except Exception:
                logger.exception("feed %s: state listener failed", self.name)

    async def run(self) -> None:
        """Work until done or `stop()`; a stop's cancellation ends quietly, any other propagates."""
        if self._task is not None:
            raise RuntimeError(f"feed {self.name} is already running")
        self._stopping = False  # a stopped connector may be run again (a window rejoining its hub)
        self._task = asyncio.current_task()
        try:
            await self._work()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            self._finished()
            self._set_state(FeedState.STOPPED)
            self._task = None

    async def _work(self) -> None:
        raise NotImplementedError

    def _finished(self) -> None:
        """Tidy health once `run()` ends (before the STOPPED state is announced)."""

    async def stop(self) -> None:
        """Stop and wait for `run()` to return."""
        self._stopping = True
        task = self._task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.wait([task])


class ReconnectingConnector(ConnectorBase):
    """Base of every connector (SSE, WebSocket, polling): run/stop, state, backoff, counters.

    Subclasses implement `_connect_and_read(session)`, which returns when the server ends the
    connection and raises on failure (`Stalled` when the feed went silent).
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        stall_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rng: random.Random | None = None,
        headers: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        on_state: Callable[[FeedHealth], None] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        super().__init__(name, FeedHealth(name=name, url=redact_url(url)), clock, on_state)
        self._url = url
        self._session = session
        self.stall_timeout = stall_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rng = rng if rng is not None else random.Random()
        self._headers = dict(headers or {})
        # Everything secret this connector knows, scrubbed from every error text it keeps or logs.
        parsed = URL(url)
        url_secrets = (parsed.password, parsed.raw_password)
        self._secrets = [s for s in (*url_secrets, *secrets) if s]

    # -- life cycle ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:MAX_ERROR_TEXT]

    def _mark_alive(self) -> None:
        """Bytes arrived: the connection works, so the next failure starts backoff afresh."""
        health = self._health
        health.last_message_at = self._clock()
        health.attempt = 0

    async def _work(self) -> None:
        """Connect, read and reconnect until `stop()`, on the shared session or one of our own."""
        if self._session is not None:
            await self._loop(self._session)
            return
        async with aiohttp.ClientSession() as session:
            await self._loop(session)

    def _finished(self) -> None:
        self._health.next_retry_at = None
        self._health.connected_since = None

    def _is_stalled(self, exc: BaseException | None) -> bool:
        return isinstance(exc, Stalled)

    async def _loop(self, session: aiohttp.ClientSession) -> None:
        health = self._health
        while not self._stopping:
            if health.state is not FeedState.STALE:
                self._set_state(FeedState.CONNECTING)
            failure: BaseException | None = None
            try:
                await self._connect_and_read(session)
                error = "connection closed by server"
            except FeedError as exc:
                failure, error = exc, str(exc)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                failure, error = exc, describe_error(exc)
            if self._stopping:
                return
            stalled = self._is_stalled(failure)
            health.attempt += 1
            health.reconnects += 1
            health.last_error = self._scrub(error)
            health.connected_since = None
            delay = backoff_delay(health.attempt, self.backoff_initial, self.backoff_max, self._rng)
            health.next_retry_at = self._clock() + delay
            if stalled and health.state is not FeedState.STALE:
                health.stalls += 1
            self._set_state(FeedState.STALE if stalled else FeedState.RECONNECTING)
            logger.info("feed %s: %s; retry %d in %.2f s", self.name, health.last_error, health.attempt, delay)
            await asyncio.sleep(delay)
            health.next_retry_at = None

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        raise NotImplementedError
