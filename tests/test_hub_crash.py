"""The hub killed with SIGKILL mid-stream, as a real process: nothing a client saw may be lost.

The hub commits events with the state they describe before any client sees them, so after a
kill -9 and a restart on the same file a client resumes from its last sequence number with no
gap and no duplicate, and an acknowledgement that was answered 200 is still on the workflow and
on the audit trail.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opscenter.domain import Kind
from opscenter.hub.client import HubClient
from opscenter.workflow import State

from .conftest import wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

# `python -m opscenter` needs a __main__; the console script's entry point works everywhere
CLI = [sys.executable, "-c", "import sys; from opscenter.cli import main; sys.exit(main(sys.argv[1:]))"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


class HubProcess:
    """`opscenter hub` in its own process on a fixed file and port, killed without warning."""

    def __init__(self, db: Path, port: int, log: Path) -> None:
        self.db, self.port, self.log = db, port, log
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{port}"

    async def start(self) -> str:
        """Returns the banner line; the hub is listening once it is printed."""
        stderr = open(self.log, "ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *CLI, "hub", "--db", str(self.db), "--port", str(self.port), "--speed", "40",
                stdout=asyncio.subprocess.PIPE, stderr=stderr)
        finally:
            stderr.close()
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 30)).decode()
        assert line.startswith(f"hub on {self.url}"), (line, self.log.read_text())
        return line

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)

    async def wait_dead(self) -> None:
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), 10)
        assert self.proc.returncode == -signal.SIGKILL

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def _add_user(db: Path, name: str, role: str) -> str:
    """Through the CLI, in another process, while the hub has the file open."""
    done = _cli("hub", "user", "add", name, "--role", role, "--db", str(db), "--actor", "setup")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _logged(db: Path) -> dict[int, dict[str, Any]]:
    """The event log as committed on disk (a read-only look, as after a crash)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {seq: json.loads(body) for seq, body in con.execute("SELECT seq, body FROM events ORDER BY seq")}
    finally:
        con.close()


async def _wait_head(session: aiohttp.ClientSession, url: str, seq: int, timeout: float = 15.0) -> None:
    """Until the hub's log reaches `seq` (read from /healthz)."""
    async def head() -> int:
        async with session.get(f"{url}/healthz") as response:
            return (await response.json())["seq"]

    async def reached() -> None:
        while await head() < seq:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), timeout)


def _picture(client: HubClient) -> dict:
    return {(k, r.id): r.version for k in Kind for r in client.store.all(k)}


def _flows(client: HubClient) -> dict:
    return {f.alert_id: f.to_dict() for f in client.workflow.all()}


class Recorder:
    """Every event the mirror applies, in order, as the dict it received."""

    def __init__(self, client: HubClient) -> None:
        self.events: list[dict[str, Any]] = []
        apply = client.mirror.apply

        def recording(event: dict[str, Any]) -> bool:
            took = apply(event)
            if took:
                self.events.append(event)
            return took

        client.mirror.apply = recording  # type: ignore[method-assign]

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]


def _gate(client: HubClient) -> asyncio.Event:
    """Hold the client's reconnect attempts while the event is clear (a slow network, say)."""
    gate = asyncio.Event()
    gate.set()
    connect = client.stream._connect_and_read

    async def gated(session: aiohttp.ClientSession) -> None:
        await gate.wait()
        await connect(session)

    client.stream._connect_and_read = gated  # type: ignore[method-assign]
    return gate


async def _same_picture(old: HubClient, fresh: HubClient) -> None:
    """Both clients at one sequence number with one picture (the feed keeps moving, so poll)."""
    await wait_until(lambda: fresh.mirror.epoch is not None and old.mirror.seq == fresh.mirror.seq
                     and _picture(old) == _picture(fresh) and _flows(old) == _flows(fresh),
                     timeout=15.0, step=0.005, what="resumed client's picture equals a fresh snapshot")


@pytest.mark.asyncio
async def test_kill_9_mid_stream_loses_nothing_a_client_saw(tmp_path) -> None:
    db, port = tmp_path / "hub.sqlite3", _free_port()
    hub = HubProcess(db, port, tmp_path / "hub.log")
    await hub.start()
    try:
        token = _add_user(db, "wall2", "commander")  # CLI beside the running hub, same file
        async with aiohttp.ClientSession() as session:
            client = HubClient(hub.url, token, session, backoff_initial=0.05, backoff_max=0.2)
            recorder = Recorder(client)
            gate = _gate(client)
            task = asyncio.create_task(client.run())
            await wait_until(lambda: client.mirror.snapshots == 1, what="first snapshot")
            start_seq = client.mirror.seq
            await wait_until(lambda: len(recorder.events) >= 30, what="events flowing")

            gate.clear()  # the client comes back only after the restarted hub has moved on
            hub.kill()  # mid-stream: the feed is delivering at 40x
            seen_at_kill = len(recorder.events)
            await hub.wait_dead()
            on_disk = _logged(db)
            last_committed = max(on_disk)
            seen = recorder.events[:]
            assert len(seen) >= seen_at_kill and client.mirror.seq <= last_committed
            # everything applied before the kill was committed first, byte for byte the same event
            for event in seen:
                assert on_disk.get(event["seq"]) == event, event["seq"]

            await hub.start()  # same file, same port
            await _wait_head(session, hub.url, last_committed + 10)
            gate.set()  # its backoff loop reconnects; it must get the backlog, then live batches
            await wait_until(lambda: client.mirror.seq > last_committed + 20, what="client resumed after restart")

            seqs = recorder.seqs
            assert seqs == list(range(start_seq + 1, start_seq + 1 + len(seqs))), "gap or duplicate"
            assert client.mirror.snapshots == 1  # resumed by number, not started over
            assert not client.mirror.rejected

            async with session.get(f"{hub.url}/api/events?since=0&limit=100000",
                                   headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                log = {e["seq"]: e for e in (await response.json())["events"]}
            for event in seen:
                assert log[event["seq"]] == event  # the restarted hub still has it
            after = sorted(s for s in log if s > last_committed)
            assert after and after[0] == last_committed + 1  # numbering continues, nothing reused
            assert sorted(log) == list(range(min(log), max(log) + 1))
            for event in recorder.events:
                if event["seq"] in log:
                    assert log[event["seq"]] == event

            fresh = HubClient(hub.url, token, session)
            fresh_task = asyncio.create_task(fresh.run())
            await _same_picture(client, fresh)
            for c in (client, fresh):
                await c.stop()
            await asyncio.gather(task, fresh_task, return_exceptions=True)
    finally:
        await hub.stop()


@pytest.mark.asyncio
async def test_an_acknowledgement_answered_200_survives_kill_9(tmp_path) -> None:
    db, port = tmp_path / "hub.sqlite3", _free_port()
    hub = HubProcess(db, port, tmp_path / "hub.log")
    await hub.start()
    try:
        olga = _add_user(db, "olga", "operator")
        async with aiohttp.ClientSession() as session:
            watcher = HubClient(hub.url, olga, session, backoff_initial=0.05, backoff_max=0.2)
            task = asyncio.create_task(watcher.run())
            await wait_until(lambda: any(watcher.workflow.get(s.id).state is State.NEW for s in watcher.store.shots()),
                             what="an open alert")
            shot = next(s for s in watcher.store.shots() if watcher.workflow.get(s.id).state is State.NEW)
            async with session.post(f"{hub.url}/api/alerts/{shot.id}/acknowledge", json={},
                                    headers={"Authorization": f"Bearer {olga}"}) as response:
                assert response.status == 200, await response.text()
            hub.kill()  # the instant the answer is in
            await hub.wait_dead()
            await watcher.stop()
            await task

            await hub.start()
            fresh = HubClient(hub.url, olga, session)
            fresh_task = asyncio.create_task(fresh.run())
            await wait_until(lambda: fresh.mirror.snapshots == 1, what="snapshot after restart")
            flow = fresh.workflow.get(shot.id)
            assert flow.state is State.ACKNOWLEDGED and flow.acknowledged_by == "olga"
            assert fresh.store.is_acknowledged(shot.id)
            await fresh.stop()
            await fresh_task
    finally:
        await hub.stop()
    done = _cli("audit", "verify", "--db", str(db))
    assert done.returncode == 0, done.stdout
    con = sqlite3.connect(db)
    acks = con.execute("SELECT actor FROM audit WHERE action='alert.acknowledge' AND target=?", (shot.id,)).fetchall()
    con.close()
    assert acks == [("olga",)]
    assert re.search(r"audit trail OK: \d+ entries", done.stdout)
