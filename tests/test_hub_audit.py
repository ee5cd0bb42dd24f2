"""The audit trail a hub writes is tamper-evident in fact: `opscenter audit verify` on an edited,
shortened or reordered copy fails and names the entry, and the untouched file passes."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from opscenter.audit import AuditLog, sha256_hex, verify_export
from opscenter.domain import Kind
from opscenter.hub.client import HubClient
from opscenter.hub.service import HubConfig
from opscenter.runtime import Runtime, RuntimeConfig

from .conftest import wait_until

CLI = [sys.executable, "-c", "import sys; from opscenter.cli import main; sys.exit(main(sys.argv[1:]))"]


@pytest.fixture(scope="module")
def hub_db(tmp_path_factory) -> Path:
    """A hub database with entries made the way people make them: over REST."""
    path = tmp_path_factory.mktemp("hub") / "hub.sqlite3"
    asyncio.run(_make_entries(path))
    return path


async def _make_entries(path: Path) -> None:
    runtime = Runtime(RuntimeConfig(db_path=path, speed=30.0, hub=HubConfig(port=0, commit_s=0.02)))
    await runtime.start()
    try:
        olga = runtime.hub.users.add("olga", "operator")
        ana = runtime.hub.users.add("ana", "analyst")
        await wait_until(lambda: runtime.store.size(Kind.SHOT) >= 2, what="alerts")
        first, second = (s.id for s in runtime.store.shots()[:2])
        async with aiohttp.ClientSession() as session:
            o = HubClient(runtime.hub.url, olga, session)
            a = HubClient(runtime.hub.url, ana, session)
            await o.sign_in()
            await a.sign_in()
            await o.acknowledge(first)
            note = await a.annotate({"type": "note", "target": f"shot:{first}", "text": "two casings"})
            await a.edit_annotation(note.id, {"text": "three casings"})
            await o.acknowledge(second)
            await o.dispatch(second, ["1A"])
    finally:
        await runtime.stop()


def _copy(src: Path, dst: Path) -> Path:
    """A consistent copy of the live file (WAL included), as a backup tool would take it."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    return dst


def _verify(db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "audit", "verify", "--db", str(db), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _seq_of(db: Path, action: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT MIN(seq) FROM audit WHERE action=?", (action,)).fetchone()[0]


def test_verify_names_the_entry_that_was_edited_removed_or_moved(hub_db: Path, tmp_path: Path) -> None:
    with AuditLog(hub_db) as audit:
        actions = [e.action for e in audit.entries()]
        head = audit.head()
    assert actions.count("session.login") == 2 and "annotation.edit" in actions and actions.count("alert.acknowledge") == 2
    k = _seq_of(hub_db, "alert.acknowledge")
    n = len(actions)
    assert 1 < k < n - 1

    def tampered(name: str, *statements: str) -> Path:
        copy = _copy(hub_db, tmp_path / f"{name}.sqlite3")
        with sqlite3.connect(copy) as con:
            for sql in statements:
                con.execute(sql)
        con.close()
        return copy

    who = sha256_hex('{"note":"nothing to see"}')
    cases = {
        # (file, the entry the output must name, why)
        "edited": (tampered("edited", f"UPDATE audit SET content='{{\"by\":\"nobody\"}}' WHERE seq={k}"),
                   k, "content changed"),
        "edited, hash too": (tampered("rehashed", f"UPDATE audit SET content='{{\"note\":\"nothing to see\"}}', "
                                                  f"content_hash='{who}' WHERE seq={k}"), k, "entry hash mismatch"),
        "actor changed": (tampered("actor", f"UPDATE audit SET actor='ana' WHERE seq={k}"), k, "fields changed"),
        "deleted": (tampered("deleted", f"DELETE FROM audit WHERE seq={k}"), k, "missing"),
        "swapped": (tampered("swapped", f"UPDATE audit SET seq=-1 WHERE seq={k}",
                             f"UPDATE audit SET seq={k} WHERE seq={k + 1}",
                             f"UPDATE audit SET seq={k + 1} WHERE seq=-1"), k, "does not link"),
    }
    runs = {name: _verify(path) for name, (path, _, _) in cases.items()}
    runs["original"] = _verify(hub_db)
    # the last entry cut off is caught only against the head written down before
    runs["tail cut"] = _verify(tampered("tail", f"DELETE FROM audit WHERE seq={n}"), "--expect-last-hash", head[1])
    out = {name: (p.wait(60), p.communicate()[0]) for name, p in runs.items()}

    code, text = out.pop("original")
    assert code == 0 and f"audit trail OK: {n} entries" in text, text
    code, text = out.pop("tail cut")
    assert code == 1 and f"entry {n} missing" in text, text
    for name, (code, text) in out.items():
        _, seq, why = cases[name]
        assert code == 1, (name, text)
        assert "TAMPERED" in text and why in text, (name, text)
        named = re.search(r"entry (\d+)", text)
        assert named and int(named.group(1)) == seq, (name, text)  # the first entry it names is k
        assert f"({seq - 1} entries checked before it)" in text, (name, text)


@pytest.mark.asyncio
async def test_a_rest_export_is_audited_and_verifies_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    runtime = Runtime(RuntimeConfig(db_path=path, speed=30.0, hub=HubConfig(port=0, commit_s=0.02)))
    await runtime.start()
    try:
        users = runtime.hub.users
        ana, olga = users.add("ana", "analyst"), users.add("olga", "operator")
        await wait_until(lambda: runtime.store.size(Kind.SHOT) >= 1, what="an alert")
        shot = runtime.store.shots()[0].id
        async with aiohttp.ClientSession() as s:
            async def call(method: str, url: str, token: str, **kw) -> tuple[int, str]:
                async with s.request(method, runtime.hub.url + url, headers={"Authorization": f"Bearer {token}"},
                                     **kw) as r:
                    return r.status, await r.text()

            assert (await call("POST", "/api/session", olga))[0] == 200
            assert (await call("POST", f"/api/alerts/{shot}/acknowledge", olga, json={}))[0] == 200
            assert (await call("GET", "/api/audit/export?format=json", olga))[0] == 403
            with AuditLog(path) as audit:
                head_seq, head_hash = audit.head()
            status, text = await call("GET", "/api/audit/export?format=json", ana)
            assert status == 200
            assert (await call("GET", "/api/audit/export?format=csv", ana))[0] == 200
    finally:
        await runtime.stop()

    export = json.loads(text)
    assert verify_export(text).ok
    assert verify_export(text, expected_last_hash=head_hash).ok  # nothing cut off the end
    assert export["count"] == head_seq and export["last_hash"] == head_hash
    # a changed export fails on its own, at the entry that was changed
    export["entries"][1]["actor"] = "mallory"
    bad = verify_export(json.dumps(export))
    assert not bad.ok and bad.first_bad_seq == 2

    with AuditLog(path) as audit:
        entries = audit.entries()
        assert audit.verify().ok
    after = [(e.actor, e.action, e.target, e.details) for e in entries[head_seq:]]
    assert after == [("ana", "audit.export", "json", {"entries": head_seq, "verified": True}),
                     ("ana", "audit.export", "csv", {"entries": head_seq + 1, "verified": True})]
    assert ("olga", "audit.export") not in [(e.actor, e.action) for e in entries]  # the 403 left no entry
