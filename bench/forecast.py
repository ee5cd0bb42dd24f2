"""Forecast benchmark: cost per method, then the full-year backtest side by side with naive.

1. Fit + predict time and peak memory (tracemalloc) of every method on one year of DC
   detections, and on the whole history before the forecast day (what the backtest fits on).
2. Next-day forecasts for every day of the year (default 2012) on the DC file, trained on
   everything before each day: 150 m cells over the convex hull of all points, ties broken in
   grid order, mean over the days with events (the published reference protocol); repeated on
   several grid offsets, and scored again with random tie-breaks (their exact expectation).
3. The same walk on a city nothing was tuned on (Camden NJ, dates only), 2016-2017.
4. The Knox near-repeat table of the year, and a fairness readout per DC coverage area.

Run:  .venv/bin/python bench/forecast.py [--year 2012] [--offsets 8] [--jobs 2]
          [--sections cost,dc,camden,knox,fairness]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from datetime import date, timedelta
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opscenter.forecast.backtest import METHODS, make_method, run_backtest  # noqa: E402
from opscenter.forecast.data import EventSet, day_start, load_dc_csv, load_jtl_csv  # noqa: E402
from opscenter.forecast.evaluate import day_score  # noqa: E402
from opscenter.forecast.fairness import (  # noqa: E402
    cell_districts_by_majority, fairness_readout,
)
from opscenter.forecast.grid import grid_offsets, grid_over_hull  # noqa: E402
from opscenter.forecast.knox import knox_events  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "gunshot"
DC_FILE = DATA / "dc_shotspotter_2006-2013_foia.csv"
CAMDEN_FILE = DATA / "camden_nj_shotspotter_jtl_format.csv"
FRACTIONS = (0.01, 0.05)
# DESIGN.md: open_cp's methods on the same file and protocol, 2012 (hit rate at 1% / 5%).
REFERENCE = {"naive": (12.8, 36.8), "hawkes": (15.5, 39.1), "retrospective (best)": (12.9, 35.5),
             "prospective": (10.1, 29.8), "kde": (7.6, 24.3)}


def cost(events: EventSet, first_day: str) -> list[tuple[str, str, float, float, float]]:
    """(method, training set, fit s, predict s, peak MiB) for one forecast on `first_day`."""
    until = day_start(first_day)
    year = events.between(until - 365 * 86_400.0, until)
    everything = events.before(until)
    grid = grid_over_hull(events.lon, events.lat, 150.0)
    rows = []
    for name in METHODS:
        for label, train in (("1 year", year), ("all before", everything)):
            model = make_method(name, grid)
            tracemalloc.start()
            t0 = time.perf_counter()
            model.fit(train, until)
            t1 = time.perf_counter()
            model.predict()
            t2 = time.perf_counter()
            peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            rows.append((name, f"{label} ({len(train):,})", t1 - t0, t2 - t1, peak))
    return rows


def one_offset(job: tuple[str, str, str, str, tuple[float, float], list[str]]) -> list[dict]:
    """Backtest every method on one grid offset; per-day hits under both tie rules."""
    kind, path, first, last, offset, methods = job
    events = load_dc_csv(path) if kind == "dc" else load_jtl_csv(path)
    out = []
    for res in run_backtest(events, methods, first, last, offsets=[offset],
                            keep_predictions=True):
        grid = grid_over_hull(events.lon, events.lat, 150.0, offset)
        per_day = {f: {"grid": [], "expected": [], "pei": []} for f in FRACTIONS}
        for day, scores in zip(res.days, res.predictions):
            start = events.local_day_start(day)
            end = events.local_day_start((date.fromisoformat(day) + timedelta(days=1)).isoformat())
            today = events.between(start, end)
            cells = grid.cell_of(today.lon, today.lat)
            for f in FRACTIONS:
                g = day_score(scores, cells, f, "grid")
                e = day_score(scores, cells, f, "expected")
                per_day[f]["grid"].append(g.hit_rate)
                per_day[f]["expected"].append(e.hit_rate)
                per_day[f]["pei"].append(g.pei)
        out.append({"method": res.method, "offset": offset, "cells": res.n_cells,
                    "seconds": res.fit_seconds, "per_day": per_day,
                    "check": {f: res.summary(f)["hit_rate"].mean for f in FRACTIONS}})
    return out


def run_walk(kind: str, path: Path, first: str, last: str, offsets: int, jobs: int,
             methods: list[str]) -> list[dict]:
    todo = [(kind, str(path), first, last, off, methods) for off in grid_offsets(offsets)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [row for part in pool.map(one_offset, todo) for row in part]


def nanmean(values: list[float]) -> float:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def table(rows: list[dict], n_cells_hint: str) -> str:
    """Markdown: mean over offsets of the per-day means; ratios to naive; spreads."""
    methods = list(dict.fromkeys(r["method"] for r in rows))

    def per_method(name: str, f: float, key: str) -> list[float]:
        runs = [r for r in rows if r["method"] == name]
        return [nanmean(r["per_day"][f][key]) for r in runs]

    base = {f: np.mean(per_method("naive", f, "grid")) for f in FRACTIONS}
    head = ("| method | hit 1% | PAI 1% | x naive | hit 5% | PAI 5% | x naive | PEI 5% "
            "| offsets 1% / 5% (min-max) | random ties 1% / 5% | s per offset |")
    lines = [head, "|" + "---|" * 11]
    for name in methods:
        cells = []
        for f in FRACTIONS:
            hits = per_method(name, f, "grid")
            m = float(np.mean(hits))
            share = math.floor(f * np.mean([r["cells"] for r in rows]) + 1e-9) / np.mean(
                [r["cells"] for r in rows])
            cells += [f"{100 * m:.1f}%", f"{m / share:.1f}", f"{m / base[f]:.2f}"]
        pei = float(np.mean(per_method(name, 0.05, "pei")))
        spread = " / ".join(f"{100 * min(per_method(name, f, 'grid')):.1f}-"
                            f"{100 * max(per_method(name, f, 'grid')):.1f}" for f in FRACTIONS)
        rnd = " / ".join(f"{100 * np.mean(per_method(name, f, 'expected')):.1f}%"
                         for f in FRACTIONS)
        secs = np.mean([r["seconds"] for r in rows if r["method"] == name])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {pei:.2f} | {spread} | {rnd} "
                     f"| {secs:.0f} |")
    return "\n".join(lines) + f"\n\n{n_cells_hint}"


def paired(rows: list[dict], a: str, b: str, f: float) -> str:
    """Mean per-day difference a - b (offset 0) with its standard error."""
    ra = next(r for r in rows if r["method"] == a and r["offset"] == (0.0, 0.0))
    rb = next(r for r in rows if r["method"] == b and r["offset"] == (0.0, 0.0))
    d = np.asarray(ra["per_day"][f]["grid"]) - np.asarray(rb["per_day"][f]["grid"])
    d = d[~np.isnan(d)]
    return (f"{a} - {b} at {100 * f:g}%: {100 * d.mean():+.2f} points "
            f"(SE {100 * d.std(ddof=1) / math.sqrt(d.size):.2f}, {d.size} days)")


def knox_section(events: EventSet, year: int) -> None:
    """Near-repeat pattern of the year's detections, raw and declustered (first detection
    per cell and day), so the reader sees how much of it is repeat detections of one burst."""
    from opscenter.forecast.methods import decluster_weights

    grid = grid_over_hull(events.lon, events.lat, 150.0)
    year_ev = events.between(day_start(f"{year}-01-01"), day_start(f"{year + 1}-01-01"))
    cells = grid.cell_of(year_ev.lon, year_ev.lat)
    first = decluster_weights(cells, year_ev.t, 24 * 3600.0) > 0
    for label, ev in (("all detections", year_ev), ("declustered", year_ev.take(first))):
        t0 = time.perf_counter()
        res = knox_events(ev, grid.projection, distance_edges=(0, 100, 200, 400, 800),
                          time_edges=(0, 1, 7, 14, 30, 60), simulations=99)
        print(f"\n{label} ({len(ev):,} events, 99 shuffles, {time.perf_counter() - t0:.0f} s): "
              "observed / expected (p)\n")
        print("| distance \\ days | " + " | ".join(
            f"{a:g}-{b:g}" for a, b in zip(res.time_edges, res.time_edges[1:])) + " |")
        print("|" + "---|" * len(res.time_edges))
        for i, (a, b) in enumerate(zip(res.distance_edges, res.distance_edges[1:])):
            cells_txt = [f"{res.observed[i, j]} / {res.expected[i, j]:.0f} "
                         f"({res.p_value[i, j]:.2f})" for j in range(len(res.time_edges) - 1)]
            print(f"| {a:g}-{b:g} m | " + " | ".join(cells_txt) + " |")


def fairness_section(events: EventSet, year: int, methods: list[str]) -> None:
    """Per district (DC's coverage areas), share of flagged area and patrol time at 5%, mean
    over the first day of each month, against the share of detections that year. The DC file
    has no victim reports, so detections stand in for the harm share here."""
    grid = grid_over_hull(events.lon, events.lat, 150.0)
    districts = cell_districts_by_majority(grid, events)
    year_ev = events.between(day_start(f"{year}-01-01"), day_start(f"{year + 1}-01-01"))
    harm = {}
    for d in year_ev.district.tolist():
        harm[d] = harm.get(d, 0) + 1
    print("\n| method | " + " | ".join(sorted(harm)) + " | warnings (12 days) |")
    print("|" + "---|" * (len(harm) + 2))
    print("| detections share | " + " | ".join(
        f"{100 * harm[d] / len(year_ev):.0f}%" for d in sorted(harm)) + " | |")
    for name in methods:
        model = make_method(name, grid)
        area = {d: [] for d in harm}
        warned = 0
        for month in range(1, 13):
            until = day_start(f"{year}-{month:02d}-01")
            rep = fairness_readout(model.fit(events.before(until), until).predict(), districts,
                                   harm, fraction=0.05)
            warned += len(rep.warnings)
            for row in rep.districts:
                if row.district in area:
                    area[row.district].append(row.patrol_share)
        print(f"| {name} (patrol share) | " + " | ".join(
            f"{100 * np.mean(area[d] or [0]):.0f}%" for d in sorted(harm)) + f" | {warned} |")


def cost_section(events: EventSet, year: int) -> None:
    print(f"\n## Cost of one forecast for {year}-01-01\n")
    print("| method | trained on | fit s | predict s | peak MiB |\n|---|---|---|---|---|")
    for name, label, fit_s, pred_s, mib in cost(events, f"{year}-01-01"):
        print(f"| {name} | {label} | {fit_s:.3f} | {pred_s:.4f} | {mib:.0f} |")


def dc_section(args: argparse.Namespace, methods: list[str]) -> None:
    t0 = time.perf_counter()
    rows = run_walk("dc", DC_FILE, f"{args.year}-01-01", f"{args.year}-12-31", args.offsets,
                    args.jobs, methods)
    cells = sorted({r["cells"] for r in rows})
    print(f"\n## DC {args.year}, every day, {args.offsets} grid offsets "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print(table(rows, f"Cells per offset: {', '.join(map(str, cells))}."))
    print("\nReference (DESIGN.md, open_cp, one grid): "
          + "; ".join(f"{k} {a}% / {b}%" for k, (a, b) in REFERENCE.items()))
    for f in FRACTIONS:
        print(paired(rows, "multiscale", "hawkes", f))
        print(paired(rows, "multiscale", "naive", f))


def camden_section(args: argparse.Namespace, methods: list[str]) -> None:
    t0 = time.perf_counter()
    rows = run_walk("jtl", CAMDEN_FILE, "2016-01-01", "2017-12-31", args.offsets, args.jobs,
                    methods)
    cells = sorted({r["cells"] for r in rows})
    print(f"\n## Camden NJ 2016-2017 (untuned city, dates only), {args.offsets} offsets "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print(table(rows, f"Cells per offset: {', '.join(map(str, cells))}."))
    for f in FRACTIONS:
        print(paired(rows, "multiscale", "naive", f))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", type=int, default=2012)
    ap.add_argument("--offsets", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sections", default="cost,dc,camden,knox,fairness",
                    help="comma list of: cost, dc, camden, knox, fairness")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    methods = list(METHODS)
    events = load_dc_csv(DC_FILE)
    print(f"DC detections: {len(events):,} events ({len(events.rejected)} rows left out)\n")
    if "knox" in sections:
        print(f"## Knox test, DC {args.year}")
        knox_section(events, args.year)
    if "fairness" in sections:
        print(f"\n## Fairness readout, DC {args.year} (top 5% of cells)")
        fairness_section(events, args.year, methods)
    if "cost" in sections:
        cost_section(events, args.year)
    if "dc" in sections:
        dc_section(args, methods)
    if "camden" in sections:
        camden_section(args, methods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
