"""SQLite journal: what the wall showed survives a restart, acknowledgements included."""

from __future__ import annotations

import sqlite3

from opscenter.domain import AlertType, Deletion, Kind, ShotAlert, Unit, UnitStatus
from opscenter.persistence import SqliteJournal
from opscenter.store import LiveStore

T0 = 1_780_000_000.0


def shot(i: int, version: int = 1, rounds: int = 1) -> ShotAlert:
    return ShotAlert(id=f"S-{i}", version=version, detected_at=T0 + i, lat=39.29, lon=-76.61,
                     alert_type=AlertType.SINGLE, rounds=rounds, address="<b>1 Main</b>", district="Eastern")


def test_restart_restores_records_versions_and_acknowledgements(tmp_path) -> None:
    path = tmp_path / "ops.sqlite3"
    store = LiveStore(clock=lambda: T0)
    journal = SqliteJournal(path)
    journal.attach(store)
    for i in range(50):
        store.apply(shot(i))
    store.apply(shot(3, version=2, rounds=8))
    store.apply(Unit(id="1A1", version=4, reported_at=T0, status=UnitStatus.EN_ROUTE, lat=39.3, lon=-76.6))
    store.acknowledge("S-7", by="op1", at=T0 + 99)
    store.apply(Deletion(Kind.UNIT, "1A1", 5))
    assert journal.flush() > 0
    journal.close()

    again = LiveStore(clock=lambda: T0)
    reopened = SqliteJournal(path)
    assert reopened.load_into(again) == 50
    assert again.get(Kind.SHOT, "S-3").rounds == 8
    assert again.get(Kind.UNIT, "1A1") is None
    ack = again.acknowledgement("S-7")
    assert ack is not None and (ack.by, ack.at) == ("op1", T0 + 99)
    assert again.get(Kind.SHOT, "S-1").address == "<b>1 Main</b>"
    reopened.close()


def test_older_version_never_overwrites_a_newer_row(tmp_path) -> None:
    path = tmp_path / "ops.sqlite3"
    first = SqliteJournal(path)
    store = LiveStore(clock=lambda: T0)
    first.attach(store)
    store.apply(shot(1, version=5, rounds=5))
    first.close()
    # a second writer with an older view of the same alert
    other = LiveStore(clock=lambda: T0)
    second = SqliteJournal(path)
    second.attach(other)
    other.apply(shot(1, version=2, rounds=2))
    second.close()
    check = LiveStore(clock=lambda: T0)
    SqliteJournal(path).load_into(check)
    assert check.get(Kind.SHOT, "S-1").rounds == 5


def test_a_damaged_row_is_reported_and_the_rest_load(tmp_path) -> None:
    path = tmp_path / "ops.sqlite3"
    journal = SqliteJournal(path)
    store = LiveStore(clock=lambda: T0)
    journal.attach(store)
    for i in range(3):
        store.apply(shot(i))
    journal.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE records SET body='{\"id\": \"S-1\", \"lat\": 999}' WHERE id='S-1'")
    db.commit()
    db.close()
    again = LiveStore(clock=lambda: T0)
    reopened = SqliteJournal(path)
    assert reopened.load_into(again) == 2
    assert len(reopened.rejected) == 1 and "shot." in reopened.rejected[0].reason
