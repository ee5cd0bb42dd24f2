"""Hit rate, PAI and PEI against cases worked by hand, ties included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opscenter.forecast.evaluate import (
    DayScore, Spread, cells_flagged, day_score, summarise, top_cells,
)

# Ten cells; three tie at 3 just below the top cell.
SCORES = np.array([5, 3, 3, 3, 1, 0, 0, 0, 0, 0], dtype=float)
# Four events: two in cell 2, one in cell 0, one in cell 9.
EVENTS = np.array([2, 2, 0, 9])


def test_cells_flagged_rounds_down_and_survives_float_noise() -> None:
    assert cells_flagged(0.01, 6856) == 68
    assert cells_flagged(0.05, 6856) == 342
    assert cells_flagged(0.29, 100) == 29  # 0.29 * 100 is 28.999999999999996 in floats
    assert cells_flagged(0.05, 10) == 0
    with pytest.raises(ValueError):
        cells_flagged(1.5, 10)


def test_grid_order_tie_break_takes_the_first_tied_cells() -> None:
    s = day_score(SCORES, EVENTS, 0.2, "grid")  # 2 cells: 0 and 1 (1 wins the tie)
    assert (s.events, s.flagged, s.n_cells) == (4, 2, 10)
    assert s.hits == 1
    assert s.hit_rate == pytest.approx(0.25)
    assert s.pai == pytest.approx(0.25 / 0.2)
    assert s.best_hits == 3  # cells 2 (two events) and 0 or 9 (one)
    assert s.pei == pytest.approx(1 / 3)


def test_expected_tie_break_is_the_mean_over_random_breaks() -> None:
    s = day_score(SCORES, EVENTS, 0.2, "expected")
    # cell 0 for sure (1 event) + one of three tied cells, holding 2 events between them
    assert s.hits == pytest.approx(1 + 2 / 3)
    assert s.hit_rate == pytest.approx((1 + 2 / 3) / 4)
    rng = np.random.default_rng(5)
    draws = [day_score(SCORES, EVENTS, 0.2, "random", rng).hits for _ in range(3000)]
    assert np.mean(draws) == pytest.approx(1 + 2 / 3, abs=0.05)
    assert set(draws) == {1.0, 3.0}  # either cell 2 (both events) wins the tie or it does not


def test_random_tie_break_never_reorders_untied_cells() -> None:
    scores = np.array([9, 8, 7, 1, 1, 1])
    for seed in range(20):
        top = top_cells(scores, 4, "random", np.random.default_rng(seed))
        assert list(top[:3]) == [0, 1, 2]
        assert top[3] in (3, 4, 5)


def test_events_outside_the_area_stay_in_the_denominator() -> None:
    s = day_score(SCORES, np.array([0, -1, -1, -1]), 0.1)
    assert s.hits == 1 and s.events == 4 and s.hit_rate == pytest.approx(0.25)
    assert s.best_hits == 1 and s.pei == pytest.approx(1.0)


def test_zero_coverage_and_empty_days() -> None:
    s = day_score(SCORES, EVENTS, 0.05)
    assert s.flagged == 0 and s.hits == 0 and math.isnan(s.pai)
    empty = day_score(SCORES, np.array([], dtype=int), 0.2)
    assert empty.events == 0 and math.isnan(empty.hit_rate)


def test_summary_is_over_days_with_events_only() -> None:
    days = [DayScore(4, 1, 2, 10, 3), DayScore(0, 0, 2, 10, 0), DayScore(2, 2, 2, 10, 2)]
    out = summarise(days)
    assert out["hit_rate"].days == 2
    assert out["hit_rate"].mean == pytest.approx((0.25 + 1.0) / 2)
    assert out["pooled_hit_rate"].mean == pytest.approx(3 / 6)
    assert out["pai"].mean == pytest.approx((1.25 + 5.0) / 2)
    assert out["pei"].mean == pytest.approx((1 / 3 + 1.0) / 2)
    assert Spread.of([]).days == 0
