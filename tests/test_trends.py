"""Chart series on hand-built fixtures, DST changes included; expected values worked out in
comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opscenter.compstat import CITY, Change, Row
from opscenter.domain import AlertType, CallForService, CrimeReport, Origin, Priority, ShotAlert
from opscenter.trends import (alerts_per_hour, histogram, hour_of_day_means, week_bounds,
                              weekly_counts, weekly_trends, yoy_by_area)

NY = "America/New_York"
HOUR = 3600.0


def t(*parts: int, fold: int = 0) -> float:
    return datetime(*parts, tzinfo=ZoneInfo(NY), fold=fold).timestamp()


def test_typical_day_divides_by_the_hours_that_really_occurred_in_spring():
    # now 11 Mar 2024 12:30 EDT: the 24 bars run 10 Mar 13:00 -> 11 Mar 13:00 EDT (all EDT).
    # The typical window is the 28 days before: 11 Feb 13:00 EST -> 10 Mar 13:00 EDT. 10 Mar
    # has no 02:00, so hour 02 occurred 27 times (12 Feb..9 Mar), hour 01 28 times (12 Feb..10 Mar).
    now = t(2024, 3, 11, 12, 30)
    day = datetime(2024, 2, 12, tzinfo=ZoneInfo(NY))
    two_thirty = [t(2024, 2, 12, 2, 30)] + [
        (day + timedelta(days=k)).replace(hour=2, minute=30).timestamp() for k in range(1, 27)]
    one_thirty = [(day + timedelta(days=k)).replace(hour=1, minute=30).timestamp() for k in range(28)]
    afternoon = [t(2024, 3, 1, 14, 15), t(2024, 3, 1, 14, 45)]
    recent = [t(2024, 3, 10, 13), t(2024, 3, 11, 2, 10), t(2024, 3, 11, 2, 20),
              t(2024, 3, 11, 12, 29), t(2024, 3, 11, 12, 31)]  # the last is after now
    series = alerts_per_hour(two_thirty + one_thirty + afternoon + recent, now, NY)
    assert len(series.starts) == 24 and series.starts[0] == t(2024, 3, 10, 13)
    assert series.labels[:3] == ["13", "14", "15"] and series.labels[13] == "02"
    assert series.counts[0] == 1 and series.counts[13] == 2 and series.counts[23] == 1
    assert series.total == 4
    assert series.typical[13] == pytest.approx(27 / 27)        # not 27/28
    assert series.typical[12] == pytest.approx(28 / 28)        # hour 01
    assert series.typical[1] == pytest.approx(2 / 28)          # hour 14
    assert series.typical[0] == 0.0


def test_last_24_hours_across_the_spring_change_skip_two_oclock():
    # now 10 Mar 2024 12:30 EDT: 24 real hours back from 13:00 EDT is 12:00 EST on 9 Mar.
    series = alerts_per_hour([], t(2024, 3, 10, 12, 30), NY)
    assert series.labels == ["12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22",
                             "23", "00", "01", "03", "04", "05", "06", "07", "08", "09", "10",
                             "11", "12"]


def test_hour_one_occurs_29_times_in_autumn():
    # 20 Oct -> 17 Nov 2024 (28 days) holds 3 Nov, when 01:00-02:00 happens twice.
    start, end = t(2024, 10, 20), t(2024, 11, 17)
    assert (end - start) / HOUR == 28 * 24 + 1
    ones = [t(2024, 10, 20 + k, 1, 30) if k < 12 else t(2024, 11, k - 11, 1, 30) for k in range(28)]
    ones.append(t(2024, 11, 3, 1, 30, fold=1))  # the second 01:30 of 3 Nov
    assert len(set(ones)) == 29
    fives = [t(2024, 10, 20 + k, 5) if k < 12 else t(2024, 11, k - 11, 5) for k in range(28)]
    means = hour_of_day_means(ones + fives, start, end, NY)
    assert means[1] == pytest.approx(1.0)   # 29 events / 29 occurrences
    assert means[5] == pytest.approx(1.0)
    assert means[0] == 0.0


def test_weeks_are_calendar_weeks_across_dst():
    now = t(2024, 3, 14, 9)
    bounds = week_bounds(now, 2, NY)
    assert bounds == [(t(2024, 2, 29, 9), t(2024, 3, 7, 9)), (t(2024, 3, 7, 9), now)]
    assert [(b - a) / HOUR for a, b in bounds] == [168, 167]
    times = [t(2024, 2, 29, 8, 59), t(2024, 2, 29, 9), t(2024, 3, 7, 8, 59), t(2024, 3, 7, 9),
             t(2024, 3, 10, 3), now]
    weekly = weekly_counts({"x": times}, now, 2, NY)
    assert weekly.counts["x"] == [2, 2]
    assert weekly.starts == [b[0] for b in bounds] and weekly.ends[-1] == now


def test_weekly_trends_take_victim_reported_shootings_only():
    now = t(2024, 6, 1)
    shots = [ShotAlert("s1", 1, t(2024, 5, 30), 0.0, 0.0, AlertType.SINGLE, 1)]
    reports = [CrimeReport("r1", 1, t(2024, 5, 20), "shooting", Origin.VICTIM_REPORTED),
               CrimeReport("r2", 1, t(2024, 5, 21), "shooting", Origin.POLICE_INITIATED),
               CrimeReport("r3", 1, t(2024, 5, 22), "robbery", Origin.VICTIM_REPORTED)]
    calls = [CallForService("c1", 1, t(2024, 5, 31), Priority.HIGH, "noise", "", 0.0, 0.0),
             CallForService("c2", 1, t(2024, 4, 1), Priority.HIGH, "noise", "", 0.0, 0.0)]
    weekly = weekly_trends(shots, reports, calls, now, 3, NY)
    assert weekly.counts == {"detections": [0, 0, 1], "shootings": [0, 1, 0], "calls": [0, 0, 1]}


def test_yoy_pairs_leave_the_city_total_out():
    table = [Row("Eastern", {"detections": Change(5, 3), "shootings": Change(1, 0)}),
             Row("Western", {"shootings": Change(2, 4)}),
             Row(CITY, {"detections": Change(5, 3), "shootings": Change(3, 4)})]
    yoy = yoy_by_area(table, "detections")
    assert (yoy.areas, yoy.current, yoy.earlier) == (["Eastern", "Western"], [5, 0], [3, 0])
    assert yoy_by_area(table, "shootings", include_total=True).current == [1, 2, 3]


def test_histogram_folds_late_values_into_the_last_bin():
    hist = histogram([-5, 30, 59.9, 60, 130, 1000], bin_s=60, max_s=180)
    assert hist.edges == [0, 60, 120, 180]
    assert hist.counts == [3, 1, 2] and hist.overflow == 1
    assert histogram([10, 70], bin_s=60).counts == [1, 1]
    assert histogram([], 60).counts == [0]
    with pytest.raises(ValueError):
        histogram([1.0], bin_s=0)
