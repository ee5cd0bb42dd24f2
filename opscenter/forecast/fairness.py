"""Fairness readout: does the forecast send police where people are actually shot?

Per district, three shares are set side by side:

* flagged area — the district's share of the cells the forecast flags;
* patrol time — its share of the patrol time the forecast suggests, when that time is spread
  over the flagged cells in proportion to their scores;
* victimisation — its share of victim-reported shootings (the harm the forecast serves).

A district whose flagged area or patrol share reaches `WARN_RATIO` (1.5) times its
victimisation share gets a warning: the forecast concentrates police there beyond what the
harm justifies, the pattern that turns into the runaway feedback Ensign et al. describe. 1.5x
is loose enough that ordinary day-to-day noise in a district with a fair share does not
trip it, and tight enough that a district drawing half again its share is named on the wall.
A district with flagged cells but no victim-reported shootings always warns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from opscenter.domain import Origin
from opscenter.forecast.data import EventSet
from opscenter.forecast.evaluate import TieBreak, cells_flagged, top_cells
from opscenter.forecast.grid import Grid
from opscenter.geo import contains

WARN_RATIO = 1.5


@dataclass(frozen=True)
class DistrictShare:
    """One district's shares; `ratio` is the larger of area and patrol over victimisation."""

    district: str
    flagged_cells: int
    flagged_area_share: float
    patrol_share: float
    victim_share: float
    victim_events: int
    ratio: float
    warning: str | None


@dataclass(frozen=True)
class FairnessReport:
    fraction: float
    threshold: float
    districts: tuple[DistrictShare, ...]

    @property
    def warnings(self) -> list[str]:
        return [d.warning for d in self.districts if d.warning]

    def patrol_shares(self) -> dict[str, float]:
        """Suggested patrol share per district, e.g. for `data.ensign_weights`."""
        return {d.district: d.patrol_share for d in self.districts}


def victim_counts(events: EventSet) -> dict[str, int]:
    """Victim-reported shootings per district; detections and police records are not harm
    reports and are left out."""
    keep = events.origin == Origin.VICTIM_REPORTED.value
    return dict(Counter(str(d) for d in events.district[keep]))


def cell_districts_by_majority(grid: Grid, events: EventSet) -> np.ndarray:
    """District of each cell: the most common district of its events; cells without events
    take the district of the nearest cell that has one."""
    cells = grid.cell_of(events.lon, events.lat)
    votes: dict[int, Counter] = {}
    for c, d in zip(cells.tolist(), events.district.tolist()):
        if c >= 0 and d:
            votes.setdefault(c, Counter())[str(d)] += 1
    out = np.full(grid.n_cells, "", dtype=object)
    if not votes:
        return out
    known = np.array(sorted(votes))
    out[known] = [votes[c].most_common(1)[0][0] for c in known]
    cx, cy = grid.centres()
    missing = np.flatnonzero(out == "")
    for start in range(0, missing.size, 512):
        m = missing[start:start + 512]
        d2 = (cx[m, None] - cx[None, known]) ** 2 + (cy[m, None] - cy[None, known]) ** 2
        out[m] = out[known[np.argmin(d2, axis=1)]]
    return out


def cell_districts_from_polygons(grid: Grid, districts: Mapping[str, Sequence]) -> np.ndarray:
    """District of each cell from boundary polygons (GeoJSON lon/lat order), by the cell's
    centre; cells outside every district get ''."""
    lon, lat = grid.centres_lonlat()
    out = np.full(grid.n_cells, "", dtype=object)
    for k, (x, y) in enumerate(zip(lon.tolist(), lat.tolist())):
        for name, shape in districts.items():
            if contains(shape, x, y):
                out[k] = name
                break
    return out


def fairness_readout(scores: np.ndarray, cell_district: np.ndarray,
                     victims: Mapping[str, int], fraction: float = 0.05,
                     threshold: float = WARN_RATIO, tie_break: TieBreak = "grid") -> FairnessReport:
    """Shares per district for the cells flagged at `fraction` of the area."""
    scores = np.asarray(scores, dtype=float)
    cell_district = np.asarray(cell_district, dtype=object)
    if scores.size != cell_district.size:
        raise ValueError("one district label per cell is needed")
    n = cells_flagged(fraction, scores.size)
    flagged = top_cells(scores, n, "grid" if tie_break == "expected" else tie_break)
    weights = np.clip(scores[flagged], 0.0, None)
    if weights.sum() <= 0:
        weights = np.ones(flagged.size)
    total_victims = sum(victims.values())
    names = sorted(set(victims) | set(str(d) for d in cell_district[flagged]) - {""})
    rows = []
    for name in names:
        here = cell_district[flagged] == name
        area = here.sum() / max(n, 1)
        patrol = float(weights[here].sum() / weights.sum()) if flagged.size else 0.0
        count = int(victims.get(name, 0))
        victim = count / total_victims if total_victims else 0.0
        worst = max(area, patrol)
        ratio = worst / victim if victim > 0 else (float("inf") if worst > 0 else 0.0)
        warning = None
        if worst > 0 and ratio >= threshold:
            warning = (f"{name}: {100 * area:.0f}% of flagged area and {100 * patrol:.0f}% of "
                       f"suggested patrol time for {100 * victim:.0f}% of victim-reported "
                       f"shootings ({ratio:.1f}x; warning at {threshold:g}x)")
        rows.append(DistrictShare(name, int(here.sum()), float(area), patrol, float(victim),
                                  count, float(ratio), warning))
    return FairnessReport(fraction, threshold, tuple(rows))
