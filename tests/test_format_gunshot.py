"""Gunshot-detection exports (DC FOIA, Justice Tech Lab, Chicago portal) and the shared CSV
row handling: counts on the real files, local times with DST, quirks, and fuzzing."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.domain import AlertType, ShotAlert
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats import csv_rows
from opscenter.formats.gunshot import (
    ChicagoShotSpotterParser,
    DcShotSpotterParser,
    JtlShotSpotterParser,
    alert_type,
)
from opscenter.formats.registry import detect
from tests.conftest import SHARED_DATA, split_parsed as split, utc

DC_FILE = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"
CAMDEN_FILE = SHARED_DATA / "gunshot" / "camden_nj_shotspotter_jtl_format.csv"
EASTERN = ZoneInfo("America/New_York")

CHICAGO = (
    "\ufeffDATE,BLOCK,ZIP_CODE,WARD,COMMUNITY_AREA,AREA,DISTRICT,BEAT,"
    "STREET_OUTREACH_ORGANIZATION,UNIQUE_ID,MONTH,DAY_OF_WEEK,HOUR,INCIDENT_TYPE_DESCRIPTION,"
    "ROUNDS,ILLINOIS_HOUSE_DISTRICT,ILLINOIS_SENATE_DISTRICT,LATITUDE,LONGITUDE,LOCATION\r\n"
    "1/15/2023 2:05,006XX W 63RD ST,60621,20,ENGLEWOOD,1,007,0712,Teamwork Englewood,"
    "SST-2G7X5K,1,1,2,MULTIPLE GUNSHOTS,4,6,3,41.7798,-87.6391,POINT (-87.6391 41.7798)\r\n"
    "07/04/2023 11:59:00 PM,031XX W FLOURNOY ST,60612,28,EAST GARFIELD PARK,3,011,1134,"
    "Breakthrough,SST-9KQ2LM,7,3,23,SINGLE GUNSHOT,1,10,5,,,POINT (-87.7058 41.8721)\r\n"
    "11/05/2023 01:30:00 AM,045XX S CALUMET AVE,60653,3,GRAND BOULEVARD,1,002,0221,"
    "Project H.O.O.D.,SST-4RT8PZ,11,1,1,GUNSHOT OR FIRECRACKER,,4,2,41.8127,-87.6184,\r\n"
    "12/31/2023 11:58:00 PM,012XX N HOMAN AVE,60651,27,HUMBOLDT PARK,3,011,1121,,"
    "SST-7YH3QC,12,1,23,PROBABLE FIREWORKS,0,4,2,41.9039,-87.7111,POINT (-87.7111 41.9039)\r\n"
    "13/45/2023 9:99,001XX N STATE ST,60602,42,LOOP,3,001,0111,,SST-BADDATE,1,1,1,"
    "SINGLE GUNSHOT,1,5,3,41.8838,-87.6278,POINT (-87.6278 41.8838)\r\n"
    "2/1/2023 10:00,001XX N STATE ST,60602,42,LOOP,3,001,0111,,SST-MANY,2,4,10,"
    "SINGLE GUNSHOT,many,5,3,41.8838,-87.6278,\r\n"
    "2/1/2023 10:00,001XX N STATE ST,60602,42,LOOP,3,001,0111,,SST-NOWHERE,2,4,10,"
    "SINGLE GUNSHOT,1,5,3,,,\r\n"
)
JTL_FULL = (
    "type,id,date,time,address,rnds,latitude,longitude,source,zone,year,month,yearmonth\n"
    "Multiple_Gunshots,1234567,7/4/2016,23:41:07,100 N 5th St,7,39.946,-75.118,2016,,2016,7,199\n"
    "Single_Gunshot,,7/4/2016,,,,39.931,-75.105,2016,,2016,7,199\n"
    "Single_Gunshot,,7/4/2016,,,,39.931,-75.105,2016,,2016,7,199\n"
)


def assert_wire_valid(records) -> None:
    for record in records:
        assert record_from_dict(record.kind, record_to_dict(record), record.source) == record


@pytest.fixture(scope="module")
def dc() -> tuple[list[ShotAlert], list[ParseError]]:
    return split(DcShotSpotterParser("dc").parse(DC_FILE.read_bytes()))


@pytest.fixture(scope="module")
def dc_rows() -> list[dict[str, str]]:
    with DC_FILE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def camden() -> tuple[list[ShotAlert], list[ParseError]]:
    return split(JtlShotSpotterParser("camden").parse(CAMDEN_FILE.read_bytes()))


# --- DC FOIA release --------------------------------------------------------------------------

def test_dc_every_row_is_a_record_or_a_named_error(dc, dc_rows) -> None:
    records, errors = dc
    assert len(dc_rows) == 39_066
    assert len(records) == 39_065
    # The one row the publisher left without a fix: (0.001, -0.002), rounded (0, 0).
    assert [e.reason for e in errors] == ["row 39066: no coordinates ('0.001', '-0.002')"]
    assert len({r.id for r in records}) == len(records)
    assert all(r.id.startswith("DC-") and r.version == 1 and r.rounds == 0 for r in records)
    assert Counter(r.alert_type for r in records) == {AlertType.MULTIPLE: 20_727,
                                                      AlertType.SINGLE: 18_338}
    assert {r.district for r in records} == {f"WashingtonDC{n}D" for n in (1, 3, 4, 5, 6, 7)}
    assert_wire_valid(records[:2000])


def test_dc_positions_inside_the_district(dc) -> None:
    records, _ = dc
    assert all(38.79 <= r.lat <= 39.0 and -77.12 <= r.lon <= -76.90 for r in records)


def test_dc_detections_per_year_match_a_direct_count(dc, dc_rows) -> None:
    records, _ = dc
    direct = Counter(row["Date Time"][:4] for row in dc_rows
                     if abs(float(row["Latitude-100meter"])) > 1)
    parsed = Counter(str(datetime.fromtimestamp(r.detected_at, EASTERN).year) for r in records)
    assert parsed == direct
    assert sorted(parsed) == [str(y) for y in range(2006, 2014)]


def test_dc_local_eastern_times_by_hand(dc) -> None:
    by_id = {r.id: r for r in dc[0]}
    # 2006-01-27 03:35:11.313 EST (UTC-5)
    assert by_id["DC-53-3"].detected_at == pytest.approx(utc(2006, 1, 27, 8, 35, 11) + 0.313)
    # no fraction of a second in 111 rows: 2006-02-09 09:27:41 EST
    assert by_id["DC-53-3806"].detected_at == utc(2006, 2, 9, 14, 27, 41)
    # summer: 2006-07-04 10:21:16 EDT (UTC-4)
    assert by_id["DC-53-23153"].detected_at == utc(2006, 7, 4, 14, 21, 16)
    # 2011-11-06 01:28:29.947 happens twice (DST ends); the first, EDT, is taken
    assert by_id["DC-52-59759"].detected_at == pytest.approx(utc(2011, 11, 6, 5, 28, 29) + 0.947)


# --- Justice Tech Lab layout ------------------------------------------------------------------

def test_camden_counts_types_and_synthetic_ids(camden) -> None:
    records, errors = camden
    assert (len(records), errors) == (3_212, [])
    assert Counter(r.alert_type for r in records) == {
        AlertType.MULTIPLE: 1_832, AlertType.SINGLE: 1_022, AlertType.POSSIBLE_FIRECRACKER: 358}
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    # 51 rows repeat an earlier row's date, position and type: numbered, not dropped
    assert sum(1 for i in ids if i.count("-") == 2) == 51
    dates = sorted(datetime.fromtimestamp(r.detected_at, EASTERN) for r in records)
    assert (dates[0].date().isoformat(), dates[-1].date().isoformat()) == ("2013-05-01",
                                                                           "2018-09-14")
    assert all((d.hour, d.minute) == (0, 0) for d in dates)  # no time column: local midnight


def test_camden_reimport_gives_the_same_ids(camden) -> None:
    again, _ = split(JtlShotSpotterParser("camden").parse(CAMDEN_FILE.read_bytes()))
    assert [r.id for r in again] == [r.id for r in camden[0]]


def test_jtl_uses_given_id_time_rounds_and_zone() -> None:
    records, errors = split(JtlShotSpotterParser("jtl").parse(JTL_FULL.encode()))
    assert errors == []
    first, second, third = records
    assert (first.id, first.rounds, first.address) == ("JTL-1234567", 7, "100 N 5th St")
    assert first.detected_at == utc(2016, 7, 5, 3, 41, 7)  # 23:41:07 EDT
    assert third.id == second.id + "-2"
    central, _ = split(JtlShotSpotterParser("jtl", zone="America/Chicago").parse(JTL_FULL.encode()))
    assert central[0].detected_at - first.detected_at == 3600


# --- Chicago data portal ----------------------------------------------------------------------

def test_chicago_fixture_fields_times_and_fallbacks() -> None:
    records, errors = split(ChicagoShotSpotterParser("chi").parse(CHICAGO.encode()))
    by_id = {r.id: r for r in records}
    assert sorted(by_id) == ["SST-2G7X5K", "SST-4RT8PZ", "SST-7YH3QC", "SST-9KQ2LM"]
    first = by_id["SST-2G7X5K"]
    assert (first.district, first.post, first.address, first.rounds) == ("007", "0712",
                                                                         "006XX W 63RD ST", 4)
    assert (first.lat, first.lon, first.alert_type) == (41.7798, -87.6391, AlertType.MULTIPLE)
    assert first.detected_at == utc(2023, 1, 15, 8, 5)  # 2:05 CST
    fourth_july = by_id["SST-9KQ2LM"]
    assert fourth_july.detected_at == utc(2023, 7, 5, 4, 59)  # 11:59 PM CDT, other format
    assert (fourth_july.lat, fourth_july.lon) == (41.8721, -87.7058)  # from WKT, lon first
    assert by_id["SST-4RT8PZ"].detected_at == utc(2023, 11, 5, 6, 30)  # first 01:30 (CDT)
    assert by_id["SST-4RT8PZ"].alert_type is AlertType.POSSIBLE_FIRECRACKER
    assert by_id["SST-4RT8PZ"].rounds == 0
    assert by_id["SST-7YH3QC"].alert_type is AlertType.OTHER
    assert [e.reason for e in errors] == ["row 5: bad date '13/45/2023 9:99'",
                                          "row 6: bad ROUNDS 'many'",
                                          "row 7: no coordinates (LOCATION '')"]
    assert_wire_valid(records)


def test_alert_type_spellings() -> None:
    assert alert_type("Multiple_Gunshots") is alert_type("MULTIPLE GUNSHOTS") is AlertType.MULTIPLE
    assert alert_type(" single  gunshot ") is AlertType.SINGLE
    assert alert_type("Gunshot_or_Firecracker") is AlertType.POSSIBLE_FIRECRACKER
    assert alert_type("") is alert_type("helicopter") is AlertType.OTHER


# --- header checks and sniffing ---------------------------------------------------------------

def test_wrong_header_raises_naming_the_missing_columns() -> None:
    with pytest.raises(ParseError) as caught:
        DcShotSpotterParser("dc").parse(CAMDEN_FILE.read_bytes())
    assert "missing columns Coverage Area, Incident ID, Date Time" in caught.value.reason
    with pytest.raises(ParseError, match="missing columns DATE, UNIQUE_ID"):
        ChicagoShotSpotterParser("chi").parse(b"when,where\n1,2\n")
    with pytest.raises(ParseError, match="empty file"):
        JtlShotSpotterParser("jtl").parse(b"")


@pytest.mark.parametrize(("name", "data"), [
    ("dc-shotspotter", DC_FILE.read_bytes()[:65536]),
    ("jtl-shotspotter", CAMDEN_FILE.read_bytes()[:65536]),
    ("chicago-shotspotter", CHICAGO.encode()),
])
def test_sniff_picks_the_right_layout(name: str, data: bytes) -> None:
    assert detect(data, "export.csv") == name


# --- shared row handling ----------------------------------------------------------------------

def test_rows_skip_blank_lines_count_data_rows_and_survive_a_runaway_cell() -> None:
    head = "Coverage Area,Incident ID,Date Time,Type,Longitude-100meter,Latitude-100meter\n"
    good = "WashingtonDC7D,1-{n},2010-05-01 12:00:00,Single Gunshot,-77.0,38.9\n"
    data = (head + good.format(n=1) + "\n\n" + "WashingtonDC7D,1-2,2010-05-01,Single Gunshot,"
            + "x" * (csv_rows.MAX_FIELD + 10) + ",38.9\n" + good.format(n=3))
    records, errors = split(DcShotSpotterParser("dc").parse(data.encode("utf-8")))
    assert [r.id for r in records] == ["DC-1-1", "DC-1-3"]
    assert len(errors) == 1 and errors[0].reason.startswith("row 2: a cell longer than")


def test_windows_1252_and_control_characters_are_cleaned() -> None:
    data = ("DATE,UNIQUE_ID,INCIDENT_TYPE_DESCRIPTION,BLOCK,LATITUDE,LONGITUDE\r\n"
            "1/2/2023 3:04,SST-1,SINGLE GUNSHOT,\"12XX W CAF\xc9\x07 ST\nREAR\",41.9,-87.7\r\n")
    records, errors = split(ChicagoShotSpotterParser("chi").parse(data.encode("cp1252")))
    assert errors == [] and records[0].address == "12XX W CAF\xc9 ST REAR"


def test_helpers() -> None:
    assert csv_rows.place("0.001", "-0.002") is None and csv_rows.place("", "1") is None
    assert csv_rows.wkt_point("POINT (-87.6 41.8)") == (41.8, -87.6)
    assert csv_rows.paren_point("1 MAIN ST\nBALTIMORE, MD\n(39.29, -76.61)") == (39.29, -76.61)
    long_a, long_b = csv_rows.clean_id("A" * 200), csv_rows.clean_id("A" * 199 + "B")
    assert len(long_a) == 80 and long_a != long_b
    assert csv_rows.clean("a\x00b\r\n\tc  d") == "a b c d"
    assert csv_rows.clean("a\x00b\r\n\tc  d", 5) == "a b…"  # a clipped cell says it was clipped


# --- fuzzing: nothing but ParseError escapes --------------------------------------------------

PARSERS = (DcShotSpotterParser, JtlShotSpotterParser, ChicagoShotSpotterParser)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def consume(parser, data: bytes) -> None:
    try:
        records, _ = split(parser.parse(data))
    except ParseError:
        return
    assert_wire_valid(records)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(PARSERS))
def test_arbitrary_bytes_only_raise_parse_error(data: bytes, parser_type) -> None:
    consume(parser_type("fuzz"), data)
    consume(parser_type("fuzz"), CHICAGO.encode()[:300] + data)


def mutated(text: str, cell_text: str, row: int, column: int) -> bytes:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    target = rows[1 + row % (len(rows) - 1)]
    target[column % len(target)] = cell_text
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(st.text(max_size=60), st.integers(0, 50), st.integers(0, 50),
       st.sampled_from([(ChicagoShotSpotterParser, CHICAGO), (JtlShotSpotterParser, JTL_FULL)]))
def test_mutated_rows_only_yield_records_or_parse_errors(cell_text, row, column, case) -> None:
    parser_type, text = case
    consume(parser_type("fuzz"), mutated(text, cell_text, row, column))
