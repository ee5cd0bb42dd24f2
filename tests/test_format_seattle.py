"""Seattle Fire Real-Time 911 log: calls and dispatched units from 37 days of rows, Pacific
times, versions that rise as units join, placement by station table or geocoder."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.domain import CallForService, CallStatus, Priority, Unit, UnitStatus
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats.registry import detect
from opscenter.formats.seattle import SeattleFireParser, call_priority, load_station_table
from tests.conftest import SHARED_DATA, utc

SFD = SHARED_DATA / "cad_units" / "seattle_fire_realtime911"
DAYS = sorted((SFD / "historical").glob("*.tsv"))
CITY_HALL = (47.6038, -122.3301)
HEADER = "timestamp\tincident_number\tlevel\tunits\tlocation\tincident_type\n"


def split(items) -> tuple[list[CallForService], list[Unit], list[ParseError]]:
    calls, units, errors = [], [], []
    for item in items:
        {CallForService: calls, Unit: units, ParseError: errors}[type(item)].append(item)
    return calls, units, errors


@pytest.fixture(scope="module")
def stations() -> dict[str, tuple[float, float]]:
    return load_station_table(SFD / "apparatus-locations.csv", SFD / "stations-geocoded.csv")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    out = []
    for day in DAYS:
        with day.open(newline="", encoding="utf-8") as handle:
            out.extend(csv.DictReader(handle, delimiter="\t"))
    return out


@pytest.fixture(scope="module")
def by_station(stations):
    """All 37 days through one parser placing calls by the units' home stations."""
    parser = SeattleFireParser("sfd", stations=stations)
    items = [item for day in DAYS for item in parser.parse(day.read_bytes())]
    return parser, split(items)


@pytest.fixture(scope="module")
def geocoded(stations):
    """The same days with a geocoder that knows every address (one point, for counting)."""
    parser = SeattleFireParser("sfd", stations=stations, geocode=lambda _address: CITY_HALL)
    return split(item for day in DAYS for item in parser.parse(day.read_bytes()))


def test_the_log_as_published(rows) -> None:
    assert len(DAYS) == 37  # 2017-06-01 .. 2017-07-07, 2017-07-04 included
    assert len(rows) == 12_222
    assert len({r["incident_number"] for r in rows}) == 10_106
    assert len({u for r in rows for u in r["units"].split()}) == 89


def test_every_row_gives_a_call_and_its_units(rows, geocoded) -> None:
    calls, units, errors = geocoded
    assert (len(calls), errors) == (12_222, [])
    assert len({c.id for c in calls}) == 10_106
    assert len(units) == sum(len(set(r["units"].split())) for r in rows)
    assert len({u.id for u in units}) == 89
    assert {(c.lat, c.lon) for c in calls} == {CITY_HALL}  # the geocoder comes first
    by_call = {c.id: c for c in calls}
    assert all(u.assignment in by_call and u.status is UnitStatus.DISPATCHED for u in units)


def test_station_placement_and_rows_it_cannot_place(by_station, stations) -> None:
    _, (calls, units, errors) = by_station
    assert len(calls) + len(errors) == 12_222
    # Units missing from the station table (M16, A84, FIREBOAT, …) alone on an incident.
    assert len(errors) == 156
    assert all("no coordinates for '" in e.reason for e in errors)
    first = calls[0]
    assert (first.id, first.category, first.address) == ("SFD-F170054023", "Car Fire",
                                                         "10832 37th Av Sw")
    assert (first.lat, first.lon) == stations["E37"] == (47.5335543, -122.3763219)
    assert units[0].id == "E37" and (units[0].lat, units[0].lon) == stations["E37"]
    strangers = [u for u in units if u.id not in stations]
    assert strangers and all((u.lat, u.lon) in {(c.lat, c.lon) for c in calls} for u in strangers)
    for record in calls[:500] + units[:500]:
        assert record_from_dict(record.kind, record_to_dict(record), "sfd") == record


def test_pacific_times_by_hand(by_station) -> None:
    _, (calls, units, _) = by_station
    # 6/1/2017 11:43:36 PM PDT (UTC-7)
    assert calls[0].received_at == utc(2017, 6, 2, 6, 43, 36)
    assert units[0].reported_at == calls[0].received_at
    assert units[0].version == int(calls[0].received_at * 1000)
    earliest = min(c.received_at for c in calls)
    assert earliest == utc(2017, 6, 1, 6, 59, 20)  # 5/31/2017 11:59:20 PM PDT
    snapshot = (SFD / "active-incidents.tsv").read_bytes()
    winter, _, _ = split(SeattleFireParser("sfd", geocode=lambda _a: CITY_HALL).parse(snapshot))
    assert winter[0].received_at == utc(2016, 11, 12, 21, 22, 45)  # 1:22:45 PM PST (UTC-8)


def test_versions_rise_as_units_join(by_station, stations) -> None:
    _, (calls, units, _) = by_station
    history = defaultdict(list)
    for call in calls:
        history[call.id].append(call)
    for versions in history.values():
        numbers = [c.version for c in versions]
        assert numbers == sorted(numbers) and numbers[0] >= 1
    spanning = history["SFD-F170054023"]  # E37 on 6/1's file, MAR5 on 6/2's
    assert [(c.version, c.description) for c in spanning] == [
        (1, "Car Fire - units E37"), (2, "Car Fire - units E37 MAR5")]
    # The 10:31 PM house fire: four rows adding 1, 10, 1 and 4 units; placed at the first
    # unit's station (MAR5, station 5) on every version.
    house = history["SFD-F170054001"]
    assert [c.version for c in house] == [1, 11, 12, 16]
    assert {(c.lat, c.lon) for c in house} == {stations["MAR5"]}
    crews = {u.id: u for u in units if u.assignment == "SFD-F170054001"}
    assert len(crews) == 16 and (crews["E9"].lat, crews["E9"].lon) == stations["E9"]
    assert stations["E9"] != stations["MAR5"]
    assert house[0].priority is Priority.EMERGENCY
    assert {c.status for c in calls} == {CallStatus.DISPATCHED}


def test_reimport_brings_nothing_newer(by_station) -> None:
    parser, (calls, _, _) = by_station
    newest = {}
    for call in calls:
        newest[call.id] = max(newest.get(call.id, 0), call.version)
    again, _, _ = split(parser.parse(DAYS[0].read_bytes()))
    assert again and all(c.version <= newest[c.id] for c in again)


def test_snapshots_parse(stations) -> None:
    small, _, small_errors = split(SeattleFireParser("sfd", stations=stations)
                                   .parse((SFD / "active-incidents.tsv").read_bytes()))
    assert len(small) + len(small_errors) == 5 and len(small) >= 4
    day = (SFD / "active-incidents-unknown-units.tsv").read_bytes()
    calls, units, errors = split(SeattleFireParser("sfd", stations=stations).parse(day))
    assert len(calls) + len(errors) == 360 and units


def test_priorities() -> None:
    assert call_priority("1", "Aid Response") is Priority.MEDIUM
    assert call_priority("1", "Medic Response, 7 per Rule") is Priority.HIGH
    assert call_priority("1", "Fire in Single Family Res") is Priority.EMERGENCY
    assert call_priority("", "Investigate Out Of Service") is Priority.LOW
    assert call_priority("1", "Automatic Medical Alarm") is Priority.MEDIUM
    assert call_priority("2", "Aid Response") is Priority.EMERGENCY  # a greater alarm
    assert call_priority("1", "Spaceship Landing") is Priority.OTHER


def test_every_published_type_has_a_priority(rows) -> None:
    types = Counter(r["incident_type"] for r in rows)
    assert not [t for t in types if call_priority("1", t) is Priority.OTHER]


def test_station_table(stations) -> None:
    assert len(stations) == 121  # 120 apparatus rows, "M/A84" naming two units
    assert stations["E2"] == stations["L4"] == (47.6161239, -122.344780576877)
    assert stations["M84"] == stations["A84"]


def test_no_coordinates_and_bad_rows_are_named() -> None:
    data = (HEADER + "6/1/2017 1:00:00 PM\tF1\t1\tE2\t1 Main St\tAid Response\n"
            "6/31/2017 1:00:00 PM\tF2\t1\tE2\t2 Main St\tAid Response\n"
            "6/1/2017 1:00:00 PM\t\t1\tE2\t3 Main St\tAid Response\n").encode()
    _, _, errors = split(SeattleFireParser("sfd").parse(data))
    assert [e.reason for e in errors] == ["row 1: no coordinates for '1 Main St'",
                                          "row 2: bad timestamp '6/31/2017 1:00:00 PM'",
                                          "row 3: no incident_number"]

    def broken(_address: str):
        raise RuntimeError("service down")

    _, _, errors = split(SeattleFireParser("sfd", geocode=broken).parse(data))
    assert errors[0].reason == "row 1: geocoding '1 Main St' failed: service down"
    with pytest.raises(ParseError, match="missing columns timestamp, incident_number"):
        SeattleFireParser("sfd").parse(b"when\twhere\n")
    assert detect(DAYS[0].read_bytes()[:65536], "x.tsv") == "seattle-fire"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = DAYS[0].read_text(encoding="utf-8")[:2500]


def consume(data: bytes) -> None:
    parser = SeattleFireParser("fuzz", geocode=lambda a: CITY_HALL if len(a) % 2 else None,
                               stations={"E2": (47.61, -122.34)})
    try:
        calls, units, _ = split(parser.parse(data))
    except ParseError:
        return
    for record in calls + units:
        assert record_from_dict(record.kind, record_to_dict(record), "fuzz") == record


@FUZZ
@given(st.binary(max_size=500))
def test_arbitrary_bytes_only_raise_parse_error(data: bytes) -> None:
    consume(data)
    consume(SAMPLE.encode()[:300] + data)


@FUZZ
@given(st.text(max_size=60), st.integers(1, 20), st.integers(0, 5))
def test_mutated_cells_only_yield_records_or_parse_errors(cell, row, column) -> None:
    lines = SAMPLE.splitlines()[:21]
    cells = lines[row % len(lines)].split("\t")
    cells[column % len(cells)] = cell
    lines[row % len(lines)] = "\t".join(cells)
    consume("\n".join(lines).encode("utf-8", "surrogatepass"))
