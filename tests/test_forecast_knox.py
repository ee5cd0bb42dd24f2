"""Knox near-repeat test: planted near-repeats are found, none are invented, edges are clean."""

from __future__ import annotations

import numpy as np
import pytest

from opscenter.forecast.data import make_events
from opscenter.forecast.grid import Projection
from opscenter.forecast.knox import band_index, close_pairs, knox_events, knox_test

D_EDGES = (0, 100, 200, 400)
T_EDGES = (0, 7, 14, 30)


def background(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 4000, n), rng.uniform(0, 4000, n), rng.uniform(0, 365, n)


def test_planted_near_repeats_are_significant() -> None:
    x, y, t = background(400, seed=1)
    rng = np.random.default_rng(2)
    src = rng.choice(400, 80, replace=False)
    x = np.r_[x, x[src] + rng.uniform(-40, 40, 80)]
    y = np.r_[y, y[src] + rng.uniform(-40, 40, 80)]
    t = np.r_[t, t[src] + rng.uniform(0.1, 5, 80)]
    res = knox_test(x, y, t, D_EDGES, T_EDGES, simulations=99, seed=3)
    assert res.p_value[0, 0] == pytest.approx(0.01)  # no shuffle came close
    assert res.observed[0, 0] >= 80
    assert res.ratio[0, 0] > 5
    # far apart in time, the planted pairs add nothing
    assert res.p_value[0, 2] > 0.05


def test_no_near_repeats_no_signal() -> None:
    x, y, t = background(480, seed=7)
    res = knox_test(x, y, t, D_EDGES, T_EDGES, simulations=99, seed=3)
    assert np.all(res.p_value > 0.05)
    assert np.all(np.abs(res.observed - res.expected) <= 3 * np.sqrt(res.expected) + 2)


def test_a_pair_on_a_band_edge_is_counted_in_exactly_one_band() -> None:
    # 100 m apart, exactly 7 days apart: the bands starting at 100 m and 7 days
    res = knox_test(np.array([0.0, 100.0]), np.array([0.0, 0.0]), np.array([0.0, 7.0]),
                    D_EDGES, T_EDGES, simulations=5)
    assert res.observed.sum() == 1
    assert res.observed[1, 1] == 1
    # exactly on the outer edges (400 m, 30 days): in no band at all
    far = knox_test(np.array([0.0, 400.0]), np.array([0.0, 0.0]), np.array([0.0, 1.0]),
                    D_EDGES, T_EDGES, simulations=5)
    late = knox_test(np.array([0.0, 50.0]), np.array([0.0, 0.0]), np.array([0.0, 30.0]),
                     D_EDGES, T_EDGES, simulations=5)
    assert far.observed.sum() == 0 and late.observed.sum() == 0


def test_band_index_is_half_open() -> None:
    idx = band_index(np.array([0.0, 99.999, 100.0, 399.9, 400.0, -1.0]), D_EDGES)
    assert list(idx) == [0, 0, 1, 2, -1, -1]
    with pytest.raises(ValueError):
        band_index(np.array([1.0]), (0, 0))


def test_close_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.uniform(0, 1000, 200), rng.uniform(0, 1000, 200)
    x[5] = x[6]  # equal x must not lose a pair
    i, j, d = close_pairs(x, y, 150.0)
    found = set(zip(i.tolist(), j.tolist()))
    brute = {(a, b) for a in range(200) for b in range(a + 1, 200)
             if np.hypot(x[a] - x[b], y[a] - y[b]) < 150.0}
    assert found == brute
    assert np.allclose(d, np.hypot(x[i] - x[j], y[i] - y[j]))


def test_knox_on_an_event_set() -> None:
    proj = Projection(38.9, -77.0)
    lon, lat = proj.to_lonlat(np.array([0.0, 30.0, 3000.0]), np.array([0.0, 0.0, 0.0]))
    ev = make_events([0.0, 86_400.0, 2 * 86_400.0], lon, lat)
    res = knox_events(ev, proj, simulations=3)
    assert res.observed[0, 0] == 1
    rows = res.rows()
    assert len(rows) == 9 and rows[0]["observed"] == 1 and rows[0]["distance"] == (0.0, 100.0)
