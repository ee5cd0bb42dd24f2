"""Two years of synthetic history in front of the embedded demo city.

The demo feed only invents the last half hour, so on a fresh database the risk layer says "too
little data", the CompStat and briefing tables are empty and every year-on-year figure is zero:
the people judging the product on the demo would see none of the commanders' and analysts'
views. This module writes a plausible past into the archive, once per database.

The model is made up for the demo, not fitted to any data set. Gunfire follows a self-exciting
(Hawkes-like) process: a background that varies by district (a few hot districts, hotspots
inside them, one of them where the live simulator puts its own), by hour (mostly at night), by
weekday and by season (more in summer), with a district trend so the last year differs from the
year before; every event may trigger more within ~200 m and ~2 weeks (near-repeat). Each gunfire
event may be detected (ShotAlert), have a victim (a victim-reported "shooting" CrimeReport, or a
"homicide" when fatal) and bring a 911 call linked to its detection. Possible firecrackers, more
on the Fourth of July and New Year's night, round it off. A seed makes it repeatable.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import time
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

from .city import City
from .domain import (
    AlertType, CallForService, CallStatus, CrimeReport, Origin, Priority, ShotAlert,
)
from .persistence import Archive
from .scenario_data import HOTSPOT_DISTRICTS, SHOT_CALL_TEXT
from .schema import connect
from .simulator import SOURCE as LIVE_SOURCE, WARMUP_S

HistoryRecord = ShotAlert | CrimeReport | CallForService

SOURCE = "demo-history"
META_KEY = "demo_history"
ZONE = "America/New_York"
DAY = 86400.0
YEAR = 365.25 * DAY
DEFAULT_YEARS = 2.0

GUNFIRE_PER_DAY = 9.5  # gunfire events a day, triggered ones included
BRANCHING = 0.3  # events each event triggers on average (must stay below 1)
REPEAT_SIGMA_M = 70.0  # spread of a triggered event around its parent
REPEAT_MEAN_DAYS = 4.0  # mean delay of a triggered event
HOTSPOT_SHARE = 0.7  # background events near a district's hotspots, the rest anywhere in it
HOTSPOT_SIGMA_M = 300.0
DETECTED = 0.9  # gunfire the sensors pick up
VICTIM = 0.2  # gunfire with someone hit
FATAL = 0.2  # of those, a homicide
CALL_SHARE = {False: 0.12, True: 0.85}  # a 911 call, without and with a victim
FIRECRACKERS_PER_DAY = 0.6
# (month, day) -> (factor, first hour, last hour) for celebratory nights
HOLIDAYS = {(7, 4): (40.0, 21, 23), (1, 1): (40.0, 0, 1)}

# district -> (share of background gunfire, this year against the last); loosely Baltimore-like
DISTRICTS: dict[str, tuple[float, float]] = {
    "Western": (0.19, 0.85), "Eastern": (0.16, 0.90), "Southwestern": (0.14, 1.15),
    "Northwestern": (0.11, 0.95), "Northeastern": (0.10, 0.88), "Southern": (0.10, 1.08),
    "Southeastern": (0.09, 1.12), "Central": (0.06, 0.92), "Northern": (0.05, 1.00),
}
# relative gunfire by local hour: quiet mornings, busy nights
HOUR_WEIGHTS = (6.5, 5.5, 4.5, 3.4, 2.4, 1.6, 1.0, 0.9, 0.9, 1.1, 1.3, 1.5,
                1.8, 2.0, 2.2, 2.5, 2.9, 3.3, 3.8, 4.4, 5.2, 6.0, 6.8, 7.0)
_HOUR_CUM = list(accumulate(HOUR_WEIGHTS))
# Monday .. Sunday, mean 1
_WEEKDAY = tuple(w * 7 / 7.4 for w in (0.95, 0.9, 0.9, 0.95, 1.1, 1.35, 1.25))
_MP, _SG, _FC = AlertType.MULTIPLE, AlertType.SINGLE, AlertType.POSSIBLE_FIRECRACKER

Event = tuple[float, int, float, float, bool]  # time, local day index, x, y, is gunfire


def live_hotspots(city: City, seed: int) -> list[tuple[float, float]]:
    """The (lat, lon) hotspots the live simulator draws first from `Random(seed)`, so history
    and live shootings cluster in the same places."""
    rng = random.Random(seed)
    return [city.random_point(rng, d) for d in HOTSPOT_DISTRICTS]


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _History:
    """One generation run: the city, the random stream and the days it covers."""

    def __init__(self, city: City, start: float, end: float, seed: int, gunfire_per_day: float,
                 branching: float) -> None:
        if not 0 <= branching < 1:
            raise ValueError("branching must be in [0, 1): each event triggers fewer than one")
        if end <= start:
            raise ValueError("history must end after it starts")
        self.city, self.start, self.end = city, start, end
        self.rng = random.Random(f"demo-history/{seed}")
        self.proj = city.projection
        self.branching = branching
        self.background = gunfire_per_day * (1.0 - branching)
        zone = ZoneInfo(ZONE)
        first = datetime.fromtimestamp(start, zone).date()
        last = datetime.fromtimestamp(end, zone).date()
        self.days: list[date] = [first + timedelta(d) for d in range((last - first).days + 1)]
        self.midnights = [datetime(d.year, d.month, d.day, tzinfo=zone).timestamp() for d in self.days]
        self.middle = (start + end) / 2
        self.centres = self._centres(seed)

    def _centres(self, seed: int) -> dict[str, list[tuple[float, float, float]]]:
        """District -> hotspot centres (x, y, weight): the live one first, then one or two more."""
        live = dict(zip(HOTSPOT_DISTRICTS, live_hotspots(self.city, seed)))
        out: dict[str, list[tuple[float, float, float]]] = {}
        for name in self.city.district_names():
            points = [(*live[name], 3.0)] if name in live else []
            points += [(*self.city.random_point(self.rng, name), self.rng.uniform(1.0, 2.0))
                       for _ in range(self.rng.randint(1, 2))]
            out[name] = [(*self.proj.to_xy(lon, lat), w) for lat, lon, w in points]
        return out

    # -- where and when ------------------------------------------------------------------
    def _latlon(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self.proj.to_lonlat(x, y)
        return round(lat, 6), round(lon, 6)

    def _hour(self) -> int:
        return bisect.bisect(_HOUR_CUM, self.rng.random() * _HOUR_CUM[-1])

    def _background_xy(self, district: str) -> tuple[float, float]:
        rng = self.rng
        if rng.random() < HOTSPOT_SHARE:
            centres = self.centres[district]
            cx, cy, _ = rng.choices(centres, [c[2] for c in centres])[0]
            x, y = cx + rng.gauss(0, HOTSPOT_SIGMA_M), cy + rng.gauss(0, HOTSPOT_SIGMA_M)
            if self.city.contains(*self._latlon(x, y)):
                return x, y
        lat, lon = self.city.random_point(rng, district)
        return self.proj.to_xy(lon, lat)

    def _rate_factor(self, day: date) -> float:
        season = 1.0 + 0.3 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 197) / 365.25)
        return season * _WEEKDAY[day.weekday()]

    # -- the process ---------------------------------------------------------------------
    def events(self) -> list[Event]:
        """Background gunfire, what it triggers, and firecrackers; sorted by time."""
        rng, out = self.rng, []
        for k, (day, midnight) in enumerate(zip(self.days, self.midnights)):
            noon = midnight + DAY / 2
            factor = self._rate_factor(day)
            for name, (share, ratio) in DISTRICTS.items():
                trend = ratio ** ((noon - self.middle) / YEAR)
                for _ in range(_poisson(rng, self.background * share * factor * trend)):
                    t = midnight + self._hour() * 3600.0 + rng.uniform(0, 3600.0)
                    x, y = self._background_xy(name)
                    if self.start <= t < self.end:
                        out.append((t, k, x, y, True))
            boost, low, high = HOLIDAYS.get((day.month, day.day), (1.0, -1, -1))
            for _ in range(_poisson(rng, FIRECRACKERS_PER_DAY * boost)):
                hour = rng.randint(low, high) if boost > 1 else self._hour()
                t = midnight + hour * 3600.0 + rng.uniform(0, 3600.0)
                lat, lon = self.city.random_point(rng)
                if self.start <= t < self.end:
                    out.append((t, k, *self.proj.to_xy(lon, lat), False))
        out.sort()
        i = 0
        while i < len(out):  # every event, triggered ones included, may trigger more
            if out[i][4]:
                out.extend(self._children(out[i]))
            i += 1
        out.sort()
        return out

    def _children(self, parent: Event) -> list[Event]:
        rng, kids = self.rng, []
        t0, k0, x0, y0, _ = parent
        for _ in range(_poisson(rng, self.branching)):
            k = k0 + int(rng.expovariate(1.0 / REPEAT_MEAN_DAYS))
            t = (self.midnights[k] if k < len(self.midnights) else math.inf) \
                + self._hour() * 3600.0 + rng.uniform(0, 3600.0)
            if t <= t0:  # earlier on the parent's own day: the next night instead
                k += 1
                t = t + DAY if k < len(self.midnights) else math.inf
            x, y = x0 + rng.gauss(0, REPEAT_SIGMA_M), y0 + rng.gauss(0, REPEAT_SIGMA_M)
            if t < self.end and self.city.contains(*self._latlon(x, y)):
                kids.append((t, k, x, y, True))
        return kids

    # -- records -------------------------------------------------------------------------
    def records(self, prefix: str) -> list[HistoryRecord]:
        rng, city = self.rng, self.city
        out: list[HistoryRecord] = []
        counts = {"S": 0, "V": 0, "C": 0}

        def next_id(kind: str) -> str:
            counts[kind] += 1
            return f"{prefix}{kind}{counts[kind]:06d}"

        def place(x: float, y: float, spread_m: float = 0.0) -> dict:
            """Fields of a point; a record a few metres off the event stays inside the city."""
            lat, lon = self._latlon(x + rng.gauss(0, spread_m), y + rng.gauss(0, spread_m))
            where = city.locate(lat, lon)
            if where is None:
                lat, lon = self._latlon(x, y)
                where = city.locate(lat, lon) or ("", "")
            return {"lat": lat, "lon": lon, "address": city.address_at(lat, lon),
                    "district": where[0], "post": where[1]}

        for t, _k, x, y, gunfire in self.events():
            victim = gunfire and rng.random() < VICTIM
            shot: ShotAlert | None = None
            if not gunfire or rng.random() < DETECTED:
                kind = _FC if not gunfire else rng.choices(
                    (_MP, _SG, _FC), (70, 30, 0) if victim else (45, 40, 15))[0]
                shot = ShotAlert(id=next_id("S"), version=1,
                                 detected_at=round(min(t + rng.uniform(2.0, 40.0), self.end - 1), 3),
                                 alert_type=kind, rounds=_rounds(rng, kind), source=SOURCE,
                                 **place(x, y))
                out.append(shot)
            if victim:
                fatal = rng.random() < FATAL
                category = "homicide" if fatal else "shooting"
                out.append(CrimeReport(
                    id=next_id("V"), version=1, occurred_at=float(int(t // 60) * 60),
                    category=category, origin=Origin.VICTIM_REPORTED,
                    description=category.upper(), weapon="FIREARM", source=SOURCE,
                    **place(x, y, 15.0),
                ))
            if gunfire and rng.random() < CALL_SHARE[victim]:
                out.append(self._call(next_id("C"), t, shot, victim, place(x, y, 40.0)))
        out.sort(key=_when)
        return out

    def _call(self, ident: str, t: float, shot: ShotAlert | None, victim: bool,
              where: dict) -> CallForService:
        rng = self.rng
        category = "SHOOTING" if victim else "DISCHRG FIREARM"
        base = shot.detected_at if shot is not None else t
        delay = min(1800.0, 20.0 + rng.lognormvariate(math.log(70.0 if victim else 160.0), 0.8))
        return CallForService(
            id=ident, version=1, received_at=round(base + delay, 3),
            priority=Priority.EMERGENCY if victim or rng.random() < 0.3 else Priority.HIGH,
            category=category, description=rng.choice(SHOT_CALL_TEXT[category]),
            status=CallStatus.CLOSED, shot_id=shot.id if shot is not None else None,
            source=SOURCE, **where,
        )


def _rounds(rng: random.Random, kind: AlertType) -> int:
    """Rounds as the live simulator counts them."""
    if kind is _SG:
        return 1
    if kind is _MP:
        return min(20, 2 + int(rng.expovariate(1 / 4)))
    return min(30, 1 + int(rng.expovariate(1 / 6)))


def _when(record: HistoryRecord) -> float:
    if isinstance(record, ShotAlert):
        return record.detected_at
    if isinstance(record, CrimeReport):
        return record.occurred_at
    return record.received_at


def generate_history(city: City, start: float, end: float, seed: int, *,
                     gunfire_per_day: float = GUNFIRE_PER_DAY,
                     branching: float = BRANCHING) -> list[HistoryRecord]:
    """Detections, victim-reported shootings and homicides, and linked 911 calls in
    [start, end), in time order. Ids start "HIST-<seed>-" so they never meet live ids; the same
    arguments always give the same records. `branching` 0 turns the near-repeat effect off."""
    return _History(city, start, end, seed, gunfire_per_day, branching).records(f"HIST-{seed}-")


def seed_demo_history(archive_path: str | Path, city: City, now: float, seed: int,
                      years: float = DEFAULT_YEARS) -> int:
    """Write `years` of history ending where the demo's own records begin; returns records
    written. Done once per database (meta key `demo_history`); and never into an archive that
    holds other history (imported or from real feeds), which must not be mixed with invented
    events. Writing again changes nothing: the ids are the same and the archive keeps them."""
    db = connect(archive_path)
    try:
        if db.execute("SELECT 1 FROM meta WHERE key=?", (META_KEY,)).fetchone():
            return 0
        kinds = "kind IN ('shot', 'report', 'call') AND deleted=0"
        if db.execute(f"SELECT 1 FROM archive WHERE {kinds} AND source NOT IN (?, ?) LIMIT 1",
                      (LIVE_SOURCE, SOURCE)).fetchone():
            return 0
        # a database kept from demo runs before this one: the history ends where those begin
        first = db.execute(f"SELECT MIN(event_time) FROM archive WHERE {kinds} AND source=?",
                           (LIVE_SOURCE,)).fetchone()[0]
        end = min(now - WARMUP_S, first if first is not None else math.inf)
        start = end - years * YEAR
        records = generate_history(city, start, end, seed)
        archive = Archive(archive_path)
        try:
            written = archive.write(list(records))[0]
        finally:
            archive.close()
        note = {"seed": seed, "start": start, "end": end, "records": written,
                "written_at": time.time()}
        db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                   (META_KEY, json.dumps(note)))
        return written
    finally:
        db.close()
