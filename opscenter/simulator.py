"""Demo scenario engine: gunfire detections, 911 calls, patrol units and incidents.

Scenario knobs:
  scenario            "normal": a detection every ~2 min (40% get a reviewer's correction
                      30-90 s later, ~12% bring a linked 911 call 1-6 min later), background
                      911 calls ~3 per minute, units dispatched to detections and urgent calls.
                      "flood": normal plus a New Year's Eve burst of 350-550 detections from
                      1 to ~9 minutes after `start` (mostly firecracker/single), with 911
                      calls tripled meanwhile.
  seed                one `random.Random(seed)` drives everything.
  start               wall time the demo starts; the first advance also returns a backlog
                      from the 30 minutes before it, so the wall is not empty at launch.
  units_per_district  patrol cars per district (callsigns like "1A11").

Determinism: the engine moves in fixed one-second ticks and draws random numbers only in tick
order, so the same seed, start and target time give identical events in identical order,
however the caller slices time. An event's time is the tick that emits it: a reviewer's
version 2 of a detection is emitted later than its `detected_at`.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from bisect import bisect
from dataclasses import replace

from .city import City
from .scenario_data import (
    CALL_CUM, CALL_TYPES, HOTSPOT_DISTRICTS, SHOT_CALL_TEXT, Car, SimIncident,
)
from .domain import (
    AlertType, CallForService, CallStatus, Deletion, Incident, IncidentStatus, Kind, Priority,
    Record, ShotAlert, Unit, UnitStatus,
)

SCENARIOS = ("normal", "flood")
SOURCE = "demo"
TICK_S = 1.0
WARMUP_S = 1800.0
REPORT_EVERY = 5  # ticks between a unit's position reports
SHOT_GAP_S = 120.0
CALL_GAP_S = 20.0
LINKED_CALL_SHARE = 0.12
REVIEW_SHARE = 0.40
FLOOD_DELAY_S = 60.0
FLOOD_SPAN_S = 480.0

Event = Record | Deletion
_MP, _SG, _FC = AlertType.MULTIPLE, AlertType.SINGLE, AlertType.POSSIBLE_FIRECRACKER
_E, _H, _M = Priority.EMERGENCY, Priority.HIGH, Priority.MEDIUM
def describe(scenario: str = "normal") -> str:
    """One-paragraph summary of a scenario, for the CLI and the about box."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {SCENARIOS}")
    base = (f"Detections every ~{SHOT_GAP_S / 60:.0f} min ({REVIEW_SHARE:.0%} reviewed, "
            f"{LINKED_CALL_SHARE:.0%} with a 911 call), 911 calls every ~{CALL_GAP_S:.0f} s, "
            "units dispatched to detections and urgent calls; 30 min of backlog at start.")
    if scenario == "flood":
        base += (" Plus a celebratory-gunfire flood of 350-550 detections starting 1 min in "
                 "and lasting ~8 min, with 911 calls tripled.")
    return base


class Simulator:
    """Seeded scenario engine; `advance_to(t)` returns what happened up to t, in order."""

    def __init__(
        self,
        city: City,
        scenario: str = "normal",
        seed: int = 1,
        start: float | None = None,
        units_per_district: int = 6,
        warmup_s: float = WARMUP_S,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose from {SCENARIOS}")
        self.city = city
        self.scenario = scenario
        self.seed = seed
        self.start = time.time() if start is None else float(start)
        self._rng = random.Random(seed)
        self._proj = city.projection
        self._origin = self.start - warmup_s  # history before `start`, so the wall opens on a picture
        self._k = 0  # next tick to run
        self._now = self.start
        self._seq = 0
        self._agenda: list[tuple[int, int, str, tuple]] = []
        self._out: list[Event] = []
        self._out_times: list[float] = []  # parallel to _out; cheaper than pairs
        self._counters = {"shot": 0, "call": 0, "incident": 0}
        # A run tag in every id: a restarted demo must not reuse yesterday's ids in a kept store.
        self._run = _base36(int(self.start))
        self._shots: dict[str, ShotAlert] = {}
        self._shot_incident: dict[str, str] = {}
        self._calls: dict[str, CallForService] = {}
        self._incidents: dict[str, SimIncident] = {}
        self._hotspots = [self._xy(*city.random_point(self._rng, d)) for d in HOTSPOT_DISTRICTS]
        self._cars = self._make_cars(units_per_district)
        self._rounds_of_cars = [self._cars[i::REPORT_EVERY] for i in range(REPORT_EVERY)]
        self._report_from = self.start - 10.0  # warm-up keeps only the last few reports
        self._next_shot = self._gap(SHOT_GAP_S)
        self._next_call = self._gap(CALL_GAP_S)
        self._schedule(self._gap(480.0), "silence", ())
        self._schedule(self._gap(2400.0), "out_of_service", ())
        if scenario == "flood":
            for _ in range(self._rng.randint(350, 550)):
                at = self.start + FLOOD_DELAY_S + self._rng.triangular(0, FLOOD_SPAN_S, 200)
                self._schedule(self._tick_at(at), "new_shot", (True,))

    # -- public ----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The latest time advanced to (the start until the first advance)."""
        return self._now

    def advance_to(self, t: float) -> list[Event]:
        """Every event with time <= t not yet returned, in time order."""
        while self._time(self._k) <= t:
            self._step()
        out, self._out, self._out_times = self._out, [], []
        self._now = max(self._now, t)
        return out

    def advance_timed(self, t: float) -> list[tuple[float, Event]]:
        """Like `advance_to`, with each event's time (use it as the envelope's sent_at)."""
        times = self._out_times
        return list(zip(times, self.advance_to(t)))

    # -- time and scheduling ---------------------------------------------------------------
    def _time(self, k: int) -> float:
        return self._origin + k * TICK_S

    def _tick_at(self, t: float) -> int:
        return max(self._k + 1, math.ceil((t - self._origin) / TICK_S))

    def _gap(self, mean_s: float) -> int:
        """Tick of the next Poisson arrival with the given mean gap."""
        return self._k + max(1, round(self._rng.expovariate(1.0 / mean_s) / TICK_S))

    def _later(self, low_s: float, high_s: float, action: str, args: tuple) -> None:
        self._schedule(self._k + max(1, round(self._rng.uniform(low_s, high_s) / TICK_S)),
                       action, args)

    def _schedule(self, k: int, action: str, args: tuple) -> None:
        self._seq += 1
        heapq.heappush(self._agenda, (k, self._seq, action, args))

    def _emit(self, event: Event) -> None:
        self._out.append(event)
        self._out_times.append(self._time(self._k))

    def _step(self) -> None:
        k, t = self._k, self._time(self._k)
        while self._agenda and self._agenda[0][0] <= k:
            _, _, action, args = heapq.heappop(self._agenda)
            getattr(self, "_on_" + action)(t, *args)
        if k >= self._next_shot:
            self._on_new_shot(t, False)
            self._next_shot = self._gap(SHOT_GAP_S)
        if k >= self._next_call:
            self._new_call(t)
            in_flood = (self.scenario == "flood"
                        and 0 <= t - self.start - FLOOD_DELAY_S <= FLOOD_SPAN_S + 60)
            self._next_call = self._gap(CALL_GAP_S / 3 if in_flood else CALL_GAP_S)
        if k % 3600 == 0:  # forget detections too old for any pending action
            for shot_id in [s for s, shot in self._shots.items() if shot.detected_at < t - 3600]:
                del self._shots[shot_id]
                self._shot_incident.pop(shot_id, None)
        moving = (UnitStatus.AVAILABLE, UnitStatus.EN_ROUTE, UnitStatus.DISPATCHED)
        for car in self._rounds_of_cars[k % REPORT_EVERY]:
            if car.status in moving:
                self._move(car, t)
            if t >= car.silent_until:
                self._report(car, t)
        self._k += 1

    # -- places ----------------------------------------------------------------------------
    def _xy(self, lat: float, lon: float) -> tuple[float, float]:
        return self._proj.to_xy(lon, lat)

    def _latlon(self, x: float, y: float) -> tuple[float, float]:
        proj = self._proj
        return (round(proj.lat0 + y / proj.m_per_deg_lat, 6),
                round(proj.lon0 + x / proj.m_per_deg_lon, 6))

    def _near(self, x: float, y: float, sigma_m: float) -> tuple[float, float]:
        """(lat, lon) scattered around a point, kept inside the city."""
        for _ in range(8):
            dx, dy = self._rng.gauss(0, sigma_m), self._rng.gauss(0, sigma_m)
            lat, lon = self._latlon(x + dx, y + dy)
            if self.city.contains(lat, lon):
                return lat, lon
        return self._latlon(x, y)

    def _place(self, lat: float, lon: float) -> dict[str, object]:
        where = self.city.locate(lat, lon) or ("", "")
        return {"lat": lat, "lon": lon, "address": self.city.address_at(lat, lon),
                "district": where[0], "post": where[1]}

    def _next_id(self, kind: str, prefix: str) -> str:
        self._counters[kind] += 1
        return f"{prefix}-{self._run}-{self._counters[kind]:06d}"

    # -- detections ------------------------------------------------------------------------
    def _on_new_shot(self, t: float, flood: bool) -> None:
        rng = self._rng
        if rng.random() < (0.3 if flood else 0.65):
            lat, lon = self._near(*rng.choice(self._hotspots), 350.0)
        else:
            lat, lon = (round(v, 6) for v in self.city.random_point(rng))
        kind = rng.choices((_MP, _SG, _FC), (15, 30, 55) if flood else (45, 35, 20))[0]
        shot = ShotAlert(
            id=self._next_id("shot", "SST"), version=1, detected_at=t,
            alert_type=kind, rounds=self._rounds(kind), source=SOURCE, **self._place(lat, lon),
        )
        self._shots[shot.id] = shot
        self._emit(shot)
        if rng.random() < REVIEW_SHARE:
            self._later(30, 90, "review", (shot.id,))
        if rng.random() < LINKED_CALL_SHARE:
            self._later(60, 360, "shot_call", (shot.id,))
        dispatch_odds = {_MP: 1.0, _SG: 0.3 if flood else 1.0, _FC: 0.0 if flood else 0.5}[kind]
        if rng.random() < dispatch_odds:
            self._later(10, 45, "dispatch_shot", (shot.id, None))

    def _rounds(self, kind: AlertType) -> int:
        if kind is _SG:
            return 1
        if kind is _MP:
            return min(20, 2 + int(self._rng.expovariate(1 / 4)))
        return min(30, 1 + int(self._rng.expovariate(1 / 6)))

    def _on_review(self, t: float, shot_id: str) -> None:
        shot = self._shots[shot_id]
        kind, rounds = shot.alert_type, shot.rounds
        if self._rng.random() < 0.5 or kind is _SG:
            kind = self._rng.choice([k for k in (_MP, _SG, _FC) if k is not kind])
            rounds = 1 if kind is _SG else max(2, rounds) if kind is _MP else rounds
        else:
            rounds = max(2 if kind is _MP else 1, rounds + self._rng.choice((-2, -1, 1, 2, 3)))
            if rounds == shot.rounds:
                rounds += 1
        shot = replace(shot, version=shot.version + 1, alert_type=kind, rounds=rounds)
        self._shots[shot_id] = shot
        self._emit(shot)

    # -- 911 calls -------------------------------------------------------------------------
    def _new_call(self, t: float) -> None:
        rng = self._rng
        category, _, priority, texts = CALL_TYPES[bisect(CALL_CUM, rng.random() * CALL_CUM[-1])]
        if rng.random() < 0.4:
            lat, lon = self._near(*rng.choice(self._hotspots), 600.0)
        else:
            lat, lon = (round(v, 6) for v in self.city.random_point(rng))
        call = self._open_call(t, priority, category, rng.choice(texts), lat, lon, None)
        if priority in (_E, _H) or (priority is _M and rng.random() < 0.35):
            self._later(15, 120 if priority is not _M else 300, "dispatch_call", (call.id, 0))
        else:
            self._later(300, 2400, "close_call", (call.id,))

    def _open_call(self, t: float, priority: Priority, category: str, text: str,
                   lat: float, lon: float, shot_id: str | None) -> CallForService:
        call = CallForService(
            id=self._next_id("call", "CAD"), version=1, received_at=t, priority=priority,
            category=category, description=text, shot_id=shot_id, source=SOURCE,
            **self._place(lat, lon),  # type: ignore[arg-type]
        )
        self._calls[call.id] = call
        self._emit(call)
        return call

    def _on_shot_call(self, t: float, shot_id: str) -> None:
        shot = self._shots[shot_id]
        shooting = self._rng.random() < {_MP: 0.3, _SG: 0.1, _FC: 0.0}[shot.alert_type]
        category = "SHOOTING" if shooting else "DISCHRG FIREARM"
        lat, lon = self._near(*self._xy(shot.lat, shot.lon), 60.0)
        call = self._open_call(t, _E if shooting or self._rng.random() < 0.3 else _H, category,
                               self._rng.choice(SHOT_CALL_TEXT[category]), lat, lon, shot_id)
        inc = self._incidents.get(self._shot_incident.get(shot_id, ""))
        if inc is not None and inc.status is IncidentStatus.OPEN:
            inc.call_ids.append(call.id)
            self._emit_incident(inc)
            self._set_call(call.id, CallStatus.DISPATCHED)
        else:
            self._later(15, 60, "dispatch_shot", (shot_id, call.id))

    def _set_call(self, call_id: str, status: CallStatus) -> None:
        call = self._calls.get(call_id)
        if call is None or call.status is status or call.status is CallStatus.CLOSED:
            return
        call = replace(call, version=call.version + 1, status=status)
        self._calls[call_id] = call
        self._emit(call)
        if status is CallStatus.CLOSED:
            self._later(600, 1200, "delete_call", (call_id,))

    def _on_close_call(self, t: float, call_id: str) -> None:
        self._set_call(call_id, CallStatus.CLOSED)

    def _on_delete_call(self, t: float, call_id: str) -> None:
        call = self._calls.pop(call_id)
        self._emit(Deletion(Kind.CALL, call_id, call.version + 1))

    def _on_dispatch_call(self, t: float, call_id: str, tries: int) -> None:
        call = self._calls.get(call_id)
        if call is None or call.status is not CallStatus.PENDING:
            return
        cars = self._nearest_free(*self._xy(call.lat, call.lon), 1)
        if not cars:
            if tries < 10:
                self._later(30, 30, "dispatch_call", (call_id, tries + 1))
            else:
                self._set_call(call_id, CallStatus.CLOSED)
            return
        self._set_call(call_id, CallStatus.DISPATCHED)
        self._send(cars[0], t, call_id, None, call.lat, call.lon)

    # -- dispatch and incidents ------------------------------------------------------------
    def _on_dispatch_shot(self, t: float, shot_id: str, call_id: str | None) -> None:
        shot = self._shots[shot_id]
        if shot_id in self._shot_incident:  # already handled: a late call goes out on its own
            if call_id is not None:
                self._on_dispatch_call(t, call_id, 0)
            return
        wanted = 2 if shot.alert_type is _MP and shot.rounds >= 6 else 1
        cars = self._nearest_free(*self._xy(shot.lat, shot.lon), wanted)
        if not cars:
            if call_id is not None:
                self._on_dispatch_call(t, call_id, 0)
            return
        plural = "s" if shot.rounds != 1 else ""
        summary = f"{shot.alert_type.label}, {shot.rounds} round{plural}, {shot.address}"
        inc = SimIncident(self._next_id("incident", "INC"), t, shot.district, summary, [shot_id])
        self._incidents[inc.id] = inc
        self._shot_incident[shot_id] = inc.id
        for car in cars:
            inc.unit_ids.append(car.id)
            inc.active.add(car.id)
        if call_id is not None:
            inc.call_ids.append(call_id)
        self._emit_incident(inc)
        if call_id is not None:
            self._set_call(call_id, CallStatus.DISPATCHED)
        for car in cars:
            self._send(car, t, shot_id, inc.id, shot.lat, shot.lon)

    def _emit_incident(self, inc: SimIncident) -> None:
        inc.version += 1
        self._emit(Incident(
            id=inc.id, version=inc.version, opened_at=inc.opened_at, status=inc.status,
            district=inc.district, shot_ids=tuple(inc.shot_ids), call_ids=tuple(inc.call_ids),
            unit_ids=tuple(inc.unit_ids), summary=inc.summary, source=SOURCE,
        ))

    def _nearest_free(self, x: float, y: float, count: int) -> list[Car]:
        now = self._time(self._k)
        free = [c for c in self._cars if c.status is UnitStatus.AVAILABLE and now >= c.silent_until]
        free.sort(key=lambda c: (c.x - x) ** 2 + (c.y - y) ** 2)
        return free[:count]

    def _send(self, car: Car, t: float, job: str, incident: str | None,
              lat: float, lon: float) -> None:
        car.status, car.assignment, car.incident = UnitStatus.DISPATCHED, job, incident
        self._aim(car, self._xy(lat, lon))
        car.speed = self._rng.uniform(8.0, 15.0)
        self._report(car, t)

    def _on_clear(self, t: float, car_id: str) -> None:
        car = next(c for c in self._cars if c.id == car_id)
        job, inc_id = car.assignment, car.incident
        car.status, car.target = UnitStatus.AVAILABLE, None
        car.assignment = car.incident = None
        car.speed = self._rng.uniform(2.0, 5.0)
        self._report(car, t)
        if inc_id is None:
            if job is not None:
                self._set_call(job, CallStatus.CLOSED)
            return
        inc = self._incidents[inc_id]
        inc.active.discard(car_id)
        if not inc.active:
            inc.status = IncidentStatus.CLOSED
            self._emit_incident(inc)
            for call_id in inc.call_ids:
                self._set_call(call_id, CallStatus.CLOSED)
            del self._incidents[inc_id]

    # -- units -----------------------------------------------------------------------------
    def _make_cars(self, per_district: int) -> list[Car]:
        cars = []
        for d in self.city.districts:
            for i in range(per_district):
                x, y = self._xy(*self.city.random_point(self._rng, d.name))
                out = self._rng.random() < 0.08
                car = Car(f"{d.number}{chr(65 + (i // 3) % 26)}{11 + i}", d.name, x, y,
                           UnitStatus.OUT_OF_SERVICE if out else UnitStatus.AVAILABLE,
                           self._rng.uniform(0, 359), speed=self._rng.uniform(2.0, 5.0))
                car.lat, car.lon = self._latlon(x, y)
                if out:
                    self._later(1800, 7200, "back_in_service", (car.id,))
                cars.append(car)
        return cars

    def _on_silence(self, t: float) -> None:
        free = [c for c in self._cars if c.status is UnitStatus.AVAILABLE and t >= c.silent_until]
        if free:
            car = self._rng.choice(free)
            car.silent_until = t + self._rng.uniform(120, 360)
            if t < self._report_from <= car.silent_until:
                self._report(car, t, force=True)  # quiet through the start: show its last fix
        self._schedule(self._gap(480.0), "silence", ())

    def _on_out_of_service(self, t: float) -> None:
        free = [c for c in self._cars if c.status is UnitStatus.AVAILABLE and t >= c.silent_until]
        if free:
            car = self._rng.choice(free)
            car.status, car.target = UnitStatus.OUT_OF_SERVICE, None
            self._report(car, t)
            self._later(1200, 3600, "back_in_service", (car.id,))
        self._schedule(self._gap(2400.0), "out_of_service", ())

    def _on_back_in_service(self, t: float, car_id: str) -> None:
        car = next(c for c in self._cars if c.id == car_id)
        car.status = UnitStatus.AVAILABLE
        self._report(car, t)

    def _aim(self, car: Car, target: tuple[float, float]) -> None:
        car.target = target
        car.heading = _heading(target[0] - car.x, target[1] - car.y, car.heading)

    def _move(self, car: Car, t: float) -> None:
        """Advance a car by one report interval: patrol drift, or drive to its job."""
        status = car.status
        if status is UnitStatus.DISPATCHED:
            car.status = status = UnitStatus.EN_ROUTE
        if status is UnitStatus.AVAILABLE:
            if car.target is None:
                self._aim(car, self._xy(*self.city.random_point(self._rng, car.district)))
        elif status is not UnitStatus.EN_ROUTE or car.target is None:
            return
        tx, ty = car.target  # type: ignore[misc]
        x, y = car.x, car.y
        dx, dy = tx - x, ty - y
        dist, step = math.hypot(dx, dy), car.speed * REPORT_EVERY * TICK_S
        if dist <= step:
            car.x, car.y, car.target = tx, ty, None
            car.lat, car.lon = self._latlon(tx, ty)
            if status is UnitStatus.EN_ROUTE:
                car.status = UnitStatus.ON_SCENE
                self._later(300, 900, "clear", (car.id,))
            return
        nx, ny = x + dx / dist * step, y + dy / dist * step
        lat, lon = self._latlon(nx, ny)
        if self.city.contains(lat, lon):
            if car.detour:
                car.detour = False
                car.heading = _heading(dx, dy, car.heading)
        else:
            # The outline is star-shaped about its centre: heading inward always stays inside.
            cd = math.hypot(x, y) or 1.0
            nx, ny = (x - x / cd * step, y - y / cd * step) if cd > step else (0.0, 0.0)
            lat, lon = self._latlon(nx, ny)
            car.heading, car.detour = _heading(nx - x, ny - y, car.heading), True
        car.x, car.y, car.lat, car.lon = nx, ny, lat, lon

    def _report(self, car: Car, t: float, force: bool = False) -> None:
        # Versions from the report time (ms) keep rising across restarts of the demo, so a
        # store that persisted yesterday's positions still takes today's.
        car.version = max(car.version + 1, int(t * 1000))
        if t >= self._report_from or force:
            self._out.append(Unit(car.id, car.version, t, car.status, car.lat, car.lon,
                                  car.district, car.heading, car.assignment, SOURCE))
            self._out_times.append(t)


def _base36(value: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if not value:
            return out


def _heading(dx: float, dy: float, fallback: float) -> float:
    """Compass heading in degrees (0 north, clockwise), one decimal."""
    if dx == 0 and dy == 0:
        return fallback
    h = round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)
    return 0.0 if h >= 360.0 else h
