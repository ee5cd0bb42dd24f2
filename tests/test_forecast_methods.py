"""Every forecaster on synthetic data with a known answer, and its explanations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opscenter.forecast.backtest import METHODS, make_method, run_backtest
from opscenter.forecast.data import LookAheadError, day_start, make_events
from opscenter.forecast.grid import Grid, Projection, grid_over_hull
from opscenter.forecast.methods import component_shares, decluster_weights, ring_sum

PROJ = Projection(38.9, -77.0)
CELL = 150.0
T0 = day_start("2012-01-01")
DAY = 86_400.0
# Short training windows keep the synthetic runs fast; the models are otherwise as shipped.
FAST = {"multiscale": {"train_days": 60}, "hawkes": {"refit_days": 14}}


def square_grid(n: int) -> Grid:
    """An n x n grid of 150 m cells (its corners span the convex hull)."""
    cx, cy = np.meshgrid([1.0, n * CELL - 1.0], [1.0, n * CELL - 1.0])
    lon, lat = PROJ.to_lonlat(cx.ravel(), cy.ravel())
    return grid_over_hull(lon, lat, CELL, projection=PROJ)


def uniform_events(grid: Grid, days: int, per_day: int, seed: int, extra=None):
    """Homogeneous Poisson events over the square; `extra` adds (x, y, t) arrays."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(per_day * days)
    x = rng.uniform(0, grid.nx * CELL, n)
    y = rng.uniform(0, grid.ny * CELL, n)
    t = T0 + rng.uniform(0, days * DAY, n)
    if extra is not None:
        x, y, t = (np.concatenate([a, b]) for a, b in zip((x, y, t), extra))
    lon, lat = PROJ.to_lonlat(x + grid.x0, y + grid.y0)
    return make_events(t, lon, lat)


def planted(grid: Grid, days: int = 120, seed: int = 3):
    """Background plus one cell (row 10, col 7) with about one event a day."""
    rng = np.random.default_rng(seed + 1)
    k = rng.poisson(days)
    hx = 7 * CELL + rng.uniform(10, CELL - 10, k)
    hy = 10 * CELL + rng.uniform(10, CELL - 10, k)
    ht = T0 + rng.uniform(0, days * DAY, k)
    return uniform_events(grid, days, 8, seed, extra=(hx, hy, ht))


@pytest.fixture(scope="module")
def grid() -> Grid:
    g = square_grid(20)
    assert g.n_cells == 400
    return g


@pytest.fixture(scope="module")
def hot(grid):
    ev = planted(grid)
    until = T0 + 120 * DAY
    hot_cell = int(grid.cell_of_xy(np.array([grid.x0 + 7.5 * CELL]),
                                   np.array([grid.y0 + 10.5 * CELL]))[0])
    return ev, until, hot_cell


@pytest.mark.parametrize("name", list(METHODS))
def test_planted_hotspot_is_ranked_top(grid, hot, name) -> None:
    ev, until, hot_cell = hot
    model = make_method(name, grid, **FAST.get(name, {})).fit(ev, until)
    scores = model.predict()
    assert scores.shape == (grid.n_cells,)
    assert int(np.argmax(scores)) == hot_cell


@pytest.mark.parametrize("name", list(METHODS))
def test_explanations_add_up_to_the_score(grid, hot, name) -> None:
    ev, until, hot_cell = hot
    model = make_method(name, grid, **FAST.get(name, {})).fit(ev, until)
    scores = model.predict()
    for cell in (hot_cell, 0, 205):
        why = model.explain(cell)
        assert sum(c.weight for c in why) == pytest.approx(scores[cell], rel=1e-9, abs=1e-12)
        events = [c for c in why if c.event_id is not None]
        assert all(c.age_days > 0 and c.distance_m >= 0 for c in events)
        assert [c.weight for c in why] == sorted((c.weight for c in why), reverse=True)
    top = model.explain(hot_cell, limit=5)
    assert len(top) == 5
    # the strongest event reasons for the hot cell are events in or next to it
    first_event = next(c for c in top if c.event_id is not None)
    assert first_event.distance_m < 2 * CELL


def test_hawkes_explanation_splits_background_and_triggering(grid, hot) -> None:
    ev, until, hot_cell = hot
    model = make_method("hawkes", grid).fit(ev, until)
    shares = component_shares(model.explain(hot_cell))
    assert set(shares) == {"background", "triggering"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["background"] > 0.5  # planted events are background: no contagion


@pytest.mark.parametrize("name", list(METHODS))
def test_no_method_beats_chance_on_homogeneous_poisson(grid, name) -> None:
    ev = uniform_events(grid, days=70, per_day=40, seed=11)
    res = run_backtest(ev, [name], "2012-02-20", "2012-03-10", fractions=(0.05,),
                       params=FAST)[0]
    s = res.summary(0.05)
    assert s["hit_rate"].days == 20
    pooled = s["pooled_hit_rate"].mean
    # 20 days x 40 events: the standard error of 5% is about 0.8 points
    assert abs(pooled - 0.05) < 0.03, pooled
    assert abs(s["pai"].mean - 1.0) < 0.6


@pytest.mark.parametrize("name", list(METHODS))
def test_models_refuse_events_at_or_after_the_forecast_start(grid, name) -> None:
    ev = make_events([T0, T0 + DAY], *PROJ.to_lonlat(np.array([grid.x0 + 10] * 2),
                                                     np.array([grid.y0 + 10] * 2)))
    with pytest.raises(LookAheadError):
        make_method(name, grid).fit(ev, T0 + DAY)
    make_method(name, grid, **FAST.get(name, {})).fit(ev.before(T0 + DAY), T0 + DAY)


def test_unknown_method_is_a_clear_error(grid) -> None:
    with pytest.raises(ValueError, match="unknown method 'oracle'"):
        make_method("oracle", grid)


def test_decluster_keeps_the_first_detection_of_a_burst() -> None:
    cell = np.array([1, 1, 1, 2, 1])
    t = np.array([0.0, 60.0, 3600.0 * 30, 70.0, 3600.0 * 30 + 10])
    assert list(decluster_weights(cell, t, 24 * 3600.0)) == [1, 0, 1, 1, 0]


def test_ring_sum_counts_cells_exactly_r_steps_away() -> None:
    rect = np.zeros((5, 5))
    rect[2, 2] = 1.0
    one, two = ring_sum(rect, 1), ring_sum(rect, 2)
    assert one.sum() == 8 and one[2, 2] == 0 and one[1, 1] == 1
    assert two.sum() == 16 and two[0, 0] == 1 and two[1, 1] == 0


def test_prospective_weights_follow_bowers(grid) -> None:
    # one event in the centre cell, 10 days old: week 1, so 1/(1+1) at distance 0
    x, y = np.array([grid.x0 + 10.5 * CELL]), np.array([grid.y0 + 10.5 * CELL])
    ev = make_events([T0 - 10 * DAY], *PROJ.to_lonlat(x, y))
    model = make_method("prospective", grid).fit(ev, T0)
    s = model.predict()
    centre = int(grid.cell_of_xy(x, y)[0])
    assert s[centre] == pytest.approx(0.5)
    assert s[centre + 1] == pytest.approx(0.5 / 2)  # next cell east: d = 1
    assert s[centre + 21] == pytest.approx(0.5 / (1 + math.sqrt(2)))  # diagonal
    assert s[centre + 3] == 0.0  # 450 m: beyond the 400 m bandwidth


@pytest.mark.parametrize("name,steps", [
    ("multiscale", (20, 0)),       # coefficients fitted on later days must not be reused
    ("hawkes", (20, 0)),
    ("hawkes", (10, 15, 12)),      # cold at 10, warm at 15; back to 12 must not start from 15
])
def test_a_reused_model_going_back_in_time_forgets_later_fits(grid, hot, name, steps) -> None:
    ev, until, _ = hot
    day = [until - (30 - k) * DAY for k in steps]
    reused = make_method(name, grid, **FAST.get(name, {}))
    for d in day[:-1]:
        reused.fit(ev.before(d), d)
    again = reused.fit(ev.before(day[-1]), day[-1]).predict()
    fresh = make_method(name, grid, **FAST.get(name, {})).fit(ev.before(day[-1]), day[-1])
    assert np.allclose(again, fresh.predict(), rtol=1e-6, atol=1e-12)
