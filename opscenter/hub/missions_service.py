"""Patrol missions on the hub: every book change is a hub event, sends go out, dosage is measured.

The book stays the only writer of missions; this service turns each change into a numbered
`{"t": "mission"}` event so every window (and a window that resumes later) sees the same list,
puts missions into the snapshot a new client starts from, plans a shift from the shootings the
hub knows (live store plus archive), sends missions and shot alerts to units' systems, and
credits patrol time from unit positions. People's actions pass the same role checks in-process
and over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
from typing import Any, Callable, Sequence

import aiohttp
import numpy as np
from aiohttp import web

from ..background import run_in_thread
from ..cap_out import mission_cap, shot_alert_cap
from ..dissemination import (ChannelEndpoint, Delivery, Dispatcher, Endpoint, OutboundMessage, cap_message,
                             mission_message, shot_message)
from ..domain import CrimeReport, Kind, ShotAlert, Unit
from ..dosage import DosageBox, DosageTracker
from ..envelope import record_from_dict
from ..forecast.backtest import make_method
from ..forecast.data import ACCEPTED, events_from_records
from ..forecast.grid import DEFAULT_CELL_M, grid_over_hull
from ..missions import Mission, MissionBook
from ..mission_plan import MissionError, PlanConfig
from ..risk import MIN_EVENTS
from ..store import Change
from ..users import User
from ..workflow import WorkflowError
from .core import HubCore

logger = logging.getLogger(__name__)

DOSAGE_INTERVAL_S = 30.0
SEND_WAIT_S = 3.0  # REST answers after this; retries carry on and show in GET /api/messages
HISTORY_DAYS = 365.0
MAX_FIXES_PER_UNIT = 20_000
LIVE_STATES = ("assigned", "active")


class PlanRefused(WorkflowError):
    """Planning is not possible now (too little data, flat forecast, shift already planned): 409."""


def _may_operate(user: User, what: str) -> None:
    """Assigning units and moving a mission along: analysts, or operators who dispatch units."""
    if not (user.can("mission.manage") or user.can("alert.dispatch")):
        user.require("mission.manage", what)


class MissionsService:
    """Missions, messages and dosage beside a HubCore; see the module docstring."""

    def __init__(self, core: HubCore, book: MissionBook, session: aiohttp.ClientSession | None,
                 endpoints: Sequence[Endpoint], *, district_of: Callable[[float, float], str | None] | None = None,
                 dosage_interval_s: float = DOSAGE_INTERVAL_S, method: str = "multiscale") -> None:
        self.core, self.book = core, book
        self.district_of = district_of
        self.dosage_interval_s = dosage_interval_s
        self.method = method
        self._own_session = session is None
        self.dispatcher = Dispatcher(session, audit=core.audit, clock=core.clock)
        self.hub_channel = ChannelEndpoint("hub", self._publish)
        self.endpoints: list[Endpoint] = [*endpoints, self.hub_channel]
        self.sender: Callable[..., Any] = self.dispatcher.send
        self._seq = itertools.count(int(time.time()))
        self._sent: list[str] = []  # message ids, oldest first
        self._fixes: dict[str, list[Unit]] = {}
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = [book.subscribe(self._on_mission), core.store.subscribe(self._on_store)]
        self._batch = 0
        self._live_units: set[str] = {u for m in self._live() for u in m.units}
        # the snapshot a new client starts from carries the missions too (see HubMirror)
        core.snapshot_parts["missions"] = lambda: [m.to_dict() for m in self.book.missions()]

    def set_endpoints(self, endpoints: Sequence[Endpoint], sender: Callable[..., Any] | None = None) -> None:
        """The configured webhooks and channels; the hub's own channel is always kept. `sender`
        stands in front of the dispatcher (routing by topic and format), same signature."""
        self.endpoints = [*endpoints, self.hub_channel]
        self.sender = sender or self.dispatcher.send

    # -- hub events ---------------------------------------------------------------------------
    def _on_mission(self, _event: str, m: Mission) -> None:
        self._live_units = {u for live in self._live() for u in live.units}
        self.core.publish({"t": "mission", "id": m.id, "mission": m.to_dict()})
        if not self._batch:
            self.core.commit()

    def _publish(self, topic: str, payload: dict) -> None:
        self.core.publish({"t": "message", "topic": topic, "id": str(payload.get("id", "")),
                                   "payload": payload})
        self.core.commit()

    # -- reading ------------------------------------------------------------------------------
    def current(self) -> list[Mission]:
        """Missions of the shift under way (window holds now), or still assigned/active."""
        now = self.core.clock()
        return [m for m in self.book.missions()
                if m.shift_start <= now < m.shift_end or (m.state in LIVE_STATES and m.shift_end > now - 86400)]

    def _window(self, hours: float) -> tuple[float, float]:
        now = self.core.clock()
        running = [m for m in self.book.missions() if m.shift_start <= now < m.shift_end]
        if running:
            first = min(running, key=lambda m: m.shift_start)
            return first.shift_start, first.shift_end
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24:
            raise MissionError("hours must be a number within 0..24")
        start = math.floor(now / 60.0) * 60.0
        return start, start + 3600.0 * float(hours)

    def list(self, user: User) -> list[dict[str, Any]]:
        user.require("read")
        return [m.to_dict() for m in self.current()]

    # -- people's actions ---------------------------------------------------------------------
    async def plan(self, user: User, hours: float = 8.0, top: int = 5, reason: str = "forecast") -> list[dict]:
        """Forecast from the shootings the hub knows and plan the shift; PlanRefused says why not."""
        user.require("mission.manage", "plan patrol missions")
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 50:
            raise MissionError("top must be a whole number within 1..50")
        start, end = self._window(hours)
        if any(m.source == "forecast" for m in self.book.missions(start)):
            raise PlanRefused("this shift is already planned; suppress or add boxes by hand")
        records = self._shootings(start)
        grid, scores, explain = await run_in_thread(self._forecast, records, start)
        result = self.book.plan_shift(start, end, grid, scores, actor=user.name, explain=explain,
                                      district_of=self.district_of, config=PlanConfig(max_boxes=top),
                                      reason=reason)
        if not result.missions:
            raise PlanRefused("the forecast flags no box for this shift")
        return [m.to_dict() for m in result.missions]

    def _shootings(self, until: float) -> list[ShotAlert | CrimeReport]:
        """Detections and victim-reported shootings: live store first, then the archive."""
        found: dict[tuple[str, str], Any] = {}
        for rec in [*self.core.store.shots(), *self.core.store.all(Kind.REPORT)]:
            found[(rec.kind.value, rec.id)] = rec
        with contextlib.suppress(Exception):  # no archive table, or a damaged row: the live picture alone
            rows = self.core.db.execute(
                "SELECT kind, body, source FROM archive WHERE kind IN ('shot','report') AND deleted=0 "
                "AND event_time >= ? AND event_time < ? LIMIT 500000", (until - HISTORY_DAYS * 86400, until))
            for kind, body, source in rows:
                with contextlib.suppress(Exception):
                    rec = record_from_dict(Kind(kind), json.loads(body), source)
                    found.setdefault((kind, rec.id), rec)
        return [r for r in found.values() if _usable(r, until)]

    def _forecast(self, records: list, until: float) -> tuple[Any, np.ndarray, Callable[[int], list]]:
        """(grid, scores, explain) — in a worker thread, so the hub keeps committing meanwhile."""
        if len(records) < MIN_EVENTS:
            raise PlanRefused(f"{len(records)} shootings before the shift start; planning needs at least "
                              f"{MIN_EVENTS}")
        events = events_from_records(records)
        span_days = float(until - np.min(events.t)) / 86400.0
        # the multi-scale model learns its mix from past days; with weeks of data a kernel is honest
        method, params = (self.method, {"train_days": int(min(365, span_days - 1))}) if span_days > 60 and \
            self.method == "multiscale" else ("kde", {})
        try:
            grid = grid_over_hull(events.lon, events.lat, DEFAULT_CELL_M)
            model = make_method(method, grid, **params).fit(events, until)
            scores = np.asarray(model.predict(), dtype=float)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            raise PlanRefused(f"the forecast could not be computed ({exc})") from None
        if not np.all(np.isfinite(scores)) or float(scores.max() - scores.min()) <= 0:
            raise PlanRefused("the forecast is flat: no place stands out")
        return grid, scores - float(scores.min()), model.explain

    def add(self, user: User, polygon: Any, label: str = "", reason: str = "", hours: float = 8.0,
            district: str = "") -> dict:
        user.require("mission.manage", "add patrol boxes")
        start, end = self._window(hours)
        m = self.book.add_manual(start, end, actor=user.name, reason=reason, polygon=polygon, label=label,
                                 district=district)
        return m.to_dict()

    def assign(self, user: User, mission_id: str, units: Any, reason: str = "") -> dict:
        _may_operate(user, "assign units to missions")
        result = self.book.assign(mission_id, units, actor=user.name, reason=reason).to_dict()
        self.update_dosage()
        return result

    def set_state(self, user: User, mission_id: str, state: str, reason: str = "") -> dict:
        if state == "suppressed":
            return self.suppress(user, mission_id, reason)
        _may_operate(user, "start, complete or cancel missions")
        return self.book.transition(mission_id, state, actor=user.name, reason=reason).to_dict()

    def suppress(self, user: User, mission_id: str, reason: str) -> dict:
        user.require("mission.manage", "suppress missions")
        return self.book.suppress(mission_id, actor=user.name, reason=reason).to_dict()

    async def send(self, user: User, kind: str, ident: str, fmt: str = "envelope",
                   wait_s: float = SEND_WAIT_S) -> list[dict]:
        """Send a mission or shot alert to every endpoint; answers after `wait_s` at most."""
        user.require("message.send", "send messages to units")
        message = self.build_message(kind, str(ident), fmt)
        if self.dispatcher.session is None and any(not isinstance(e, ChannelEndpoint) for e in self.endpoints):
            self.dispatcher.session = aiohttp.ClientSession()
        task = asyncio.ensure_future(self.sender(message, self.endpoints, user.name))
        self._sent = (self._sent + [message.id])[-200:]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), wait_s)
        return [d.to_dict() for d in self._deliveries_of(message.id)]

    def build_message(self, kind: str, ident: str, fmt: str) -> OutboundMessage:
        if fmt not in ("envelope", "cap"):
            raise MissionError("format is envelope or cap")
        seq, now = next(self._seq), self.core.clock()
        if kind == "mission":
            data = self.book.get(ident).to_dict()
            if fmt == "envelope":
                return mission_message(data, seq=seq, sent_at=now)
            return cap_message(mission_cap(data, sender="opscenter", sent=now), kind="mission",
                               message_id=f"mission:{ident}:{seq}")
        if kind == "shot":
            shot = self.core.store.get(Kind.SHOT, ident)
            if not isinstance(shot, ShotAlert):
                raise MissionError(f"no shot alert {ident[:80]!r}")
            if fmt == "envelope":
                return shot_message(shot, seq=seq, sent_at=now)
            return cap_message(shot_alert_cap(shot, sender="opscenter", sent=now), kind="shot",
                               message_id=f"shot:{ident}:{seq}")
        raise MissionError("kind is mission or shot")

    def _deliveries_of(self, message_id: str) -> list[Delivery]:
        return [d for (mid, _), d in self.dispatcher.deliveries.items() if mid == message_id]

    def deliveries(self, user: User, limit: int = 100) -> list[dict]:
        user.require("read")
        return [d.to_dict() for mid in reversed(self._sent[-limit:]) for d in self._deliveries_of(mid)]

    # -- dosage -------------------------------------------------------------------------------
    def _on_store(self, change: Change) -> None:
        if change.kind is not Kind.UNIT or not isinstance(change.record, Unit):
            return
        unit = change.record
        if unit.id not in self._live_units:
            return  # only assigned units' time counts; nothing else is kept
        fixes = self._fixes.setdefault(unit.id, [])
        if not fixes or unit.reported_at > fixes[-1].reported_at:
            fixes.append(unit)
            del fixes[:-MAX_FIXES_PER_UNIT]

    def _live(self) -> list[Mission]:
        return [m for m in self.current() if m.state in LIVE_STATES and len(m.polygon) >= 3]

    def update_dosage(self) -> int:
        """Recompute dosage of the assigned/active missions from the kept fixes; returns changes."""
        live = self._live()
        self._live_units = {u for m in live for u in m.units}
        if not live:
            return 0
        tracker = DosageTracker([DosageBox.from_mission(m) for m in live])
        tracker.extend(sorted((f for fixes in self._fixes.values() for f in fixes), key=lambda u: u.reported_at))
        changed = 0
        self._batch += 1
        try:
            for m in live:
                minutes = tracker.report()[m.id].minutes
                if abs(minutes - m.dosage_min) >= 0.005:
                    self.book.set_dosage(m.id, minutes)
                    changed += 1
        finally:
            self._batch -= 1
        self.core.commit()
        earliest = min(m.shift_start for m in live)
        for fixes in self._fixes.values():  # fixes before every live window can go
            while fixes and fixes[0].reported_at < earliest - 600:
                fixes.pop(0)
        return changed

    async def _dosage_loop(self) -> None:
        while True:
            await asyncio.sleep(self.dosage_interval_s)
            try:
                self.update_dosage()
            except Exception:  # a bad box must not stop the measurement of the others next time
                logger.exception("dosage update failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._dosage_loop(), name="hub-dosage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.core.snapshot_parts.pop("missions", None)
        if self._own_session and self.dispatcher.session is not None:
            await self.dispatcher.session.close()
            self.dispatcher.session = None


def _usable(rec: Any, until: float) -> bool:
    if isinstance(rec, ShotAlert):
        when = rec.detected_at
    elif isinstance(rec, CrimeReport) and rec.origin in ACCEPTED:
        when = rec.occurred_at
    else:
        return False
    return rec.lat is not None and rec.lon is not None and math.isfinite(rec.lat) and math.isfinite(rec.lon) \
        and when < until


# -- REST ---------------------------------------------------------------------------------------------
SERVICE: web.AppKey[MissionsService] = web.AppKey("missions", MissionsService)


def add_mission_routes(app: web.Application, service: MissionsService) -> None:
    """Register /api/missions and /api/messages on the hub's app (before it starts)."""
    from .server import _body, _json, _user

    app[SERVICE] = service

    async def listing(request: web.Request) -> web.Response:
        return _json(service.list(_user(request)))

    async def plan(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(await service.plan(user, body.get("hours", 8), body.get("top", 5),
                                        body.get("reason") or "forecast"), 201)

    async def add(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(service.add(user, body.get("polygon"), body.get("label", ""), body.get("reason", ""),
                                 body.get("hours", 8), body.get("district", "")), 201)

    async def assign(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(service.assign(user, request.match_info["id"], body.get("units"), body.get("reason", "")))

    async def state(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(service.set_state(user, request.match_info["id"], body.get("state", ""),
                                       body.get("reason", "")))

    async def suppress(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(service.suppress(user, request.match_info["id"], body.get("reason", "")))

    async def send(request: web.Request) -> web.Response:
        user, body = _user(request), await _body(request)
        return _json(await service.send(user, str(body.get("kind", "")), str(body.get("id", "")),
                                        str(body.get("format", "envelope"))))

    async def sent(request: web.Request) -> web.Response:
        return _json(service.deliveries(_user(request)))

    app.router.add_get("/api/missions", listing)
    app.router.add_post("/api/missions", add)
    app.router.add_post("/api/missions/plan", plan)
    app.router.add_post("/api/missions/{id}/assign", assign)
    app.router.add_post("/api/missions/{id}/state", state)
    app.router.add_post("/api/missions/{id}/suppress", suppress)
    app.router.add_post("/api/messages", send)
    app.router.add_get("/api/messages", sent)
