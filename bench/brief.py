"""Briefing benchmark: every figure of `opscenter brief` on a city-scale five-year archive,
beside the same group-bys in pandas and DuckDB, and the PDF.

1. Generate synthetic events over five years (default 500,000: 20 % gunfire detections,
   20 % crime reports, 60 % 911 calls, nine districts with posts; a share of the calls linked
   to a detection; a workflow record for the last 120 days of alerts) and store them in a
   temporary SQLite archive.
2. For each period (24h, 7d, 28d, month, ytd): reading the windows from the archive, computing
   all figures (CompStat table, detection → 911, workflow response times, outcomes, hourly and
   weekly series), and `briefing_text.collect` end to end.
3. The reference: the same counts per district and metric for the period and a year earlier,
   and median / p90 per district, done with pandas and DuckDB on a DataFrame of the same
   events (in-memory group-by), and with pandas straight from the SQLite archive.
4. The PDF: forecast + charts + document for the 28-day briefing.

Run:  .venv/bin/python bench/brief.py [--events 500000] [--years 5] [--keep DB]
Needs pandas and duckdb for the reference columns ("not installed" is printed otherwise).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from opscenter import briefing_text  # noqa: E402
from opscenter.compstat import (PERIODS, alert_outcomes, compstat_table, detection_to_call,  # noqa: E402
                                period_bounds, year_earlier)
from opscenter.domain import (AlertType, CallForService, CrimeReport, Kind, Origin, Priority,  # noqa: E402
                              ShotAlert)
from opscenter.persistence import Archive  # noqa: E402
from opscenter.response_times import dispositions, load_workflow, response_table  # noqa: E402
from opscenter.trends import alerts_per_hour, weekly_trends  # noqa: E402

DISTRICTS = ["Central", "Eastern", "Northeast", "Northern", "Northwest", "Southeast",
             "Southern", "Southwest", "Western"]
CALL_TYPES = ["disorderly", "common assault", "auto accident", "suspicious person", "911/no voice",
              "discharging", "burglary", "larceny", "family disturbance", "narcotics"]
REPORT_TYPES = ["shooting", "homicide", "robbery", "burglary", "larceny", "aggravated assault"]
ZONE = "America/New_York"
WORKFLOW_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS alert_workflow (alert_id TEXT PRIMARY KEY, state TEXT, shown_at REAL, "
    "acknowledged_at REAL, acknowledged_by TEXT, dispatched_at REAL, dispatched_by TEXT, "
    "on_scene_at REAL, closed_at REAL, closed_by TEXT, disposition TEXT, shelved_until REAL, "
    "shelve_reason TEXT, updated_at REAL)")


def generate(archive: Archive, db: Path, n: int, years: int, now: float, seed: int = 1) -> dict[str, int]:
    """Write n synthetic events over `years` years before `now`; returns counts per kind."""
    rng = np.random.default_rng(seed)
    start = now - years * 365.25 * 86400
    centres = rng.uniform([39.26, -76.70], [39.35, -76.53], size=(len(DISTRICTS), 2))
    counts = {"shot": n // 5, "report": n // 5, "call": n - 2 * (n // 5)}

    def places(k: int):
        d = rng.integers(0, len(DISTRICTS), k)
        pos = centres[d] + rng.normal(0, 0.01, size=(k, 2))
        return d, pos, rng.integers(1, 6, k)

    t = np.sort(rng.uniform(start, now, counts["shot"]))
    d, pos, post = places(t.size)
    shots = [ShotAlert(f"s{i}", 1, float(t[i]), float(pos[i, 0]), float(pos[i, 1]), AlertType.MULTIPLE,
                       3, district=DISTRICTS[d[i]], post=f"{DISTRICTS[d[i]][:2].upper()}{post[i]}")
             for i in range(t.size)]
    t = np.sort(rng.uniform(start, now, counts["report"]))
    d, pos, post = places(t.size)
    cat = rng.choice(len(REPORT_TYPES), t.size, p=[0.15, 0.02, 0.2, 0.2, 0.33, 0.1])
    police = rng.random(t.size) < 0.1
    reports = [CrimeReport(f"r{i}", 1, float(t[i]), REPORT_TYPES[cat[i]],
                           Origin.POLICE_INITIATED if police[i] else Origin.VICTIM_REPORTED,
                           lat=float(pos[i, 0]), lon=float(pos[i, 1]), district=DISTRICTS[d[i]],
                           post=str(post[i])) for i in range(t.size)]
    linked = rng.random(counts["call"]) < 0.15
    target = rng.integers(0, len(shots), counts["call"])
    t = np.sort(rng.uniform(start, now, counts["call"]))
    d, pos, post = places(t.size)
    cat = rng.integers(0, len(CALL_TYPES), t.size)
    calls = []
    for i in range(t.size):
        if linked[i]:
            s = shots[target[i]]
            calls.append(CallForService(f"c{i}", 1, s.detected_at + float(rng.exponential(150)), Priority.HIGH,
                                        "discharging", "", s.lat, s.lon, district=s.district, post=s.post,
                                        shot_id=s.id))
        else:
            calls.append(CallForService(f"c{i}", 1, float(t[i]), Priority.MEDIUM, CALL_TYPES[cat[i]], "",
                                        float(pos[i, 0]), float(pos[i, 1]), district=DISTRICTS[d[i]],
                                        post=str(post[i])))
    for batch in (shots, reports, calls):
        for k in range(0, len(batch), 20000):
            archive.write(batch[k:k + 20000])
    recent = [s for s in shots if s.detected_at >= now - 120 * 86400]
    verdicts = ["evidence_found", "no_evidence", "not_gunfire", "unknown", None]
    rows = []
    for s in recent:
        shown = s.detected_at + float(rng.uniform(5, 40))
        verdict = verdicts[int(rng.choice(5, p=[0.3, 0.4, 0.1, 0.15, 0.05]))]
        rows.append((s.id, "closed" if verdict else "shown", shown, shown + float(rng.exponential(40)),
                     shown + float(rng.exponential(120)), shown + float(rng.exponential(480)), verdict,
                     shown + 3600))
    con = sqlite3.connect(db)
    con.execute(WORKFLOW_SCHEMA)
    con.executemany("INSERT OR REPLACE INTO alert_workflow (alert_id, state, shown_at, acknowledged_at, "
                    "dispatched_at, on_scene_at, disposition, updated_at) VALUES (?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    return {**counts, "workflow": len(rows)}


def timed(fn, *args, **kw):
    started = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - started


def ours(archive: Archive, workflow: list[dict], period: str, now: float) -> tuple[float, float, float]:
    """(read s, compute s, collect end-to-end s) for one period."""
    this = period_bounds(period, now, ZONE)
    before = year_earlier(*this, ZONE)
    started = time.perf_counter()
    trend = (min(this[0], now - 85 * 86400), now)
    shots, reports, calls = [], [], []
    for a, b in (before, trend):
        shots += archive.records(Kind.SHOT, since=a, until=b)
        reports += archive.records(Kind.REPORT, since=a, until=b)
        calls += archive.records(Kind.CALL, since=a, until=b + (86400 if b == now else 0))
    read = time.perf_counter() - started
    started = time.perf_counter()
    current = [s for s in shots if this[0] <= s.detected_at < this[1]]
    compstat_table(shots, reports, calls, period, now, ZONE)
    detection_to_call(current, calls)
    response_table(current, calls, workflow)
    alert_outcomes(current, dispositions(workflow), *this)
    alerts_per_hour([s.detected_at for s in shots], now, ZONE)
    weekly_trends(shots, reports, calls, now, 12, ZONE)
    compute = time.perf_counter() - started
    _, total = timed(briefing_text.collect, archive, period, now, ZONE, workflow=workflow)
    return read, compute, total


FRAME_SQL = ("SELECT kind, event_time AS t, json_extract(body, '$.district') AS district, "
             "json_extract(body, '$.category') AS category, json_extract(body, '$.origin') AS origin "
             "FROM archive WHERE deleted = 0 AND kind IN ('shot', 'report', 'call')")


def metric_column(frame):
    """The CompStat metric of each row, as compstat names them (shootings: victim-reported)."""
    import pandas as pd

    metric = pd.Series("", index=frame.index, dtype=object)
    metric[frame.kind == "shot"] = "detections"
    metric[(frame.kind == "report") & (frame.category == "shooting") & (frame.origin == "victim_reported")] = "shootings"
    metric[(frame.kind == "report") & (frame.category == "homicide")] = "homicides"
    calls = frame.kind == "call"
    metric[calls] = "calls: " + frame.category[calls]
    return metric


def pandas_counts(frame, this, before):
    import pandas as pd

    parts = []
    for label, (a, b) in (("now", this), ("before", before)):
        window = frame[(frame.t >= a) & (frame.t < b) & (frame.metric != "")]
        parts.append(window.groupby(["district", "metric"]).size().rename(label))
    return pd.concat(parts, axis=1).fillna(0)


def duckdb_counts(con, this, before):
    return con.execute(
        "SELECT district, metric, count(*) FILTER (WHERE t >= ? AND t < ?) AS now, "
        "count(*) FILTER (WHERE t >= ? AND t < ?) AS before FROM events WHERE metric <> '' "
        "AND ((t >= ? AND t < ?) OR (t >= ? AND t < ?)) GROUP BY district, metric",
        [*this, *before, *this, *before]).fetchall()


def pandas_quantiles(shots, calls, this):
    """Median and p90 of detection -> first linked call per district, for detections in `this`."""
    first = calls.dropna(subset=["shot_id"]).groupby("shot_id").t.min()
    window = shots[(shots.t >= this[0]) & (shots.t < this[1])]
    delay = first.reindex(window.id).to_numpy() - window.t.to_numpy()
    return window.assign(delay=delay).dropna(subset=["delay"]).groupby("district").delay.quantile([0.5, 0.9])


def reference(db: Path, now: float, check: dict[str, int]) -> list[str]:
    lines = []
    try:
        import pandas as pd
    except ImportError:
        return ["pandas: not installed", "duckdb: not installed"]
    con = sqlite3.connect(db)
    frame, load = timed(pd.read_sql, FRAME_SQL, con)
    frame["metric"] = metric_column(frame)
    shots = pd.read_sql("SELECT event_time AS t, id, json_extract(body, '$.district') AS district "
                        "FROM archive WHERE kind = 'shot'", con)
    calls = pd.read_sql("SELECT event_time AS t, json_extract(body, '$.shot_id') AS shot_id FROM archive "
                        "WHERE kind = 'call'", con)
    con.close()
    lines.append(f"pandas: read the whole archive with json_extract into a DataFrame: {load:.2f} s "
                 f"({len(frame):,} rows)")
    try:
        import duckdb
        duck = duckdb.connect()
        duck.register("events", frame[["t", "district", "metric"]])
    except ImportError:
        duck = None
        lines.append("duckdb: not installed")
    for period in PERIODS:
        this = period_bounds(period, now, ZONE)
        before = year_earlier(*this, ZONE)
        _, p_count = timed(pandas_counts, frame, this, before)
        _, p_quant = timed(pandas_quantiles, shots, calls, this)
        cell = f"  {period:>5}: pandas counts {1000 * p_count:7.1f} ms, median/p90 {1000 * p_quant:7.1f} ms"
        if duck is not None:
            _, d_count = timed(duckdb_counts, duck, this, before)
            cell += f"; duckdb counts {1000 * d_count:7.1f} ms"
        lines.append(cell)
        if period in check:
            got = pandas_counts(frame, this, before)
            mine = int(got.xs("detections", level="metric")["now"].sum())
            lines.append(f"         check: city detections now — OpsCenter {check[period]:,}, pandas {mine:,}"
                         + ("" if mine == check[period] else "  MISMATCH"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the generated archive at this path")
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="opscenter-brief-")
    db = args.keep or Path(folder) / "bench.sqlite3"
    now = time.mktime((2026, 6, 30, 23, 59, 59, 0, 0, -1))
    archive = Archive(db)
    if archive.count() == 0:
        counts, spent = timed(generate, archive, db, args.events, args.years, now)
        print(f"generated and stored {sum(v for k, v in counts.items() if k != 'workflow'):,} events "
              f"({counts}) in {spent:.1f} s")
    print(f"archive: {db} ({db.stat().st_size / 1e6:.0f} MB)")
    workflow, wf_load = timed(load_workflow, db)
    print(f"workflow rows: {len(workflow):,} (loaded in {1000 * wf_load:.0f} ms)\n")
    print("OpsCenter (pure Python over archived records):")
    for period in PERIODS:
        read, compute, total = ours(archive, workflow, period, now)
        print(f"  {period:>5}: read {read:6.2f} s, all figures {1000 * compute:7.1f} ms, "
              f"collect end to end {total:6.2f} s")
    print("\nReference (same counts per district and metric, now and a year earlier; median/p90 "
          "of detection → first 911 call per district):")
    check = {}
    for period in ("28d", "ytd"):
        table = briefing_text.collect(archive, period, now, ZONE).figures.table
        check[period] = table[-1].figures["detections"].current
    for line in reference(db, now, check):
        print(line)
    if not args.no_pdf:
        from PySide6.QtWidgets import QApplication

        from ui.report import write_pdf

        QApplication.instance() or QApplication([])
        briefing, t_collect = timed(briefing_text.collect, archive, "28d", now, ZONE, workflow=workflow,
                                    forecast=True)
        out = Path(folder) / "brief.pdf"
        pages, t_pdf = timed(write_pdf, briefing, out)
        print(f"\nPDF (28d): collect with forecast {t_collect:.2f} s, charts + document {t_pdf:.2f} s, "
              f"{pages} pages, {out.stat().st_size / 1e3:.0f} kB")
    archive.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
