"""The series behind the commanders' charts, computed from plain record lists.

Charts only draw; every number they show comes from here, so a chart and a table of the same
briefing can never disagree. Hours and weeks are local wall-clock ones in the city's zone:
an hour-of-day average divides by how often that hour really occurred (the spring DST day has
no 02:00, the autumn one has 01:00 twice), and a "week" is seven calendar days (167 or 169
hours across a DST change), as in `compstat`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from .compstat import CITY, Row, is_shooting
from .domain import CallForService, CrimeReport, ShotAlert

HOUR = 3600.0
DAY = 86400.0


def _local(moment: float, zone: str) -> datetime:
    return datetime.fromtimestamp(moment, ZoneInfo(zone))


def _wall_back(moment: float, days: int, zone: str) -> float:
    """The same local wall time `days` calendar days earlier (fold=0 in a DST gap)."""
    wall = _local(moment, zone).replace(tzinfo=None) - timedelta(days=days)
    return wall.replace(tzinfo=ZoneInfo(zone), fold=0).timestamp()


# --- alerts per hour against the typical day ---------------------------------------------

@dataclass(frozen=True, slots=True)
class HourlySeries:
    """24 one-hour bars ending with the hour that contains `now`, and for each bar the mean
    count of its local hour-of-day over the previous `days` days."""

    starts: list[float]
    labels: list[str]
    counts: list[int]
    typical: list[float]
    days: int

    @property
    def total(self) -> int:
        return sum(self.counts)


def hour_of_day_means(times: Iterable[float], start: float, end: float,
                      zone: str = "America/New_York") -> list[float]:
    """Mean events per local hour-of-day in [start, end): the events in hour h divided by the
    number of times hour h occurred in the window (whole clock hours; `start` should be on
    one). A DST change makes that 27 or 29 instead of 28, so no hour is over- or under-read."""
    tz = ZoneInfo(zone)
    occurred = Counter(datetime.fromtimestamp(t, tz).hour
                       for t in _hour_starts(start, end))
    counted = Counter(datetime.fromtimestamp(t, tz).hour for t in times if start <= t < end)
    return [counted[h] / occurred[h] if occurred[h] else 0.0 for h in range(24)]


def _hour_starts(start: float, end: float) -> list[float]:
    first = math.ceil(start / HOUR) * HOUR
    return [first + k * HOUR for k in range(max(0, int((end - first) // HOUR)))]


def alerts_per_hour(times: Iterable[float], now: float, zone: str = "America/New_York",
                    days: int = 28) -> HourlySeries:
    """Bars for the 24 clock hours up to the one containing `now` (the last may be partial),
    against the typical day: the mean per hour-of-day over the `days` local days before the
    first bar. Clock hours are UTC-aligned, which are local hour boundaries in any zone with
    whole-hour offsets."""
    times = list(times)
    end = math.ceil(now / HOUR) * HOUR
    first = end - 24 * HOUR
    starts = [first + k * HOUR for k in range(24)]
    counts = [0] * 24
    for t in times:
        if first <= t < now:
            counts[int((t - first) // HOUR)] += 1
    means = hour_of_day_means(times, _wall_back(first, days, zone), first, zone)
    tz = ZoneInfo(zone)
    hours = [datetime.fromtimestamp(s, tz).hour for s in starts]
    return HourlySeries(starts, [f"{h:02d}" for h in hours], counts, [means[h] for h in hours], days)


# --- weekly trend lines ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """Counts per week for several named series; week k is [starts[k], ends[k])."""

    starts: list[float]
    ends: list[float]
    counts: dict[str, list[int]]


def week_bounds(now: float, weeks: int, zone: str = "America/New_York") -> list[tuple[float, float]]:
    """`weeks` consecutive seven-calendar-day windows, the last ending at `now`."""
    edges = [_wall_back(now, 7 * k, zone) for k in range(weeks, 0, -1)] + [now]
    return list(zip(edges[:-1], edges[1:]))


def weekly_counts(series: Mapping[str, Iterable[float]], now: float, weeks: int = 12,
                  zone: str = "America/New_York") -> WeeklySeries:
    """Events per week of each named series of event times."""
    bounds = week_bounds(now, weeks, zone)
    lows = [b[0] for b in bounds]
    out: dict[str, list[int]] = {}
    for name, times in series.items():
        counts = [0] * weeks
        for t in times:
            if lows[0] <= t < now:
                k = _bisect(lows, t)
                counts[k] += 1
        out[name] = counts
    return WeeklySeries(lows, [b[1] for b in bounds], out)


def _bisect(lows: Sequence[float], t: float) -> int:
    lo, hi = 0, len(lows) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if lows[mid] <= t:
            lo = mid
        else:
            hi = mid - 1
    return lo


def weekly_trends(shots: Sequence[ShotAlert], reports: Sequence[CrimeReport],
                  calls: Sequence[CallForService], now: float, weeks: int = 12,
                  zone: str = "America/New_York") -> WeeklySeries:
    """The three trend lines of the briefing: detections, victim-reported shootings, 911 calls."""
    return weekly_counts({
        "detections": [s.detected_at for s in shots],
        "shootings": [r.occurred_at for r in reports if is_shooting(r)],
        "calls": [c.received_at for c in calls],
    }, now, weeks, zone)


# --- year over year per district ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class YoySeries:
    """Paired counts per area for one metric: this period and the same period a year earlier."""

    metric: str
    areas: list[str]
    current: list[int]
    earlier: list[int]


def yoy_by_area(table: Sequence[Row], metric: str = "detections",
                include_total: bool = False) -> YoySeries:
    """One metric of a `compstat_table` as paired bars; the city total is left out unless
    asked, since it would dwarf every district."""
    areas, current, earlier = [], [], []
    for row in table:
        if row.area == CITY and not include_total:
            continue
        change = row.figures.get(metric)
        areas.append(row.area)
        current.append(change.current if change else 0)
        earlier.append(change.earlier if change else 0)
    return YoySeries(metric, areas, current, earlier)


# --- distributions -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of values in bins [edges[k], edges[k+1]); the last bin also holds everything
    above it (`overflow` says how many), so a few very late responses do not stretch the axis."""

    edges: list[float]
    counts: list[int]
    overflow: int


def histogram(seconds: Sequence[float], bin_s: float = 60.0, max_s: float | None = None) -> Histogram:
    """Bins of `bin_s` seconds from 0 (negative values go into the first bin) up to `max_s`
    (default: the largest value rounded up to a bin)."""
    if bin_s <= 0:
        raise ValueError("bin width must be positive")
    if not seconds:
        return Histogram([0.0, bin_s], [0], 0)
    top = max_s if max_s is not None else max(bin_s, math.ceil(max(seconds) / bin_s) * bin_s)
    n = max(1, math.ceil(top / bin_s))
    counts, overflow = [0] * n, 0
    for value in seconds:
        k = int(max(value, 0.0) // bin_s)
        if k >= n:
            overflow += 1
            k = n - 1
        counts[k] += 1
    return Histogram([k * bin_s for k in range(n + 1)], counts, overflow)
