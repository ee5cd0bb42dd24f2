"""The district commanders' figures: counts per period with year-over-year change, response
times and alert outcomes.

Everything here is a pure function over lists of records, so a briefing can be recomputed from
the archive, a replay or a test fixture alike. Periods are local wall-clock periods in the
city's zone: "7d" ending at 09:00 starts at 09:00 seven calendar days earlier, so a week that
contains the spring DST change lasts 167 hours and one with the autumn change 169 hours.
"24h" is exactly 86,400 seconds (what "the last 24 hours" means on a shift).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from .domain import CallForService, CrimeReport, Kind, Origin, ShotAlert

if TYPE_CHECKING:
    from .persistence import Archive

PERIODS = ("24h", "7d", "28d", "month", "ytd")
CITY = "City total"
UNASSIGNED = "(no area)"
DISPOSITIONS = ("evidence_found", "no_evidence", "not_gunfire", "unknown")
OPEN = "open"
"""An alert with no disposition yet: shown apart from "unknown", which is a closed verdict."""

_DAYS = {"7d": 7, "28d": 28}


# --- periods -----------------------------------------------------------------------------

def _local(moment: float, zone: str) -> datetime:
    return datetime.fromtimestamp(moment, ZoneInfo(zone))


def _epoch(wall: datetime, zone: str) -> float:
    """A naive local wall time to epoch seconds; a time skipped by DST reads as standard time
    (fold=0), the same rule the importers use."""
    return wall.replace(tzinfo=ZoneInfo(zone), fold=0).timestamp()


def period_bounds(name: str, now: float, zone: str = "America/New_York") -> tuple[float, float]:
    """[start, end) of a named period ending at `now`: "24h", "7d", "28d", "month" (calendar
    month to date) or "ytd" (year to date), starts at local midnight for the last two."""
    if name == "24h":
        return now - 86400.0, now
    wall = _local(now, zone).replace(tzinfo=None)
    if name in _DAYS:
        return _epoch(wall - timedelta(days=_DAYS[name]), zone), now
    if name == "month":
        return _epoch(wall.replace(day=1, hour=0, minute=0, second=0, microsecond=0), zone), now
    if name == "ytd":
        return _epoch(datetime(wall.year, 1, 1), zone), now
    raise ValueError(f"unknown period {name!r}; known: {', '.join(PERIODS)}")


def _year_back(wall: datetime) -> datetime:
    """The same wall time a year earlier; 29 February becomes 28 February."""
    day = min(wall.day, 28) if (wall.month, wall.day) == (2, 29) else wall.day
    return wall.replace(year=wall.year - 1, day=day)


def year_earlier(start: float, end: float, zone: str = "America/New_York") -> tuple[float, float]:
    """The same local calendar window one year earlier, so YTD compares with YTD at the same
    wall-clock moment, and a window crossing New Year moves both ends back one year."""
    begin = _year_back(_local(start, zone).replace(tzinfo=None))
    finish = _year_back(_local(end, zone).replace(tzinfo=None))
    return _epoch(begin, zone), _epoch(finish, zone)


# --- counts ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Change:
    """A count this period against the same period a year earlier."""

    current: int
    earlier: int

    @property
    def percent(self) -> float | None:
        """Percent change; None when the earlier count is 0 (no base to compare with)."""
        if self.earlier == 0:
            return None
        return 100.0 * (self.current - self.earlier) / self.earlier

    @property
    def label(self) -> str:
        """"+25%", "-10%", "0%", or "new" when there was nothing a year earlier."""
        pct = self.percent
        if pct is None:
            return "new" if self.current else "0%"
        return f"{pct:+.0f}%" if round(pct) else "0%"


@dataclass(frozen=True, slots=True)
class Row:
    """One area's figures; `figures` keeps metric order (shootings, homicides, detections,
    then "calls: <category>" for the top call categories)."""

    area: str
    figures: dict[str, Change] = field(default_factory=dict)


def _area(record: ShotAlert | CallForService | CrimeReport, by: str) -> str:
    if by not in ("district", "post"):
        raise ValueError(f"by must be 'district' or 'post', not {by!r}")
    return getattr(record, by) or UNASSIGNED


def is_shooting(report: CrimeReport) -> bool:
    """Victim-reported shootings only: police-initiated records measure where police looked."""
    return report.category == "shooting" and report.origin == Origin.VICTIM_REPORTED


def is_homicide(report: CrimeReport) -> bool:
    return report.category == "homicide"


def _metric_events(shots: Sequence[ShotAlert], reports: Sequence[CrimeReport],
                   calls: Sequence[CallForService], top_calls: int,
                   window: tuple[float, float]) -> dict[str, list[tuple[float, object]]]:
    """Metric name -> (event time, record) pairs; call categories ranked in `window`."""
    ranked = Counter(c.category for c in calls if window[0] <= c.received_at < window[1])
    top = [name for name, _ in sorted(ranked.items(), key=lambda kv: (-kv[1], kv[0]))[:top_calls]]
    events: dict[str, list[tuple[float, object]]] = {
        "shootings": [(r.occurred_at, r) for r in reports if is_shooting(r)],
        "homicides": [(r.occurred_at, r) for r in reports if is_homicide(r)],
        "detections": [(s.detected_at, s) for s in shots],
    }
    for name in top:
        events[f"calls: {name}"] = [(c.received_at, c) for c in calls if c.category == name]
    return events


def compstat_table(shots: Sequence[ShotAlert], reports: Sequence[CrimeReport],
                   calls: Sequence[CallForService], period: str, now: float,
                   zone: str = "America/New_York", by: str = "district",
                   top_calls: int = 5) -> list[Row]:
    """Rows per area (sorted) then a city-total row: each metric this period vs a year earlier."""
    this = period_bounds(period, now, zone)
    before = year_earlier(*this, zone)
    events = _metric_events(shots, reports, calls, top_calls, this)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for metric, items in events.items():
        for moment, record in items:
            for slot, (start, end) in enumerate((this, before)):
                if start <= moment < end:
                    counts[_area(record, by)][metric][slot] += 1  # type: ignore[arg-type]
                    counts[CITY][metric][slot] += 1
    areas = sorted(a for a in counts if a != CITY) + [CITY]
    return [Row(area, {m: Change(*counts[area][m]) for m in events}) for area in areas]


def yearly_counts(times: Iterable[float], zone: str = "America/New_York") -> dict[int, int]:
    """Events per local calendar year (a shot at 23:30 on 31 December local counts in that
    year even though it is already January in UTC)."""
    tz = ZoneInfo(zone)
    counted = Counter(datetime.fromtimestamp(t, tz).year for t in times)
    return dict(sorted(counted.items()))


def detections_by_year(shots: Iterable[ShotAlert], zone: str = "America/New_York",
                       by: str | None = None) -> dict:
    """Detections per local year; with `by`, a dict area -> {year: count}."""
    shots = list(shots)
    if by is None:
        return yearly_counts((s.detected_at for s in shots), zone)
    grouped: dict[str, list[float]] = defaultdict(list)
    for shot in shots:
        grouped[_area(shot, by)].append(shot.detected_at)
    return {area: yearly_counts(times, zone) for area, times in sorted(grouped.items())}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def year_sentence(area: str, reports: Sequence[CrimeReport], first: int, second: int,
                  zone: str = "America/New_York", by: str = "district") -> str:
    """The briefing line "Eastern: 55 homicides and 90 shootings in 2017 vs 43 and 98 in 2018"
    for one area (or CITY for all) and two calendar years."""
    mine = [r for r in reports if area == CITY or _area(r, by) == area]
    homicides = yearly_counts((r.occurred_at for r in mine if is_homicide(r)), zone)
    shootings = yearly_counts((r.occurred_at for r in mine if is_shooting(r)), zone)
    h1, s1 = homicides.get(first, 0), shootings.get(first, 0)
    h2, s2 = homicides.get(second, 0), shootings.get(second, 0)
    return (f"{area}: {_plural(h1, 'homicide')} and {_plural(s1, 'shooting')} in {first} "
            f"vs {h2} and {s2} in {second}")


# --- response times ----------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) by linear interpolation between closest ranks: position
    h = (n-1)*q in the sorted values, then x[floor h] + (h - floor h)*(x[floor h + 1] - x[floor h]).
    This is Hyndman & Fan type 7 (numpy's and Excel PERCENTILE.INC's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True, slots=True)
class Timing:
    """Median and 90th percentile of intervals in seconds for one area."""

    area: str
    count: int
    median: float | None
    p90: float | None
    without_end: int = 0
    """Starts with no matching end (for detection -> 911: detections no one called in)."""

    @property
    def without_end_share(self) -> float | None:
        total = self.count + self.without_end
        return self.without_end / total if total else None


def interval_stats(pairs: Iterable[tuple[str, float, float | None]]) -> list[Timing]:
    """Median/p90 per area of (area, start, end) intervals; end None counts as "never". The
    hook for alert->ack, ->dispatch and ->on-scene once those times are recorded."""
    spans: dict[str, list[float]] = defaultdict(list)
    missing: Counter[str] = Counter()
    for area, start, end in pairs:
        area = area or UNASSIGNED
        if end is None:
            missing[area] += 1
            missing[CITY] += 1
        else:
            spans[area].append(end - start)
            spans[CITY].append(end - start)
    areas = sorted((set(spans) | set(missing)) - {CITY}) + [CITY]
    return [Timing(a, len(spans[a]), percentile(spans[a], 0.5), percentile(spans[a], 0.9),
                   missing[a]) for a in areas]


def detection_to_call(shots: Sequence[ShotAlert], calls: Sequence[CallForService],
                      by: str = "district") -> list[Timing]:
    """Seconds from each detection to its first linked 911 call (calls carry shot_id), and the
    detections with no call at all: the "before 911" value of the sensors. A negative interval
    (a caller quicker than the sensor) is kept, not hidden."""
    first: dict[str, float] = {}
    for call in calls:
        if call.shot_id and (call.shot_id not in first or call.received_at < first[call.shot_id]):
            first[call.shot_id] = call.received_at
    return interval_stats((_area(s, by), s.detected_at, first.get(s.id)) for s in shots)


# --- alert outcomes ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outcome:
    """Alert outcomes for one area: counts per disposition plus OPEN (not yet closed)."""

    area: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, disposition: str) -> float | None:
        """Share of all alerts in the area (open and unknown included, so nothing is hidden)."""
        return self.counts.get(disposition, 0) / self.total if self.total else None

    @property
    def evidence_rate(self) -> float | None:
        """Evidence found among alerts closed with a known verdict; None when there are none."""
        known = sum(self.counts[d] for d in ("evidence_found", "no_evidence", "not_gunfire"))
        return self.counts["evidence_found"] / known if known else None


def alert_outcomes(shots: Sequence[ShotAlert], dispositions: Mapping[str, str],
                   start: float | None = None, end: float | None = None,
                   by: str = "district") -> list[Outcome]:
    """Outcome counts per area (then CITY) for alerts detected in [start, end); an alert with no
    entry in `dispositions` is OPEN. An unrecognised disposition is an error, not "unknown"."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for shot in shots:
        if (start is not None and shot.detected_at < start) or (end is not None and shot.detected_at >= end):
            continue
        verdict = dispositions.get(shot.id, OPEN)
        if verdict not in DISPOSITIONS and verdict != OPEN:
            raise ValueError(f"alert {shot.id}: unknown disposition {verdict!r}")
        counts[_area(shot, by)][verdict] += 1
        counts[CITY][verdict] += 1
    areas = sorted(a for a in counts if a != CITY) + [CITY]
    return [Outcome(a, {d: counts[a][d] for d in (*DISPOSITIONS, OPEN)}) for a in areas]


# --- from the archive --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Figures:
    """Everything a briefing page shows for one period."""

    period: str
    bounds: tuple[float, float]
    earlier: tuple[float, float]
    table: list[Row]
    response: list[Timing]
    outcomes: list[Outcome]


def figures_from_archive(archive: Archive, period: str, now: float, zone: str = "America/New_York",
                         by: str = "district", dispositions: Mapping[str, str] | None = None,
                         top_calls: int = 5) -> Figures:
    """Read only the two windows from an Archive (or anything with `records(kind, since,
    until)`) and compute the briefing figures. Calls are read up to a day past the period so a
    late 911 call still links to its detection."""
    this = period_bounds(period, now, zone)
    before = year_earlier(*this, zone)
    shots, reports, calls = [], [], []
    for start, end in (before, this):
        shots += archive.records(Kind.SHOT, since=start, until=end)
        reports += archive.records(Kind.REPORT, since=start, until=end)
        calls += archive.records(Kind.CALL, since=start, until=end)
    late_calls = archive.records(Kind.CALL, since=this[1], until=this[1] + 86400.0)
    current_shots = [s for s in shots if this[0] <= s.detected_at < this[1]]
    return Figures(
        period=period, bounds=this, earlier=before,
        table=compstat_table(shots, reports, calls, period, now, zone, by, top_calls),
        response=detection_to_call(current_shots, calls + late_calls, by),
        outcomes=alert_outcomes(current_shots, dispositions or {}, *this, by=by),
    )
