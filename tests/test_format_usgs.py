"""USGS GeoJSON summary feed: advisories, lon-first coordinates, and deletions by snapshot diff."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opscenter.domain import Advisory, Deletion, Kind
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.errors import ParseError
from opscenter.formats.registry import detect
from opscenter.formats.usgs import UsgsGeoJsonParser, severity
from opscenter.store import LiveStore, Outcome
from tests.conftest import SHARED_DATA

DAY = SHARED_DATA / "usgs" / "usgs_all_day_2014-04-14.geojson"
WEEK = SHARED_DATA / "usgs" / "usgs_all_week_2014-04-14.geojson"
DELETED_UPSTREAM = {"ak11227802", "nc72198825", "ci37211344", "ci37211480"}
HOUR_MS = 3_600_000


def parse(parser: UsgsGeoJsonParser, data: bytes | dict) -> list:
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    out: list = []
    try:
        out.extend(parser.parse(data))
    except ParseError as exc:
        out.append(exc)
    return out


def of_type(items: list, kind: type) -> list:
    return [i for i in items if isinstance(i, kind)]


def doc(path) -> dict:
    return json.loads(path.read_text())


def test_sniff_and_detect_pick_usgs() -> None:
    head = DAY.read_bytes()[:65536]
    assert UsgsGeoJsonParser.sniff(head, DAY.name) >= 0.9
    assert detect(head, DAY.name) == "usgs-geojson"
    districts = (SHARED_DATA / "baltimore" / "bpd_police_districts_2023.geojson").read_bytes()[:65536]
    assert UsgsGeoJsonParser.sniff(districts) == 0.0
    eido = (SHARED_DATA / "eido" / "nena_sta021_sample_eido_2020_draft.json").read_bytes()
    assert UsgsGeoJsonParser.sniff(eido) == 0.0


def test_day_feed_maps_every_feature_lon_first() -> None:
    items = parse(UsgsGeoJsonParser("usgs"), DAY.read_bytes())
    assert len(items) == 146 and all(isinstance(i, Advisory) for i in items)
    first = items[0]
    assert first.id == "nc72199065" and first.version == 1397476268811
    assert first.issued_at == 1397474951.1
    assert (first.lat, first.lon) == (35.5448, -120.7958)  # coordinates were [-120.7958, 35.5448, 4.3]
    assert first.category == "geo" and first.event == "earthquake"
    assert first.headline == "M 1.7 - 8km W of Templeton, California"
    assert first.status == "automatic"  # the feed wrote "AUTOMATIC"
    assert first.severity == "minor"
    for item in items:
        assert record_from_dict(Kind.ADVISORY, record_to_dict(item), "usgs") == item


def test_two_snapshots_update_fifty_and_delete_the_four_vanished_events() -> None:
    parser, store = UsgsGeoJsonParser("usgs"), LiveStore()
    day = parse(parser, DAY.read_bytes())
    assert Counter(store.apply(i) for i in day) == {Outcome.ADDED: 146}
    week = parse(parser, WEEK.read_bytes())
    outcomes = Counter(store.apply(i) for i in week)
    assert outcomes == {Outcome.ADDED: 1513 - 142, Outcome.DUPLICATE: 92, Outcome.UPDATED: 50,
                        Outcome.REMOVED: 4}
    deletions = of_type(week, Deletion)
    assert {d.id for d in deletions} == DELETED_UPSTREAM
    old = {a.id: a.version for a in day}
    assert all(d.kind is Kind.ADVISORY and d.version == old[d.id] + 1 for d in deletions)
    # the four are genuine: inside the week feed's window, not aged out of it
    start = doc(WEEK)["metadata"]["generated"] - 7 * 24 * HOUR_MS
    assert all(a.issued_at * 1000 > start for a in day if a.id in DELETED_UPSTREAM)
    assert all(store.get(Kind.ADVISORY, i) is None for i in DELETED_UPSTREAM)
    assert store.size(Kind.ADVISORY) == 1513


def test_events_that_age_out_of_a_narrower_window_are_not_deleted() -> None:
    week = doc(WEEK)
    generated = week["metadata"]["generated"]
    later_day = copy.deepcopy(week)
    later_day["metadata"]["url"] = week["metadata"]["url"].replace("all_week", "all_day")
    later_day["features"] = [f for f in week["features"]
                             if f["properties"]["time"] >= generated - 24 * HOUR_MS]
    assert 100 < len(later_day["features"]) < 1513
    parser = UsgsGeoJsonParser("usgs")
    parse(parser, WEEK.read_bytes())
    assert of_type(parse(parser, later_day), Deletion) == []
    # a recent event missing from the day feed is deleted, an aged-out one is still known
    recent = later_day["features"].pop(0)
    assert [d.id for d in of_type(parse(parser, later_day), Deletion)] == [recent["id"]]
    assert of_type(parse(parser, WEEK.read_bytes()), Deletion) == []


def test_magnitude_class_limits_what_a_feed_can_delete() -> None:
    week = doc(WEEK)
    big = copy.deepcopy(week)
    big["metadata"]["url"] = week["metadata"]["url"].replace("all_week", "4.5_week")
    big["features"] = [f for f in week["features"] if (f["properties"]["mag"] or 0) >= 4.5]
    parser = UsgsGeoJsonParser("usgs")
    parse(parser, WEEK.read_bytes())
    assert of_type(parse(parser, big), Deletion) == []
    gone = big["features"].pop()
    assert [d.id for d in of_type(parse(parser, big), Deletion)] == [gone["id"]]


def test_an_older_or_unknown_snapshot_deletes_nothing() -> None:
    parser = UsgsGeoJsonParser("usgs")
    parse(parser, WEEK.read_bytes())
    assert of_type(parse(parser, DAY.read_bytes()), Deletion) == []  # generated a day earlier
    anonymous = doc(DAY)
    del anonymous["metadata"]
    fresh = UsgsGeoJsonParser("usgs")
    parse(fresh, WEEK.read_bytes())
    assert of_type(parse(fresh, anonymous), Deletion) == []


def test_bad_features_cost_only_themselves_and_are_not_taken_for_deleted() -> None:
    broken = doc(DAY)
    features = broken["features"]
    del features[0]["id"]
    features[1]["geometry"]["coordinates"] = [999.0, 35.0]
    features[2]["geometry"] = None
    features[3]["properties"]["updated"] = 0
    features[4] = "garbage"
    parser = UsgsGeoJsonParser("usgs")
    parse(parser, DAY.read_bytes())
    items = parse(parser, broken)
    errors = of_type(items, ParseError)
    assert len(errors) == 5 and len(of_type(items, Advisory)) == 141
    assert "feature 2 " in errors[1].reason and "geometry" in errors[1].reason
    assert "no id" in errors[0].reason and "updated" in errors[3].reason
    # features 2-4 still name their ids, so only the id-less and the garbage one look vanished
    assert {d.id for d in of_type(items, Deletion)} == {doc(DAY)["features"][i]["id"] for i in (0, 4)}


def test_status_deleted_feature_becomes_a_deletion() -> None:
    day = doc(DAY)
    day["features"][0]["properties"]["status"] = "deleted"
    day["features"][0]["properties"]["updated"] += 1
    items = parse(UsgsGeoJsonParser("usgs"), day)
    assert items[0] == Deletion(Kind.ADVISORY, "nc72199065", 1397476268812)


@pytest.mark.parametrize(("mag", "alert", "expected"), [
    (1.2, None, "minor"), (4.5, None, "moderate"), (6.1, None, "severe"), (7.6, None, "extreme"),
    (None, None, "unknown"), (5.0, "yellow", "moderate"), (3.0, "red", "extreme"),
    (7.1, "green", "extreme"), (None, "orange", "severe"), (2.0, "purple", "minor"),
])
def test_severity_is_the_higher_of_magnitude_and_pager_alert(mag, alert, expected) -> None:
    assert severity(mag, alert) == expected


def test_week_feed_severities_use_the_alert_levels() -> None:
    items = of_type(parse(UsgsGeoJsonParser("usgs"), WEEK.read_bytes()), Advisory)
    yellow = [f["id"] for f in doc(WEEK)["features"] if f["properties"]["alert"] == "yellow"]
    assert len(yellow) == 1
    assert {a.id: a.severity for a in items}[yellow[0]] in ("moderate", "severe", "extreme")


@pytest.mark.parametrize("data", [b"", b"[]", b'{"type": "Feature"}', b'{"type": "FeatureCollection"}',
                                  b"\xff\xfe", b"{" * 3000])
def test_unreadable_documents_raise_parse_error(data: bytes) -> None:
    items = parse(UsgsGeoJsonParser("usgs"), data)
    assert len(items) == 1 and isinstance(items[0], ParseError)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_only_parse_errors(data: bytes) -> None:
    assert all(isinstance(i, ParseError) for i in parse(UsgsGeoJsonParser("usgs"), data))


FEATURE = doc(DAY)["features"][0]
VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) \
    | st.lists(st.floats() | st.integers(), max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "type", "geometry"]), VALUES, max_size=2),
       st.dictionaries(st.sampled_from(sorted(FEATURE["properties"])), VALUES, max_size=4))
def test_mutated_features_give_valid_advisories_or_parse_errors(top: dict, props: dict) -> None:
    feature = copy.deepcopy(FEATURE)
    feature.update(top)
    if isinstance(feature.get("properties"), dict):
        feature["properties"].update(props)
    items = parse(UsgsGeoJsonParser("usgs"), {"type": "FeatureCollection", "features": [feature]})
    for item in items:
        if isinstance(item, Advisory):
            assert record_from_dict(Kind.ADVISORY, record_to_dict(item), "usgs") == item
        else:
            assert isinstance(item, (ParseError, Deletion))
