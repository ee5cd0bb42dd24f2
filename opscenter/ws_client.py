"""Subscribe to a WebSocket feed (CoT from a TAK server, NENA-STA-024 style subscriptions, ...).

Each text or binary message goes to `on_message` as bytes. The client pings on its own schedule
and counts every frame — data, ping or pong — as life, so a quiet but healthy feed stays
CONNECTED while a hung server (no pong either) turns STALE after the stall timeout and is
reconnected with the shared backoff. Protocols that must subscribe after connecting get an
`on_open(send)` hook, and may reply to messages at any time with `send()`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import aiohttp

from .reconnect import ReconnectingConnector, Stalled, describe_error
from .errors import FeedError
from .feed_health import FeedState
from .sse import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

Send = Callable[[str | bytes], Awaitable[None]]
OnOpen = Callable[[Send], Awaitable[None]]


class WebSocketFeedClient(ReconnectingConnector):
    """One subscription to one WebSocket feed; `run()` until `stop()`, reading `health` any time."""

    def __init__(
        self,
        name: str,
        url: str,
        on_message: Callable[[bytes], None],
        *,
        on_open: OnOpen | None = None,
        heartbeat_s: float | None = None,
        protocols: tuple[str, ...] = (),
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        **options: Any,
    ) -> None:
        super().__init__(name, url, **options)
        self._on_message = on_message
        self._on_open = on_open
        # Pings well inside the stall timeout, so a healthy but idle feed never looks stalled.
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else self.stall_timeout / 3.0
        self._protocols = protocols
        self._max_message_bytes = max_message_bytes
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def send(self, data: str | bytes) -> None:
        """Send one message on the open connection (a subscription, an acknowledgement)."""
        ws = self._ws
        if ws is None or ws.closed:
            raise FeedError(f"feed {self.name}: not connected")
        if isinstance(data, bytes):
            await ws.send_bytes(data)
        else:
            await ws.send_str(data)

    async def _connect_and_read(self, session: aiohttp.ClientSession) -> None:
        timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=min(1.0, self.stall_timeout))
        try:
            async with asyncio.timeout(self.stall_timeout):
                ws = await session.ws_connect(
                    self._url, headers=self._headers, autoping=False, protocols=self._protocols,
                    max_msg_size=self._max_message_bytes, timeout=timeout,
                )
        except TimeoutError:
            raise FeedError(f"no response within {self.stall_timeout:g} s") from None
        self._ws = ws
        pinger: asyncio.Task[None] | None = None
        try:
            health = self._health
            health.connected_since = self._clock()
            health.last_error = ""
            self._set_state(FeedState.CONNECTED)
            if self._on_open is not None:
                try:
                    await self._on_open(self.send)
                except (FeedError, aiohttp.ClientError, OSError):
                    raise
                except Exception as exc:
                    logger.exception("feed %s: on_open failed", self.name)
                    raise FeedError(f"subscription failed: {type(exc).__name__}: {exc}") from None
            pinger = asyncio.create_task(self._ping(ws), name=f"ws-ping-{self.name}")
            await self._read(ws)
        finally:
            self._ws = None
            if pinger is not None:
                pinger.cancel()
            if not ws.closed:
                await ws.close()

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await ws.ping()
            except (aiohttp.ClientError, OSError, RuntimeError):
                return  # the reader sees the broken connection and reconnects

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        stall_timeout = self.stall_timeout
        on_message = self._on_message
        while True:
            try:
                msg = await ws.receive(timeout=stall_timeout)
            except TimeoutError:
                raise Stalled(f"no data for {stall_timeout:g} s") from None
            kind = msg.type
            if kind is aiohttp.WSMsgType.TEXT or kind is aiohttp.WSMsgType.BINARY:
                self._mark_alive()
                data = msg.data.encode("utf-8") if kind is aiohttp.WSMsgType.TEXT else msg.data
                try:
                    on_message(data)
                except Exception:
                    logger.exception("feed %s: consumer failed on a message", self.name)
            elif kind is aiohttp.WSMsgType.PING:
                self._mark_alive()
                await ws.pong(msg.data)
            elif kind is aiohttp.WSMsgType.PONG:
                self._mark_alive()
            elif kind is aiohttp.WSMsgType.ERROR:
                exc = ws.exception()
                raise FeedError(describe_error(exc) if exc is not None else "connection error")
            else:  # CLOSE, CLOSING, CLOSED
                return
