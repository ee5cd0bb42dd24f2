"""The wall on live demo data (offscreen): queue, deployment and map all fill from the simulator."""

from __future__ import annotations

import asyncio
import json

import pytest

from opscenter.domain import AlertType, Kind, ShotAlert
from opscenter.runtime import Runtime, RuntimeConfig
from tests.conftest import wait_until
from ui.alert_queue import AlertRow, GroupRow
from ui.app import Wall, WallOptions

XSS = [
    '<img src=x onerror="window.__pwned=1">',
    "</script><script>window.__pwned=2</script>",
    '"><svg onload=window.__pwned=3>',
    "javascript:window.__pwned=4",
    "<b>bold</b>&amp;",
]


async def js(view, script: str, timeout: float = 10.0):
    future = asyncio.get_event_loop().create_future()
    view.evaluate(script, lambda result: future.done() or future.set_result(result))
    raw = await asyncio.wait_for(future, timeout)
    return json.loads(raw) if isinstance(raw, str) and raw and raw[0] in "{[n" else raw


def running_wall(run, config: RuntimeConfig, options: WallOptions):
    """Start a runtime and its wall on the test's loop; yields the wall, stops both after."""
    runtime = Runtime(config)

    # Everything that may spin Qt's event loop happens while the asyncio loop runs.
    async def start() -> Wall:
        await runtime.start()
        return Wall(runtime, options)

    wall = run(start())
    try:
        yield wall
    finally:
        async def stop() -> None:
            wall.close()
            await runtime.stop()

        run(stop())


@pytest.fixture
def wall(run, tmp_path):
    yield from running_wall(run, RuntimeConfig(db_path=tmp_path / "ops.sqlite3", scenario="normal", seed=3),
                            WallOptions(size=(1600, 900), operator="op-test"))


def test_queue_deployment_and_map_fill_from_the_live_demo(wall, run) -> None:
    window = wall.window

    async def scenario():
        await wait_until(lambda: window.map_view.is_ready, timeout=30)
        await wait_until(lambda: len(window.queue_model.rows) > 0)
        await wait_until(lambda: sum(window.deployment_model.totals().values()) > 0)
        await wait_until(lambda: window.map_view.deltas_sent > 1)
        await asyncio.sleep(0.5)
        return await js(window.map_view, "ops.counts()")

    counts = run(scenario())
    store = wall.runtime.store
    assert counts["units"] == store.size(Kind.UNIT) > 0
    assert counts["shots"] == store.size(Kind.SHOT) > 0
    totals = window.deployment_model.totals()
    assert sum(totals.values()) == store.size(Kind.UNIT)
    # the queue shows every open alert, one row each or counted in a district row
    open_ids = set()
    for row in window.queue_model.rows:
        if isinstance(row, GroupRow):
            open_ids.update(row.ids)
        elif not row.acknowledged:
            open_ids.add(row.shot.id)
    assert open_ids == {s.id for s in store.unacknowledged()}
    assert "connected" in window.feed_label.text()


def test_acknowledge_from_the_window(wall, run) -> None:
    window = wall.window
    run(wait_until(lambda: any(isinstance(r, AlertRow) for r in window.queue_model.rows)))
    row = next(i for i, r in enumerate(window.queue_model.rows) if isinstance(r, AlertRow))
    alert_id = window.queue_model.rows[row].shot.id
    window.queue_view.selectRow(row)
    assert window.acknowledge_selected() == 1
    ack = wall.runtime.store.acknowledgement(alert_id)
    assert ack is not None and ack.by == "op-test"
    # and it is on the audit trail, attributed, in a chain that verifies
    entries = wall.runtime.audit.entries()
    assert [(e.actor, e.action, e.target) for e in entries][-1] == ("op-test", "alert.acknowledge", alert_id)
    assert wall.runtime.audit.verify().ok
    run(wait_until(lambda: any(isinstance(r, AlertRow) and r.shot.id == alert_id and r.acknowledged
                               for r in window.queue_model.rows)))


def test_new_alert_pulses_on_the_map_and_chimes(wall, run) -> None:
    window = wall.window
    run(wait_until(lambda: window.map_view.is_ready, timeout=30))
    store = wall.runtime.store
    played = len(window.sound.played)
    store.apply(ShotAlert(id="T-1", version=1, detected_at=store.clock(), lat=window.map_view.store.get(
        Kind.UNIT, store.units()[0].id).lat, lon=store.units()[0].lon, alert_type=AlertType.MULTIPLE,
        rounds=9, address="1 Test St", district="Central", post="111"))

    async def check():
        await wait_until(lambda: len(window.sound.played) > played)
        await asyncio.sleep(0.3)
        return await js(window.map_view, "ops.counts()")

    counts = run(check())
    assert 1 <= counts["pulses"] <= 12
    assert window.queue_model.rows[0].shot.id == "T-1"  # newest first


def test_map_bridge_adds_moves_and_removes_markers(wall, run) -> None:
    view = wall.window.map_view
    run(wait_until(lambda: view.is_ready, timeout=30))

    async def steps():
        unit = ["ZZ9", 39.30, -76.60, "available", 0, None, None]
        view._send({"units": {"upsert": [unit], "remove": []}})
        first = await js(view, "ops.position('units', 'ZZ9')")
        view._send({"units": {"upsert": [["ZZ9", 39.31, -76.60, "en_route", 0, 90.0, "S-1"]], "remove": []}})
        moved = await js(view, "ops.position('units', 'ZZ9')")
        view._send({"units": {"upsert": [], "remove": ["ZZ9"]}})
        gone = await js(view, "ops.position('units', 'ZZ9')")
        return first, moved, gone

    first, moved, gone = run(steps())
    assert first["lat"] == pytest.approx(39.30) and moved["lat"] == pytest.approx(39.31)
    assert gone is None


def test_feed_strings_never_execute_in_the_map(wall, run) -> None:
    """Every layer that shows feed text gets the injection corpus; a JS sentinel must stay unset."""
    from opscenter.domain import Advisory, CallForService, Priority, Unit, UnitStatus

    view = wall.window.map_view
    store = wall.runtime.store
    run(wait_until(lambda: view.is_ready, timeout=30))
    now = store.clock()
    probes = []
    for i, payload in enumerate(XSS):
        store.apply(ShotAlert(id=f"X-{i}", version=1, detected_at=now - 1000, lat=39.29,
                              lon=-76.61, alert_type=AlertType.SINGLE, rounds=1, address=payload,
                              district=payload[:20], post="1"))
        store.apply(CallForService(id=f"XC-{i}", version=1, received_at=now, priority=Priority.HIGH,
                                   category=payload[:80], description=payload, lat=39.30, lon=-76.62,
                                   address=payload))
        store.apply(Unit(id=payload[:80], version=1, reported_at=now, status=UnitStatus.AVAILABLE,
                         lat=39.31, lon=-76.63, assignment=None))
        store.apply(Advisory(id=f"XA-{i}", version=1, issued_at=now, category="cot", event=payload,
                             headline=payload, lat=39.32, lon=-76.64))
        probes += [("shots", f"X-{i}", payload), ("calls", f"XC-{i}", payload),
                   ("units", payload[:80], payload[:80]), ("advisories", f"XA-{i}", payload)]

    async def probe():
        await asyncio.sleep(0.8)
        shown = [await js(view, f"ops.tooltip({json.dumps(kind)}, {json.dumps(id_)})") for kind, id_, _ in probes]
        await asyncio.sleep(0.5)
        pwned = await js(view, "String(window.__pwned)")
        return shown, pwned

    shown, pwned = run(probe())
    assert pwned == "undefined"
    for (kind, _id, payload), tip in zip(probes, shown):
        assert tip is not None, f"{kind} marker missing"
        assert payload in tip["text"], kind  # shown literally, as text
        assert "<img" not in tip["html"] and "<svg" not in tip["html"] and "<script" not in tip["html"]


def test_stale_unit_shows_in_deployment_and_recovers(wall, run) -> None:
    from opscenter.domain import Unit, UnitStatus
    from ui.deployment import STALE_COL

    store = wall.runtime.store
    model = wall.window.deployment_model
    late = store.clock() - store.unit_stale_s - 30
    store.apply(Unit(id="9Z9", version=1, reported_at=late, status=UnitStatus.AVAILABLE,
                     lat=39.25, lon=-76.62, district="Southern"))
    run(wait_until(lambda: "9Z9" in sum(model.stale, [])))
    row = model.districts.index("Southern")
    assert "9Z9" in model.index(row, STALE_COL).data()
    store.apply(Unit(id="9Z9", version=2, reported_at=store.clock(), status=UnitStatus.AVAILABLE,
                     lat=39.25, lon=-76.62, district="Southern"))
    run(wait_until(lambda: "9Z9" not in sum(model.stale, [])))


@pytest.fixture
def flood_wall(run, tmp_path):
    yield from running_wall(run, RuntimeConfig(db_path=None, scenario="flood", seed=8, speed=20.0),
                            WallOptions(size=(1600, 900)))


def test_flood_groups_but_keeps_every_open_alert_in_sight(flood_wall, run) -> None:
    from opscenter.alerting import Chime

    window = flood_wall.window
    store = flood_wall.runtime.store
    run(wait_until(lambda: len(store.unacknowledged()) > 150, timeout=30))
    run(wait_until(lambda: window.banner.isVisible(), timeout=10))
    model = window.queue_model
    model.rebuild()  # the rows as of this instant, so they can be compared with the store exactly
    assert model.flood and "FLOOD" in window.banner.text()
    assert window.map_view.follow_suspended  # the map shows the city, it does not chase alerts
    visible_rows = model.fits + 12  # what the panel shows plus the district rows
    seen: set[str] = set()
    for row in model.rows[:visible_rows]:
        seen.update(row.ids if isinstance(row, GroupRow) else [row.shot.id])
    open_now = {s.id for s in store.unacknowledged()}
    assert open_now <= seen
    assert Chime.FLOOD in window.sound.played
    assert window.sound.played.count(Chime.FLOOD) < 10  # rate-limited, not one per alert
    # acknowledging a district row acknowledges every alert it holds
    group_row = next(i for i, r in enumerate(model.rows) if isinstance(r, GroupRow))
    ids = model.rows[group_row].ids
    assert model.acknowledge_row(group_row, by="op") == len(ids)
    assert all(store.is_acknowledged(i) for i in ids)


def test_quarantine_is_counted_and_viewable(wall, run) -> None:
    from opscenter.errors import ParseError
    from ui.quarantine_view import QuarantineDialog

    window = wall.window
    wall.runtime.quarantine.add(ParseError("feed-x", "shot.lat: 123 outside -90..90", b'{"lat": 123}\x00\x01'))
    run(wait_until(lambda: window.quarantine_button.text() == "Quarantine: 1"))
    assert "feed-x: shot.lat" in window.status_label.text()
    dialog = QuarantineDialog(wall.runtime.quarantine, window)
    assert dialog.model.rowCount() == 1
    assert dialog.model.index(0, 1).data() == "feed-x"
    dialog.table.selectRow(0)
    assert '{"lat": 123}\\x00\\x01' in dialog.raw.toPlainText()
    wall.runtime.quarantine.add(ParseError("feed-y", "not JSON", b"garbage"))
    assert dialog.model.rowCount() == 2 and dialog.model.index(0, 1).data() == "feed-y"
    dialog.done(0)


def test_clicking_a_marker_opens_details_with_what_is_nearby(wall, run) -> None:
    from opscenter.domain import CallForService, Priority

    window = wall.window
    store = wall.runtime.store
    run(wait_until(lambda: window.map_view.is_ready, timeout=30))
    now = store.clock()
    store.apply(ShotAlert(id="N-1", version=1, detected_at=now - 600, lat=39.3000, lon=-76.6000,
                          alert_type=AlertType.SINGLE, rounds=1, address="<i>old</i>"))
    store.apply(ShotAlert(id="N-2", version=1, detected_at=now, lat=39.3010, lon=-76.6000,
                          alert_type=AlertType.MULTIPLE, rounds=5, address="1 Near St"))
    store.apply(CallForService(id="N-C", version=1, received_at=now + 60, priority=Priority.HIGH,
                               category="DISCHRG FIREARM", description="", lat=39.3005, lon=-76.6003))

    async def click():
        await asyncio.sleep(0.5)
        # the page reports a click as a console line; this is the line a click on N-2 writes
        await js(window.map_view, "console.log('ops-click ' + JSON.stringify({kind: 'shots', id: 'N-2'}))")
        await wait_until(lambda: window.details.selected is not None)

    run(click())
    assert window.details.selected == (Kind.SHOT, "N-2")
    ids = {window.details.table.item(r, 1).text() for r in range(window.details.table.rowCount())}
    assert {"N-1", "N-C"} <= ids and "N-2" not in ids  # earlier shot 111 m away, the call 65 m away
    distances = [window.details.table.item(r, 2).text() for r in range(window.details.table.rowCount())]
    assert distances[0].endswith(" m")
    assert window.right_split.sizes()[2] > 0  # the panel opened


def test_the_map_page_never_reaches_off_the_machine(wall, run) -> None:
    view = wall.window.map_view
    run(wait_until(lambda: view.is_ready, timeout=30))

    async def try_to_leak():
        await asyncio.sleep(0.5)
        await js(view, "(function(){ window.__leak = {img: 'pending', fetch: 'pending'};"
                       " var i = new Image(); i.onload = function(){ window.__leak.img = 'loaded'; };"
                       " i.onerror = function(){ window.__leak.img = 'blocked'; };"
                       " i.src = 'https://tiles.example.org/1/2/3.png';"
                       " fetch('http://203.0.113.9/x').then(function(){ window.__leak.fetch = 'reached'; },"
                       " function(){ window.__leak.fetch = 'blocked'; }); return 'ok'; })()")
        result = {}
        for _ in range(100):
            result = await js(view, "JSON.stringify(window.__leak)")
            if "pending" not in result.values():
                break
            await asyncio.sleep(0.1)
        return result

    result = run(try_to_leak())
    assert result == {"img": "blocked", "fetch": "blocked"}
    # and nothing the page itself loads (Leaflet, styles, scripts) needed the network
    assert view.interceptor.blocked == []


def test_the_map_draws_tiles_from_a_local_mbtiles_file(run, tmp_path) -> None:
    import math
    import sqlite3

    from tests.test_tiles import png

    path = tmp_path / "city.mbtiles"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    for z in (11, 12, 13):
        n = 2 ** z
        xs = [int((lon + 180) / 360 * n) for lon in (-76.75, -76.50)]
        ys = [int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n) for lat in (39.40, 39.17)]
        for x in range(xs[0], xs[1] + 1):
            for y in range(ys[0], ys[1] + 1):
                db.execute("INSERT INTO tiles VALUES (?,?,?,?)", (z, x, n - 1 - y, png(60)))
    db.commit()
    db.close()
    walls = running_wall(run, RuntimeConfig(db_path=None, tiles_path=path), WallOptions(size=(1400, 900)))
    wall = next(walls)
    try:
        run(wait_until(lambda: wall.window.map_view.is_ready, timeout=30))
        run(wait_until(lambda: wall.runtime.tile_server.served >= 4, timeout=20))
        assert wall.window.map_view.interceptor.blocked == []
    finally:
        walls.close()


def test_heat_layer_counts_recent_shootings(wall, run) -> None:
    view = wall.window.map_view
    store = wall.runtime.store
    run(wait_until(lambda: view.is_ready, timeout=30))
    store.apply(ShotAlert(id="H-old", version=1, detected_at=store.clock() - 9 * 86400, lat=39.29,
                          lon=-76.61, alert_type=AlertType.SINGLE, rounds=1))

    async def heat():
        await asyncio.sleep(0.5)
        return await js(view, "ops.showHeat(true)")

    count = run(heat())
    recent = sum(1 for s in store.shots() if store.clock() - s.detected_at < 7 * 86400)
    assert count == recent > 0  # the nine-day-old alert is not in the heat
