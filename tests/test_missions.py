"""Patrol boxes from a forecast, the repeat cap, hand edits with reasons, and mission states."""

from __future__ import annotations

import json

import numpy as np
import pytest

from opscenter.audit import AuditLog
from opscenter.forecast import KernelDensity, NaiveCounts, grid_over_hull, make_events
from opscenter.missions import (
    MissionBook, MissionError, PlanConfig, cells_outline, inside, plan_boxes,
)

T0 = 1_717_200_000.0  # 2024-06-01
SHIFT = 8 * 3600.0
HOT = (39.2900, -76.6100)  # (lat, lon) of the planted hotspot


def _events(seed: int = 3):
    """Scattered background shootings over ~4 km plus a dense cluster at HOT."""
    rng = np.random.default_rng(seed)
    n_bg, n_hot = 60, 25
    lat = np.concatenate([rng.uniform(39.27, 39.31, n_bg), HOT[0] + rng.normal(0, 0.0003, n_hot)])
    lon = np.concatenate([rng.uniform(-76.64, -76.58, n_bg), HOT[1] + rng.normal(0, 0.0003, n_hot)])
    t = T0 - rng.uniform(1, 60, n_bg + n_hot) * 86400
    return make_events(t, lon, lat, ids=[f"E{i}" for i in range(n_bg + n_hot)])


@pytest.fixture
def setup():
    events = _events()
    grid = grid_over_hull(events.lon, events.lat, cell=150.0)
    model = NaiveCounts(grid).fit(events, T0)
    return grid, model, model.predict()


@pytest.fixture
def book(tmp_path):
    b = MissionBook(tmp_path / "ops.sqlite3")
    yield b
    b.close()


def test_planted_hotspot_becomes_the_first_box_with_its_why(setup, book):
    grid, model, scores = setup
    result = book.plan_shift(T0, T0 + SHIFT, grid, scores, actor="analyst.kim", explain=model.explain,
                             district_of=lambda lat, lon: "Central",
                             config=PlanConfig(max_boxes=3, max_box_cells=4))
    first = result.missions[0]
    assert len(result.missions) == 3
    assert inside(*HOT, first.polygon)
    assert abs(first.centre[0] - HOT[0]) < 0.003 and abs(first.centre[1] - HOT[1]) < 0.003
    assert first.state == "planned" and first.district == "Central" and first.created_by == "analyst.kim"
    assert first.target_min == pytest.approx(15.0 * 8)
    assert 1 <= len(first.why) <= 3 and first.why[0]["event_id"].startswith("E")
    assert int(first.why[0]["event_id"][1:]) >= 60  # a planted event, not the background
    d = first.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"id", "label", "district", "state", "units", "polygon", "centre", "dosage_min", "target_min",
            "created_by", "reason", "why"} <= set(d)
    assert d["polygon"][0] == list(first.polygon[0]) and len(d["polygon"][0]) == 2


def test_adjacent_cells_merge_up_to_the_cap_and_without_merge_one_cell_each(setup):
    grid, _, _ = setup
    rows, cols = grid.cell_rc()
    at = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(rows, cols))}
    r, c = int(rows[grid.n_cells // 2]), int(cols[grid.n_cells // 2])
    block = [at[(r + dr, c + dc)] for dr in range(3) for dc in range(3)]  # a 3x3 hot block
    scores = np.zeros(grid.n_cells)
    scores[block] = np.arange(9, 0, -1)
    merged = plan_boxes(grid, scores, PlanConfig(max_box_cells=4))
    assert [len(b.cells) for b in merged][:1] == [4]
    assert sum(len(b.cells) for b in merged) == 9
    single = plan_boxes(grid, scores, PlanConfig(merge=False, max_boxes=20))
    assert all(len(b.cells) == 1 for b in single) and len(single) == 9
    whole = cells_outline(grid, block)
    assert len(whole) == 4  # a 3x3 block is one square, collinear corners dropped
    lon, lat = grid.centres_lonlat()
    assert all(inside(float(lat[k]), float(lon[k]), whole) for k in block)


def test_box_patrolled_in_each_of_last_k_shifts_is_rested_unless_pinned(setup, book):
    grid, model, scores = setup
    cfg = PlanConfig(max_boxes=2, max_box_cells=4, repeat_cap=2)
    firsts = []
    for k in range(2):
        firsts.append(book.plan_shift(T0 + k * SHIFT, T0 + (k + 1) * SHIFT, grid, scores,
                                      actor="a", config=cfg).missions[0])
    assert firsts[0].cells == firsts[1].cells
    third = book.plan_shift(T0 + 2 * SHIFT, T0 + 3 * SHIFT, grid, scores, actor="a", config=cfg)
    assert third.rested and third.rested[0].cells == firsts[0].cells
    assert all(not inside(*HOT, m.polygon) for m in third.missions)
    assert len(third.missions) == 2  # the next-best boxes fill the places
    book.pin(third.missions[0].id, actor="a", reason="x")  # pins travel with the box only
    book.pin(firsts[1].id, actor="a", reason="shooting spree continues")
    # shift 3 did not patrol HOT, so shift 4 plans it again; pinning shift 2's box changes nothing
    fourth = book.plan_shift(T0 + 3 * SHIFT, T0 + 4 * SHIFT, grid, scores, actor="a", config=cfg)
    assert inside(*HOT, fourth.missions[0].polygon)


def test_pinned_box_is_not_rested(setup, book):
    grid, _, scores = setup
    cfg = PlanConfig(max_boxes=2, repeat_cap=2)
    for k in range(2):
        plan = book.plan_shift(T0 + k * SHIFT, T0 + (k + 1) * SHIFT, grid, scores, actor="a", config=cfg)
    book.pin(plan.missions[0].id, actor="lt.ortiz", reason="retaliation expected")
    third = book.plan_shift(T0 + 2 * SHIFT, T0 + 3 * SHIFT, grid, scores, actor="a", config=cfg)
    assert plan.missions[0].cells not in [b.cells for b in third.rested]
    assert plan.missions[1].cells in [b.cells for b in third.rested]  # the unpinned one rests
    assert inside(*HOT, third.missions[0].polygon) and third.missions[0].pinned


def test_suppress_needs_a_reason_and_is_audited(setup, book, tmp_path):
    grid, _, scores = setup
    m = book.plan_shift(T0, T0 + SHIFT, grid, scores, actor="a").missions[0]
    for reason in ("", "   ", "bad\x00reason"):
        with pytest.raises(MissionError):
            book.suppress(m.id, actor="analyst", reason=reason)
    assert book.get(m.id).state == "planned"
    seen = []
    book.subscribe(lambda event, mission: seen.append((event, mission.state)))
    book.suppress(m.id, actor="analyst.kim", reason="school event, officers already present")
    assert seen == [("suppressed", "suppressed")]
    log = AuditLog(tmp_path / "ops.sqlite3")
    entries = [e for e in log.entries() if e.action == "mission.suppress"]
    assert entries and entries[0].actor == "analyst.kim" and entries[0].target == m.id
    assert entries[0].details["reason"] == "school event, officers already present"
    assert log.verify().ok
    log.close()


def test_manual_box_by_polygon_or_cells_requires_a_reason(setup, book):
    grid, _, _ = setup
    ring = [[39.30, -76.62], [39.30, -76.61], [39.31, -76.61], [39.31, -76.62]]
    with pytest.raises(MissionError, match="reason"):
        book.add_manual(T0, T0 + SHIFT, actor="a", reason="", polygon=ring)
    with pytest.raises(MissionError):
        book.add_manual(T0, T0 + SHIFT, actor="a", reason="r", polygon=[[39.3, -76.6], [91, 0], [39, -76]])
    with pytest.raises(MissionError):
        book.add_manual(T0, T0 + SHIFT, actor="a", reason="r", cells=[grid.n_cells + 5], grid=grid)
    m = book.add_manual(T0, T0 + SHIFT, actor="a", reason="community meeting request", polygon=ring)
    assert m.source == "manual" and inside(39.305, -76.615, m.polygon)
    c = book.add_manual(T0, T0 + SHIFT, actor="a", reason="r", cells=[0], grid=grid)
    assert len(c.polygon) == 4 and c.cells == (0,)


def test_assignment_and_state_transitions(setup, book, tmp_path):
    grid, _, scores = setup
    m = book.plan_shift(T0, T0 + SHIFT, grid, scores, actor="a").missions[0]
    with pytest.raises(MissionError, match="is planned; it cannot become active"):
        book.transition(m.id, "active", actor="sgt")
    with pytest.raises(MissionError, match="cannot become completed"):
        book.transition(m.id, "completed", actor="sgt")
    with pytest.raises(MissionError):
        book.assign(m.id, [], actor="sgt")
    with pytest.raises(MissionError):
        book.assign(m.id, "1A21", actor="sgt")  # a bare string is not a list of ids
    assert book.assign(m.id, ["1A21", "1A22"], actor="sgt").state == "assigned"
    assert book.transition(m.id, "active", actor="sgt").state == "active"
    assert book.assign(m.id, ["1A21"], actor="sgt").state == "active"
    with pytest.raises(MissionError, match="cannot become suppressed"):
        book.suppress(m.id, actor="analyst", reason="too late")
    with pytest.raises(MissionError, match="reason"):
        book.transition(m.id, "cancelled", actor="sgt", reason="")
    assert book.transition(m.id, "completed", actor="sgt").state == "completed"
    with pytest.raises(MissionError, match="is completed"):
        book.transition(m.id, "cancelled", actor="sgt", reason="x")
    with pytest.raises(MissionError, match="no mission"):
        book.transition("M-nothing", "active", actor="sgt")
    book.close()
    again = MissionBook(tmp_path / "ops.sqlite3")  # persisted across restarts
    assert again.get(m.id).state == "completed" and again.get(m.id).units == ("1A21",)
    actions = [e.action for e in again.audit.entries()]
    assert actions == ["mission.plan", "mission.assign", "mission.start", "mission.assign",
                       "mission.complete"]
    assert again.audit.verify().ok
    again.close()


def test_shift_is_planned_once_and_bad_windows_are_refused(setup, book):
    grid, _, scores = setup
    book.plan_shift(T0, T0 + SHIFT, grid, scores, actor="a")
    with pytest.raises(MissionError, match="already planned"):
        book.plan_shift(T0, T0 + SHIFT, grid, scores, actor="a")
    with pytest.raises(MissionError):
        book.plan_shift(T0 + SHIFT, T0, grid, scores, actor="a")
    with pytest.raises(MissionError):
        book.plan_shift(T0 + SHIFT, T0 + 2 * SHIFT, grid, scores[:-1], actor="a")


def test_the_schema_migration_creates_the_missions_table(tmp_path):
    from opscenter.schema import connect

    db = connect(tmp_path / "x.sqlite3")
    assert db.execute("SELECT name FROM sqlite_master WHERE name='missions'").fetchone()


def test_kernel_forecast_also_finds_the_hotspot(book):
    events = _events(seed=9)
    grid = grid_over_hull(events.lon, events.lat, cell=150.0)
    model = KernelDensity(grid, bandwidth_m=150.0).fit(events, T0)
    plan = book.plan_shift(T0, T0 + SHIFT, grid, model.predict(), actor="a", explain=model.explain)
    assert inside(*HOT, plan.missions[0].polygon)
