"""Risk areas for the next day, from gunfire detections and victim-reported shootings only.

Forecasts are about places and times, never people. Modules:

* `data` — forecast input (refuses police-initiated records unless enabled, then down-weights);
* `grid` — projection to metres and the square grid over the events' convex hull;
* `methods` — naive counts, kernel density, prospective hotspot, the multi-scale model;
* `hawkes` — the grid self-exciting model fitted by EM;
* `evaluate`, `backtest` — hit rate / PAI / PEI and the day-by-day walk;
* `knox` — near-repeat test; `fairness` — per-district readout.
"""

from opscenter.forecast.backtest import METHODS, comparison_table, make_method, run_backtest
from opscenter.forecast.data import (
    EventSet, ForecastInputError, LookAheadError, ensign_weights, events_from_records,
    load_dc_csv, make_events,
)
from opscenter.forecast.evaluate import DayScore, day_score
from opscenter.forecast.fairness import FairnessReport, fairness_readout
from opscenter.forecast.grid import Grid, Projection, grid_over_hull
from opscenter.forecast.hawkes import GridHawkes
from opscenter.forecast.knox import KnoxResult, knox_test
from opscenter.forecast.methods import (
    Contribution, GridForecaster, KernelDensity, MultiScale, NaiveCounts, ProspectiveHotspot,
    component_shares,
)

__all__ = [
    "METHODS", "Contribution", "DayScore", "EventSet", "FairnessReport", "ForecastInputError",
    "Grid", "GridForecaster", "GridHawkes", "KernelDensity", "KnoxResult", "LookAheadError",
    "MultiScale", "NaiveCounts", "Projection", "ProspectiveHotspot", "comparison_table",
    "component_shares", "day_score", "ensign_weights", "events_from_records",
    "fairness_readout", "grid_over_hull", "knox_test", "load_dc_csv", "make_events",
    "make_method", "run_backtest",
]
