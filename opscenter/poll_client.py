"""Poll an HTTP document (a CAP alert list, a USGS GeoJSON summary, a CAD export) on a schedule.

Conditional requests (If-None-Match / If-Modified-Since) keep a 60-second poll cheap: a 304
means "nothing new" and still proves the source alive. A 200 whose body is byte-identical to
the last one (servers without validators) is not handed on again. Failed polls retry with the
shared backoff; a source that has not answered successfully for longer than the stall timeout
is STALE, so a dead CAP server never leaves old alerts on the wall looking current.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, Callable

import aiohttp

from .reconnect import ReconnectingConnector, Stalled
from .errors import FeedError
from .feed_health import FeedState
from .formats.base import MAX_DOCUMENT

logger = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024


class PollingFeedClient(ReconnectingConnector):
    """GET `url` every `interval_s`; each new body goes to `on_message` as bytes."""

    def __init__(
        self,
        name: str,
        url: str,
        on_message: Callable[[bytes], None],
        *,
        interval_s: float = 60.0,
        request_timeout_s: float | None = None,
        max_body_bytes: int = MAX_DOCUMENT,
        **options: Any,
    ) -> None:
        options.setdefault("stall_timeout", max(3.0 * interval_s, 10.0))
        super().__init__(name, url, **options)
        self._on_message = on_message
        self.interval_s = interval_s
        self.request_timeout_s = request_timeout_s if request_timeout_s is not None else min(
            self.stall_timeout, max(interval_s, 5.0))
        self._max_body_bytes = max_body_bytes
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._body_hash: bytes | None = None
        self._started_at: float | None = None
        self.requests = 0  # polls sent, answered or not
        self.not_modified = 0  # 304 answers

    def _is_stalled(self, exc: BaseException | None) -> bool:
        """STALE once no poll has succeeded for the stall timeout (or since start)."""
        if isinstance(exc, Stalled):
            return True
        last_ok = self._health.last_message_at
        since = last_ok if last_ok is not None else self._started_at
        return since is not None and self._clock() - since > self.stall_timeout

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        """Poll until a poll fails (raising), keeping the interval between poll starts."""
        loop = asyncio.get_running_loop()
        if self._started_at is None:
            self._started_at = self._clock()
        while True:
            began = loop.time()
            await self._poll_once(session)
            await asyncio.sleep(max(0.0, self.interval_s - (loop.time() - began)))

    async def _poll_once(self, session: aiohttp.ClientSession) -> None:
        headers = dict(self._headers)
        if self._etag is not None:
            headers["If-None-Match"] = self._etag
        if self._last_modified is not None:
            headers["If-Modified-Since"] = self._last_modified
        timeout = aiohttp.ClientTimeout(total=self.request_timeout_s)
        self.requests += 1
        try:
            async with session.get(self._url, headers=headers, timeout=timeout) as resp:
                if resp.status == 304:
                    self.not_modified += 1
                    self._succeeded()
                    return
                if resp.status != 200:
                    raise FeedError(f"HTTP {resp.status} {resp.reason or ''}".rstrip())
                body = await self._read_body(resp)
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        except TimeoutError:
            raise FeedError(f"no answer within {self.request_timeout_s:g} s") from None
        self._etag, self._last_modified = etag, modified
        self._succeeded()
        digest = hashlib.sha256(body).digest()
        if digest == self._body_hash:
            self._health.duplicates += 1
            return
        self._body_hash = digest
        try:
            self._on_message(body)
        except Exception:
            logger.exception("feed %s: consumer failed on a document", self.name)

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self._max_body_bytes:
            raise FeedError(f"document of {declared} bytes exceeds {self._max_body_bytes}")
        parts: list[bytes] = []
        size = 0
        while chunk := await resp.content.read(_READ_CHUNK):
            size += len(chunk)
            if size > self._max_body_bytes:
                raise FeedError(f"document larger than {self._max_body_bytes} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def _succeeded(self) -> None:
        health = self._health
        self._mark_alive()
        health.last_error = ""
        if health.state is not FeedState.CONNECTED:
            health.connected_since = self._clock()
            self._set_state(FeedState.CONNECTED)
