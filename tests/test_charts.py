"""The charts draw exactly the series they are given, and paint offscreen for the PDF."""

from __future__ import annotations

import numpy as np
import pytest

from opscenter.trends import HourlySeries, WeeklySeries, YoySeries, histogram


@pytest.fixture
def charts(qapp):
    from ui import charts
    return charts


HOURLY = HourlySeries(starts=[3600.0 * k for k in range(24)], labels=[f"{k:02d}" for k in range(24)],
                      counts=[k % 5 for k in range(24)], typical=[0.5 + k / 10 for k in range(24)], days=28)


def test_hourly_bars_are_the_counts_and_the_line_the_typical_day(charts, qtbot):
    chart = charts.hourly_chart(HOURLY, charts.PAPER)
    qtbot.addWidget(chart)
    bars, line = chart.items["current"], chart.items["typical"]
    assert list(bars.opts["height"]) == HOURLY.counts
    assert list(bars.opts["x"]) == list(range(24))
    x, y = line.getData()
    assert list(x) == list(range(24)) and np.allclose(y, HOURLY.typical)
    ticks = chart.items["current"].getViewBox().parentItem().getAxis("bottom")._tickLevels[0]
    assert ticks[:2] == [(0, "00"), (3, "03")]


def test_weekly_lines_follow_each_series_and_mark_the_latest_week(charts, qtbot):
    series = WeeklySeries(starts=[0.0, 604800.0, 1209600.0], ends=[604800.0, 1209600.0, 1814400.0],
                          counts={"detections": [4, 9, 2], "shootings": [0, 1, 3]})
    chart = charts.weekly_chart(series, charts.WALL, zone="UTC")
    qtbot.addWidget(chart)
    for name, counts in series.counts.items():
        assert list(chart.items[name].getData()[1]) == counts
        latest = chart.items[f"{name} latest"].getData()
        assert (list(latest[0]), list(latest[1])) == ([2], [counts[-1]])


def test_yoy_pairs_earlier_and_current_side_by_side(charts, qtbot):
    series = YoySeries("detections", ["WashingtonDC1D", "Eastern"], current=[5, 7], earlier=[3, 9])
    chart = charts.yoy_chart(series, charts.PAPER)
    qtbot.addWidget(chart)
    assert list(chart.items["earlier"].opts["height"]) == [3, 9]
    assert list(chart.items["current"].opts["height"]) == [5, 7]
    assert np.allclose(chart.items["earlier"].opts["x"], [-0.18, 0.82])
    assert np.allclose(chart.items["current"].opts["x"], [0.18, 1.18])
    assert charts.short_area("WashingtonDC1D") == "DC1D"


def test_distribution_is_the_histogram_with_median_and_p90(charts, qtbot):
    seconds = [30, 90, 100, 150, 200, 260, 400, 2000]
    chart = charts.distribution_chart(seconds, "Detection to first 911 call", charts.PAPER,
                                      bin_s=60, max_s=600)
    qtbot.addWidget(chart)
    assert list(chart.items["bars"].opts["height"]) == histogram(seconds, 60, 600).counts
    assert list(chart.items["bars"].opts["height"]) == [1, 2, 1, 1, 1, 0, 1, 0, 0, 1]
    # median of 8 values: (150 + 200) / 2 = 175 s; p90: h = 6.3 -> 400 + 0.3 * 1600 = 880 s
    assert chart.items["median"].value() == pytest.approx(175 / 60)
    assert chart.items["p90"].value() == pytest.approx(880 / 60)


def test_render_image_paints_offscreen_with_the_accent_colour(charts, qtbot):
    from PySide6.QtGui import QColor

    chart = charts.hourly_chart(HOURLY, charts.PAPER)
    qtbot.addWidget(chart)
    image = charts.render_image(chart, 600, 300)
    assert (image.width(), image.height()) == (600, 300)
    accent = QColor(charts.PAPER.accent).rgb()
    hits = sum(1 for x in range(0, 600, 3) for y in range(0, 300, 3) if image.pixel(x, y) == accent)
    assert hits > 50  # the bars are there, in the one accent colour
    big = charts.scaled(charts.PAPER, 2)
    assert (big.font_px, big.line_px) == (36, 8.0)


def test_bin_width_follows_the_spread_of_the_intervals(charts):
    # p95 of 0..29 s is 27.55 s: 5 s bins give 5.5 bars (<= 12); 0..1199 s: p95 1139 s -> 120 s
    assert charts.bin_width(list(range(30))) == 5
    assert charts.bin_width(list(range(1200))) == 120
    assert charts.bin_width([]) == 5
