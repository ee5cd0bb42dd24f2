"""The live store: idempotent by id and version, out-of-order safe, retention that keeps unacked alerts."""

from __future__ import annotations

import dataclasses

import pytest

from opscenter.domain import (
    AlertType,
    CallForService,
    Deletion,
    Kind,
    Priority,
    ShotAlert,
    Unit,
    UnitStatus,
)
from opscenter.store import LiveStore, Op, Outcome

T0 = 1_780_000_000.0


def shot(i: int, version: int = 1, at: float = T0, **kw) -> ShotAlert:
    base = dict(id=f"S-{i}", version=version, detected_at=at, lat=39.29, lon=-76.61,
                alert_type=AlertType.SINGLE, rounds=1)
    base.update(kw)
    return ShotAlert(**base)


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store() -> LiveStore:
    return LiveStore(clock=Clock(), retention_s=3600)


def test_duplicates_are_ignored_and_not_announced(store: LiveStore) -> None:
    changes = []
    store.subscribe(changes.append)
    assert store.apply(shot(1)) is Outcome.ADDED
    assert store.apply(shot(1)) is Outcome.DUPLICATE
    assert store.apply(shot(1)) is Outcome.DUPLICATE
    assert store.size(Kind.SHOT) == 1
    assert [c.op for c in changes] == [Op.ADDED]


def test_review_update_replaces_type_and_rounds(store: LiveStore) -> None:
    store.apply(shot(1, rounds=1))
    assert store.apply(shot(1, version=2, alert_type=AlertType.MULTIPLE, rounds=7)) is Outcome.UPDATED
    held = store.get(Kind.SHOT, "S-1")
    assert held.alert_type is AlertType.MULTIPLE and held.rounds == 7


def test_out_of_order_older_version_never_wins(store: LiveStore) -> None:
    store.apply(shot(1, version=3, rounds=5))
    assert store.apply(shot(1, version=2, rounds=9)) is Outcome.STALE
    assert store.apply(shot(1, version=1, rounds=1)) is Outcome.STALE
    assert store.get(Kind.SHOT, "S-1").rounds == 5


def test_any_delivery_order_gives_the_same_state() -> None:
    items = [shot(i % 7, version=1 + i // 7, rounds=i) for i in range(35)]
    forward, backward = LiveStore(clock=Clock()), LiveStore(clock=Clock())
    forward.apply_many(items)
    backward.apply_many(reversed(items + items))
    assert {s.id: s for s in forward.shots()} == {s.id: s for s in backward.shots()}


def test_deletion_then_late_upsert_does_not_resurrect(store: LiveStore) -> None:
    call = CallForService(id="C-1", version=1, received_at=T0, priority=Priority.HIGH,
                          category="X", description="", lat=39.3, lon=-76.6)
    store.apply(dataclasses.replace(call, version=2))
    assert store.apply(Deletion(Kind.CALL, "C-1", 3)) is Outcome.REMOVED
    assert store.apply(call) is Outcome.STALE
    assert store.get(Kind.CALL, "C-1") is None


def test_retention_drops_old_records_but_never_unacknowledged_alerts() -> None:
    clock = Clock()
    store = LiveStore(clock=clock, retention_s=3600)
    store.apply(shot(1, at=T0))
    store.apply(shot(2, at=T0))
    store.apply(Unit(id="1A1", version=1, reported_at=T0, status=UnitStatus.AVAILABLE, lat=39.3, lon=-76.6))
    store.acknowledge("S-2", by="op1")
    clock.t = T0 + 2 * 3600
    removed = []
    store.subscribe(lambda c: removed.append(c.id) if c.op is Op.REMOVED else None)
    assert store.prune() == 2
    assert sorted(removed) == ["1A1", "S-2"]
    assert store.get(Kind.SHOT, "S-1") is not None  # unacknowledged: kept however old
    clock.t = T0 + 30 * 24 * 3600
    store.prune()
    assert store.get(Kind.SHOT, "S-1") is not None


def test_acknowledge_is_local_state_that_feed_updates_keep(store: LiveStore) -> None:
    store.apply(shot(1))
    assert store.acknowledge("S-1", by="op1")
    assert not store.acknowledge("S-1", by="op2")  # first acknowledgement stands
    store.apply(shot(1, version=2, rounds=4))
    ack = store.acknowledgement("S-1")
    assert ack is not None and ack.by == "op1"
    assert store.unacknowledged() == []


def test_withdrawn_unacknowledged_alert_stays_until_acknowledged(store: LiveStore) -> None:
    store.apply(shot(1))
    assert store.apply(Deletion(Kind.SHOT, "S-1", 2)) is Outcome.REMOVED
    assert store.get(Kind.SHOT, "S-1") is not None and store.is_withdrawn("S-1")
    store.acknowledge("S-1", by="op1")
    assert store.get(Kind.SHOT, "S-1") is None


def test_first_linked_call_is_recorded_and_announces_the_alert(store: LiveStore) -> None:
    store.apply(shot(1))
    changes = []
    store.subscribe(changes.append)
    late = CallForService(id="C-2", version=1, received_at=T0 + 300, priority=Priority.HIGH,
                          category="DISCHRG FIREARM", description="", lat=39.3, lon=-76.6, shot_id="S-1")
    early = dataclasses.replace(late, id="C-1", received_at=T0 + 125)
    store.apply(late)
    store.apply(early)
    assert store.first_call_at("S-1") == T0 + 125
    assert [(c.kind, c.id) for c in changes if c.kind is Kind.SHOT] == [(Kind.SHOT, "S-1")] * 2
    assert store.first_call_at("S-9") is None


def test_unsubscribe_stops_notifications(store: LiveStore) -> None:
    seen = []
    unsubscribe = store.subscribe(seen.append)
    store.apply(shot(1))
    unsubscribe()
    store.apply(shot(2))
    assert [c.id for c in seen] == ["S-1"]


def test_unit_staleness_follows_last_report() -> None:
    clock = Clock()
    store = LiveStore(clock=clock, unit_stale_s=60)
    unit = Unit(id="1A1", version=1, reported_at=T0, status=UnitStatus.AVAILABLE, lat=39.3, lon=-76.6)
    store.apply(unit)
    clock.t = T0 + 30
    assert not store.is_stale(unit)
    clock.t = T0 + 61
    assert store.is_stale(unit)
