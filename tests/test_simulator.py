"""The demo simulator: determinism, rates, lifecycles and wire-validity of what it produces."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from opscenter.city import City, build_demo_city
from opscenter.domain import (
    AlertType, CallForService, CallStatus, Deletion, Incident, IncidentStatus, Kind, ShotAlert,
    Unit, UnitStatus,
)
from opscenter.envelope import decode_event, encode_event
from opscenter.simulator import SCENARIOS, Simulator, describe

START = 1_733_000_000.0  # an arbitrary fixed wall time


@pytest.fixture(scope="module")
def city() -> City:
    return build_demo_city()


@pytest.fixture(scope="module")
def long_run(city: City) -> list[tuple[float, object]]:
    """Four simulated hours of the normal scenario, shared by the rate and lifecycle tests."""
    return Simulator(city, "normal", seed=11, start=START).advance_timed(START + 4 * 3600)


def _wire(events: list) -> list[str]:
    return [encode_event(i, t, e) for i, (t, e) in enumerate(events)]


def _latest(events: list, kind: type) -> dict:
    out: dict = {}
    for _, e in events:
        if isinstance(e, kind):
            out[e.id] = e
    return out


def test_same_seed_same_events_however_time_is_sliced(city: City) -> None:
    end = START + 300

    def sim() -> Simulator:
        return Simulator(city, "normal", seed=3, start=START, units_per_district=3)

    whole = sim().advance_timed(end)
    sliced_sim = sim()
    sliced: list = []
    for i in range(1, 101):
        sliced += sliced_sim.advance_timed(START - 1900 + i * 21.0)
    sliced += sliced_sim.advance_timed(end)
    assert len(whole) > 1000 and sum(isinstance(e, ShotAlert) for _, e in whole) >= 10
    assert _wire(sliced) == _wire(whole)
    jittered = sim()
    rng, t, parts = random.Random(1), START - 1800, []
    while t < end:
        t = min(end, t + rng.uniform(0.0, 7.3))
        parts += jittered.advance_timed(t)
    assert _wire(parts) == _wire(whole)


def test_advance_returns_only_events_up_to_t_in_order(city: City) -> None:
    sim = Simulator(city, "flood", seed=2, start=START)
    assert sim.now == START
    seen: list = []
    for t in (START - 600.5, START + 0.25, START + 90.7, START + 300.0):
        batch = sim.advance_timed(t)
        assert all(when <= t for when, _ in batch)
        seen += batch
        assert sim.now == max(t, START)
    assert [w for w, _ in seen] == sorted(w for w, _ in seen)
    assert sim.advance_to(START + 300.0) == []  # nothing twice
    assert sim.advance_to(START) == []  # going back yields nothing


def test_different_seed_gives_different_events(city: City) -> None:
    a = Simulator(city, "normal", seed=1, start=START, units_per_district=2).advance_timed(START)
    b = Simulator(city, "normal", seed=2, start=START, units_per_district=2).advance_timed(START)
    assert _wire(a) != _wire(b)


def test_first_advance_brings_a_warm_backlog(city: City) -> None:
    events = Simulator(city, "normal", seed=4, start=START).advance_timed(START)
    shots = [e for _, e in events if isinstance(e, ShotAlert)]
    calls = _latest(events, CallForService)
    units = _latest(events, Unit)
    assert len(shots) >= 5 and min(s.detected_at for s in shots) < START - 900
    assert len(calls) >= 40
    assert len(units) == 9 * 6  # every unit has a position at the start...
    early = [e for t, e in events if isinstance(e, Unit) and t < START - 10]
    assert len(early) <= 3  # ...mostly from the last seconds (a quiet unit shows its last fix)


def test_flood_floods_and_normal_does_not(city: City) -> None:
    def detections(scenario: str) -> int:
        events = Simulator(city, scenario, seed=5, start=START).advance_to(START + 600)
        return len({e.id for e in events if isinstance(e, ShotAlert) and e.detected_at >= START})

    flood, normal = detections("flood"), detections("normal")
    assert flood >= 300
    assert normal < 30
    events = Simulator(city, "flood", seed=5, start=START).advance_to(START + 600)
    kinds = [e.alert_type for e in _latest([(0, e) for e in events], ShotAlert).values()]
    assert kinds.count(AlertType.MULTIPLE) < kinds.count(AlertType.POSSIBLE_FIRECRACKER)


def test_normal_rates_are_plausible(long_run: list) -> None:
    shots = _latest(long_run, ShotAlert)
    calls = {e.id for _, e in long_run if isinstance(e, CallForService)}
    hours = 4.5  # including the warm-up half hour
    assert 20 <= len(shots) / hours <= 60  # one every 1-3 minutes
    assert 100 <= len(calls) / hours <= 300  # a few per minute


def test_share_of_detections_with_a_911_call(long_run: list) -> None:
    shots = _latest(long_run, ShotAlert)
    linked = [c for c in _latest(long_run, CallForService).values() if c.shot_id]
    assert {c.shot_id for c in linked} <= set(shots)
    share = len({c.shot_id for c in linked}) / len(shots)
    assert 0.05 <= share <= 0.25
    for call in linked:
        assert call.category in ("DISCHRG FIREARM", "SHOOTING")
        assert call.priority.value in ("high", "emergency")
        shot = shots[call.shot_id]
        assert 60 <= call.received_at - shot.detected_at <= 6 * 60 + 1


def test_review_updates_raise_the_version_and_change_the_detection(long_run: list) -> None:
    versions: dict[str, list[ShotAlert]] = defaultdict(list)
    for _, e in long_run:
        if isinstance(e, ShotAlert):
            versions[e.id].append(e)
    reviewed = [v for v in versions.values() if len(v) > 1]
    assert 0.25 <= len(reviewed) / len(versions) <= 0.55
    for first, second in reviewed:
        assert second.version > first.version and second.id == first.id
        assert (second.alert_type, second.rounds) != (first.alert_type, first.rounds)
        assert second.detected_at == first.detected_at
        if second.alert_type is AlertType.SINGLE:
            assert second.rounds == 1


def test_versions_only_rise_and_calls_are_deleted_after_closing(long_run: list) -> None:
    last: dict[tuple[str, str], int] = {}
    closed: set[str] = set()
    deleted = 0
    for _, e in long_run:
        key = (e.kind.value, e.id)
        assert e.version > last.get(key, 0), key
        last[key] = e.version
        if isinstance(e, CallForService) and e.status is CallStatus.CLOSED:
            closed.add(e.id)
        if isinstance(e, Deletion):
            assert e.kind is Kind.CALL and e.id in closed
            deleted += 1
    assert deleted > 80


def test_units_are_dispatched_and_incidents_link_them(long_run: list) -> None:
    statuses: dict[str, list[UnitStatus]] = defaultdict(list)
    for _, e in long_run:
        if isinstance(e, Unit):
            if not statuses[e.id] or statuses[e.id][-1] is not e.status:
                statuses[e.id].append(e.status)
            if e.status in (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
                assert e.assignment
            if e.status is UnitStatus.AVAILABLE:
                assert e.assignment is None
    cycle = [UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.AVAILABLE]
    cycled = [u for u, s in statuses.items()
              if any(s[i:i + 4] == cycle for i in range(len(s)))]
    assert len(cycled) >= 20
    assert any(UnitStatus.OUT_OF_SERVICE in s for s in statuses.values())
    incidents = _latest(long_run, Incident)
    shots = _latest(long_run, ShotAlert)
    assert incidents and any(i.status is IncidentStatus.CLOSED for i in incidents.values())
    for inc in incidents.values():
        assert inc.shot_ids and set(inc.shot_ids) <= set(shots) and inc.unit_ids
    assert any(inc.call_ids for inc in incidents.values())
    shot_jobs = {e.assignment for _, e in long_run if isinstance(e, Unit) and e.assignment}
    assert shot_jobs & set(shots)


def test_units_report_every_five_seconds_and_some_go_silent(long_run: list) -> None:
    times: dict[str, list[float]] = defaultdict(list)
    for t, e in long_run:
        if isinstance(e, Unit):
            assert e.reported_at == t
            times[e.id].append(t)
    gaps = [b - a for ts in times.values() for a, b in zip(ts, ts[1:])]
    assert sorted(gaps)[len(gaps) // 2] == 5.0
    assert max(gaps) >= 120  # a unit went quiet long enough to look stale


def test_every_record_round_trips_and_sits_inside_the_city(city: City) -> None:
    events = Simulator(city, "flood", seed=8, start=START).advance_timed(START + 600)
    for seq, (t, e) in enumerate(events):
        back = decode_event(encode_event(seq, t, e), "demo").payload
        assert back == e
        if not isinstance(e, (Deletion, Incident)):
            assert city.contains(e.lat, e.lon), e
            assert e.source == "demo"
        if isinstance(e, (ShotAlert, CallForService)):
            assert city.locate(e.lat, e.lon) == (e.district, e.post)
            assert e.address and e.id[:4] in ("SST-", "CAD-")


def test_long_run_locations_stay_inside_the_city(city: City, long_run: list) -> None:
    outside = [e for _, e in long_run
               if not isinstance(e, (Deletion, Incident)) and not city.contains(e.lat, e.lon)]
    assert outside == []


def test_scenarios_are_described_and_checked(city: City) -> None:
    assert SCENARIOS == ("normal", "flood")
    assert "flood" in describe("flood") and describe("normal")
    with pytest.raises(ValueError):
        Simulator(city, "riot", seed=1, start=START)
    small = Simulator(city, "normal", seed=1, start=START, units_per_district=2)
    units = _latest(small.advance_timed(START), Unit)
    assert len(units) == 18 and "1A11" in units
