"""Grid Hawkes: EM gets back the parameters of a simulated process; jitter and pairs."""

from __future__ import annotations

import numpy as np
import pytest

from opscenter.forecast.data import day_start, make_events
from opscenter.forecast.grid import Projection, grid_over_hull
from opscenter.forecast.hawkes import (
    GridHawkes, cell_pairs, jitter_duplicates, simulate_grid_hawkes,
)
from opscenter.forecast.methods import component_shares

PROJ = Projection(38.9, -77.0)
T0 = day_start("2010-01-01")
DAY = 86_400.0


def fit_simulated(mu, theta, omega, days, seed, **kw):
    cx, cy = np.meshgrid([1.0, 4 * 150.0 - 1.0], [1.0, 4 * 150.0 - 1.0])
    grid = grid_over_hull(*PROJ.to_lonlat(cx.ravel(), cy.ravel()), 150.0, projection=PROJ)
    cell, t = simulate_grid_hawkes(mu, theta, omega, days, seed=seed)
    xs, ys = grid.centres()
    ev = make_events(T0 + t * DAY, *PROJ.to_lonlat(xs[cell], ys[cell]))
    model = GridHawkes(grid, **kw).fit(ev, T0 + days * DAY)
    return grid, model


@pytest.mark.parametrize("theta,omega", [(0.4, 2.0), (0.2, 24.0)])
def test_em_recovers_background_branching_and_decay(theta, omega) -> None:
    mu = np.linspace(0.02, 0.2, 16)  # events per day per cell
    _, model = fit_simulated(mu, theta, omega, 1500, seed=1, jitter_s=0)
    p = model.parameters()
    assert p["theta"] == pytest.approx(theta, abs=0.05)
    assert p["omega_per_day"] == pytest.approx(omega, rel=0.15)
    assert p["background_per_day"] == pytest.approx(mu.sum(), rel=0.08)
    # per cell too, on the busier cells where there is enough data to tell
    busy = mu >= 0.1
    assert np.all(np.abs(model.mu[busy] / mu[busy] - 1) < 0.25)


def test_no_triggering_gives_a_small_branching_ratio() -> None:
    mu = np.full(16, 0.1)
    _, model = fit_simulated(mu, 0.0, 1.0, 1500, seed=2, jitter_s=0)
    assert model.parameters()["theta"] < 0.05


def test_background_and_triggering_shares_sum_to_one() -> None:
    mu = np.linspace(0.02, 0.2, 16)
    grid, model = fit_simulated(mu, 0.5, 24.0, 400, seed=4)
    scores = model.predict()
    for cell in range(grid.n_cells):
        why = model.explain(cell)
        assert sum(c.weight for c in why) == pytest.approx(scores[cell], rel=1e-9)
        shares = component_shares(why)
        assert sum(shares.values()) == pytest.approx(1.0)
    assert scores.sum() == pytest.approx(mu.sum(), rel=0.2)  # mostly background next day


def test_warm_refits_stay_close_to_a_cold_fit() -> None:
    mu = np.linspace(0.02, 0.2, 16)
    grid, model = fit_simulated(mu, 0.4, 2.0, 1000, seed=5, jitter_s=0, refit_days=7)
    cold = model.parameters()
    ev, until = model.events, model.until
    model.fit(ev, until + DAY)  # within a week: warm start, few iterations
    assert model.iterations_run <= model.warm_iterations
    assert model.parameters()["theta"] == pytest.approx(cold["theta"], abs=0.02)


def test_jitter_moves_only_duplicates_and_only_backwards() -> None:
    t = np.array([100.0, 200.0, 200.0, 200.0, 300.0])
    out = jitter_duplicates(t, 60.0, seed=3)
    assert out[0] == 100.0 and out[4] == 300.0
    assert np.all((out[1:4] <= 200.0) & (out[1:4] > 140.0))
    assert len(set(out[1:4])) == 3  # the tie is broken
    assert np.array_equal(jitter_duplicates(t, 0.0), t)


def test_pairs_are_same_cell_strictly_earlier_and_within_the_lag() -> None:
    cell = np.array([0, 0, 1, 0, 0, 1])
    t = np.array([0.0, 1.0, 1.5, 1.0, 5.0, 2.0])
    parent, child = cell_pairs(cell, t, max_lag_days=3.0)
    pairs = sorted(zip(parent.tolist(), child.tolist()))
    # 0->1 and 0->3 (lag 1); 1 and 3 tie, so neither is the other's parent;
    # 4 is 4 days after 1 and 3 (beyond 3 days) and 5 after 0; cell 1: 2->5
    assert pairs == [(0, 1), (0, 3), (2, 5)]
