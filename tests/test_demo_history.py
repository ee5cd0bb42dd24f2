"""The demo's invented past: repeatable, plausible, valid, clustered, and written once."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from opscenter.city import build_demo_city
from opscenter.compstat import CITY, figures_from_archive, is_homicide, is_shooting
from opscenter.demo_history import (
    DISTRICTS, META_KEY, SOURCE, WARMUP_S, YEAR, generate_history, live_hotspots,
    seed_demo_history,
)
from opscenter.domain import AlertType, CallForService, CrimeReport, Kind, Origin, ShotAlert
from opscenter.envelope import record_from_dict, record_to_dict
from opscenter.feed_config import FeedConfig
from opscenter.forecast.data import events_from_records
from opscenter.forecast.knox import knox_test
from opscenter.persistence import Archive
from opscenter.risk import compute_risk
from opscenter.runtime import Runtime, RuntimeConfig

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZONE).timestamp()
END = NOW - WARMUP_S
START = END - 2 * YEAR
DAY = 86400.0
CITY_MAP = build_demo_city()
HISTORY = generate_history(CITY_MAP, START, END, seed=1)


def of(kind: type, records: list) -> list:
    return [r for r in records if isinstance(r, kind)]


def when(record) -> float:
    return getattr(record, "detected_at", None) or getattr(record, "occurred_at", None) \
        or record.received_at


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    assert generate_history(CITY_MAP, START, END, seed=1) == HISTORY
    other = generate_history(CITY_MAP, START, END, seed=2)
    assert other != HISTORY and all(r.id.startswith("HIST-2-") for r in other)


def test_two_years_are_generated_within_three_seconds_of_cpu() -> None:
    began = time.process_time()
    generate_history(CITY_MAP, START, END, seed=3)
    assert time.process_time() - began < 3.0


def test_counts_kinds_and_links_are_plausible() -> None:
    shots, reports, calls = of(ShotAlert, HISTORY), of(CrimeReport, HISTORY), of(CallForService, HISTORY)
    assert len(shots) + len(reports) + len(calls) == len(HISTORY)
    assert 5000 <= len(shots) <= 8000
    victims = [r for r in reports if is_shooting(r) or is_homicide(r)]
    assert len(victims) == len(reports) and 1000 <= len(victims) <= 2000
    assert 0.1 <= sum(map(is_homicide, reports)) / len(reports) <= 0.35
    assert {r.origin for r in reports} == {Origin.VICTIM_REPORTED} and {r.weapon for r in reports} == {"FIREARM"}
    types = Counter(s.alert_type for s in shots)
    assert types[AlertType.MULTIPLE] > types[AlertType.SINGLE] > types[AlertType.POSSIBLE_FIRECRACKER] > 0
    for s in shots:
        assert (s.rounds == 1) if s.alert_type is AlertType.SINGLE else s.rounds >= 1
        assert s.rounds >= 2 or s.alert_type is not AlertType.MULTIPLE
    ids = [r.id for r in HISTORY]
    assert len(set(ids)) == len(ids) and all(i.startswith("HIST-1-") for i in ids)
    assert all(START <= when(r) < END + 1800 for r in HISTORY)
    assert [when(r) for r in HISTORY] == sorted(when(r) for r in HISTORY)
    by_id = {s.id: s for s in shots}
    linked = [c for c in calls if c.shot_id is not None]
    assert len(linked) > 0.05 * len(shots)
    for call in linked:  # a call reports a detection that exists, some seconds to minutes later
        assert 0 < call.received_at - by_id[call.shot_id].detected_at <= 1800 + 60
    assert {c.category for c in calls} == {"SHOOTING", "DISCHRG FIREARM"}


def test_every_record_is_placed_and_survives_the_envelope() -> None:
    for record in HISTORY:
        assert record_from_dict(record.kind, json.loads(json.dumps(record_to_dict(record))),
                                record.source) == record
        assert record.source == SOURCE and record.address and record.post
        assert CITY_MAP.locate(record.lat, record.lon) == (record.district, record.post)


def test_gunfire_is_at_night_in_summer_and_in_the_hot_districts() -> None:
    shots = of(ShotAlert, HISTORY)
    hours = Counter(datetime.fromtimestamp(s.detected_at, ZONE).hour for s in shots)
    night = sum(hours[h] for h in (21, 22, 23, 0, 1, 2))
    morning = sum(hours[h] for h in (6, 7, 8, 9, 10, 11))
    assert night > 3 * morning
    gunfire = [s for s in shots if s.alert_type is not AlertType.POSSIBLE_FIRECRACKER]
    months = Counter(datetime.fromtimestamp(s.detected_at, ZONE).month for s in gunfire)
    assert months[6] + months[7] + months[8] > 1.4 * (months[12] + months[1] + months[2])
    districts = Counter(s.district for s in shots)
    assert min(districts["Western"], districts["Eastern"]) > 2 * districts["Northern"]
    # the live simulator's hotspots are hot in the history as well
    for lat, lon in live_hotspots(CITY_MAP, 1):
        x0, y0 = CITY_MAP.projection.to_xy(lon, lat)
        near = sum(1 for s in shots if np.hypot(*np.subtract(CITY_MAP.projection.to_xy(s.lon, s.lat),
                                                             (x0, y0))) < 300)
        assert near > 40


def test_the_live_simulator_draws_the_same_hotspots() -> None:
    from opscenter.simulator import Simulator

    sim = Simulator(CITY_MAP, seed=4, start=NOW, warmup_s=0.0)
    expected = [CITY_MAP.projection.to_xy(lon, lat) for lat, lon in live_hotspots(CITY_MAP, 4)]
    assert np.allclose(sim._hotspots, expected)


def knox_ratio(records: list) -> tuple[float, float]:
    shots = of(ShotAlert, records)
    xy = np.array([CITY_MAP.projection.to_xy(s.lon, s.lat) for s in shots])
    days = np.array([s.detected_at for s in shots]) / DAY
    result = knox_test(xy[:, 0], xy[:, 1], days, distance_edges=(0, 200), time_edges=(0, 14),
                       simulations=9, seed=1)
    return float(result.ratio[0, 0]), float(result.p_value[0, 0])


def test_shootings_repeat_near_each_other_and_only_because_of_the_triggering() -> None:
    ratio, p_value = knox_ratio(HISTORY)
    assert ratio > 1.4 and p_value <= 0.1
    flat = generate_history(CITY_MAP, END - YEAR, END, seed=1, branching=0.0)
    assert knox_ratio(flat)[0] < 1.2


def test_year_on_year_differs_by_district() -> None:
    shots = of(ShotAlert, HISTORY)
    last = Counter(s.district for s in shots if s.detected_at >= END - YEAR)
    before = Counter(s.district for s in shots if END - 2 * YEAR <= s.detected_at < END - YEAR)
    down = [d for d, (_, ratio) in DISTRICTS.items() if ratio <= 0.9]
    up = [d for d, (_, ratio) in DISTRICTS.items() if ratio >= 1.1]
    assert sum(last[d] for d in down) < 0.95 * sum(before[d] for d in down)
    assert sum(last[d] for d in up) > 1.05 * sum(before[d] for d in up)


def test_the_risk_layer_has_areas_to_show() -> None:
    year = [r for r in HISTORY if not isinstance(r, CallForService) and when(r) >= END - YEAR]
    assert len(events_from_records(year)) > 1000  # every record is accepted forecast input
    surface = compute_risk(year, NOW)
    assert not surface.empty, surface.reason
    assert surface.skipped == 0 and surface.cells[0]["share_trigger"] > 0


def test_seeded_archive_gives_compstat_figures_for_both_years(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    written = seed_demo_history(db, CITY_MAP, NOW, seed=1)
    archive = Archive(db)
    try:
        assert written == archive.count() == len(HISTORY)
        for period in ("28d", "ytd"):
            figures = figures_from_archive(archive, period, NOW)
            city = next(row for row in figures.table if row.area == CITY).figures
            for metric in ("shootings", "homicides", "detections"):
                assert city[metric].current > 0 and city[metric].earlier > 0, (period, metric)
            assert {row.area for row in figures.table} == set(DISTRICTS) | {CITY}
            assert figures.response[-1].count > 0  # detection -> 911 times
    finally:
        archive.close()


def test_seeding_twice_writes_nothing_the_second_time(tmp_path, monkeypatch) -> None:
    import opscenter.demo_history as demo_history

    db = tmp_path / "ops.sqlite3"
    first = seed_demo_history(db, CITY_MAP, NOW, seed=1)
    assert first > 0
    with monkeypatch.context() as m:  # the mark alone decides: a restart does not even generate
        m.setattr(demo_history, "generate_history", lambda *a, **k: pytest.fail("generated again"))
        assert seed_demo_history(db, CITY_MAP, NOW + DAY, seed=1) == 0
    note = json.loads(sqlite3.connect(db).execute("SELECT value FROM meta WHERE key=?", (META_KEY,))
                      .fetchone()[0])
    assert note["records"] == first and note["end"] == END
    with sqlite3.connect(db) as conn:  # the mark lost: the ids still keep the archive as it was
        conn.execute("DELETE FROM meta WHERE key=?", (META_KEY,))
    assert seed_demo_history(db, CITY_MAP, NOW, seed=1) == 0
    archive = Archive(db)
    assert archive.count() == first
    archive.close()


def test_other_history_is_never_mixed_with_invented_history(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    real = CrimeReport("BAL-1", 1, NOW - 40 * DAY, "shooting", Origin.VICTIM_REPORTED,
                       lat=39.29, lon=-76.61, source="part1.csv")
    archive = Archive(db)
    archive.write([real])
    assert seed_demo_history(db, CITY_MAP, NOW, seed=1) == 0
    assert archive.count() == 1
    archive.close()


def test_history_ends_where_a_kept_demo_archive_begins(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    kept_at = NOW - 3 * DAY
    live = ShotAlert("SST-X-000001", 1, kept_at, 39.29, -76.61, AlertType.SINGLE, 1, source="demo")
    archive = Archive(db)
    archive.write([live])
    assert seed_demo_history(db, CITY_MAP, NOW, seed=1) > 0
    newest = max(when(r) for kind in (Kind.SHOT, Kind.REPORT)
                 for r in archive.records(kind) if r.source == SOURCE)
    assert newest < kept_at
    archive.close()


def history_in(db) -> int:
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM archive WHERE source=?",
                                       (SOURCE,)).fetchone()[0]


@pytest.mark.asyncio
async def test_the_embedded_demo_seeds_its_database_and_other_feeds_do_not(tmp_path) -> None:
    demo = Runtime(RuntimeConfig(db_path=tmp_path / "demo.sqlite3", seed=1, speed=5.0))
    await demo.start()
    try:
        assert history_in(tmp_path / "demo.sqlite3") > 5000
    finally:
        await demo.stop()
    remote = Runtime(RuntimeConfig(db_path=tmp_path / "remote.sqlite3",
                                   feed_url="http://127.0.0.1:9/events"))
    feeds = [FeedConfig(name="vendor", kind="sse", url="http://127.0.0.1:9/events")]
    beside = Runtime(RuntimeConfig(db_path=tmp_path / "beside.sqlite3", feeds=feeds, with_demo=True))
    for runtime, name in ((remote, "remote"), (beside, "beside")):
        await runtime.start()
        try:
            assert runtime.journal is not None
        finally:
            await runtime.stop()
        assert history_in(tmp_path / f"{name}.sqlite3") == 0
    assert beside.demo is not None  # the demo ran beside the feeds, still without invented history
