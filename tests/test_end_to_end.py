"""End to end without a screen: demo feed server → SSE client → store → SQLite, and a restart."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from opscenter.domain import Kind
from opscenter.feed_health import FeedState
from opscenter.runtime import Runtime, RuntimeConfig
from tests.conftest import wait_until


@pytest.mark.asyncio
async def test_live_demo_reaches_store_and_disk_then_survives_a_restart(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    first = Runtime(RuntimeConfig(db_path=db, seed=5, speed=5.0, flush_s=0.1))
    await first.start()
    try:
        await wait_until(lambda: first.store.size(Kind.SHOT) > 3 and first.store.size(Kind.UNIT) > 20)
        assert first.clients[0].health.state is FeedState.CONNECTED
        shot = sorted(first.store.shots(), key=lambda s: s.id)[0]
        assert first.store.acknowledge(shot.id, by="op-a")
        unit_id = first.store.units()[0].id
        await asyncio.sleep(0.3)
        held_shots = {s.id: s for s in first.store.shots()}
    finally:
        await first.stop()

    rows = sqlite3.connect(db).execute("SELECT kind, COUNT(*) FROM records GROUP BY kind").fetchall()
    assert dict(rows)["shot"] >= len(held_shots)

    second = Runtime(RuntimeConfig(db_path=db, seed=5, speed=60.0, flush_s=0.1, scenario="flood"))
    await second.start()
    try:
        assert second.loaded_from_disk > 0
        # what the wall showed before the restart is there at once, acknowledgement included
        assert {i for i in held_shots} <= {s.id for s in second.store.shots()}
        ack = second.store.acknowledgement(shot.id)
        assert ack is not None and ack.by == "op-a"
        before = second.store.get(Kind.UNIT, unit_id)
        # and the new run's reports move the same units on (no frozen units after a restart)
        await wait_until(lambda: second.store.get(Kind.UNIT, unit_id).reported_at > before.reported_at)
        # the new run's alerts are new records, not silently taken for the old ones
        await wait_until(lambda: second.store.size(Kind.SHOT) > len(held_shots))
    finally:
        await second.stop()


@pytest.mark.asyncio
async def test_garbage_in_the_feed_is_quarantined_and_the_feed_flows_on(tmp_path) -> None:
    runtime = Runtime(RuntimeConfig(db_path=None, seed=2, speed=5.0))
    await runtime.start()
    try:
        runtime.demo.garbage_every = 5
        await wait_until(lambda: len(runtime.quarantine) >= 3)
        count = runtime.store.size(Kind.UNIT)
        await wait_until(lambda: runtime.store.counts["updated"] > 20)
        item = runtime.quarantine.items()[0]
        assert item.source == "demo" and item.reason and item.raw
        assert runtime.clients[0].health.rejected >= 3
        assert runtime.store.size(Kind.UNIT) >= count
    finally:
        await runtime.stop()


def test_records_without_a_district_are_placed_by_the_real_boundaries() -> None:
    from opscenter.domain import AlertType, ShotAlert
    from tests.conftest import SHARED_DATA

    districts = SHARED_DATA / "baltimore" / "bpd_police_districts_2023.geojson"
    if not districts.exists():
        pytest.skip("shared data not present")
    runtime = Runtime(RuntimeConfig(db_path=None, districts_path=districts))
    assert sorted(runtime.districts.names) == sorted(
        ["Central", "Southeastern", "Eastern", "Northeastern", "Northern", "Northwestern", "Western",
         "Southwestern", "Southern"])
    # Baltimore City Hall, in Central; a feed that gives no district
    shot = ShotAlert(id="X-1", version=1, detected_at=1.78e9, lat=39.2908, lon=-76.6108,
                     alert_type=AlertType.SINGLE, rounds=1)
    assert runtime.place(shot).district == "Central"
    # a feed that names the district keeps its word
    named = ShotAlert(id="X-2", version=1, detected_at=1.78e9, lat=39.2908, lon=-76.6108,
                      alert_type=AlertType.SINGLE, rounds=1, district="Eastern")
    assert runtime.place(named).district == "Eastern"
    # outside the city: left empty rather than guessed
    far = ShotAlert(id="X-3", version=1, detected_at=1.78e9, lat=38.9, lon=-77.03,
                    alert_type=AlertType.SINGLE, rounds=1)
    assert runtime.place(far).district == ""
