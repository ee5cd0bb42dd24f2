"""Retention purges exactly what is past its period, says so on the audit trail, and only an
admin may change a period."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import aiohttp
import pytest

from opscenter.audit import AuditLog
from opscenter.hub.eventlog import EventLog
from opscenter.hub.service import HubConfig
from opscenter.retention import DAY, KINDS, Retention, RetentionError
from opscenter.runtime import Runtime, RuntimeConfig
from opscenter.schema import connect

NOW = 1_750_000_000.0
CLI = [sys.executable, "-c", "import sys; from opscenter.cli import main; sys.exit(main(sys.argv[1:]))"]


def _event(db: sqlite3.Connection, age_days: float, ident: str) -> None:
    db.execute("INSERT INTO events (at, type, kind, id, body) VALUES (?, 'record', 'shot', ?, '{}')",
               (NOW - age_days * DAY, ident))


def _alert(db: sqlite3.Connection, ident: str, state: str, closed_age_days: float | None, notes: int = 1) -> None:
    closed_at = None if closed_age_days is None else NOW - closed_age_days * DAY
    db.execute("INSERT INTO alert_workflow (alert_id, state, closed_at, updated_at) VALUES (?,?,?,?)",
               (ident, state, closed_at, NOW - 500 * DAY))
    for n in range(notes):
        note = f"{ident}-n{n}"
        db.execute("INSERT INTO annotations VALUES (?,2,'{}',?,'olga',0,?,?)",
                   (note, f"shot:{ident}", NOW - 600 * DAY, NOW - 600 * DAY))
        for version in (1, 2):
            db.execute("INSERT INTO annotation_history VALUES (?,?,'{}','olga',?)", (note, version, NOW - 600 * DAY))


def _archived(db: sqlite3.Connection, kind: str, ident: str, age_days: float) -> None:
    db.execute("INSERT INTO archive VALUES (?,?,1,?,'{}','test',0)", (kind, ident, NOW - age_days * DAY))


def _ids(db: sqlite3.Connection, sql: str) -> set[str]:
    return {row[0] for row in db.execute(sql)}


@pytest.fixture
def filled(tmp_path):
    """A file with something on each side of every default period."""
    path = tmp_path / "ops.sqlite3"
    db = connect(path)
    db.execute("BEGIN")
    _event(db, 45, "old-1")
    _event(db, 30.001, "old-2")
    _event(db, 30, "at-cutoff")  # exactly at the cutoff: not older, kept
    _event(db, 29, "new-1")
    _event(db, 0.1, "new-2")
    _alert(db, "closed-old", "closed", 400, notes=2)
    _alert(db, "closed-new", "closed", 300)
    _alert(db, "open-old", "acknowledged", None)  # never closed: kept however old
    _alert(db, "closed-old1", "closed", 366)  # a prefix of nothing, but close to 'closed-old'
    db.execute("INSERT INTO annotations VALUES ('place-note',1,'{}','place','ana',0,?,?)",
               (NOW - 900 * DAY, NOW - 900 * DAY))
    for kind, ident, age in [("unit", "u-old", 31), ("unit", "u-new", 29), ("advisory", "w-old", 91),
                             ("advisory", "w-new", 89), ("shot", "s-ancient", 3650), ("call", "c-ancient", 3650),
                             ("report", "r-ancient", 3650)]:
        _archived(db, kind, ident, age)
    db.execute("COMMIT")
    audit = AuditLog(path)
    yield path, db, audit
    audit.close()
    db.close()


def test_purge_removes_exactly_what_is_past_its_period(filled) -> None:
    path, db, audit = filled
    keeper = Retention(db, audit, clock=lambda: NOW)
    due = {d.kind: d.count for d in keeper.preview(NOW)}
    assert due == {"events": 2, "closed_alerts": 2, "archive.shot": 0, "archive.call": 0, "archive.unit": 1,
                   "archive.report": 0, "archive.advisory": 1}

    removed = keeper.purge(now=NOW)
    assert removed == {k: n for k, n in due.items() if n}  # the preview was the truth

    assert _ids(db, "SELECT id FROM events") == {"at-cutoff", "new-1", "new-2"}
    assert _ids(db, "SELECT alert_id FROM alert_workflow") == {"closed-new", "open-old"}
    assert _ids(db, "SELECT id FROM annotations") == {"closed-new-n0", "open-old-n0", "place-note"}
    assert _ids(db, "SELECT id FROM annotation_history") == {"closed-new-n0", "open-old-n0"}
    assert _ids(db, "SELECT id FROM archive") == {"u-new", "w-new", "s-ancient", "c-ancient", "r-ancient"}

    entries = audit.entries()
    assert [(e.actor, e.action) for e in entries] == [("retention", "retention.purge")]
    details = entries[0].details
    assert details["removed"] == removed
    periods = {k: v[0] for k, v in KINDS.items()}
    assert details["cutoffs"] == {k: NOW - periods[k] * DAY for k in removed}
    assert entries[0].at == NOW
    assert audit.verify().ok

    # nothing left past its period: a second purge removes nothing and writes no entry
    assert keeper.purge(now=NOW) == {}
    assert len(audit.entries()) == 1


def test_a_full_purge_of_the_log_keeps_the_numbering(filled) -> None:
    path, db, audit = filled
    before = EventLog(db).last_seq
    keeper = Retention(db, audit, clock=lambda: NOW)
    keeper.set("events", 0.01, "admin")
    keeper.purge(now=NOW)
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert EventLog(db).last_seq == before  # a restarted hub must not hand out old numbers again


def test_changed_periods_are_honoured_and_audited(filled) -> None:
    path, db, audit = filled
    keeper = Retention(db, audit, clock=lambda: NOW)
    keeper.set("events", 7, "admin")
    keeper.set("archive.shot", 365, "admin")
    keeper.set("archive.unit", 0, "admin")  # 0: keep forever
    for bad in [("events", -1), ("events", True), ("events", "7"), ("events", 1e9), ("events", float("nan")), ("audit", 7)]:
        with pytest.raises(RetentionError):
            keeper.set(*bad, "admin")
    assert keeper.periods()["events"] == 7 and keeper.periods()["archive.unit"] is None

    due = {d.kind: d.count for d in keeper.preview(NOW)}
    assert due["events"] == 4 and due["archive.shot"] == 1 and due["archive.unit"] == 0
    removed = keeper.purge(now=NOW)
    assert removed == {k: n for k, n in due.items() if n}
    assert _ids(db, "SELECT id FROM events") == {"new-2"}
    assert "u-old" in _ids(db, "SELECT id FROM archive") and "s-ancient" not in _ids(db, "SELECT id FROM archive")

    changes = [e for e in audit.entries() if e.action == "retention.change"]
    assert [(e.actor, e.target, e.details) for e in changes] == [
        ("admin", "events", {"from_days": 30.0, "to_days": 7.0}),
        ("admin", "archive.shot", {"from_days": None, "to_days": 365.0}),
        ("admin", "archive.unit", {"from_days": 30.0, "to_days": None})]
    purges = [e for e in audit.entries() if e.action == "retention.purge"]
    assert len(purges) == 1 and purges[0].details["cutoffs"]["events"] == NOW - 7 * DAY
    assert audit.verify().ok


def test_the_next_run_follows_the_interval() -> None:
    db = connect(":memory:")
    keeper = Retention(db, None, clock=lambda: NOW, interval_s=3600.0)
    assert keeper.next_run() == NOW  # never run: due now
    keeper.purge(now=NOW)
    assert keeper.next_run(NOW + 10) == NOW + 3600.0
    assert Retention(db, None, clock=lambda: NOW, interval_s=3600.0).last_run == NOW  # kept in the file


@pytest.mark.asyncio
async def test_only_an_admin_changes_a_period_over_rest(tmp_path) -> None:
    path = tmp_path / "hub.sqlite3"
    runtime = Runtime(RuntimeConfig(db_path=path, speed=30.0, hub=HubConfig(port=0, commit_s=0.02)))
    await runtime.start()
    try:
        tokens = {r: runtime.hub.users.add(r, r) for r in ("operator", "analyst", "commander", "admin")}
        base = runtime.hub.url
        with AuditLog(path) as audit:
            before = len(audit.entries())
        async with aiohttp.ClientSession() as s:
            for role in ("operator", "analyst", "commander"):
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                async with s.put(f"{base}/api/retention/events", json={"days": 1}, headers=headers) as r:
                    assert r.status == 403, (role, await r.text())
                async with s.get(f"{base}/api/retention", headers=headers) as r:
                    assert r.status == 200  # everyone may read the periods
            assert runtime.hub.retention.periods()["events"] == 30.0
            assert runtime.hub.core.db.execute("SELECT COUNT(*) FROM retention").fetchone()[0] == 0

            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            async with s.put(f"{base}/api/retention/nonsense", json={"days": 1}, headers=admin) as r:
                assert r.status == 400
            async with s.put(f"{base}/api/retention/events", json={"days": 7}, headers=admin) as r:
                assert r.status == 200
                shown = {row["kind"]: row["days"] for row in (await r.json())["kinds"]}
        assert shown["events"] == 7.0 and runtime.hub.retention.periods()["events"] == 7.0
    finally:
        await runtime.stop()
    with AuditLog(path) as audit:
        after = [(e.actor, e.action, e.target) for e in audit.entries()[before:]]
        assert audit.verify().ok
    assert after == [("admin", "retention.change", "events")]


def test_the_cli_sets_a_period_on_the_audit_trail(tmp_path) -> None:
    path = tmp_path / "hub.sqlite3"
    done = subprocess.run([*CLI, "hub", "retention", "set", "events", "7", "--db", str(path), "--actor", "alice"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert any(line.split()[:3] == ["events", "7", "days"] for line in done.stdout.splitlines()), done.stdout
    refused = subprocess.run([*CLI, "hub", "retention", "set", "audit", "7", "--db", str(path)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unknown retention kind" in refused.stderr
    with AuditLog(path) as audit:
        entries = audit.entries()
        assert audit.verify().ok
    assert [(e.actor, e.action, e.target, e.details) for e in entries] == [
        ("alice", "retention.change", "events", {"from_days": 30.0, "to_days": 7.0})]
    db = connect(path)
    assert db.execute("SELECT days, updated_by FROM retention WHERE kind='events'").fetchone() == (7.0, "alice")
    db.close()
