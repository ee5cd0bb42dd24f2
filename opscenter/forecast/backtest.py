"""Walk forward day by day and score every method on the same days, grids and events.

For each local day D in the range, every method is fitted on the events strictly before D's
local midnight (models raise if handed anything later), ranks the cells, and is scored on D's
events. This repeats on several grid offsets, because where cell edges fall moves hit rates
by a point or more on data rounded to 100 m. The study area is the convex hull of all events
in the file, as in the published reference protocol.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable, Iterable, Sequence

import numpy as np

from opscenter.forecast.data import EventSet, ForecastInputError, load_dc_csv
from opscenter.forecast.evaluate import DayScore, Spread, TieBreak, day_score, summarise
from opscenter.forecast.grid import DEFAULT_CELL_M, Grid, grid_offsets, grid_over_hull
from opscenter.forecast.hawkes import GridHawkes
from opscenter.forecast.methods import (
    GridForecaster, KernelDensity, MultiScale, NaiveCounts, ProspectiveHotspot,
)

METHODS: dict[str, Callable[..., GridForecaster]] = {
    "naive": NaiveCounts,
    "kde": KernelDensity,
    "prospective": ProspectiveHotspot,
    "hawkes": GridHawkes,
    "multiscale": MultiScale,
}
FRACTIONS = (0.01, 0.05)


def make_method(name: str, grid: Grid, **params) -> GridForecaster:
    """A fresh forecaster by name; unknown names are a clear error, not a KeyError."""
    try:
        factory = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}") from None
    return factory(grid, **params)


def days_between(first: str, last: str) -> list[str]:
    """Every local day from `first` to `last`, both included (YYYY-MM-DD)."""
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    if b < a:
        raise ValueError(f"--to {last} is before --from {first}")
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


@dataclass
class RunResult:
    """One method on one grid: per-day scores at each coverage fraction, and timings."""

    method: str
    offset: tuple[float, float]
    n_cells: int
    days: list[str] = field(default_factory=list)
    scores: dict[float, list[DayScore]] = field(default_factory=dict)
    fit_seconds: float = 0.0
    predictions: list[np.ndarray] = field(default_factory=list)

    def summary(self, fraction: float) -> dict[str, Spread]:
        return summarise(self.scores[fraction])


def run_backtest(events: EventSet, methods: Sequence[str], first: str, last: str, *,
                 cell: float = DEFAULT_CELL_M, offsets: int | Iterable[tuple[float, float]] = 1,
                 fractions: Sequence[float] = FRACTIONS, tie_break: TieBreak = "grid",
                 params: dict[str, dict] | None = None, seed: int = 0,
                 keep_predictions: bool = False,
                 progress: Callable[[str], None] | None = None) -> list[RunResult]:
    """Score `methods` on every day from `first` to `last` (inclusive), on every offset.

    `keep_predictions` keeps each day's cell scores (memory: days x cells floats).
    """
    if len(events) == 0:
        raise ForecastInputError("no events to backtest on")
    offs = grid_offsets(offsets) if isinstance(offsets, int) else list(offsets)
    days = days_between(first, last)
    starts = [events.local_day_start(d) for d in days]
    ends = starts[1:] + [events.local_day_start(
        (date.fromisoformat(days[-1]) + timedelta(days=1)).isoformat())]
    results = []
    for off in offs:
        grid = grid_over_hull(events.lon, events.lat, cell, off)
        for name in methods:
            model = make_method(name, grid, **(params or {}).get(name, {}))
            run = RunResult(name, off, grid.n_cells, scores={f: [] for f in fractions})
            rng = np.random.default_rng(seed)
            t0 = time.perf_counter()
            for day, start, end in zip(days, starts, ends):
                model.fit(events.before(start), start)
                scores = model.predict()
                if keep_predictions:
                    run.predictions.append(scores)
                today = events.between(start, end)
                cells = grid.cell_of(today.lon, today.lat)
                run.days.append(day)
                for f in fractions:
                    run.scores[f].append(day_score(scores, cells, f, tie_break, rng))
            run.fit_seconds = time.perf_counter() - t0
            results.append(run)
            if progress:
                s = run.summary(fractions[0])["hit_rate"]
                progress(f"{name} offset {off}: hit rate {100 * s.mean:.1f}% at "
                         f"{100 * fractions[0]:g}% ({run.fit_seconds:.1f} s)")
    return results


def comparison_table(results: list[RunResult], fractions: Sequence[float] = FRACTIONS,
                     baseline: str = "naive") -> str:
    """Markdown table: per method, mean over offsets of the per-day means, with the spread
    across days (sd) and across offsets (min-max), PAI, PEI and the ratio to the baseline."""
    by_method: dict[str, list[RunResult]] = {}
    for r in results:
        by_method.setdefault(r.method, []).append(r)
    head = ["method", "days"]
    for f in fractions:
        p = f"{100 * f:g}%"
        head += [f"hit {p}", f"sd/day {p}", f"offsets {p}", f"PAI {p}", f"PEI {p}",
                 f"vs {baseline} {p}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base_hit = {f: _mean_over(by_method.get(baseline, []), f, "hit_rate") for f in fractions}
    for name, runs in by_method.items():
        row = [name, str(runs[0].summary(fractions[0])["hit_rate"].days)]
        for f in fractions:
            hits = [r.summary(f)["hit_rate"].mean for r in runs]
            sd = float(np.mean([r.summary(f)["hit_rate"].std for r in runs]))
            hit = float(np.mean(hits))
            known = base_hit[f] > 0  # False for nan too
            ratio = hit / base_hit[f] if known else float("nan")
            row += [f"{100 * hit:.1f}%", f"{100 * sd:.1f}", f"{100 * min(hits):.1f}-"
                    f"{100 * max(hits):.1f}", f"{_mean_over(runs, f, 'pai'):.1f}",
                    f"{_mean_over(runs, f, 'pei'):.2f}", f"{ratio:.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _mean_over(runs: list[RunResult], fraction: float, key: str) -> float:
    if not runs:
        return float("nan")
    return float(np.mean([r.summary(fraction)[key].mean for r in runs]))


def main_backtest(argv: Sequence[str] | None = None) -> int:
    """`FILE --method M --from YYYY-MM-DD --to YYYY-MM-DD [--cell 150] [--offsets 1]`."""
    ap = argparse.ArgumentParser(prog="opscenter forecast backtest",
                                 description="Day-by-day backtest of grid forecasts.")
    ap.add_argument("file", help="DC gunshot detections CSV")
    ap.add_argument("--method", default="all",
                    help=f"one of {', '.join(METHODS)}, a comma list, or 'all'")
    ap.add_argument("--from", dest="first", required=True, help="first day forecast")
    ap.add_argument("--to", dest="last", required=True, help="last day forecast (included)")
    ap.add_argument("--cell", type=float, default=DEFAULT_CELL_M, help="cell size in metres")
    ap.add_argument("--offsets", type=int, default=1, help="how many grid offsets to average")
    ap.add_argument("--ties", choices=("grid", "random", "expected"), default="grid",
                    help="how ties at the coverage edge are broken")
    args = ap.parse_args(argv)
    names = list(METHODS) if args.method == "all" else args.method.split(",")
    try:
        for name in names:
            if name not in METHODS:
                raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
        events = load_dc_csv(args.file)
        if events.rejected:
            print(f"{args.file}: {len(events.rejected)} rows left out "
                  f"(first: line {events.rejected[0].line}, {events.rejected[0].reason})",
                  file=sys.stderr)
        results = run_backtest(events, names, args.first, args.last, cell=args.cell,
                               offsets=args.offsets, tie_break=args.ties,
                               progress=lambda s: print(s, file=sys.stderr))
    except (ValueError, ForecastInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    baseline = "naive" if "naive" in names else names[0]
    print(comparison_table(results, baseline=baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main_backtest())
