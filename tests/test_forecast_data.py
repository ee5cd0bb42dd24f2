"""Forecast input: the dedicated DC reader, origin rules, Ensign down-weighting, time slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from opscenter.domain import AlertType, CrimeReport, Origin, ShotAlert
from opscenter.forecast.data import (
    DEFAULT_POLICE_WEIGHT, ForecastInputError, day_start, ensign_weights, events_from_records,
    load_dc_csv, load_jtl_csv, make_events,
)
from tests.conftest import SHARED_DATA

HEADER = "Coverage Area,Incident ID,Date Time,Type,Longitude-100meter,Latitude-100meter\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "dc.csv"
    path.write_text(HEADER + body)
    return path


def test_dc_reader_reads_local_times_and_keeps_bad_rows_visible(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "WashingtonDC7D,53-3,2012-07-01 03:35:11.313000,Single Gunshot,-77.001,38.861\n"
        "WashingtonDC7D,53-4,2012-01-01 00:00:05,Multiple Gunshots,-77.002,38.862\n"
        "WashingtonDC1D,49-1,2012-11-08 11:07:54.617000,Multiple Gunshots,-0.002,0.001\n"
        "WashingtonDC1D,49-2,yesterday,Multiple Gunshots,-77.0,38.9\n"))
    ev = load_dc_csv(path)
    assert len(ev) == 2
    assert list(ev.ids) == ["53-4", "53-3"]  # sorted by time
    assert list(ev.district) == ["WashingtonDC7D", "WashingtonDC7D"]
    # 2012-01-01 00:00:05 in New York is 05:00:05 UTC (EST, UTC-5)
    assert ev.t[0] == 1325394005.0
    # 03:35:11.313 in July is EDT, UTC-4
    assert ev.t[1] == pytest.approx(1341128111.313)
    assert [(r.line, "null-island" in r.reason or "yesterday" in r.reason)
            for r in ev.rejected] == [(4, True), (5, True)]
    assert all(r.source == str(path) for r in ev.rejected)


def test_dc_reader_refuses_a_file_of_another_layout(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("type,id,date\nx,1,2\n")
    with pytest.raises(ForecastInputError, match="other.csv.*not the DC gunshot layout"):
        load_dc_csv(path)
    with pytest.raises(ForecastInputError, match="cannot open"):
        load_dc_csv(tmp_path / "missing.csv")


def report(i: int, origin: Origin, district: str = "Eastern") -> CrimeReport:
    return CrimeReport(id=f"R{i}", version=1, occurred_at=1000.0 + i, category="shooting",
                       origin=origin, lat=39.3, lon=-76.6, district=district, source="rms")


def test_records_accept_detections_and_victim_reports_only() -> None:
    shot = ShotAlert(id="S1", version=1, detected_at=900.0, lat=39.3, lon=-76.6,
                     alert_type=AlertType.SINGLE, rounds=2, district="Western")
    ev = events_from_records([report(1, Origin.VICTIM_REPORTED), shot])
    assert list(ev.ids) == ["S1", "R1"]
    assert list(ev.origin) == ["detection", "victim_reported"]
    assert list(ev.weight) == [1.0, 1.0]
    with pytest.raises(ForecastInputError, match="R2 is police-initiated"):
        events_from_records([report(2, Origin.POLICE_INITIATED)])
    with pytest.raises(ForecastInputError, match="origin 'other'"):
        events_from_records([report(3, Origin.OTHER)])


def test_enabled_police_records_enter_down_weighted() -> None:
    recs = [report(1, Origin.POLICE_INITIATED, "Eastern"),
            report(2, Origin.POLICE_INITIATED, "Western"),
            report(3, Origin.VICTIM_REPORTED, "Eastern")]
    plain = events_from_records(recs, allow_police_initiated=True)
    assert list(plain.weight) == [DEFAULT_POLICE_WEIGHT, DEFAULT_POLICE_WEIGHT, 1.0]
    weights = ensign_weights({"Eastern": 0.5, "Western": 0.25}, base=0.5)
    ev = events_from_records(recs, allow_police_initiated=True, police_weights=weights)
    assert list(ev.weight) == [0.25, 0.5, 1.0]


def test_ensign_weights_cancel_patrol_share() -> None:
    w = ensign_weights({"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0}, base=1.0)
    assert w == {"A": 0.5, "B": 1.0, "C": 1.0, "D": 1.0}
    # discoveries x weight: a district patrolled twice as much counts half per discovery
    assert 0.5 * w["A"] == 0.25 * w["B"]


def test_before_is_strict_and_between_is_half_open() -> None:
    ev = make_events([10.0, 20.0, 20.0, 30.0], [0, 0, 0, 0], [0, 0, 0, 0])
    assert list(ev.before(20.0).t) == [10.0]
    assert list(ev.between(20.0, 30.0).t) == [20.0, 20.0]
    assert len(ev.before(0.0)) == 0


def test_local_days_follow_daylight_saving() -> None:
    assert day_start("2012-03-12") - day_start("2012-03-11") == 23 * 3600
    assert day_start("2012-11-05") - day_start("2012-11-04") == 25 * 3600
    assert day_start("2012-06-01") - day_start("2012-05-31") == 24 * 3600


def test_make_events_rejects_ragged_columns() -> None:
    with pytest.raises(ValueError):
        make_events([1.0, 2.0], [0.0], [0.0, 1.0])
    ev = make_events(np.array([3.0, 1.0]), [5.0, 6.0], [7.0, 8.0], ids=["b", "a"])
    assert list(ev.lon) == [6.0, 5.0] and list(ev.ids) == ["a", "b"]


def test_jtl_reader_places_date_only_rows_at_local_midnight(tmp_path: Path) -> None:
    path = tmp_path / "camden.csv"
    path.write_text(
        "type,id,date,time,address,rnds,latitude,longitude,source,zone,year,month,yearmonth\n"
        "Multiple_Gunshots,,12/31/2013,,,,39.94868353,-75.11714037,2013,,2013,12,168\n"
        "Gunshot_or_Firecracker,,12/30/2013,,,,39.93,-75.10,2013,,2013,12,168\n"
        "Single_Gunshot,7,12/29/2013,21:15:00,,,39.93,-75.10,2013,,2013,12,168\n"
        "Single_Gunshot,,13/45/2013,,,,39.93,-75.10,2013,,2013,12,168\n")
    ev = load_jtl_csv(path)
    assert len(ev) == 2  # the firecracker-or-gunshot row is left out, the bad date kept aside
    assert ev.t[1] == day_start("2013-12-31")
    assert ev.t[0] == day_start("2013-12-29") + 21.25 * 3600
    assert ev.ids[0] == "7" and ev.ids[1] == "camden:2"
    assert [r.line for r in ev.rejected] == [5]
    camden = SHARED_DATA / "gunshot" / "camden_nj_shotspotter_jtl_format.csv"
    assert len(load_jtl_csv(camden)) > 2500
