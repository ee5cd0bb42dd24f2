"""Risk areas for the wall map, each with the reasons it is flagged.

A flagged cell on the wall must answer "why here?" before anyone acts on it, so every cell
carries its split into long-run background and recent triggering, and `explain` lists the
shootings that raise it with their age and distance. Input is gunfire detections and
victim-reported shootings only (see `opscenter.forecast.data`); anything else is left out and
counted. Too little data gives an empty surface with a reason, never an exception: the wall
shows the reason instead of a map with nothing on it and no explanation.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from opscenter.domain import CrimeReport, ShotAlert
from opscenter.forecast.backtest import make_method
from opscenter.forecast.data import ACCEPTED, EventSet, events_from_records
from opscenter.forecast.grid import DEFAULT_CELL_M, grid_over_hull
from opscenter.forecast.methods import Contribution, GridForecaster, component_shares

log = logging.getLogger(__name__)

MIN_EVENTS = 20
# Model components that stand for "something happened here lately" (near-repeat, contagion);
# every other component (long-run counts, the uniform floor) is background.
TRIGGER_COMPONENTS = {"triggering", "near-repeat"}
TRIGGER_MAX_TAU_DAYS = 90.0
KIND_LABEL = {"detection": "gunfire detection", "victim_reported": "victim report"}


@dataclass
class RiskSurface:
    """The flagged cells of one forecast, best first, and the fitted model behind them.

    `cells` are JSON-safe dicts for `MapView.set_risk`; `reason` says why there are none.
    """

    cells: list[dict[str, Any]]
    until: float
    method: str
    cell_m: float
    n_events: int = 0
    n_cells: int = 0
    reason: str = ""
    skipped: int = 0
    _model: GridForecaster | None = field(default=None, repr=False)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _kinds: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not self.cells

    def cell(self, cell_id: str) -> dict[str, Any] | None:
        """The flagged cell's dict, or None for an id this surface does not hold."""
        return next((c for c in self.cells if c["id"] == cell_id), None)

    def explain(self, cell_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The shootings that raise `cell_id`, heaviest first: when, how old, how far, how much.

        `weight` is the event's part of the cell's score (summed over the model's terms). The
        uniform floor is not an event and is left out (it is in `share_background`).
        """
        if self._model is None or cell_id not in self._index:
            return []
        # one event feeds several terms (last weeks, last year, ...): one row per event
        merged: dict[str, list[Any]] = {}
        for c in self._model.explain(self._index[cell_id]):
            if c.event_id is None or c.weight <= 0:
                continue
            row = merged.setdefault(c.event_id, [c, 0.0])
            row[1] += c.weight
        rows = sorted(merged.values(), key=lambda r: (-r[1], r[0].event_id))[:limit]
        return [_event_dict(c, weight, self._kinds.get(c.event_id or "", "")) for c, weight in rows]


def _event_dict(c: Contribution, weight: float, origin: str) -> dict[str, Any]:
    return {
        "id": c.event_id, "time": float(c.when or 0.0), "age_days": round(c.age_days, 3),
        "distance_m": round(c.distance_m, 1), "weight": float(weight),
        "kind": KIND_LABEL.get(origin, origin or "event"), "lat": c.lat, "lon": c.lon,
    }


def _trigger_names(model: GridForecaster) -> set[str]:
    """Component names that count as triggering for this model."""
    names = set(TRIGGER_COMPONENTS)
    for term in getattr(model, "terms", ()):
        if term.tau_days <= TRIGGER_MAX_TAU_DAYS:
            names.add(term.name)
    return names


def _usable(records: Iterable[Any]) -> tuple[list[ShotAlert | CrimeReport], int]:
    """Detections and victim-reported shootings; everything else is skipped and counted."""
    kept, skipped = [], 0
    for rec in records:
        if isinstance(rec, ShotAlert) or (isinstance(rec, CrimeReport) and rec.origin in ACCEPTED):
            if rec.lat is not None and rec.lon is not None and math.isfinite(rec.lat) \
                    and math.isfinite(rec.lon):
                kept.append(rec)
                continue
        skipped += 1
    return kept, skipped


def compute_risk(records: Iterable[ShotAlert | CrimeReport], until: float,
                 cell_m: float = DEFAULT_CELL_M, top_fraction: float = 0.01,
                 method: str = "multiscale", params: dict[str, Any] | None = None) -> RiskSurface:
    """Forecast from `until` and flag the top `top_fraction` of cells (at least one).

    Only events strictly before `until` are used. `params` go to the forecaster (e.g. a
    shorter `train_days` for a quick look). Cells no event raises are never flagged, however
    few cells that leaves: an empty place is not a risk area.
    """
    kept, skipped = _usable(records)
    surface = RiskSurface(cells=[], until=float(until), method=method, cell_m=float(cell_m),
                          skipped=skipped)
    events: EventSet = events_from_records(kept).before(until)
    surface.n_events = len(events)
    if len(events) < MIN_EVENTS:
        surface.reason = (f"{len(events)} shootings before the forecast start; a forecast "
                          f"needs at least {MIN_EVENTS}")
        return surface
    try:
        grid = grid_over_hull(events.lon, events.lat, cell_m)
        model = make_method(method, grid, **(params or {})).fit(events, until)
        scores = np.asarray(model.predict(), dtype=float)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        log.warning("risk forecast failed: %s", exc)
        surface.reason = f"the forecast could not be computed ({exc})"
        return surface
    surface.n_cells = grid.n_cells
    if not np.all(np.isfinite(scores)) or float(scores.max() - scores.min()) <= 0:
        surface.reason = "the forecast is flat: no cell stands out"
        return surface
    n_top = max(1, int(math.ceil(top_fraction * grid.n_cells)))
    order = np.argsort(-scores, kind="stable")[:n_top]  # ties in grid order, as in backtests
    floor = float(scores.min())
    trigger = _trigger_names(model)
    for rank, cell in enumerate((int(c) for c in order if scores[c] > floor), start=1):
        shares = component_shares(model.explain(cell))
        share_trigger = sum(v for k, v in shares.items() if k in trigger)
        cell_id = f"cell-{cell}"
        surface.cells.append({
            "id": cell_id,
            "polygon": [[round(lat, 7), round(lon, 7)] for lon, lat in grid.cell_polygon_lonlat(cell)],
            "score": float(scores[cell]), "rank": rank,
            "share_background": round(1.0 - share_trigger, 4),
            "share_trigger": round(share_trigger, 4),
        })
        surface._index[cell_id] = cell
    surface._model = model
    surface._kinds = {str(i): str(o) for i, o in zip(events.ids, events.origin)}
    if not surface.cells:
        surface.reason = "no cell is raised by any shooting"
    return surface
