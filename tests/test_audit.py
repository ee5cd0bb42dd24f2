"""The audit trail must catch any edit, deletion or reordering, and name where it happened."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscenter.audit import (
    GENESIS_HASH,
    AuditError,
    AuditLog,
    canonical_content,
    compute_entry_hash,
    main_audit,
    verify_export,
)

T0 = 1_700_000_000.25


def fill(log: AuditLog, n: int) -> None:
    actions = ("ack", "annotate", "export", "login", "config.change", "purge")
    for i in range(n):
        log.append(f"op{i % 7}", actions[i % len(actions)], f"shot-{i}", {"i": i, "note": f"näive {i}"},
                   at=T0 + i * 1.5)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "opscenter.sqlite3"


@pytest.fixture
def log20(db: Path) -> AuditLog:
    log = AuditLog(db)
    fill(log, 20)
    yield log
    log.close()


def sql(db: Path, statement: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(statement, params)
    conn.close()


def test_entry_hash_follows_the_documented_encoding(log20: AuditLog) -> None:
    first = log20.entries()[0]
    assert first.prev_hash == GENESIS_HASH and first.seq == 1
    assert first.content == json.dumps({"i": 0, "note": "näive 0"}, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False)
    assert first.content_hash == hashlib.sha256(first.content.encode()).hexdigest()
    encoded = json.dumps([1, repr(T0), "op0", "ack", "shot-0", first.content_hash, GENESIS_HASH],
                         separators=(",", ":"), ensure_ascii=False)
    assert first.entry_hash == hashlib.sha256(encoded.encode()).hexdigest()
    assert log20.entries()[1].prev_hash == first.entry_hash
    assert first.details == {"i": 0, "note": "näive 0"}


def test_clean_log_of_1000_entries_verifies(db: Path) -> None:
    with AuditLog(db) as log:
        fill(log, 1000)
        result = log.verify()
        assert result.ok and result.checked == 1000 and result.first_bad_seq is None
        assert result.last_hash == log.head()[1] and log.head()[0] == 1000
        assert [e.seq for e in log.entries(since_seq=995)] == [996, 997, 998, 999, 1000]


def test_shares_the_app_database_without_touching_other_tables(db: Path) -> None:
    sql(db, "CREATE TABLE acknowledgements (alert_id TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL)")
    sql(db, "INSERT INTO acknowledgements VALUES ('a1', 'op', 1.0)")
    with AuditLog(db) as log:
        log.append("op", "ack", "a1", {})
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT * FROM acknowledgements").fetchall() == [("a1", "op", 1.0)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_edited_content_fails_at_that_entry(db: Path, log20: AuditLog) -> None:
    sql(db, "UPDATE audit SET content = ? WHERE seq = 13", (canonical_content({"i": 99}),))
    result = log20.verify()
    assert not result.ok and result.first_bad_seq == 13 and result.checked == 12
    assert result.reason == "entry 13: content changed (hash mismatch)"


def test_edited_content_with_recomputed_content_hash_still_fails_there(db: Path, log20: AuditLog) -> None:
    content = canonical_content({"i": 99})
    sql(db, "UPDATE audit SET content = ?, content_hash = ? WHERE seq = 7",
        (content, hashlib.sha256(content.encode()).hexdigest()))
    result = log20.verify()
    assert result.first_bad_seq == 7 and "entry hash mismatch" in result.reason


def test_edited_actor_fails_at_that_entry(db: Path, log20: AuditLog) -> None:
    sql(db, "UPDATE audit SET actor = 'someone-else' WHERE seq = 5")
    result = log20.verify()
    assert not result.ok and result.first_bad_seq == 5 and "fields changed" in result.reason


def test_edited_time_fails_at_that_entry(db: Path, log20: AuditLog) -> None:
    sql(db, "UPDATE audit SET at = at + 0.001 WHERE seq = 18")
    assert log20.verify().first_bad_seq == 18


def test_deleted_middle_entry_fails_at_the_next(db: Path, log20: AuditLog) -> None:
    sql(db, "DELETE FROM audit WHERE seq = 9")
    result = log20.verify()
    assert not result.ok and result.first_bad_seq == 10
    assert result.reason == "entry 9 missing: entry 10 does not follow entry 8"


def test_deleted_and_renumbered_entries_still_fail(db: Path, log20: AuditLog) -> None:
    sql(db, "DELETE FROM audit WHERE seq = 9")
    sql(db, "UPDATE audit SET seq = seq - 1 WHERE seq > 9")
    result = log20.verify()
    assert result.first_bad_seq == 9 and "does not link to entry 8" in result.reason


def test_deleted_first_entry_is_named(db: Path, log20: AuditLog) -> None:
    sql(db, "DELETE FROM audit WHERE seq = 1")
    result = log20.verify()
    assert result.first_bad_seq == 2 and result.reason.startswith("entry 1 missing")


def test_swapped_contents_fail_at_the_first_of_them(db: Path, log20: AuditLog) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    a = conn.execute("SELECT content, content_hash FROM audit WHERE seq = 6").fetchone()
    b = conn.execute("SELECT content, content_hash FROM audit WHERE seq = 11").fetchone()
    conn.execute("UPDATE audit SET content = ?, content_hash = ? WHERE seq = 6", b)
    conn.execute("UPDATE audit SET content = ?, content_hash = ? WHERE seq = 11", a)
    conn.close()
    assert log20.verify().first_bad_seq == 6


def test_swapped_whole_entries_fail_at_the_first_of_them(db: Path, log20: AuditLog) -> None:
    sql(db, "UPDATE audit SET seq = -1 WHERE seq = 4")
    sql(db, "UPDATE audit SET seq = 4 WHERE seq = 5")
    sql(db, "UPDATE audit SET seq = 5 WHERE seq = -1")
    result = log20.verify()
    assert result.first_bad_seq == 4 and "does not link to entry 3" in result.reason


def test_deleted_last_entry_needs_an_anchor(db: Path, log20: AuditLog) -> None:
    anchor = log20.head()[1]
    assert log20.verify(expected_last_hash=anchor).ok
    sql(db, "DELETE FROM audit WHERE seq = 20")
    assert log20.verify().ok  # the chain alone cannot tell a cut-off tail
    result = log20.verify(expected_last_hash=anchor)
    assert not result.ok and result.first_bad_seq == 20 and "entry 20 missing" in result.reason


def test_an_old_anchor_still_holds_after_more_appends(log20: AuditLog) -> None:
    anchor = log20.head()[1]
    log20.append("op", "ack", "shot-99", {})
    assert log20.verify(expected_last_hash=anchor).ok
    assert not log20.verify(expected_last_hash="f" * 64).ok


def test_json_export_verifies_and_catches_tampering(log20: AuditLog, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    assert log20.export_json(out).ok
    text = out.read_text(encoding="utf-8")
    assert verify_export(text).ok and verify_export(text, expected_last_hash=log20.head()[1]).ok
    doc = json.loads(text)
    doc["entries"][3]["target"] = "shot-x"
    assert verify_export(doc).first_bad_seq == 4
    doc = json.loads(text)
    del doc["entries"][10]
    assert verify_export(doc).first_bad_seq == 12
    doc = json.loads(text)
    doc["entries"].pop()
    assert not verify_export(doc).ok  # count and last_hash no longer match
    assert not verify_export("{}").ok


def test_csv_export_has_a_header_and_a_row_per_entry(log20: AuditLog) -> None:
    stream = io.StringIO()
    log20.export_csv(stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0][:4] == ["seq", "at", "at_utc", "actor"] and "entry_hash" in rows[0]
    assert len(rows) == 21 and rows[1][0] == "1" and float(rows[1][1]) == T0
    assert rows[20][rows[0].index("entry_hash")] == log20.head()[1]


@pytest.mark.parametrize("actor,action,target,details", [
    ("", "ack", "t", {}), ("op", " ", "t", {}), ("op", "ack", "x" * 201, {}), ("op\n", "ack", "t", {}),
    ("op", "ack", "t", {"bad": object()}), ("op", "ack", "t", {"n": float("nan")}),
    ("op", "ack", "t", {"big": "x" * 70_000}), ("op", "ack", "t", ["not", "a", "dict"]),
])
def test_bad_input_is_refused_and_writes_nothing(log20: AuditLog, actor, action, target, details) -> None:
    with pytest.raises(AuditError):
        log20.append(actor, action, target, details)
    assert log20.head()[0] == 20 and log20.verify().ok


def test_concurrent_writers_share_one_chain(db: Path) -> None:
    first, second = AuditLog(db), AuditLog(db)
    for i in range(50):
        (first if i % 2 == 0 else second).append(f"op{i % 2}", "ack", f"shot-{i}", {"i": i})
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with AuditLog(db) as log:
                for i in range(60):
                    log.append(name, "annotate", f"inc-{i}", {"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"analyst{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = first.verify()
    assert result.ok and result.checked == 50 + 180
    assert [e.seq for e in second.entries()] == list(range(1, 231))
    first.close()
    second.close()


def test_cli_verify_and_export(db: Path, tmp_path: Path, capsys) -> None:
    with AuditLog(db) as log:
        fill(log, 10)
    assert main_audit(["verify", "--db", str(db)]) == 0
    out = tmp_path / "a.json"
    assert main_audit(["export", "--format", "json", "--out", str(out), "--db", str(db), "--actor", "sup"]) == 0
    assert verify_export(out.read_text(encoding="utf-8")).checked == 10
    assert main_audit(["verify-export", str(out)]) == 0
    assert main_audit(["export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--db", str(db)]) == 0
    with AuditLog(db) as log:
        assert [e.action for e in log.entries(since_seq=10)] == ["audit.export", "audit.export"]
    sql(db, "UPDATE audit SET target = 'x' WHERE seq = 3")
    capsys.readouterr()
    assert main_audit(["verify", "--db", str(db)]) == 1
    assert "entry 3: fields changed" in capsys.readouterr().out
    assert main_audit(["verify", "--db", str(tmp_path / "nope.sqlite3")]) == 2


TEXT_FIELDS = ("actor", "action", "target", "content", "content_hash", "prev_hash", "entry_hash")


@pytest.fixture(scope="module")
def shared_log():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.sqlite3"
        with AuditLog(path) as log:
            fill(log, 12)
            yield path, log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 12), field=st.sampled_from(TEXT_FIELDS), index=st.integers(0, 10_000),
       delta=st.integers(1, 255))
def test_any_single_byte_change_is_detected(shared_log, seq: int, field: str, index: int, delta: int) -> None:
    path, log = shared_log
    conn = sqlite3.connect(path, isolation_level=None)
    original = conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
    raw = bytearray(original.encode("utf-8"))
    raw[index % len(raw)] = (raw[index % len(raw)] + delta) % 256
    try:
        changed: str | bytes = raw.decode("utf-8")
    except UnicodeDecodeError:
        changed = bytes(raw)  # stored as a BLOB, as a raw byte edit of the file could leave it
    conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (changed, seq))
    try:
        result = log.verify()
        assert not result.ok and result.first_bad_seq == seq, result
    finally:
        conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (original, seq))
        conn.close()
    assert log.verify().ok


def test_compute_entry_hash_depends_on_every_field() -> None:
    base = (3, T0, "a", "b", "c", "d" * 64, "e" * 64)
    hashes = {compute_entry_hash(*base)}
    for i in range(len(base)):
        changed = list(base)
        changed[i] = changed[i] + 1 if isinstance(changed[i], (int, float)) else changed[i] + "x"
        hashes.add(compute_entry_hash(*changed))
    assert len(hashes) == len(base) + 1


def test_the_opscenter_command_verifies_and_exports(tmp_path) -> None:
    import subprocess
    import sys

    db = tmp_path / "ops.sqlite3"
    log = AuditLog(db)
    for i in range(5):
        log.append("op1", "alert.acknowledge", f"S-{i}", {"version": 1})
    log.close()
    run = lambda *a: subprocess.run([sys.executable, "-m", "opscenter.cli", "audit", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    ok = run("verify", "--db", str(db))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    out = tmp_path / "audit.json"
    assert run("export", "--format", "json", "--out", str(out), "--db", str(db)).returncode == 0
    assert out.exists()
    import sqlite3

    raw = sqlite3.connect(db)
    raw.execute("UPDATE audit SET actor='someone else' WHERE seq=3")
    raw.commit()
    raw.close()
    bad = run("verify", "--db", str(db))
    assert bad.returncode == 1 and "3" in bad.stdout
