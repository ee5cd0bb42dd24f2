"""Fairness readout on hand-made districts; the 1.5x warning; the Ensign loop closes."""

from __future__ import annotations

import numpy as np
import pytest

from opscenter.forecast.data import ensign_weights, make_events
from opscenter.forecast.fairness import (
    WARN_RATIO, cell_districts_by_majority, cell_districts_from_polygons, fairness_readout,
    victim_counts,
)
from opscenter.forecast.grid import Projection, grid_over_hull

# 16 cells: A holds 0-7, B holds 8-15. Scores fall with the cell number.
DISTRICTS = np.array(["A"] * 8 + ["B"] * 8, dtype=object)


def flagged_mix(in_a: int) -> np.ndarray:
    """Scores that flag `in_a` cells of A and 8 - in_a of B at 50% coverage, all equal."""
    scores = np.zeros(16)
    scores[:in_a] = 1.0
    scores[8:8 + 8 - in_a] = 1.0
    return scores


def test_warning_fires_at_one_and_a_half_times_the_victimisation_share() -> None:
    assert WARN_RATIO == 1.5
    victims = {"A": 1, "B": 3}  # A: 25% of victim-reported shootings
    at = fairness_readout(flagged_mix(3), DISTRICTS, victims, fraction=0.5)  # A: 3/8 = 37.5%
    a = next(d for d in at.districts if d.district == "A")
    assert a.flagged_cells == 3
    assert a.flagged_area_share == 0.375 and a.patrol_share == 0.375 and a.victim_share == 0.25
    assert a.ratio == 1.5
    assert a.warning and "A:" in a.warning and "1.5x" in a.warning
    assert at.warnings == [a.warning]  # B (62.5% for 75%) is under-served, not warned
    below = fairness_readout(flagged_mix(2), DISTRICTS, victims, fraction=0.5)  # 25% for 25%
    assert below.warnings == []


def test_patrol_share_follows_scores_and_can_warn_alone() -> None:
    scores = np.zeros(16)
    scores[[0, 8, 9, 10]] = [9.0, 1.0, 1.0, 1.0]  # area 1/4 for A, but 75% of the risk mass
    rep = fairness_readout(scores, DISTRICTS, {"A": 1, "B": 1}, fraction=0.25)
    a = next(d for d in rep.districts if d.district == "A")
    assert a.flagged_area_share == 0.25
    assert a.patrol_share == pytest.approx(0.75)
    assert a.ratio == pytest.approx(1.5) and a.warning
    # fed to the Ensign weights, A's discoveries (3x B's patrol time) count a third
    w = ensign_weights(rep.patrol_shares(), base=1.0)
    assert w["A"] == pytest.approx(1 / 3) and w["B"] == pytest.approx(1.0)


def test_flagged_district_without_victims_always_warns() -> None:
    rep = fairness_readout(flagged_mix(4), DISTRICTS, {"B": 10}, fraction=0.5)
    a = next(d for d in rep.districts if d.district == "A")
    assert a.victim_share == 0 and a.ratio == float("inf") and a.warning


def test_victim_counts_take_victim_reports_only() -> None:
    ev = make_events([1.0, 2.0, 3.0, 4.0], [0] * 4, [0] * 4,
                     origin=["victim_reported", "detection", "victim_reported", "police_initiated"],
                     district=["A", "A", "B", "B"])
    assert victim_counts(ev) == {"A": 1, "B": 1}


def small_grid():
    proj = Projection(38.9, -77.0)
    cx, cy = np.meshgrid([1.0, 4 * 150.0 - 1.0], [1.0, 2 * 150.0 - 1.0])
    return proj, grid_over_hull(*proj.to_lonlat(cx.ravel(), cy.ravel()), 150.0, projection=proj)


def test_cells_take_their_events_majority_district_or_the_nearest() -> None:
    proj, grid = small_grid()
    assert (grid.nx, grid.ny) == (4, 2)
    x = np.array([75.0, 80.0, 90.0, 525.0])
    y = np.array([75.0, 75.0, 75.0, 225.0])
    ev = make_events([1, 2, 3, 4], *proj.to_lonlat(x + grid.x0, y + grid.y0),
                     district=["West", "West", "East", "East"])
    labels = cell_districts_by_majority(grid, ev)
    assert labels[0] == "West" and labels[7] == "East"
    assert labels[1] == "West" and labels[6] == "East"  # nearest labelled cell


def test_cells_from_district_polygons() -> None:
    proj, grid = small_grid()
    lon, lat = proj.to_lonlat(np.array([grid.x0, grid.x0 + 300, grid.x0 + 300, grid.x0]),
                              np.array([grid.y0, grid.y0, grid.y0 + 300, grid.y0 + 300]))
    west = [list(zip(lon.tolist(), lat.tolist()))]
    labels = cell_districts_from_polygons(grid, {"West": west})
    assert list(labels) == ["West", "West", "", "", "West", "West", "", ""]
