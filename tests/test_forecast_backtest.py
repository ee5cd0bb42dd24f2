"""The day-by-day walk: no look-ahead, every method on a month of real DC detections, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from opscenter.forecast.backtest import (
    METHODS, comparison_table, days_between, main_backtest, run_backtest,
)
from opscenter.forecast.data import day_start, load_dc_csv, make_events
from opscenter.forecast.grid import grid_over_hull
from tests.conftest import SHARED_DATA

DC_FILE = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"
FAST = {"multiscale": {"train_days": 60}}


@pytest.fixture(scope="module")
def dc():
    return load_dc_csv(DC_FILE)


def synthetic(seed: int = 1):
    rng = np.random.default_rng(seed)
    n = 3000
    t = day_start("2012-01-01") + rng.uniform(0, 90 * 86_400.0, n)
    # a lumpy city: half the events around three centres
    lon = np.where(rng.random(n) < 0.5, rng.choice([-77.0, -77.01, -77.02], n)
                   + rng.normal(0, 0.001, n), rng.uniform(-77.03, -76.99, n))
    lat = np.where(rng.random(n) < 0.5, 38.9 + rng.normal(0, 0.001, n),
                   rng.uniform(38.88, 38.92, n))
    return make_events(t, lon, lat)


@pytest.mark.parametrize("name", list(METHODS))
def test_future_events_cannot_change_a_forecast(name) -> None:
    ev = synthetic()
    first, poison_day, last = "2012-03-01", "2012-03-06", "2012-03-10"
    # poison: huge weights from the predicted day's midnight (exactly) onwards, in one corner
    k = 40
    p_t = day_start(poison_day) + np.r_[0.0, np.linspace(1.0, 4 * 86_400.0, k - 1)]
    poisoned = make_events(
        np.r_[ev.t, p_t], np.r_[ev.lon, np.full(k, -77.029)], np.r_[ev.lat, np.full(k, 38.881)],
        weight=np.r_[ev.weight, np.full(k, 1e6)])
    grid_pts = dict(offsets=[(0.0, 0.0)], params=FAST, keep_predictions=True)
    clean = run_backtest(ev, [name], first, last, **grid_pts)[0]
    dirty = run_backtest(poisoned, [name], first, last, **grid_pts)[0]
    cut = clean.days.index(poison_day)
    for day in range(cut + 1):  # up to and including the day that starts with the poison
        assert np.array_equal(clean.predictions[day], dirty.predictions[day]), clean.days[day]
    # the poison is potent: once it is in the past it moves the forecast
    assert any(not np.allclose(a, b) for a, b in zip(clean.predictions[cut + 1:],
                                                     dirty.predictions[cut + 1:]))


def test_dc_grid_matches_the_reference_study_area(dc) -> None:
    assert len(dc) == 39_065 and len(dc.rejected) == 1  # the (0, 0) placeholder row
    grid = grid_over_hull(dc.lon, dc.lat, 150.0)
    assert abs(grid.n_cells - 6856) < 30  # the published protocol's 6,856 cells
    assert np.all(grid.cell_of(dc.lon, dc.lat) >= 0)


def test_a_month_of_dc_detections(dc) -> None:
    res = run_backtest(dc, list(METHODS), "2012-06-01", "2012-06-30", offsets=1)
    assert [r.method for r in res] == list(METHODS)
    for r in res:
        assert len(r.days) == 30
        for f in (0.01, 0.05):
            s = r.summary(f)
            assert s["hit_rate"].days >= 25
            assert 0.0 <= s["hit_rate"].mean <= 1.0
            assert s["pai"].mean == pytest.approx(s["hit_rate"].mean / (int(6856 * f) / 6856),
                                                  rel=0.02)
            assert 0.0 <= s["pei"].mean <= 1.0
        # real gunfire is concentrated: every method beats chance by far at 5% of the area
        assert r.summary(0.05)["hit_rate"].mean > 0.15
    naive = res[0].summary(0.05)["hit_rate"].mean
    best = res[-1].summary(0.05)["hit_rate"].mean
    assert best >= naive - 0.05
    table = comparison_table(res)
    assert table.count("\n") == 1 + len(METHODS)
    for name in METHODS:
        assert f"| {name} |" in table
    assert "vs naive 1%" in table


def test_cli_prints_the_table_and_refuses_bad_input(capsys) -> None:
    code = main_backtest([str(DC_FILE), "--method", "naive,prospective", "--from", "2012-06-01",
                          "--to", "2012-06-03", "--offsets", "2"])
    out = capsys.readouterr()
    assert code == 0
    assert "| naive | 3 |" in out.out and "| prospective | 3 |" in out.out
    assert "1 rows left out" in out.err
    assert main_backtest([str(DC_FILE), "--method", "oracle", "--from", "2012-06-01",
                          "--to", "2012-06-03"]) == 2
    assert "unknown method 'oracle'" in capsys.readouterr().err
    assert main_backtest([str(DC_FILE), "--from", "2012-06-03", "--to", "2012-06-01"]) == 2


def test_days_between_includes_both_ends() -> None:
    assert days_between("2012-02-28", "2012-03-01") == ["2012-02-28", "2012-02-29", "2012-03-01"]


def test_the_opscenter_command_runs_a_backtest(tmp_path) -> None:
    import subprocess
    import sys

    from tests.conftest import SHARED_DATA

    dc = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"
    if not dc.exists():
        import pytest

        pytest.skip("shared data not present")
    out = subprocess.run([sys.executable, "-m", "opscenter.cli", "forecast", "backtest", str(dc), "--method",
                          "naive", "--from", "2012-03-01", "--to", "2012-03-03"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "| naive | 3 |" in out.stdout
