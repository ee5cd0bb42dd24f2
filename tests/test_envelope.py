"""The JSON event envelope: strict validation, clear reasons naming the source, lossless round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opscenter.domain import AlertType, Deletion, Kind, Priority, ShotAlert, Unit, UnitStatus
from opscenter.envelope import decode_event, encode_event
from opscenter.errors import ParseError

T0 = 1_780_000_000.0
SHOT = ShotAlert(id="S-1", version=2, detected_at=T0, lat=39.29, lon=-76.61,
                 alert_type=AlertType.MULTIPLE, rounds=6, address="1200 block of N Gay St",
                 district="Eastern", post="312", source="demo")


def test_round_trip_keeps_every_field() -> None:
    event = decode_event(encode_event(5, T0 + 1, SHOT), source="demo")
    assert event.seq == 5 and event.sent_at == T0 + 1
    assert event.payload == SHOT


def test_deletion_round_trip() -> None:
    event = decode_event(encode_event(6, T0, Deletion(Kind.UNIT, "1A1", 9)), source="demo")
    assert event.payload == Deletion(Kind.UNIT, "1A1", 9)


def _wire(**record_changes) -> str:
    obj = json.loads(encode_event(1, T0, SHOT))
    obj["record"].update(record_changes)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lat": 123.0}, "shot.lat"),
        ({"lat": "39.2"}, "shot.lat: not a number"),
        ({"lon": float("nan")}, "shot.lon"),
        ({"rounds": -1}, "shot.rounds"),
        ({"rounds": True}, "shot.rounds: not an integer"),
        ({"id": ""}, "shot.id: empty"),
        ({"id": "x" * 500}, "shot.id"),
        ({"address": "a\x00b"}, "control characters"),
        ({"detected_at": 12}, "shot.detected_at"),
        ({"version": 0}, "shot.version"),
    ],
)
def test_bad_fields_are_rejected_with_source_and_field(change: dict, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        decode_event(_wire(**change), source="feed-A")
    assert info.value.source == "feed-A"
    assert reason in info.value.reason
    assert info.value.raw  # raw bytes kept for the quarantine


def test_unknown_alert_type_maps_to_other_not_a_crash() -> None:
    event = decode_event(_wire(alert_type="fireworks"), source="x")
    assert event.payload.alert_type is AlertType.OTHER


def test_unknown_unit_status_is_an_error_not_a_guess() -> None:
    unit = Unit(id="1A1", version=1, reported_at=T0, status=UnitStatus.AVAILABLE, lat=39.3, lon=-76.6)
    obj = json.loads(encode_event(1, T0, unit))
    obj["record"]["status"] = "asleep"
    with pytest.raises(ParseError, match="unit.status: unknown value"):
        decode_event(json.dumps(obj), source="x")


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[]", b'{"seq": 1}', b"null",
                                 b'{"seq":1,"sent_at":1780000000,"kind":"shot","op":"drop","record":{}}'])
def test_garbage_raises_the_typed_error(raw: bytes) -> None:
    with pytest.raises(ParseError):
        decode_event(raw, source="x")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_parse_error(raw: bytes) -> None:
    try:
        decode_event(raw, source="fuzz")
    except ParseError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["id", "version", "detected_at", "lat", "lon", "alert_type", "rounds",
                        "address", "district", "post"]), json_values)
def test_mutated_valid_documents_only_ever_raise_parse_error(field: str, value) -> None:
    obj = json.loads(encode_event(1, T0, SHOT))
    obj["record"][field] = value
    try:
        event = decode_event(json.dumps(obj), source="fuzz")
    except ParseError:
        return
    assert isinstance(event.payload, ShotAlert)


def test_priority_words_decode() -> None:
    assert Priority("non_emergency").label == "Non-emergency"
