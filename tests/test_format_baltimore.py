"""Open Baltimore exports: Part 1 crime (both layouts), arrests and 911 calls. Counts on the
real files, local times, mappings checked against the published tables, and no person data."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.domain import CallStatus, CrimeReport, Origin, Priority
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats.baltimore import (
    DISTRICTS,
    Baltimore911Parser,
    BaltimoreArrestsParser,
    BaltimorePart1Parser,
    call_category,
    code_category,
    district_name,
    split_offense,
)
from opscenter.formats.registry import detect
from tests.conftest import SHARED_DATA, split_parsed as split, utc

BALTIMORE = SHARED_DATA / "baltimore"
PART1_FILE = BALTIMORE / "bpd_part1_crime_2022_subset.csv"
ARRESTS_FILE = BALTIMORE / "bpd_arrests_2017-2018_openbaltimore.csv"
EASTERN = ZoneInfo("America/New_York")
PERSON_COLUMNS = ("Age", "Sex", "Gender", "Race", "Charge", "ChargeDescription")

LEGACY = (
    "CrimeDate,CrimeTime,CrimeCode,Location,Description,Inside/Outside,Weapon,Post,District,"
    "Neighborhood,Longitude,Latitude,Location 1,Premise,Total Incidents\n"
    "03/11/2017,01:30:00,9S,1500 N MILTON AVE,SHOOTING,O,FIREARM,332,EASTERN,"
    "Broadway East,-76.5833,39.3067,\"(39.3067, -76.5833)\",STREET,1\n"
    "07/04/2016,2315,3AF,400 E 25TH ST,ROBBERY - STREET,O,FIREARM,513,NORTHERN,"
    "Harwood,,,\"(39.3183, -76.6108)\",STREET,1\n"
    "11/06/2016,01:15:00,4E,2400 W NORTH AVE,COMMON ASSAULT,I,HANDS,734,WD,"
    "Walbrook,-76.6553,39.3095,,ROW/TOWNHO,1\n"
    "12/24/2015,18:00:00,6D,800 S BROADWAY,LARCENY FROM AUTO,O,,213,SOUTHEASTERN,"
    "Fells Point,-76.5931,39.2831,,STREET,1\n"
    "01/02/2016,09:40:00,99,100 N CHARLES ST,AGG. ASSAULT,I,KNIFE,111,CENTRAL,"
    "Downtown,-76.6154,39.2904,,OTHER,1\n"
    "02/30/2016,09:40:00,7A,100 N CHARLES ST,AUTO THEFT,O,,111,CENTRAL,Downtown,,,,STREET,1\n"
)
CALLS = (
    "\ufeffcallDateTime,priority,district,description,callNumber,incidentLocation,location\r\n"
    '07/04/2017 11:58:10 PM,High,ED,DISCHRG FIREARM,P171852960,1500 N MILTON AV,'
    '"1500 N MILTON AV\nBALTIMORE, MD\n(39.3067, -76.5833)"\r\n'
    '11/05/2017 01:20:00 AM,Medium,NE,PEACE  ORDER,P173092001,,'
    '"4900 BELAIR RD\nBALTIMORE, MD\n(39.3356, -76.5539)"\r\n'
    '2017-03-12T02:30:00.000,Non-Emergency,Northwestern,*PROT. ORDER,P170711111,'
    '3800 W BELVEDERE AV,"3800 W BELVEDERE AV\nBALTIMORE, MD\n(39.3482, -76.6830)"\r\n'
    '2017-06-01T12:00:00Z,Out of Service,TRU,Spaceship landing,P171520001,100 HOLLIDAY ST,'
    '"100 HOLLIDAY ST\nBALTIMORE, MD\n(39.2906, -76.6103)"\r\n'
    '06/01/2017 12:00:00 PM,Emergency,SD,Shooting,P171520002,,"UNKNOWN\nBALTIMORE, MD"\r\n'
    '06/31/2017 12:00:00 PM,Low,CD,LOUD MUSIC,P171520003,1 E PRATT ST,'
    '"1 E PRATT ST\nBALTIMORE, MD\n(39.2867, -76.6147)"\r\n'
    '06/02/2017 08:00:00 AM,Low,CD,LOUD MUSIC,,1 E PRATT ST,'
    '"1 E PRATT ST\nBALTIMORE, MD\n(39.2867, -76.6147)"\r\n'
)


def head_rows(path, limit: int | None = None) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[:None if limit is None else limit + 1]


def to_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def scrambled(rows: list[list[str]], columns=PERSON_COLUMNS) -> bytes:
    """The rows with every person column overwritten by a sentinel (in memory only)."""
    hit = [i for i, name in enumerate(rows[0]) if name in columns]
    assert hit, "the file has person columns to scramble"
    return to_bytes([rows[0]] + [[f"SENTINEL{i}" if i in hit else cell
                                  for i, cell in enumerate(row)] for row in rows[1:]])


def assert_no_sentinel(records) -> None:
    assert not [r for r in records if "SENTINEL" in repr(r)]


@pytest.fixture(scope="module")
def part1() -> tuple[list[CrimeReport], list[ParseError]]:
    return split(BaltimorePart1Parser("p1").parse(PART1_FILE.read_bytes()))


@pytest.fixture(scope="module")
def arrests() -> tuple[list[CrimeReport], list[ParseError]]:
    return split(BaltimoreArrestsParser("arr").parse(ARRESTS_FILE.read_bytes()))


# --- Part 1 crime -----------------------------------------------------------------------------

def test_part1_counts_categories_and_districts(part1) -> None:
    records, errors = part1
    assert (len(records), errors) == (1_261, [])
    assert len({r.id for r in records}) == 1_261
    assert sum(r.lat is not None for r in records) == 1_259
    assert Counter(r.category for r in records) == {
        "larceny": 423, "common assault": 296, "aggravated assault": 142, "auto theft": 138,
        "robbery": 129, "burglary": 100, "shooting": 15, "rape": 10, "homicide": 5, "arson": 3}
    assert {r.district for r in records} == set(DISTRICTS) | {""}
    assert {r.origin for r in records} == {Origin.VICTIM_REPORTED}
    first = records[0]
    assert (first.address, first.weapon, first.district) == ("1600 RUXTON AVE",
                                                              "PERSONAL WEAPONS", "Western")
    for record in records:
        assert record_from_dict(record.kind, record_to_dict(record), "p1") == record


def test_part1_labelled_utc_is_baltimore_wall_clock(part1) -> None:
    records, _ = part1
    # Row 1: "2022/11/12 11:05:00+00" is 11:05 EST, i.e. 16:05 UTC.
    assert records[0].occurred_at == utc(2022, 11, 12, 16, 5)
    # Why: times entered as unknown sit at 00:00 on the wall clock (34 rows), while 04:00 or
    # 05:00 (local midnight, were the label true) are ordinary hours.
    local = Counter(datetime.fromtimestamp(r.occurred_at, EASTERN).strftime("%H:%M")
                    for r in records)
    assert local["00:00"] == 34 and local["04:00"] + local["05:00"] == 16
    trusting, _ = split(BaltimorePart1Parser("p1", crime_datetime_zone="UTC")
                        .parse(PART1_FILE.read_bytes()))
    assert trusting[0].occurred_at == utc(2022, 11, 12, 11, 5)


def test_part1_keeps_no_person_data(part1) -> None:
    records, _ = split(BaltimorePart1Parser("p1").parse(scrambled(head_rows(PART1_FILE))))
    assert records == part1[0]
    assert_no_sentinel(records)


def test_part1_legacy_layout() -> None:
    records, errors = split(BaltimorePart1Parser("p1").parse(LEGACY.encode()))
    assert [e.reason for e in errors] == ["row 6: bad date '02/30/2016 09:40:00'"]
    shooting, robbery, assault, larceny, agg = records
    assert (shooting.category, shooting.district, shooting.post) == ("shooting", "Eastern", "332")
    assert shooting.occurred_at == utc(2017, 3, 11, 6, 30)  # 01:30 EST, the day before DST
    assert robbery.occurred_at == utc(2016, 7, 5, 3, 15)  # "2315": 23:15 EDT
    assert (robbery.lat, robbery.lon, robbery.category) == (39.3183, -76.6108, "robbery")
    assert assault.occurred_at == utc(2016, 11, 6, 5, 15)  # first 01:15 (EDT) as DST ends
    assert (assault.category, assault.district) == ("common assault", "Western")
    assert (larceny.category, larceny.district) == ("larceny", "Southeastern")
    assert agg.category == "aggravated assault"  # unknown code 99: from the description
    assert {r.origin for r in records} == {Origin.VICTIM_REPORTED}


def test_crime_codes_to_categories() -> None:
    expected = {"1A": "homicide", "9S": "shooting", "3AF": "robbery", "3B": "robbery",
                "4A": "aggravated assault", "4D": "aggravated assault", "4E": "common assault",
                "5A": "burglary", "6D": "larceny", "7A": "auto theft", "8AO": "arson",
                "2A": "rape", "2H": "other", "13": "other", "79": "other", "": "other"}
    assert {code: code_category(code) for code in expected} == expected


# --- arrests ----------------------------------------------------------------------------------

def test_arrests_counts_ids_and_positions(arrests) -> None:
    records, errors = arrests
    assert (len(records), errors) == (27_195, [])
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    assert sum(i.startswith("ARR-X") for i in ids) == 1_147  # rows without an Arrest number
    assert sum(i.endswith("-2") and not i.startswith("ARR-X") for i in ids) == 7  # repeats
    located = [r for r in records if r.lat is not None]
    assert len(located) == 13_603
    # SOURCES.md says 13,603 rows have coordinates, district and post; 50 of the located
    # rows (outside the city) have neither district nor post, so all three: 13,553.
    assert sum(bool(r.district and r.post) for r in located) == 13_553
    assert {r.district for r in records} == set(DISTRICTS) | {""}
    assert {(r.category, r.origin) for r in records} == {("arrest", Origin.POLICE_INITIATED)}
    assert not [r for r in records if r.description[:1].isdigit()]


def test_arrests_first_row_by_hand(arrests) -> None:
    first = arrests[0][0]
    assert (first.id, first.description, first.district, first.post) == (
        "ARR-17201066", "COMMON ASSAULT", "Southern", "913")
    assert first.occurred_at == utc(2017, 12, 24, 4, 24)  # 12/23/2017 23:24 EST
    assert (first.lat, first.lon, first.address) == (39.230243, -76.598589, "900 STOLL ST")


def test_arrests_reimport_same_ids_and_no_person_data(arrests) -> None:
    rows = head_rows(ARRESTS_FILE, 4000)  # a prefix: ids depend only on earlier rows
    plain, _ = split(BaltimoreArrestsParser("arr").parse(to_bytes(rows)))
    assert plain == arrests[0][:4000]
    records, _ = split(BaltimoreArrestsParser("arr").parse(scrambled(rows)))
    assert records == plain
    assert_no_sentinel(records)


def test_offense_codes_split_off() -> None:
    cases = {"4ECOMMON ASSAULT      ": ("4E", "COMMON ASSAULT"), "87NARCOTICS": ("87", "NARCOTICS"),
             "87VNARCOTICS (ONVIEW)": ("87V", "NARCOTICS (ONVIEW)"), "54ARMED PERSON": ("54",
             "ARMED PERSON"), "3AJFROBB CARJACK-FIREARM": ("3AJF", "ROBB CARJACK-FIREARM"),
             "1BMANSLAUGHTER": ("1B", "MANSLAUGHTER"), "85EEP PAPERS": ("85E", "EP PAPERS"),
             "118BURGLARY - FOURTH DEGREE": ("118", "BURGLARY - FOURTH DEGREE"),
             "9XNEW CODE": ("9X", "NEW CODE"), "Unknown Offense": ("", "Unknown Offense")}
    assert {text: split_offense(text) for text in cases} == cases


# --- 911 calls --------------------------------------------------------------------------------

def test_911_fixture() -> None:
    records, errors = split(Baltimore911Parser("cad").parse(CALLS.encode()))
    by_id = {r.id: r for r in records}
    assert [e.reason for e in errors] == ["row 5: no coordinates for 'UNKNOWN'",
                                          "row 6: bad callDateTime '06/31/2017 12:00:00 PM'",
                                          "row 7: no callNumber"]
    gun = by_id["BCAD-P171852960"]
    assert (gun.priority, gun.category, gun.district) == (Priority.HIGH, "shooting", "Eastern")
    assert (gun.lat, gun.lon, gun.address, gun.status) == (39.3067, -76.5833, "1500 N MILTON AV",
                                                            CallStatus.CLOSED)
    assert gun.received_at == utc(2017, 7, 5, 3, 58, 10)  # 11:58:10 PM EDT
    peace = by_id["BCAD-P173092001"]
    assert (peace.category, peace.district, peace.address) == ("abuse", "Northeastern",
                                                               "4900 BELAIR RD")
    assert peace.received_at == utc(2017, 11, 5, 5, 20)  # first 01:20, EDT
    prot = by_id["BCAD-P170711111"]
    assert (prot.priority, prot.category) == (Priority.NON_EMERGENCY, "abuse")
    assert prot.received_at == utc(2017, 3, 12, 7, 30)  # 02:30 does not exist: read as EST
    odd = by_id["BCAD-P171520001"]
    assert (odd.priority, odd.category, odd.district) == (Priority.OTHER, "other", "TRU")
    assert odd.received_at == utc(2017, 6, 1, 12)


def test_911_categories_match_the_published_table() -> None:
    with (BALTIMORE / "bpd_911_description_categories.csv").open(encoding="utf-8-sig") as handle:
        table = [(row["description"], row["Category"]) for row in csv.DictReader(handle)]
    assert len(table) == 175 and len({c for _, c in table}) == 12
    assert [(d, call_category(d)) for d, _ in table] == table
    assert call_category("  dischrg   firearm ") == "shooting"
    assert call_category("ALIENS") == call_category("") == "other"


def test_district_names_and_the_2023_abbreviations() -> None:
    geojson = json.loads((BALTIMORE / "bpd_police_districts_2023.geojson").read_text())
    pairs = {f["properties"]["name_abb"]: f["properties"]["name"] for f in geojson["features"]}
    assert {district_name(abb) for abb in pairs} == set(DISTRICTS)
    assert all(district_name(abb) == name for abb, name in pairs.items())
    assert [district_name(w) for w in ("NORTHEAST", "Southwest", "nw", "Eastern District")] == [
        "Northeastern", "Southwestern", "Northwestern", "Eastern"]
    assert district_name(" TRU ") == "TRU" and district_name("") == ""


# --- headers, sniffing, fuzzing ---------------------------------------------------------------

def test_wrong_headers_raise_naming_columns() -> None:
    with pytest.raises(ParseError, match="missing columns CrimeDate, CrimeTime"):
        BaltimorePart1Parser("p1").parse(b"Description,Latitude,Longitude\nX,1,2\n")
    with pytest.raises(ParseError, match="missing columns Arrest, ArrestDate"):
        BaltimoreArrestsParser("arr").parse(PART1_FILE.read_bytes())
    with pytest.raises(ParseError, match="missing column callNumber"):
        Baltimore911Parser("cad").parse(b"callDateTime,priority,district,description\n")


@pytest.mark.parametrize(("name", "data"), [
    ("baltimore-part1", PART1_FILE.read_bytes()[:65536]), ("baltimore-part1", LEGACY.encode()),
    ("baltimore-arrests", ARRESTS_FILE.read_bytes()[:65536]), ("baltimore-911", CALLS.encode()),
])
def test_sniff(name: str, data: bytes) -> None:
    assert detect(data, "export.csv") == name


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASES = [(BaltimorePart1Parser, LEGACY), (Baltimore911Parser, CALLS),
         (BaltimoreArrestsParser, ARRESTS_FILE.read_text(encoding="utf-8")[:3000])]


def consume(parser, data: bytes) -> None:
    try:
        records, _ = split(parser.parse(data))
    except ParseError:
        return
    for record in records:
        assert record_from_dict(record.kind, record_to_dict(record), "fuzz") == record


@FUZZ
@given(st.binary(max_size=500), st.sampled_from(CASES))
def test_arbitrary_bytes_only_raise_parse_error(data: bytes, case) -> None:
    parser_type, text = case
    consume(parser_type("fuzz"), data)
    consume(parser_type("fuzz"), text.encode()[:400] + data)


@FUZZ
@given(st.text(max_size=60), st.integers(0, 30), st.integers(0, 30), st.sampled_from(CASES))
def test_mutated_cells_only_yield_records_or_parse_errors(cell, row, column, case) -> None:
    parser_type, text = case
    rows = list(csv.reader(io.StringIO(text, newline="")))
    target = rows[1 + row % (len(rows) - 1)]
    target[column % len(target)] = cell
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    consume(parser_type("fuzz"), out.getvalue().encode("utf-8", "surrogatepass"))
