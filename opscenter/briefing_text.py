"""`opscenter brief`: the commanders' briefing for a period, as text, CSV files and a PDF.

Everything a briefing shows is gathered once into a `Briefing` (pure data, no Qt): counts per
district against the same period a year earlier, the chart series, response times from the
alert workflow, alert outcomes, and the next day's risk forecast with its fairness readout.
The text page, the CSV files and the PDF (`ui.report`) are three views of that one object.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence, TextIO
from zoneinfo import ZoneInfo

from .compstat import (CITY, DISPOSITIONS, OPEN, PERIODS, Figures, Timing, alert_outcomes,
                       compstat_table, detection_to_call, is_shooting, period_bounds,
                       year_earlier)
from .domain import Kind
from .missions import missions_between
from .persistence import Archive
from .response_times import (FIRST_CALL, dispositions, load_workflow, response_table, restrict,
                             stage_pairs, stage_seconds)
from .response_times import table_rows as response_rows
from .trends import (HourlySeries, WeeklySeries, YoySeries, alerts_per_hour, weekly_trends,
                     yoy_by_area)

ALIASES = {"daily": "24h", "weekly": "7d", "monthly": "month"}
TREND_WEEKS = 12
MIN_FORECAST_EVENTS = 200
MIN_FORECAST_DAYS = 56
TOP_AREAS = 10


def _day(value: float, zone: str) -> str:
    return datetime.fromtimestamp(value, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --- the briefing ------------------------------------------------------------------------

@dataclass(frozen=True)
class FlaggedArea:
    """One of the forecast's top cells: where it is and its share of the forecast risk."""

    rank: int
    district: str
    lon: float
    lat: float
    share: float


@dataclass(frozen=True)
class RiskReadout:
    """The next day's forecast: top areas and the fairness readout, or why there is none."""

    day: str
    events: int
    victim_reports: int
    reason: str | None = None
    top: list[FlaggedArea] = field(default_factory=list)
    fairness: object | None = None  # forecast.FairnessReport


@dataclass(frozen=True)
class Briefing:
    figures: Figures
    zone: str
    generated_at: float
    district: str | None
    response: dict[str, list[Timing]]
    distributions: dict[str, list[float]]
    hourly: HourlySeries
    weekly: WeeklySeries
    yoy: YoySeries
    risk: RiskReadout | None = None
    with_workflow: int = 0
    """Alerts of the period that have a workflow record (imported history has none)."""
    missions: list = field(default_factory=list)
    """Patrol missions whose shift overlaps the period, as `Mission.to_dict()`."""


def risk_readout(archive: Archive, until: float, zone: str, top: int = TOP_AREAS,
                 fraction: float = 0.05) -> RiskReadout:
    """The multi-scale forecast for the day starting at `until`, learnt from archived
    detections and victim-reported shootings of the 400 days before; too little history is
    a reason on the page, not an error."""
    import numpy as np

    from .forecast import MultiScale, events_from_records, fairness_readout, grid_over_hull
    from .forecast.evaluate import cells_flagged, top_cells
    from .forecast.fairness import cell_districts_by_majority, victim_counts

    day = datetime.fromtimestamp(until, ZoneInfo(zone)).strftime("%Y-%m-%d")
    since = until - 400 * 86400.0
    shots = archive.records(Kind.SHOT, since=since, until=until)
    reports = [r for r in archive.records(Kind.REPORT, since=since, until=until) if is_shooting(r)]
    events = events_from_records([*shots, *reports], tz=zone)
    victims = sum(victim_counts(events).values()) if len(events) else 0
    span = (float(events.t[-1]) - float(events.t[0])) / 86400.0 if len(events) else 0.0
    if len(events) < MIN_FORECAST_EVENTS or span < MIN_FORECAST_DAYS:
        return RiskReadout(day, len(events), victims, reason=(
            f"Too little history for a forecast: {len(events):,} detections and victim-reported "
            f"shootings over {span:.0f} days before {day}; at least {MIN_FORECAST_EVENTS} over "
            f"{MIN_FORECAST_DAYS} days are needed."))
    grid = grid_over_hull(events.lon, events.lat)
    scores = MultiScale(grid).fit(events, until).predict()
    cell_district = cell_districts_by_majority(grid, events)
    fairness = fairness_readout(scores, cell_district, victim_counts(events), fraction)
    lon, lat = grid.centres_lonlat()
    total = float(np.clip(scores, 0, None).sum()) or 1.0
    best = top_cells(scores, min(top, cells_flagged(fraction, grid.n_cells) or top))
    areas = [FlaggedArea(k + 1, str(cell_district[c]) or "—", float(lon[c]), float(lat[c]),
                         float(scores[c]) / total) for k, c in enumerate(best.tolist())]
    return RiskReadout(day, len(events), victims, top=areas, fairness=fairness)


def collect(archive: Archive, period: str, now: float, zone: str = "America/New_York",
            by: str = "district", district: str | None = None, workflow: list[dict] | None = None,
            forecast: bool = False, weeks: int = TREND_WEEKS) -> Briefing:
    """Read the period, its year-earlier twin and the trend window once, and compute every
    figure of the briefing. With `district`, tables keep that area and the city total, and the
    charts follow the district."""
    period = ALIASES.get(period, period)
    this = period_bounds(period, now, zone)
    before = year_earlier(*this, zone)
    trend_start = min(this[0], now - 30 * 86400.0, now - (weeks * 7 + 1) * 86400.0)
    windows = [before, (trend_start, now)]
    if before[1] > trend_start:  # long periods (ytd in spring) overlap the trend window
        windows = [(min(before[0], trend_start), now)]
    shots, reports, calls = [], [], []
    for start, end in windows:
        shots += archive.records(Kind.SHOT, since=start, until=end)
        reports += archive.records(Kind.REPORT, since=start, until=end)
        calls += archive.records(Kind.CALL, since=start, until=end)
    late_calls = archive.records(Kind.CALL, since=now, until=now + 86400.0)
    workflow = workflow or []
    current = [s for s in shots if this[0] <= s.detected_at < this[1]]
    table = compstat_table(shots, reports, calls, period, now, zone, by)
    timings = response_table(current, calls + late_calls, workflow, by)
    outcomes = alert_outcomes(current, dispositions(workflow), *this, by=by)
    figures = Figures(period, this, before, table, detection_to_call(current, calls + late_calls, by),
                      outcomes)
    mine = current
    if district:
        keep = (district, CITY)
        figures = replace(figures, table=[r for r in table if r.area in keep],
                          response=[t for t in figures.response if t.area in keep],
                          outcomes=[o for o in outcomes if o.area in keep])
        timings = restrict(timings, district)
        shots = [s for s in shots if getattr(s, by) == district]
        reports = [r for r in reports if getattr(r, by) == district]
        calls = [c for c in calls if getattr(c, by) == district]
        mine = [s for s in current if getattr(s, by) == district]
    pairs = stage_pairs(mine, calls + late_calls, workflow, by)
    return Briefing(
        figures=figures, zone=zone, generated_at=time.time(), district=district,
        response=timings, distributions=stage_seconds(pairs),
        hourly=alerts_per_hour([s.detected_at for s in shots], now, zone),
        weekly=weekly_trends(shots, reports, calls, now, weeks, zone),
        yoy=yoy_by_area(figures.table, "detections", include_total=bool(district)),
        risk=risk_readout(archive, next_midnight(now, zone), zone) if forecast else None,
        with_workflow=len({s.id for s in mine} & {str(r["alert_id"]) for r in workflow}),
        missions=[m for m in (missions_between(archive.path, *this) if hasattr(archive, "path") else [])
                  if not district or m.get("district") == district],
    )


def next_midnight(now: float, zone: str) -> float:
    wall = datetime.fromtimestamp(now, ZoneInfo(zone)).replace(tzinfo=None)
    midnight = (wall + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.replace(tzinfo=ZoneInfo(zone)).timestamp()


# --- tables ------------------------------------------------------------------------------

def table_rows(figures: Figures) -> tuple[list[str], list[list[str]]]:
    """Header and rows: per area, each metric as "now (a year earlier, change)"."""
    metrics: list[str] = []
    for row in figures.table:
        for name in row.figures:
            if name not in metrics:
                metrics.append(name)
    header = ["area"] + [f"{m} now" for m in metrics] + [f"{m} a year earlier" for m in metrics] \
        + [f"{m} change" for m in metrics]
    rows = []
    for row in figures.table:
        changes = [row.figures.get(m) for m in metrics]
        rows.append([row.area]
                    + [str(c.current) if c else "0" for c in changes]
                    + [str(c.earlier) if c else "0" for c in changes]
                    + [c.label if c else "0%" for c in changes])
    return header, rows


def outcome_rows(figures: Figures) -> tuple[list[str], list[list[str]]]:
    """Counts and shares of every disposition per area, open and unknown included."""
    names = [*DISPOSITIONS, OPEN]
    header = ["area", "alerts"] + names + [f"{n} share" for n in names]
    rows = []
    for o in figures.outcomes:
        shares = [o.share(n) for n in names]
        rows.append([o.area, str(o.total)] + [str(o.counts.get(n, 0)) for n in names]
                    + ["" if s is None else f"{100 * s:.0f}%" for s in shares])
    return header, rows


def trend_rows(briefing: Briefing) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The chart series as tables: alerts per hour vs the typical day, and weekly counts."""
    zone, hourly, weekly = briefing.zone, briefing.hourly, briefing.weekly
    hours = (["hour starting", "alerts", f"typical ({hourly.days}-day mean)"],
             [[_day(s, zone), str(c), f"{m:.2f}"]
              for s, c, m in zip(hourly.starts, hourly.counts, hourly.typical)])
    names = list(weekly.counts)
    weeks = (["week starting", "week ending"] + names,
             [[_day(a, zone), _day(b, zone)] + [str(weekly.counts[n][k]) for n in names]
              for k, (a, b) in enumerate(zip(weekly.starts, weekly.ends))])
    return {"hourly": hours, "weekly": weeks}


def fairness_rows(risk: RiskReadout) -> tuple[list[str], list[list[str]]]:
    header = ["district", "flagged cells", "flagged area share", "patrol share",
              "victim-reported shootings", "victim share", "ratio", "warning"]
    shares = risk.fairness.districts if risk.fairness is not None else ()  # type: ignore[attr-defined]
    return header, [[d.district, str(d.flagged_cells), f"{100 * d.flagged_area_share:.1f}%",
                     f"{100 * d.patrol_share:.1f}%", str(d.victim_events),
                     f"{100 * d.victim_share:.1f}%",
                     "inf" if d.ratio == float("inf") else f"{d.ratio:.2f}", d.warning or ""]
                    for d in shares]


def write_csv(figures: Figures, out: TextIO) -> None:
    header, rows = table_rows(figures)
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)


def write_all_csv(briefing: Briefing, path: Path) -> list[Path]:
    """The main table at `path` (same columns as ever) and every other table beside it:
    brief-response.csv, brief-outcomes.csv, brief-hourly.csv, brief-weekly.csv and, with a
    forecast, brief-fairness.csv."""
    tables = {"": table_rows(briefing.figures), "-response": response_rows(briefing.response),
              "-outcomes": outcome_rows(briefing.figures)}
    tables.update({f"-{k}": v for k, v in trend_rows(briefing).items()})
    if briefing.risk is not None and briefing.risk.fairness is not None:
        tables["-fairness"] = fairness_rows(briefing.risk)
    written = []
    for suffix, (header, rows) in tables.items():
        target = path.with_name(f"{path.stem}{suffix}{path.suffix or '.csv'}")
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(target)
    return written


# --- text --------------------------------------------------------------------------------

def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value / 60:.1f}"


def render_text(figures: Figures, zone: str, response: dict[str, list[Timing]] | None = None) -> str:
    """A fixed-width page a commander can read aloud from."""
    out = io.StringIO()
    start, end = figures.bounds
    before = figures.earlier
    out.write(f"Briefing — {figures.period}: {_day(start, zone)} to {_day(end, zone)} "
              f"(a year earlier: {_day(before[0], zone)} to {_day(before[1], zone)})\n\n")
    metrics = []
    for row in figures.table:
        metrics += [m for m in row.figures if m not in metrics]
    width = max([len(r.area) for r in figures.table] + [8])
    out.write(f"{'':{width}}  " + "  ".join(f"{m[:22]:>22}" for m in metrics) + "\n")
    for row in figures.table:
        cells = []
        for m in metrics:
            c = row.figures.get(m)
            cells.append(f"{(f'{c.current} vs {c.earlier} ({c.label})' if c else '0'):>22}")
        out.write(f"{row.area:{width}}  " + "  ".join(cells) + "\n")
    stages = response or ({FIRST_CALL: figures.response} if figures.response else {})
    for stage, timings in stages.items():
        if not timings:
            continue
        out.write(f"\n{stage[0].upper()}{stage[1:]} (minutes)\n")
        for t in timings:
            share = "—" if t.without_end_share is None else f"{100 * t.without_end_share:.0f}%"
            out.write(f"  {t.area:{width}}  median {_minutes(t.median):>6}  p90 {_minutes(t.p90):>6}"
                      f"  n {t.count:>6}  without end: {share}\n")
    city = [o for o in figures.outcomes if o.area == CITY]
    if city and city[0].total:
        o = city[0]
        parts = [f"{n.replace('_', ' ')} {o.counts.get(n, 0)} ({100 * (o.share(n) or 0):.0f}%)"
                 for n in (*DISPOSITIONS, OPEN)]
        out.write(f"\nAlert outcomes ({o.total} alerts): " + ", ".join(parts) + "\n")
    return out.getvalue()


# --- command line ------------------------------------------------------------------------

def _headless() -> None:
    """A PDF needs no screen: without one, Qt must draw offscreen (set before Qt loads)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main_brief(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opscenter brief", description="The commanders' figures for a period.")
    parser.add_argument("--period", choices=(*PERIODS, *ALIASES), default="28d",
                        help="daily, weekly and monthly are 24h, 7d and month")
    parser.add_argument("--at", metavar="YYYY-MM-DD", help="brief as of this day's end (default: now)")
    parser.add_argument("--by", choices=("district", "post"), default="district")
    parser.add_argument("--district", metavar="NAME", help="tables for this area only (city totals kept)")
    parser.add_argument("--zone", default="America/New_York")
    parser.add_argument("--db", type=Path, default=Path("var/opscenter.sqlite3"))
    parser.add_argument("--csv", type=Path, metavar="OUT.csv",
                        help="write every table as CSV: OUT.csv, OUT-response.csv, OUT-outcomes.csv, …")
    parser.add_argument("--out", type=Path, metavar="FILE.pdf", help="write the briefing as PDF")
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"no database at {args.db}: import history first (opscenter import FILE)", file=sys.stderr)
        return 2
    if args.out is not None and args.out.suffix.lower() != ".pdf":
        print(f"--out must name a .pdf file, not {args.out}", file=sys.stderr)
        return 2
    now = time.time()
    if args.at:
        day = datetime.strptime(args.at, "%Y-%m-%d").replace(hour=23, minute=59, second=59,
                                                             tzinfo=ZoneInfo(args.zone))
        now = day.timestamp()
    workflow = load_workflow(args.db)
    archive = Archive(args.db)
    try:
        briefing = collect(archive, args.period, now, args.zone, by=args.by, district=args.district,
                           workflow=workflow, forecast=bool(args.out or args.csv))
    finally:
        archive.close()
    print(render_text(briefing.figures, args.zone, briefing.response))
    if args.csv:
        written = write_all_csv(briefing, args.csv)
        print(f"table written to {args.csv}" + (f" (and {len(written) - 1} more beside it)" if len(written) > 1 else ""))
    if args.out:
        _headless()
        from ui.report import write_pdf

        pages = write_pdf(briefing, args.out)
        print(f"briefing written to {args.out} ({pages} pages)")
    return 0
