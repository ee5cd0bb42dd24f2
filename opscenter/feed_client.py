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
import random
import time
from dataclasses import replace
from typing import Callable, Mapping

import aiohttp

from .domain import FeedEvent
from .envelope import decode_event
from .errors import FeedError, ParseError
from .feed_health import FeedHealth, FeedState
from .reconnect import ReconnectingConnector, Stalled
from .reconnect import backoff_delay, redact_url

__all__ = ["SseFeedClient", "backoff_delay", "redact_url"]
from .sse import EPOCH_HEADER, MAX_MESSAGE_BYTES, SseComment, SseMessage, SseParser

logger = logging.getLogger(__name__)

# Bytes decoded between yields to the event loop: ~50 events, a few milliseconds of work.
_READ_BYTES = 16 * 1024


class SseFeedClient(ReconnectingConnector):
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
        super().__init__(
            name, url, session=session, stall_timeout=stall_timeout, backoff_initial=backoff_initial,
            backoff_max=backoff_max, rng=rng, headers=dict(headers or {}), clock=clock,
            on_state=on_state, secrets=secrets,
        )
        self._on_event = on_event
        self._on_reject = on_reject
        self._max_message_bytes = max_message_bytes
        # Raw mode, for formats other than the envelope: each message's data goes to `on_data`
        # unparsed; numeric ids still drive resume and de-duplication.
        self._on_data = on_data
        self._health.last_seq = last_seq
        self.epoch: str | None = epoch

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
                raise Stalled(f"no data for {stall_timeout:g} s") from None
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
        if health.attempt:
            health.attempt = 0  # bytes arrive: the next failure starts backoff afresh
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
