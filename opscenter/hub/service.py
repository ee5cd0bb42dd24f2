"""The hub running beside a Runtime: commit loop, retention loop and, if asked, the network face.

The desktop app starts one in-process (listening on loopback so a second window can join);
`opscenter hub` starts the same thing with no window.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..retention import Retention
from ..schema import SCHEMA_VERSION
from ..users import User, UserDirectory
from ..workflow import State
from ..missions import MissionBook
from ..outbound_config import build_endpoints, install_endpoints
from .core import HubCore
from .missions_service import MissionsService, add_mission_routes
from .server import build_app

if TYPE_CHECKING:
    from ..runtime import Runtime

logger = logging.getLogger(__name__)


def getpass_user() -> str:
    """Who started the hub (the login name), for the audit trail."""
    import getpass

    try:
        return getpass.getuser() or "system"
    except Exception:
        return "system"


@dataclass(slots=True)
class HubConfig:
    host: str = "127.0.0.1"
    port: int | None = 8770  # None: no network face (one window, or tests)
    commit_s: float = 0.05  # clients see changes within this plus the network
    retention_interval_s: float = 6 * 3600.0
    port_fallback: bool = True  # a second embedded hub on one machine takes a free port instead


class HubService:
    def __init__(self, runtime: "Runtime", config: HubConfig) -> None:
        self.runtime = runtime
        self.config = config
        # `[[endpoint]]` secrets are read first: a missing one (CredentialError naming the endpoint)
        # stops start-up before anything is open
        endpoints = build_endpoints(runtime.config.endpoints or [])
        # the store's clock, read each time: a faster demo swaps it in after this point
        self.core = HubCore(runtime.store, runtime.journal, runtime.audit, clock=lambda: runtime.store.clock())
        self.users = UserDirectory(self.core.db, clock=runtime.config.clock)
        self.retention = Retention(self.core.db, runtime.audit, clock=runtime.config.clock,
                                   interval_s=config.retention_interval_s)
        self.retention.listeners.append(self._forget_purged)
        self.missions = _missions_service(runtime, self.core)
        if endpoints:
            install_endpoints(self.missions, endpoints)  # routed by topic, each in its own format
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.url: str | None = None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._commit_loop(), name="hub-commit"))
        self._tasks.append(asyncio.create_task(self._retention_loop(), name="hub-retention"))
        self.missions.start()
        if self.config.port is None:
            self._audit_start()
            return
        app = build_app(self.core, self.users, map_info=self.map_info, feed_health=self.runtime.feed_health,
                        retention=self.retention,
                        archive_path=self.runtime.config.db_path)
        add_mission_routes(app, self.missions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = self.config.port
        try:
            site = web.TCPSite(self._runner, self.config.host, port)
            await site.start()
        except OSError as exc:
            if not self.config.port_fallback:
                raise
            logger.warning("hub port %s in use (%s); taking a free one", port, exc)
            site = web.TCPSite(self._runner, self.config.host, 0)
            await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{self.config.host}:{bound}"
        logger.info("hub listening on %s", self.url)
        self._audit_start()

    def _audit_start(self) -> None:
        """What this hub serves, and from where, on the trail: a changed configuration (another
        feed, another address, a new webhook) shows as a changed entry at the next start."""
        cfg = self.runtime.config
        details = {"url": self.url or "", "feeds": [f.name for f in cfg.feeds or []] or ["demo"],
                   "endpoints": [e.name for e in cfg.endpoints or []], "schema": SCHEMA_VERSION,
                   "epoch": self.core.log.epoch}
        self.core.audit_action(User(getpass_user(), "admin"), "hub.start", self.url or "in-process", details)

    def map_info(self) -> dict[str, Any]:
        rt = self.runtime
        return {"districts": rt.districts.names, "boundaries": rt.boundaries_geojson(),
                "center": list(rt.map_center), "tiles_url": rt.config.tiles_url}

    def local_ops(self, name: str, role: str):
        """Operations for a window in this process (the embedded default)."""
        from .local import LocalOps

        user = User(name, role)
        self.core.audit_action(user, "session.start", name, {"role": role, "where": "in-process"})
        return LocalOps(self.core, user)

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.commit_s)
            try:
                self.core.commit()
            except Exception:  # a full disk must not stop the wall; it retries and says so
                logger.exception("hub commit failed; retrying")

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.retention.next_run() - self.runtime.config.clock()))
            try:
                self.core.commit()
                self.retention.purge()
            except Exception:
                logger.exception("retention purge failed")
                await asyncio.sleep(60.0)

    def _forget_purged(self, removed: dict[str, int]) -> None:
        if "closed_alerts" not in removed:
            return
        kept = {row[0] for row in self.core.db.execute("SELECT alert_id FROM alert_workflow")}
        for flow in self.core.workflow.all():
            if flow.state is State.CLOSED and flow.alert_id not in kept:
                self.core.workflow.forget(flow.alert_id)
                for ann in self.core.annotations.for_target(f"shot:{flow.alert_id}", include_deleted=True):
                    self.core.annotations.forget(ann.id)

    async def stop(self) -> None:
        from ..runtime import cancel_all

        await cancel_all(self._tasks)
        await self.missions.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.core.close()
        self.missions.book.close()


def _missions_service(runtime: "Runtime", core: HubCore) -> MissionsService:
    """Missions in the app's SQLite file (in memory with --no-db), district from the boundaries."""
    book = MissionBook(runtime.config.db_path or ":memory:", audit=runtime.audit, clock=core.clock)
    return MissionsService(core, book, None, [],
                           district_of=lambda lat, lon: runtime.assigner.assign(lat, lon)[0])
