"""Patrol missions through the hub over real sockets: planning, sharing, roles, dosage, sending."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web

from opscenter.annotations import AnnotationError
from opscenter.dissemination import WebhookEndpoint
from opscenter.domain import AlertType, ShotAlert, Unit, UnitStatus
from opscenter.hub.client import HubClient
from opscenter.hub.service import HubConfig
from opscenter.runtime import Runtime, RuntimeConfig
from opscenter.users import Forbidden
from opscenter.workflow import WorkflowError

from .conftest import audit_actions, serve_app, stop_clients, wait_until

HOT = (39.2950, -76.6150)
DAY = 86400.0


def _runtime(tmp_path) -> Runtime:
    # a feed nobody answers: the store holds only what the test puts there
    return Runtime(RuntimeConfig(db_path=tmp_path / "hub.sqlite3", feed_url="http://127.0.0.1:9/events",
                                 hub=HubConfig(port=0, commit_s=0.02)))


def _shootings(runtime: Runtime, n_hot: int = 40, n_spread: int = 20) -> None:
    now = runtime.store.clock()
    for i in range(n_hot):
        lat, lon = HOT[0] + 0.0004 * (i % 5), HOT[1] + 0.0004 * (i % 7)
        runtime.apply(ShotAlert(f"H-{i}", 1, now - DAY * (1 + i % 20) - 60 * i, lat, lon, AlertType.MULTIPLE, 3))
    for i in range(n_spread):
        lat, lon = 39.27 + 0.004 * (i % 5), -76.66 + 0.005 * (i // 5)
        runtime.apply(ShotAlert(f"S-{i}", 1, now - DAY * (2 + i), lat, lon, AlertType.SINGLE, 1))


async def _clients(runtime: Runtime, session: aiohttp.ClientSession, **roles: str) -> dict[str, HubClient]:
    clients = {}
    for name, role in roles.items():
        clients[name] = HubClient(runtime.hub.url, runtime.hub.users.add(name, role), session)
        await clients[name].sign_in()
    return clients


@pytest.mark.asyncio
async def test_plan_assign_and_states_reach_every_window_with_roles_checked(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        _shootings(runtime)
        async with aiohttp.ClientSession() as session:
            c = await _clients(runtime, session, ana="analyst", olga="operator", cmd="commander")
            tasks = [asyncio.create_task(c[n].run()) for n in ("ana", "olga")]
            await wait_until(lambda: c["olga"].mirror.epoch is not None, what="olga connected")

            with pytest.raises(Forbidden):
                await c["olga"].plan_missions(8, 3)
            assert runtime.hub.missions.book.missions() == []

            planned = await c["ana"].plan_missions(8, 3)
            assert 1 <= len(planned) <= 3
            ids = {m["id"] for m in planned}
            await wait_until(lambda: set(c["olga"].mirror.missions) == ids, timeout=1.0,
                             what="missions on the other screen within a second")
            hot = planned[0]
            assert min(p[0] for p in hot["polygon"]) <= HOT[0] + 0.002 and max(p[0] for p in hot["polygon"]) >= HOT[0]
            assert [m["id"] for m in await c["cmd"].missions()] == [m["id"] for m in planned]
            with pytest.raises(WorkflowError):
                await c["ana"].plan_missions(8, 3)  # 409: this shift is planned

            first = hot["id"]
            await c["olga"].assign_mission(first, ["3C21", "3C22"], "closest cars")
            await c["olga"].mission_state(first, "active")
            await wait_until(lambda: c["ana"].mirror.missions[first]["state"] == "active", timeout=1.0)
            assert c["ana"].mirror.missions[first]["units"] == ["3C21", "3C22"]
            with pytest.raises(Forbidden):
                await c["cmd"].mission_state(first, "completed")
            await c["olga"].mission_state(first, "completed")
            with pytest.raises(AnnotationError):
                await c["olga"].mission_state(first, "active")  # 400: completed is an end

            if len(planned) > 1:
                other = planned[1]["id"]
                with pytest.raises(AnnotationError, match="reason"):
                    await c["ana"].suppress_mission(other, "")  # 400: a reason is required
                with pytest.raises(Forbidden):
                    await c["olga"].suppress_mission(other, "not tonight")
                await c["ana"].suppress_mission(other, "school event on that block")
                await wait_until(lambda: c["olga"].mirror.missions[other]["state"] == "suppressed", timeout=1.0)

            # a window that joins later starts from the snapshot, missions included
            late = HubClient(runtime.hub.url, runtime.hub.users.add("late", "commander"), session)
            tasks.append(asyncio.create_task(late.run()))
            await wait_until(lambda: late.mirror.missions.get(first, {}).get("state") == "completed", timeout=2.0)
            assert late.mirror.snapshots == 1 and set(late.mirror.missions) == ids
            await stop_clients((*c.values(), late), tasks)
    finally:
        await runtime.stop()
    actions = audit_actions(tmp_path / "hub.sqlite3")
    assert ("ana", "mission.plan") in actions and ("olga", "mission.assign") in actions
    assert ("olga", "mission.start") in actions and ("olga", "mission.complete") in actions
    assert ("olga", "mission.plan") not in actions


@pytest.mark.asyncio
async def test_too_little_data_is_refused_with_the_reason(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        _shootings(runtime, n_hot=5, n_spread=3)
        async with aiohttp.ClientSession() as session:
            ana = (await _clients(runtime, session, ana="analyst"))["ana"]
            with pytest.raises(WorkflowError, match="8 shootings .* at least 20"):
                await ana.plan_missions(8, 5)
        assert runtime.hub.missions.book.missions() == []
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_dosage_from_unit_tracks_inside_a_box(tmp_path) -> None:
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        async with aiohttp.ClientSession() as session:
            c = await _clients(runtime, session, ana="analyst", olga="operator")
            task = asyncio.create_task(c["olga"].run())
            await wait_until(lambda: c["olga"].mirror.epoch is not None, what="olga connected")
            box = [[39.290, -76.620], [39.290, -76.610], [39.300, -76.610], [39.300, -76.620]]
            made = await c["ana"].add_mission(box, "Penn North", "two shootings this week")
            await c["olga"].assign_mission(made["id"], ["U1"])
            now = runtime.store.clock()
            for k in range(21):  # U1 ten minutes inside; U9 (not assigned) inside too; U2 outside
                runtime.apply(Unit("U1", k + 1, now + 30 * k, UnitStatus.AVAILABLE, 39.295, -76.615))
                runtime.apply(Unit("U9", k + 1, now + 30 * k, UnitStatus.AVAILABLE, 39.295, -76.615))
                runtime.apply(Unit("U2", k + 1, now + 30 * k, UnitStatus.AVAILABLE, 39.250, -76.615))
            assert runtime.hub.missions.update_dosage() == 1
            await wait_until(lambda: c["olga"].mirror.missions.get(made["id"], {}).get("dosage_min", 0) > 0,
                             timeout=1.0, what="dosage on the other screen within a second")
            assert c["olga"].mirror.missions[made["id"]]["dosage_min"] == pytest.approx(10.0)
            assert c["olga"].mirror.missions[made["id"]]["target_min"] == pytest.approx(120.0)
            await c["olga"].stop()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await runtime.stop()


@pytest.mark.asyncio
async def test_send_a_mission_to_a_webhook_and_the_hub_channel(tmp_path) -> None:
    received: list[tuple[str, bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("Content-Type", ""), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    rx, port = await serve_app(receiver)
    runtime = _runtime(tmp_path)
    await runtime.start()
    try:
        runtime.hub.missions.set_endpoints([WebhookEndpoint("district-3", f"http://127.0.0.1:{port}/hook")])
        async with aiohttp.ClientSession() as session:
            c = await _clients(runtime, session, ana="analyst", olga="operator", cmd="commander")
            made = await c["ana"].add_mission([[39.29, -76.62], [39.29, -76.61], [39.30, -76.61]], "Box A", "hand")
            frames: list[dict] = []

            async def listen() -> None:
                async with session.ws_connect(f"{runtime.hub.url}/ws",
                                              headers={"Authorization": f"Bearer {c['olga']._token}"}) as ws:
                    async for msg in ws:
                        frames.append(json.loads(msg.data))

            reader = asyncio.create_task(listen())
            await wait_until(lambda: any(f.get("t") == "snapshot" for f in frames), what="mobile client connected")
            with pytest.raises(Forbidden):
                await c["cmd"].send_message("mission", made["id"])
            deliveries = await c["olga"].send_message("mission", made["id"], "envelope")
            assert {d["endpoint"]: d["state"] for d in deliveries} == {"district-3": "delivered", "hub": "delivered"}
            assert received[0][0].startswith("application/json")
            assert json.loads(received[0][1])["record"]["id"] == made["id"]

            def published() -> list[dict]:
                return [e for f in frames if f.get("t") == "batch" for e in f["events"] if e["t"] == "message"]

            await wait_until(lambda: len(published()) == 1, timeout=1.0, what="message event on the websocket")
            assert published()[0]["topic"] == "missions"
            assert published()[0]["payload"]["body"]["record"]["label"] == "Box A"

            cap = await c["olga"].send_message("mission", made["id"], "cap")
            assert all(d["state"] == "delivered" for d in cap)
            assert received[1][0].startswith("application/cap+xml") and b"<polygon>" in received[1][1]
            listed = await c["cmd"].messages()
            assert [d["message_id"] for d in listed][:1] == [cap[0]["message_id"]] and len(listed) == 4
            with pytest.raises(AnnotationError):
                await c["olga"].send_message("mission", made["id"], "fax")
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    finally:
        await runtime.stop()
        await rx.cleanup()
    actions = audit_actions(tmp_path / "hub.sqlite3")
    assert ("olga", "dissemination.send") in actions and ("olga", "dissemination.delivered") in actions
