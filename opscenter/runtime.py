"""The running core without a face: demo feed, feed client, store, quarantine and journal.

The desktop app, the end-to-end tests and the benchmarks all start the same `Runtime`, so what
they measure is what the wall runs. Everything here lives on one asyncio loop (under Qt, the
qasync loop), which is why the store needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import aiohttp

from .background import run_in_thread
from .audit import AuditLog
from .boundaries import Assigner, BoundarySet, load_boundaries
from .city import City, build_demo_city
from .demo_feed import DemoFeedServer
from .domain import Deletion, FeedEvent, Kind, Record
from .feed_client import SseFeedClient
from .feed_config import FeedConfig
from .feed_manager import FeedManager
from .feed_health import FeedHealth
from .persistence import SqliteJournal, WriterLock
from .quarantine import Quarantine
from .store import LiveStore
from .tiles import MbTiles, TileServer

if TYPE_CHECKING:
    from .briefing_config import BriefingConfig
    from .hub.service import HubConfig, HubService
    from .outbound_config import EndpointConfig


@dataclass(slots=True)
class RuntimeConfig:
    scenario: str = "normal"
    seed: int = 1
    speed: float = 1.0
    feed_url: str | None = None  # a remote feed instead of the in-process demo
    db_path: Path | None = Path("var/opscenter.sqlite3")
    demo_host: str = "127.0.0.1"
    demo_port: int = 0
    retention_s: float = 12 * 3600.0
    unit_stale_s: float = 60.0
    flush_s: float = 0.5
    prune_s: float = 60.0
    stall_timeout_s: float = 10.0
    start: float | None = None  # demo start time (epoch); default now
    districts_path: Path | None = None  # GeoJSON or shapefile of districts (default: the demo city's)
    posts_path: Path | None = None
    tiles_path: Path | None = None  # an MBTiles file, served on loopback to the map
    tiles_url: str | None = None  # or a center's own XYZ tile server
    feeds: list[FeedConfig] | None = None  # from `--config`; None: the embedded demo alone
    with_demo: bool = False  # the demo beside configured feeds
    hub: "HubConfig | None" = None  # the shared picture for other windows (the app sets one)
    endpoints: "list[EndpointConfig] | None" = None  # `[[endpoint]]`: webhooks, secrets resolved by the hub
    briefing: "BriefingConfig | None" = None  # `[briefing]`; None: the wall's own rotation
    clock: Callable[[], float] = field(default=time.time)


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel background tasks and wait until each has ended (its errors are its own to log)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()


class Runtime:
    """Starts and stops the pieces in the right order; owns the one ClientSession."""

    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        cfg = self.config
        self.city: City = build_demo_city()
        if cfg.districts_path is not None:
            self.districts = load_boundaries(cfg.districts_path, layer="district")
            self.posts = load_boundaries(cfg.posts_path, layer="post") if cfg.posts_path else None
        else:
            self.districts = BoundarySet.from_city(self.city, "district")
            self.posts = BoundarySet.from_city(self.city, "post")
        self.assigner = Assigner(self.districts, self.posts)
        self.store = LiveStore(clock=cfg.clock, retention_s=cfg.retention_s, unit_stale_s=cfg.unit_stale_s)
        self.quarantine = Quarantine(clock=cfg.clock)
        self.journal: SqliteJournal | None = None
        self.audit: AuditLog | None = None
        self.demo: DemoFeedServer | None = None
        self.clients: list[SseFeedClient] = []
        self.manager: FeedManager | None = None
        self.feed_url = cfg.feed_url
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.loaded_from_disk = 0
        self.tile_server: TileServer | None = None
        self.tiles_url: str | None = cfg.tiles_url
        self.hub: HubService | None = None
        self._writer_lock: WriterLock | None = None

    async def start(self) -> None:
        """Start everything; on any failure (a missing credential, a port in use) stop what
        did start, so nothing is left half-open, and re-raise."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        cfg = self.config
        if cfg.tiles_path is not None:
            self.tile_server = TileServer(MbTiles(cfg.tiles_path))
            await self.tile_server.start()
            self.tiles_url = self.tile_server.url_template
        if cfg.db_path is not None:
            hint = f" http://{cfg.hub.host}:{cfg.hub.port}" if cfg.hub is not None and cfg.hub.port else " URL"
            self._writer_lock = WriterLock(cfg.db_path, hint)
            self.journal = SqliteJournal(cfg.db_path)
            self.loaded_from_disk = self.journal.load_into(self.store)
            self.journal.attach(self.store)
            self.audit = AuditLog(cfg.db_path)
        if cfg.hub is not None:
            from .hub.service import HubService

            # before any feed starts, so the hub numbers every change from the first one
            self.hub = HubService(self, cfg.hub)
            await self.hub.start()
            if self._writer_lock is not None and self.hub.url:
                self._writer_lock.note(f"hub {self.hub.url}")
        self._session = aiohttp.ClientSession()
        if cfg.feeds:
            self.manager = FeedManager(cfg.feeds, lambda item, _name: self.apply(item), self.quarantine,
                                       self._session, clock=cfg.clock)
            self.manager.start()
        if cfg.feeds and not cfg.with_demo and self.feed_url is None:
            self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
            return
        if self.feed_url is None:
            from .simulator import Simulator

            start = cfg.start if cfg.start is not None else cfg.clock()
            if cfg.db_path is not None and not cfg.feeds:
                from .demo_history import seed_demo_history

                # the demo alone: its invented past, once per database, so figures and risk show
                await run_in_thread(seed_demo_history, cfg.db_path, self.city, start, cfg.seed)
            # A wall restarted on its kept picture needs no invented history in front of it.
            warmup = {"warmup_s": 0.0} if self.loaded_from_disk else {}
            simulator = Simulator(self.city, scenario=cfg.scenario, seed=cfg.seed, start=start, **warmup)
            self.demo = DemoFeedServer(simulator, speed=cfg.speed, clock=cfg.clock, start=start)
            if cfg.speed != 1.0:
                # A faster (or slower) demo runs on its own clock: ages, staleness and the wall's
                # clock follow simulated time, or every alert would look as if from the future.
                wall0 = cfg.clock()
                self.store.clock = lambda: start + (cfg.clock() - wall0) * cfg.speed
            port = await self.demo.start(cfg.demo_host, cfg.demo_port)
            self.feed_url = f"http://{cfg.demo_host}:{port}/events"
        client = SseFeedClient(
            "demo" if self.demo is not None else "feed", self.feed_url, on_event=self.on_event,
            on_reject=self.quarantine.add, session=self._session,
            stall_timeout=cfg.stall_timeout_s, clock=cfg.clock,
        )
        self.clients.append(client)
        self._tasks.append(asyncio.create_task(client.run(), name="feed-client"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))

    def on_event(self, event: FeedEvent) -> None:
        self.apply(event.payload)

    def apply(self, item: Record | Deletion) -> None:
        """Every record from every feed goes through here: place it, then store it."""
        self.store.apply(self.place(item))

    def place(self, item: Record | Deletion) -> Record | Deletion:
        """Fill in district and post, from the boundaries, for records whose feed left them out."""
        if isinstance(item, Deletion) or getattr(item, "district", None) != "":
            return item
        lat, lon = getattr(item, "lat", None), getattr(item, "lon", None)
        if lat is None or lon is None:
            return item
        district, post = self.assigner.assign(lat, lon)
        changes: dict[str, str] = {}
        if district:
            changes["district"] = district
        if post and hasattr(item, "post") and not item.post:  # type: ignore[union-attr]
            changes["post"] = post
        return dataclasses.replace(item, **changes) if changes else item

    def boundaries_geojson(self) -> dict:
        features = self.districts.to_geojson("district")["features"]
        if self.posts is not None:
            features = features + self.posts.to_geojson("post")["features"]
        return {"type": "FeatureCollection", "features": features}

    @property
    def map_center(self) -> tuple[float, float]:
        boxes = [a.bbox for a in self.districts.areas]
        return ((min(b[1] for b in boxes) + max(b[3] for b in boxes)) / 2,
                (min(b[0] for b in boxes) + max(b[2] for b in boxes)) / 2)

    def acknowledge(self, alert_id: str, by: str) -> bool:
        """An operator's acknowledgement: into the store, and onto the audit trail (through the
        hub when there is one, so every window hears of it)."""
        if self.hub is not None:
            from .users import User
            from .workflow import WorkflowError

            try:
                self.hub.core.alert_action(User(by, "operator"), "acknowledge", alert_id)
            except WorkflowError:
                return False
            return True
        if not self.store.acknowledge(alert_id, by=by):
            return False
        if self.audit is not None:
            shot = self.store.get(Kind.SHOT, alert_id)
            self.audit.append(by, "alert.acknowledge", alert_id,
                              {"version": getattr(shot, "version", None)})
        return True

    def feed_health(self) -> list[FeedHealth]:
        return [c.health for c in self.clients] + (self.manager.health() if self.manager else [])

    async def _housekeeping(self) -> None:
        cfg = self.config
        last_prune = cfg.clock()
        while True:
            await asyncio.sleep(cfg.flush_s)
            if self.journal is not None and self.hub is None:  # the hub commits the journal itself
                self.journal.flush()
            if cfg.clock() - last_prune >= cfg.prune_s:
                last_prune = cfg.clock()
                self.store.prune()

    async def stop(self) -> None:
        for client in self.clients:
            await client.stop()
        if self.manager is not None:
            await self.manager.stop()
        await cancel_all(self._tasks)
        if self._session is not None:
            await self._session.close()
        if self.demo is not None:
            await self.demo.stop()
        if self.tile_server is not None:
            await self.tile_server.stop()
        if self.hub is not None:
            await self.hub.stop()
            self.hub = None
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self.audit is not None:
            self.audit.close()
            self.audit = None
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None
