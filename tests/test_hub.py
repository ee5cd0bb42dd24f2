"""The hub end to end over real sockets: two clients, resume, snapshots, roles, audit."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest

from opscenter.audit import AuditLog
from opscenter.domain import Kind
from opscenter.hub.client import HubClient
from opscenter.hub.service import HubConfig
from opscenter.runtime import Runtime, RuntimeConfig
from opscenter.users import Forbidden
from opscenter.workflow import State, WorkflowError

from .conftest import audit_actions, stop_clients, wait_until


def _runtime(tmp_path, **kw) -> Runtime:
    return Runtime(RuntimeConfig(db_path=tmp_path / "hub.sqlite3", speed=kw.pop("speed", 30.0),
                                 hub=HubConfig(port=0, commit_s=0.02), **kw))


def _picture(store) -> dict:
    return {(k, r.id): r.version for k in Kind for r in store.all(k)}


async def _synced(client: HubClient, runtime: Runtime) -> None:
    await wait_until(lambda: client.mirror.epoch is not None and client.mirror.seq == runtime.hub.core.log.last_seq
                     and _picture(client.store) == _picture(runtime.store), what="client caught up")


@pytest.mark.asyncio
async def test_two_clients_share_acknowledgements_and_annotations(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        tokens = {n: runtime.hub.users.add(n, r) for n, r in (("olga", "operator"), ("ana", "analyst"))}
        async with aiohttp.ClientSession() as session:
            olga = HubClient(runtime.hub.url, tokens["olga"], session)
            ana = HubClient(runtime.hub.url, tokens["ana"], session)
            assert (await olga.sign_in()).role == "operator"
            await ana.sign_in()
            tasks = [asyncio.create_task(c.run()) for c in (olga, ana)]
            await wait_until(lambda: olga.store.size(Kind.SHOT) > 3 and ana.store.size(Kind.SHOT) > 3)
            shot = olga.store.shots()[0]

            await olga.acknowledge(shot.id)
            await wait_until(lambda: ana.workflow.get(shot.id).state is State.ACKNOWLEDGED, timeout=1.0,
                             what="acknowledgement on the other screen within a second")
            assert ana.store.is_acknowledged(shot.id)
            assert ana.workflow.get(shot.id).acknowledged_by == "olga"

            note = await ana.annotate({"type": "note", "target": f"shot:{shot.id}", "text": "casings on 5th"})
            await wait_until(lambda: olga.annotations.get(note.id) is not None, timeout=1.0)
            assert [a.text for a in olga.annotations.for_target(f"shot:{shot.id}")] == ["casings on 5th"]

            # an operator cannot edit an analyst's note: 403, and nothing changes anywhere
            with pytest.raises(Forbidden):
                await olga.edit_annotation(note.id, {"text": "nothing here"})
            assert runtime.hub.core.annotations.get(note.id).version == 1
            assert len(runtime.hub.core.history(note.id)) == 1

            edited = await ana.edit_annotation(note.id, {"text": "casings on 5th and Main"})
            assert edited.version == 2
            await wait_until(lambda: olga.annotations.get(note.id).version == 2, timeout=1.0)
            assert [a.text for a in await olga.history(note.id)] == ["casings on 5th", "casings on 5th and Main"]

            await olga.dispatch(shot.id, ["3C21"])
            await olga.close(shot.id, "evidence_found", note="two casings")
            with pytest.raises(WorkflowError):
                await olga.close(shot.id, "no_evidence")  # 409: already closed
            await wait_until(lambda: ana.workflow.get(shot.id).state is State.CLOSED, timeout=1.0)
            assert ana.workflow.get(shot.id).disposition == "evidence_found"
            await _synced(ana, runtime)
            await stop_clients((olga, ana), tasks)
    finally:
        await runtime.stop()
    actions = audit_actions(tmp_path / "hub.sqlite3")
    assert ("olga", "alert.acknowledge") in actions and ("ana", "annotation.edit") in actions
    assert ("olga", "alert.close") in actions and ("ana", "session.login") in actions
    assert actions[0][1] == "hub.start"  # what the hub served, and from where, opens its trail
    assert ("olga", "annotation.edit") not in actions  # the refused edit left no trace but a 403


@pytest.mark.asyncio
async def test_a_client_that_reconnects_gets_exactly_what_it_missed(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        token = runtime.hub.users.add("wall2", "commander")
        async with aiohttp.ClientSession() as session:
            client = HubClient(runtime.hub.url, token, session, backoff_initial=0.05, backoff_max=0.1)
            task = asyncio.create_task(client.run())
            await _synced(client, runtime)
            assert client.mirror.snapshots == 1
            await client.stop()
            await task
            seen = client.mirror.seq
            await wait_until(lambda: runtime.hub.core.log.last_seq > seen + 50, what="events while away")
            applied_before = client.mirror.applied

            task = asyncio.create_task(client.run())
            await _synced(client, runtime)
            await client.stop()
            await task
        missed = runtime.hub.core.log.since(seen)
        assert client.mirror.snapshots == 1  # resumed, no second snapshot
        assert client.mirror.applied - applied_before >= len([e for e in missed if e.seq <= client.mirror.seq])
        assert not client.mirror.rejected
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_another_epoch_or_a_purged_gap_brings_a_snapshot(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        token = runtime.hub.users.add("w", "operator")
        async with aiohttp.ClientSession() as session:
            client = HubClient(runtime.hub.url, token, session)
            client.mirror.epoch, client.mirror.seq = "someone-else", 5  # numbers from another database
            task = asyncio.create_task(client.run())
            await _synced(client, runtime)
            assert client.mirror.snapshots == 1 and client.mirror.epoch == runtime.hub.core.log.epoch
            await client.stop()
            await task
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_roles_unauthenticated_and_bad_requests_change_nothing(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        users = runtime.hub.users
        tokens = {r: users.add(r, r) for r in ("operator", "analyst", "commander", "admin")}
        await wait_until(lambda: runtime.store.size(Kind.SHOT) > 0)
        shot_id = runtime.store.shots()[0].id
        base = runtime.hub.url
        head = runtime.hub.core.log.last_seq
        entries = AuditLog(tmp_path / "hub.sqlite3")
        before = len(entries.entries())

        def auth(role):
            return {"Authorization": f"Bearer {tokens[role]}"}

        async with aiohttp.ClientSession() as s:
            cases = [
                ("post", f"/api/alerts/{shot_id}/dispatch", "commander", {"units": ["1A"]}, 403),
                ("post", f"/api/alerts/{shot_id}/acknowledge", None, {}, 401),
                ("put", "/api/retention/events", "analyst", {"days": 1}, 403),
                ("get", "/api/audit/export", "operator", None, 403),
                ("post", "/api/annotations", "analyst", {"type": "note", "target": "shot:<x>", "text": "a"}, 400),
                ("post", "/api/annotations", "analyst", {"type": "shape", "target": "place",
                                                         "geometry": {"type": "Point", "coordinates": [1e9, 0]}}, 400),
                ("post", f"/api/alerts/{shot_id}/close", "operator", {"disposition": "maybe"}, 409),
                ("post", f"/api/alerts/{shot_id}/shelve", "operator", {"minutes": 30}, 409),
                ("post", f"/api/alerts/{shot_id}/explode", "admin", {}, 404),
            ]
            for method, path, role, body, status in cases:
                headers = auth(role) if role else {}
                async with s.request(method, base + path, json=body, headers=headers) as r:
                    assert r.status == status, (path, role, await r.text())
            async with s.post(base + "/api/annotations", data=b"{not json", headers=auth("analyst")) as r:
                assert r.status == 400
            async with s.put(base + "/api/retention/events", json={"days": 7}, headers=auth("admin")) as r:
                assert r.status == 200
        await asyncio.sleep(0.1)
        assert runtime.hub.core.workflow.get(shot_id).state is State.NEW
        assert not runtime.hub.core.annotations.all()
        logged = [e.action for e in entries.entries()[before:]]
        assert logged == ["retention.change"]
        assert runtime.hub.core.log.last_seq >= head
        entries.close()
    finally:
        await runtime.stop()


def test_a_version_1_database_is_migrated_and_keeps_its_acknowledgements(tmp_path) -> None:
    from opscenter.persistence import SqliteJournal
    from opscenter.schema import SCHEMA_VERSION, SchemaError, current_version, migrate

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
            event_time REAL NOT NULL, body TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', PRIMARY KEY (kind, id));
        CREATE TABLE archive (kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
            event_time REAL NOT NULL, body TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
            deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, id));
        CREATE TABLE acknowledgements (alert_id TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        INSERT INTO acknowledgements VALUES ('S-1', 'olga', 1700000000.0);
    """)
    db.commit()
    db.close()
    journal = SqliteJournal(path)
    assert current_version(journal.db) == SCHEMA_VERSION
    row = journal.db.execute("SELECT state, acknowledged_by, acknowledged_at FROM alert_workflow").fetchone()
    assert row == ("acknowledged", "olga", 1700000000.0)
    journal.db.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(SchemaError, match="newer"):
        migrate(journal.db, path)
    journal.close()


@pytest.mark.asyncio
async def test_queries_of_the_live_picture_and_the_history(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        token = runtime.hub.users.add("cmd", "commander")
        await wait_until(lambda: runtime.store.size(Kind.SHOT) > 2)
        runtime.hub.core.commit()
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as s:
            async with s.get(runtime.hub.url + "/api/records?kind=shot", headers=headers) as r:
                live = await r.json()
            assert {item["rec"]["id"] for item in live} == {x.id for x in runtime.store.shots()}
            # the archive holds the demo's invented past and the live records journalled so far
            async with s.get(runtime.hub.url + "/api/history?kind=report&limit=5", headers=headers) as r:
                past = await r.json()
            assert len(past) == 5 and all(item["rec"]["id"].startswith("HIST-") for item in past)
            times = [item["rec"]["occurred_at"] for item in past]
            assert times == sorted(times)
            for bad in ("kind=people", "kind=shot&since=yesterday", "kind=shot&until=nan"):
                async with s.get(runtime.hub.url + "/api/history?" + bad, headers=headers) as r:
                    assert r.status == 400, bad
            async with s.get(runtime.hub.url + "/api/records?kind=shot") as r:
                assert r.status == 401
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_a_second_wall_on_the_same_database_is_refused_with_the_way_to_join(tmp_path) -> None:
    from opscenter.persistence import DatabaseInUse

    first = _runtime(tmp_path)
    await first.start()
    try:
        second = _runtime(tmp_path)
        with pytest.raises(DatabaseInUse, match=f"hub {first.hub.url}"):
            await second.start()
        assert second.journal is None and second.hub is None  # nothing left half-open
    finally:
        await first.stop()
    again = _runtime(tmp_path)  # released on stop (and by the OS if the program dies)
    await again.start()
    await again.stop()
