"""Commanders' figures on hand-built fixtures whose expected values are worked out in comments,
and detections per year on the real DC release checked against a plain csv count."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opscenter.compstat import (CITY, OPEN, Change, alert_outcomes, compstat_table,
                                detection_to_call, detections_by_year, figures_from_archive,
                                interval_stats, percentile, period_bounds, year_earlier,
                                year_sentence)
from opscenter.domain import (AlertType, CallForService, CrimeReport, Origin, Priority,
                              ShotAlert)
from opscenter.errors import ParseError
from opscenter.formats.registry import make_parser
from opscenter.persistence import Archive
from tests.conftest import SHARED_DATA

NY = "America/New_York"
HOUR = 3600.0


def t(*parts: int) -> float:
    """Epoch seconds of a New York wall time."""
    return datetime(*parts, tzinfo=ZoneInfo(NY)).timestamp()


def shot(sid: str, when: float, district: str = "Eastern", post: str = "") -> ShotAlert:
    return ShotAlert(id=sid, version=1, detected_at=when, lat=39.3, lon=-76.6,
                     alert_type=AlertType.MULTIPLE, rounds=3, district=district, post=post)


def report(rid: str, when: float, category: str, district: str = "Eastern",
           origin: Origin = Origin.VICTIM_REPORTED) -> CrimeReport:
    return CrimeReport(id=rid, version=1, occurred_at=when, category=category, origin=origin,
                       district=district)


def call(cid: str, when: float, category: str = "shooting", district: str = "Eastern",
         shot_id: str | None = None) -> CallForService:
    return CallForService(id=cid, version=1, received_at=when, priority=Priority.HIGH,
                          category=category, description="", lat=39.3, lon=-76.6,
                          district=district, shot_id=shot_id)


# --- periods -----------------------------------------------------------------------------

def test_seven_days_over_spring_dst_is_167_hours():
    # 2024-03-10 02:00 EST jumps to 03:00 EDT. 7d ending Thu 14 Mar 09:00 EDT (13:00 UTC)
    # starts Thu 7 Mar 09:00 EST (14:00 UTC): 7*24 - 1 = 167 h.
    start, end = period_bounds("7d", t(2024, 3, 14, 9), NY)
    assert start == t(2024, 3, 7, 9)
    assert (end - start) / HOUR == 167
    # A year earlier: 7-14 Mar 2023 09:00, and 2023's change (12 Mar) is inside it too.
    early = year_earlier(start, end, NY)
    assert early == (t(2023, 3, 7, 9), t(2023, 3, 14, 9))
    assert (early[1] - early[0]) / HOUR == 167


def test_seven_days_over_autumn_dst_is_169_hours():
    # 2024-11-03 02:00 EDT falls back to 01:00 EST: 29 Oct 12:00 -> 5 Nov 12:00 is 169 h.
    start, end = period_bounds("7d", t(2024, 11, 5, 12), NY)
    assert (end - start) / HOUR == 169


def test_24h_month_ytd_and_28d():
    now = t(2024, 3, 14, 9, 30)
    assert period_bounds("24h", now, NY) == (now - 86400, now)
    assert period_bounds("month", now, NY) == (t(2024, 3, 1), now)  # local midnight, EST
    assert period_bounds("ytd", now, NY) == (t(2024, 1, 1), now)
    assert period_bounds("28d", now, NY)[0] == t(2024, 2, 15, 9, 30)
    with pytest.raises(ValueError):
        period_bounds("fortnight", now, NY)


def test_28_days_across_new_year_and_a_year_earlier():
    # 28d ending 10 Jan 2025 12:00 starts 13 Dec 2024 12:00; a year earlier is
    # 13 Dec 2023 12:00 -> 10 Jan 2024 12:00 (both ends move back, crossing New Year too).
    start, end = period_bounds("28d", t(2025, 1, 10, 12), NY)
    assert start == t(2024, 12, 13, 12)
    assert year_earlier(start, end, NY) == (t(2023, 12, 13, 12), t(2024, 1, 10, 12))


def test_leap_day_maps_to_28_february():
    start, end = period_bounds("ytd", t(2024, 2, 29, 15), NY)
    assert year_earlier(start, end, NY) == (t(2023, 1, 1), t(2023, 2, 28, 15))


# --- the table ---------------------------------------------------------------------------

NOW = t(2025, 1, 10, 12)  # 28d: this = [13 Dec 2024 12:00, 10 Jan 2025 12:00)
#                               earlier = [13 Dec 2023 12:00, 10 Jan 2024 12:00)


def fixture():
    reports = [
        # Eastern shootings: 3 this period (the 23:30 New Year's Eve one included), 2 earlier.
        report("r1", t(2024, 12, 20, 10), "shooting"),
        report("r2", t(2024, 12, 31, 23, 30), "shooting"),
        report("r3", t(2025, 1, 5, 1), "shooting"),
        report("r4", t(2023, 12, 25, 3), "shooting"),
        report("r5", t(2024, 1, 2, 4), "shooting"),
        report("x1", t(2025, 1, 6), "shooting", origin=Origin.POLICE_INITIATED),  # not counted
        report("x2", NOW, "shooting"),                        # end is exclusive: not counted
        report("x3", t(2024, 1, 10, 12), "shooting"),         # earlier end exclusive too
        report("x4", t(2024, 12, 13, 11, 59), "shooting"),    # a minute before the start
        # Eastern homicides: 1 this, 0 earlier -> "new".
        report("r6", t(2024, 12, 24, 22), "homicide"),
        # Western shootings: 1 this, 4 earlier -> -75%. No homicides: 0 vs 0.
        report("w1", t(2025, 1, 2), "shooting", "Western"),
        *[report(f"w{i}", t(2023, 12, 20 + i), "shooting", "Western") for i in range(2, 6)],
    ]
    shots = [
        shot("s1", t(2024, 12, 15), "Eastern"), shot("s2", t(2025, 1, 1, 0, 5), "Eastern"),
        shot("s3", t(2023, 12, 31, 23, 59), "Eastern"), shot("s4", t(2024, 1, 1, 0, 1), "Eastern"),
        shot("s5", t(2023, 12, 14), "Western"),
    ]
    calls = [
        call("c1", t(2024, 12, 15, 0, 1), shot_id="s1"), call("c2", t(2025, 1, 1, 0, 6)),
        call("c3", t(2023, 12, 31, 23, 59)),
        call("c4", t(2024, 12, 20), category="noise", district="Western"),
    ]
    return shots, reports, calls


def test_table_counts_and_changes():
    shots, reports, calls = fixture()
    rows = {r.area: r.figures for r in compstat_table(shots, reports, calls, "28d", NOW, NY,
                                                      top_calls=1)}
    assert list(rows) == ["Eastern", "Western", CITY]
    east, west, city = rows["Eastern"], rows["Western"], rows[CITY]
    # Top call category this period: shooting 2 (c1, c2) beats noise 1, so only it is listed.
    assert list(east) == ["shootings", "homicides", "detections", "calls: shooting"]
    assert east["shootings"] == Change(3, 2) and east["shootings"].label == "+50%"
    assert east["homicides"] == Change(1, 0)
    assert east["homicides"].percent is None and east["homicides"].label == "new"
    assert east["detections"] == Change(2, 2) and east["detections"].label == "0%"
    assert east["calls: shooting"] == Change(2, 1)
    assert west["shootings"] == Change(1, 4) and west["shootings"].percent == -75.0
    assert west["homicides"] == Change(0, 0) and west["homicides"].label == "0%"
    assert west["detections"] == Change(0, 1) and west["detections"].label == "-100%"
    # City: shootings 4 vs 6 = -33.3%, homicides 1 vs 0, detections 2 vs 3.
    assert city["shootings"] == Change(4, 6) and city["shootings"].label == "-33%"
    assert city["homicides"].label == "new"
    assert city["detections"] == Change(2, 3)


def test_table_by_post():
    shots = [shot("a", t(2025, 1, 2), post="111"), shot("b", t(2025, 1, 3), post="111"),
             shot("c", t(2025, 1, 4))]
    rows = compstat_table(shots, [], [], "28d", NOW, NY, by="post")
    assert [(r.area, r.figures["detections"].current) for r in rows] == [
        ("(no area)", 1), ("111", 2), (CITY, 3)]


def test_year_sentence():
    reports = [
        report("h1", t(2017, 3, 1), "homicide"), report("h2", t(2017, 12, 31, 23, 30), "homicide"),
        report("h3", t(2018, 6, 1), "homicide"), report("h4", t(2018, 6, 1), "homicide", "Western"),
        *[report(f"s{i}", t(2017, 5, i + 1), "shooting") for i in range(3)],
        report("s9", t(2018, 2, 1), "shooting"),
        report("p1", t(2018, 2, 2), "shooting", origin=Origin.POLICE_INITIATED),
    ]
    # Eastern 2017: h1 and h2 (23:30 local on New Year's Eve is 2018 in UTC but 2017 here),
    # 3 shootings; 2018: h3 only and s9 only (p1 is police-initiated, h4 is Western).
    assert year_sentence("Eastern", reports, 2017, 2018, NY) == \
        "Eastern: 2 homicides and 3 shootings in 2017 vs 1 and 1 in 2018"
    assert year_sentence(CITY, reports, 2018, 2017, NY) == \
        "City total: 2 homicides and 1 shooting in 2018 vs 2 and 3 in 2017"


# --- response times ----------------------------------------------------------------------

def test_percentile_linear_interpolation():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    # 1..10: h = 9*0.9 = 8.1 -> x[8] + 0.1*(x[9]-x[8]) = 9 + 0.1 = 9.1
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
    assert percentile([4, 1, 3, 2], 0.5) == 2.5


def test_detection_to_first_call():
    base = t(2025, 1, 2, 22)
    shots = [shot("e1", base), shot("e2", base), shot("e3", base), shot("e4", base),
             shot("w1", base, "Western")]
    calls = [call("c1", base + 100, shot_id="e1"), call("c2", base + 30, shot_id="e1"),
             call("c3", base + 60, shot_id="e2"), call("c4", base + 10, shot_id="e3"),
             call("c5", base + 120, shot_id="w1", district="Western"), call("c6", base)]
    stats = {s.area: s for s in detection_to_call(shots, calls)}
    east, city = stats["Eastern"], stats[CITY]
    # Eastern: first calls 30 (c2, not c1), 60, 10 -> sorted [10, 30, 60]; e4 never called.
    # median h=1 -> 30; p90 h=1.8 -> 30 + 0.8*30 = 54; 1 of 4 detections without a call.
    assert (east.count, east.median, east.p90, east.without_end) == (3, 30, pytest.approx(54), 1)
    assert east.without_end_share == 0.25
    # City [10, 30, 60, 120]: median h=1.5 -> 45; p90 h=2.7 -> 60 + 0.7*60 = 102; 1 of 5.
    assert (city.median, city.p90, city.without_end_share) == (45, pytest.approx(102), 0.2)
    assert stats["Western"].median == 120 and stats["Western"].without_end == 0


def test_interval_hook_for_dispatch_times():
    stats = {s.area: s for s in interval_stats([("A", 0, 5), ("A", 100, 115), ("B", 0, 60)])}
    # A: [5, 15] -> median 10, p90 5 + 0.9*10 = 14. B: [60].
    assert (stats["A"].median, stats["A"].p90) == (10, pytest.approx(14))
    assert (stats["B"].median, stats["B"].p90, stats["B"].without_end_share) == (60, 60, 0.0)


# --- outcomes ----------------------------------------------------------------------------

def test_alert_outcomes_keep_unknown_and_open_apart():
    day = t(2025, 1, 5)
    shots = [shot(f"e{i}", day) for i in range(5)] + [
        shot("w0", day, "Western"), shot("w1", day, "Western"),
        shot("old", t(2024, 1, 5), "Western")]
    verdicts = {"e0": "evidence_found", "e1": "no_evidence", "e2": "not_gunfire",
                "e3": "unknown", "w0": "evidence_found", "w1": "evidence_found",
                "old": "no_evidence"}  # e4 has no verdict: open
    rows = {o.area: o for o in alert_outcomes(shots, verdicts, *period_bounds("28d", NOW, NY))}
    east, city = rows["Eastern"], rows[CITY]
    assert east.total == 5 and east.counts[OPEN] == 1 and east.counts["unknown"] == 1
    # Evidence among closed known verdicts: 1 of (1 + 1 + 1) = 1/3; open share 1/5.
    assert east.evidence_rate == pytest.approx(1 / 3)
    assert east.share(OPEN) == 0.2 and east.share("unknown") == 0.2
    # City (the 2024 alert is outside the window): 7 alerts, evidence 3 of 5 known = 0.6.
    assert city.total == 7 and city.evidence_rate == pytest.approx(0.6)
    assert rows["Western"].counts["no_evidence"] == 0
    with pytest.raises(ValueError):
        alert_outcomes(shots, {"e0": "maybe"})


def test_figures_from_archive_match_direct(tmp_path):
    shots, reports, calls = fixture()
    archive = Archive(tmp_path / "a.sqlite3")
    archive.write([*shots, *reports, *calls])
    figures = figures_from_archive(archive, "28d", NOW, NY, dispositions={"s1": "evidence_found"})
    assert figures.table == compstat_table(shots, reports, calls, "28d", NOW, NY)
    response = {s.area: s for s in figures.response}
    # This period: s1 called after 60 s, s2 never linked.
    assert (response[CITY].median, response[CITY].without_end) == (60, 1)
    assert {o.area: o.counts["evidence_found"] for o in figures.outcomes} == {"Eastern": 1, CITY: 1}
    archive.close()


# --- the real DC release -----------------------------------------------------------------

DC_FILE = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"


@pytest.mark.skipif(not DC_FILE.exists(), reason="shared data not present")
def test_dc_detections_per_year_match_a_plain_csv_count():
    parsed = list(make_parser("dc-shotspotter", str(DC_FILE)).parse(DC_FILE.read_bytes()))
    shots = [p for p in parsed if isinstance(p, ShotAlert)]
    rejected = [p for p in parsed if isinstance(p, ParseError)]
    counts = detections_by_year(shots, NY)
    # Times in the file are Eastern wall-clock, so the local year is the first four characters.
    # The parser drops rows without a position (the release has one at 0.001, -0.002); skip those.
    direct: Counter[int] = Counter()
    skipped = 0
    with DC_FILE.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if abs(float(row["Latitude-100meter"])) < 1:
                skipped += 1
                continue
            direct[int(row["Date Time"][:4])] += 1
    assert skipped == len(rejected) == 1
    for year in range(2007, 2013):
        assert counts[year] == direct[year], year
    assert counts[2009] == 9011  # the busiest year of the release
    by_area = detections_by_year(shots, NY, by="district")
    assert sum(c.get(2010, 0) for c in by_area.values()) == counts[2010]
