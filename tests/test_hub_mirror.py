"""A window's mirror of the hub: duplicates, stale numbers, damaged events and snapshots."""

from __future__ import annotations

import json

import pytest

from opscenter.domain import AlertType, Kind, ShotAlert
from opscenter.envelope import record_to_dict
from opscenter.hub.client import HubMirror
from opscenter.quarantine import Quarantine
from opscenter.store import LiveStore


def shot(i: int, version: int = 1) -> ShotAlert:
    return ShotAlert(f"S{i}", version, 1_700_000_000.0 + i, 39.29, -76.61, AlertType.SINGLE, 1, district="Eastern")


def record_event(seq: int, record) -> dict:
    return {"seq": seq, "t": "record", "kind": record.kind.value, "id": record.id,
            "rec": record_to_dict(record), "src": "demo"}


def batch(*events: dict) -> str:
    return json.dumps({"t": "batch", "events": list(events)})


@pytest.fixture
def mirror():
    quarantine = Quarantine(clock=lambda: 0.0)
    m = HubMirror(LiveStore(clock=lambda: 1_700_000_100.0), on_reject=quarantine.add)
    m.quarantine = quarantine
    return m


def test_duplicates_and_older_numbers_are_ignored(mirror) -> None:
    mirror.handle(batch(record_event(1, shot(1)), record_event(2, shot(2))))
    mirror.handle(batch(record_event(2, shot(2, version=9)), record_event(1, shot(1, version=9))))
    assert mirror.seq == 2 and mirror.applied == 2
    assert [s.version for s in sorted(mirror.store.shots(), key=lambda s: s.id)] == [1, 1]


def test_a_damaged_event_is_quarantined_and_the_rest_still_applies(mirror) -> None:
    bad = record_event(2, shot(2))
    bad["rec"]["lat"] = 999  # off the planet
    mirror.handle(batch(record_event(1, shot(1)), bad, record_event(3, shot(3)),
                        {"seq": 4, "t": "workflow", "id": "S1", "flow": {"alert_id": "S1", "state": "exploded"}}))
    assert {s.id for s in mirror.store.shots()} == {"S1", "S3"}
    assert mirror.seq == 4  # the numbering moves on: the damaged event will not come again
    reasons = [q.reason for q in mirror.quarantine.items()]
    assert len(reasons) == 2 and all(q.source == "hub" for q in mirror.quarantine.items())
    assert any("event 2" in r for r in reasons) and any("event 4" in r for r in reasons)


def test_a_snapshot_replaces_the_picture(mirror) -> None:
    mirror.handle(batch(record_event(1, shot(1)), record_event(2, shot(2))))
    mirror.handle(json.dumps({"t": "hello", "mode": "snapshot"}))
    mirror.handle(json.dumps({"t": "snapshot", "seq": 50, "epoch": "e2",
                              "records": [{"kind": "shot", "rec": record_to_dict(shot(3)), "src": "demo"}],
                              "workflow": [{"alert_id": "S3", "state": "acknowledged", "acknowledged_at": 1.0,
                                            "acknowledged_by": "olga", "updated_at": 1.0}],
                              "annotations": []}))
    assert {s.id for s in mirror.store.shots()} == {"S3"}
    assert mirror.store.is_acknowledged("S3") and mirror.seq == 50 and mirror.epoch == "e2"
    mirror.handle(batch(record_event(50, shot(4))))  # already covered by the snapshot
    assert mirror.store.get(Kind.SHOT, "S4") is None


def test_a_frame_that_is_not_json_is_an_error_for_the_stream(mirror) -> None:
    with pytest.raises(ValueError):
        mirror.handle(b"\xff{not json")
