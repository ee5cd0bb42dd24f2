"""docs/envelope.schema.json describes what the decoder takes: real events pass, bad ones fail both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

from opscenter.city import build_demo_city  # noqa: E402
from opscenter.envelope import decode_event, encode_event  # noqa: E402
from opscenter.errors import ParseError  # noqa: E402
from opscenter.simulator import Simulator  # noqa: E402

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "envelope.schema.json").read_text())
T0 = 1_780_000_000.0


def validator():
    return jsonschema.Draft202012Validator(SCHEMA)


def test_every_simulated_event_matches_the_schema() -> None:
    check = validator()
    events = Simulator(build_demo_city(), seed=3, start=T0, warmup_s=0).advance_to(T0 + 3600)
    kinds = set()
    for seq, payload in enumerate(events, start=1):
        if payload.kind.value == "unit" and seq % 25:
            continue  # thousands of position reports alike: a sample of them is enough
        doc = json.loads(encode_event(seq, T0, payload))
        errors = list(check.iter_errors(doc))
        assert not errors, f"{doc['kind']}: {errors[0].message}"
        kinds.add(doc["kind"] + ("-" + doc["op"] if doc["op"] == "delete" else ""))
    assert {"shot", "call", "unit", "incident", "call-delete"} <= kinds


@pytest.mark.parametrize("change", [
    {"lat": 91.0}, {"rounds": -2}, {"id": ""}, {"detected_at": 5}, {"version": 0}, {"address": "a\nb"},
])
def test_schema_and_decoder_refuse_the_same_bad_shots(change: dict) -> None:
    doc = {"seq": 1, "sent_at": T0, "kind": "shot", "op": "upsert",
           "record": {"id": "S-1", "version": 1, "detected_at": T0, "lat": 39.3, "lon": -76.6,
                      "alert_type": "single_gunshot", "rounds": 1}}
    assert not list(validator().iter_errors(doc))
    doc["record"].update(change)
    assert list(validator().iter_errors(doc)), "schema accepted it"
    with pytest.raises(ParseError):
        decode_event(json.dumps(doc), source="schema-test")
