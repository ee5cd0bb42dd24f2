"""A window joined to a remote hub: the same face the wall expects of a Runtime, fed by a mirror.

`opscenter run --hub URL` starts this instead of feeds: no upstream connections, no database
of its own; the hub holds the truth and this keeps a live copy of it. The token comes from the
environment or the OS keyring (the sign-in dialog stores it there once) and is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from ..errors import OpsCenterError
from ..feed_health import FeedHealth, FeedState
from ..quarantine import Quarantine
from ..store import LiveStore
from ..workflow import State
from .client import HubClient

logger = logging.getLogger(__name__)
KEYRING_SERVICE = "opscenter-hub"
TOKEN_ENV = "OPSCENTER_HUB_TOKEN"


def stored_token(url: str) -> str | None:
    """The token for this hub: the environment first, then the OS keyring."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token.strip()
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, url)
    except Exception as exc:  # no keyring backend on this machine: sign in each time instead
        logger.info("no OS keyring available (%s)", type(exc).__name__)
        return None


def remember_token(url: str, token: str) -> bool:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, url, token)
        return True
    except Exception as exc:
        logger.warning("could not keep the hub token in the OS keyring (%s); set %s instead",
                       type(exc).__name__, TOKEN_ENV)
        return False


@dataclass
class _Districts:
    names: list[str] = field(default_factory=list)


class RemoteRuntime:
    """What `ui.app.Wall` reads from a Runtime, served from a hub's mirror."""

    def __init__(self, url: str, token: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.store = LiveStore(clock=clock)
        self.quarantine = Quarantine(clock=clock)  # the hub keeps the feeds' quarantine
        self.districts = _Districts()
        self.tiles_url: str | None = None
        self.hub = None
        self.client: HubClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[Any] | None = None
        self._upstream_task: asyncio.Task[Any] | None = None
        self._upstream: list[FeedHealth] = []
        self._boundaries: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        self._center: tuple[float, float] = (0.0, 0.0)

    async def start(self) -> None:
        if not self.token:
            raise OpsCenterError(f"no token for {self.url}: ask an admin for one "
                                 f"(opscenter hub user add NAME --role ROLE) and sign in, or set {TOKEN_ENV}")
        self._session = aiohttp.ClientSession()
        try:
            self.client = HubClient(self.url, self.token, self._session, store=self.store,
                                    on_reject=self.quarantine.add)
            await self.client.sign_in()
            info = await self.client.map_info()
        except BaseException:
            await self.stop()
            raise
        self.districts.names = list(info.get("districts") or [])
        self._boundaries = info.get("boundaries") or self._boundaries
        center = info.get("center") or (0.0, 0.0)
        self._center = (float(center[0]), float(center[1]))
        self.tiles_url = info.get("tiles_url")
        self._task = asyncio.create_task(self.client.run(), name="hub-stream")
        self._upstream_task = asyncio.create_task(self._poll_upstream(), name="hub-feeds")

    async def _poll_upstream(self, every_s: float = 5.0) -> None:
        """The hub's own feeds, so this window's header says whether the gunfire feed is down."""
        while True:
            try:
                rows = await self.client.feeds() if self.client is not None else []
                self._upstream = [_health(row) for row in rows if isinstance(row, dict)]
            except OpsCenterError:
                self._upstream = []  # the hub connection's own state already says why
            await asyncio.sleep(every_s)

    @property
    def ops(self) -> HubClient:
        assert self.client is not None
        return self.client

    def boundaries_geojson(self) -> dict[str, Any]:
        return self._boundaries

    @property
    def map_center(self) -> tuple[float, float]:
        return self._center

    def feed_health(self) -> list[FeedHealth]:
        return ([self.client.health] if self.client is not None else []) + self._upstream

    def acknowledge(self, alert_id: str, by: str) -> bool:
        """The queue's Space key: send it, and let the hub's answer update every screen."""
        if self.client is None or self.client.workflow.get(alert_id).state is not State.NEW:
            return False
        future = asyncio.ensure_future(self.client.acknowledge(alert_id))
        future.add_done_callback(_log_failure)
        return True

    async def stop(self) -> None:
        if self._upstream_task is not None:
            self._upstream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._upstream_task
            self._upstream_task = None
        if self.client is not None:
            await self.client.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None


def _health(row: dict[str, Any]) -> FeedHealth:
    """A feed's health as the hub reported it (a copy: this window does not run the feed)."""
    try:
        state = FeedState(row.get("state"))
    except ValueError:
        state = FeedState.CONNECTING
    last = row.get("last_event_at")
    last = float(last) if isinstance(last, (int, float)) else None
    return FeedHealth(name=str(row.get("name", "feed"))[:40], url=str(row.get("url", ""))[:200], state=state,
                      received=int(row.get("received") or 0), last_error=str(row.get("last_error") or "")[:200],
                      last_event_at=last, last_message_at=last)


def _log_failure(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("hub refused: %s", future.exception())
