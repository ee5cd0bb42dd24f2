"""Briefing mode (offscreen): rotation timing, pause, keys, alert interrupts, config, and the
commanders' views showing their values."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from opscenter.compstat import CITY, Change, Figures, Outcome, Row
from ui.briefing import BriefingMode, BriefingView, briefing_from_config, briefing_sequence_from_config
from ui.briefing_views import MissionsList, OutcomesTable, YoyTable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def views(n: int = 3, seconds: float = 10.0, titles=None) -> list[BriefingView]:
    titles = titles or ["Map", "Compstat", "Outcomes", "Missions", "Queue"][:n]
    return [BriefingView(t, QLabel(t), seconds) for t in titles]


@pytest.fixture
def fake(qtbot):
    clock = FakeClock()
    mode = BriefingMode(views(3), clock=clock, tick_ms=10_000)  # ticked by hand
    qtbot.addWidget(mode)
    return mode, clock


def test_rotation_follows_each_views_duration(fake) -> None:
    mode, clock = fake
    mode.views[1].duration_s = 4.0
    changes = []
    mode.view_changed.connect(changes.append)
    clock.now += 9.9
    mode.tick()
    assert mode.index == 0 and mode.progress.value() == 990
    clock.now += 0.1
    mode.tick()
    assert mode.index == 1 and mode.title_label.text() == "Compstat"
    assert mode.position_label.text() == "2 / 3" and mode.stack.currentIndex() == 1
    clock.now += 4.0
    mode.tick()
    clock.now += 10.0
    mode.tick()
    assert mode.index == 0 and changes == [1, 2, 0]  # wraps round


def test_pause_freezes_time_and_shows_paused(fake, qtbot) -> None:
    mode, clock = fake
    mode.show()
    clock.now += 6
    qtbot.keyClick(mode, Qt.Key.Key_Space)
    assert mode.paused and mode.paused_label.isVisible()
    clock.now += 100
    mode.tick()
    assert mode.index == 0
    qtbot.keyClick(mode, Qt.Key.Key_Space)
    assert not mode.paused and not mode.paused_label.isVisible()
    clock.now += 3.9
    mode.tick()
    assert mode.index == 0 and mode.elapsed() == pytest.approx(9.9)
    clock.now += 0.1
    mode.tick()
    assert mode.index == 1


def test_keys_move_and_escape_asks_to_leave(fake, qtbot) -> None:
    mode, _ = fake
    with qtbot.waitSignal(mode.exit_requested, timeout=1000):
        qtbot.keyClick(mode, Qt.Key.Key_Escape)
    qtbot.keyClick(mode, Qt.Key.Key_Right)
    qtbot.keyClick(mode, Qt.Key.Key_PageDown)
    assert mode.index == 2
    qtbot.keyClick(mode, Qt.Key.Key_Left)
    assert mode.index == 1
    qtbot.keyClick(mode, Qt.Key.Key_PageUp)
    qtbot.keyClick(mode, Qt.Key.Key_PageUp)
    assert mode.index == 2  # wraps backwards


def test_interrupt_jumps_to_map_holds_and_resumes_where_it_was(fake) -> None:
    mode, clock = fake
    mode.go_to(2)
    mode.interrupt("Shots fired", "4 rounds · 1200 N Gay St · Eastern", hold_s=20)
    assert mode.index == 0 and mode.interrupted
    assert not mode.alert_banner.isHidden()
    assert "4 rounds · 1200 N Gay St" in mode.alert_banner.text()
    clock.now += 15
    mode.tick()
    assert mode.index == 0  # no rotation during the hold although the map's 10 s are over
    mode.interrupt("Shots fired", "2 rounds · Western", hold_s=20)  # extends to +35
    clock.now += 15
    mode.tick()
    assert mode.index == 0 and "Western" in mode.alert_banner.text()
    clock.now += 5
    mode.tick()
    assert not mode.interrupted and mode.alert_banner.isHidden()
    assert mode.index == 2 and mode.elapsed() == 0  # back where it was, with its full time


def test_interrupt_without_a_map_view_holds_in_place(qtbot) -> None:
    clock = FakeClock()
    mode = BriefingMode(views(2, titles=["Compstat", "Outcomes"]), clock=clock, tick_ms=10_000)
    qtbot.addWidget(mode)
    mode.go_to(1)
    mode.interrupt("Shots fired", "Central", hold_s=5)
    clock.now += 20
    mode.tick()
    assert mode.index == 1
    mode.tick()
    clock.now += 10
    mode.tick()
    assert mode.index == 0


def test_real_timer_rotates_pauses_and_holds(qtbot) -> None:
    mode = BriefingMode(views(3, seconds=0.2), tick_ms=10)
    qtbot.addWidget(mode)
    qtbot.wait(250)
    assert mode.index == 1
    mode.set_paused(True)
    qtbot.wait(300)
    assert mode.index == 1
    mode.set_paused(False)
    mode.go_to(2)
    mode.interrupt("Shots fired", "Northern", hold_s=0.4)
    assert mode.index == 0
    qtbot.wait(300)
    assert mode.index == 0 and mode.interrupted
    qtbot.waitUntil(lambda: not mode.interrupted, timeout=1000)
    assert mode.index == 2


def test_sequence_from_config_picks_and_times_views(qtbot) -> None:
    made = []

    def factory(name):
        def make():
            made.append(name)
            return QLabel(name)
        return make

    available = {n: factory(n) for n in ("map", "compstat", "outcomes", "open_missions")}
    seq = briefing_sequence_from_config(
        {"views": [{"name": "compstat", "seconds": 12}, {"name": "map", "seconds": 30},
                   {"name": "open_missions"}]}, available)
    assert [(v.title, v.duration_s) for v in seq] == [("Compstat", 12.0), ("Map", 30.0), ("Open Missions", 30.0)]
    assert made == ["compstat", "map", "open_missions"]  # only what the config names is built
    with pytest.raises(ValueError, match="unknown view 'heat'; available: compstat, map"):
        briefing_sequence_from_config({"views": [{"name": "heat"}]}, available)
    with pytest.raises(ValueError, match="seconds"):
        briefing_sequence_from_config({"views": [{"name": "map", "seconds": 0}]}, available)
    with pytest.raises(ValueError, match="twice"):
        briefing_sequence_from_config({"views": ["map", "map"]}, available)
    mode = briefing_from_config({"views": ["compstat", "map"]}, available)
    qtbot.addWidget(mode)
    mode.interrupt("Shots fired", "x")
    assert mode.index == 1


# --- the views -----------------------------------------------------------------------------

def figures() -> Figures:
    table = [
        Row("Eastern", {"shootings": Change(12, 9), "homicides": Change(3, 4), "detections": Change(40, 0)}),
        Row("Western", {"shootings": Change(5, 5), "homicides": Change(0, 0), "detections": Change(8, 10)}),
        Row(CITY, {"shootings": Change(17, 14), "homicides": Change(3, 4), "detections": Change(48, 10)}),
    ]
    counts = {"evidence_found": 2, "no_evidence": 1, "not_gunfire": 1, "unknown": 1, "open": 5}
    outcomes = [Outcome("Eastern", counts), Outcome(CITY, counts)]
    return Figures("28d", (1.7e9, 1.7e9 + 28 * 86400), (1.67e9, 1.67e9 + 28 * 86400), table, [], outcomes)


def test_yoy_table_shows_counts_a_year_earlier_and_change(qtbot) -> None:
    view = YoyTable(figures())
    qtbot.addWidget(view)
    east = view.area_row("Eastern")
    shootings = view.column("Shootings")
    assert view.cell(east, shootings) == "12  (9)" and view.cell(east, shootings + 1) == "+33%"
    assert view.cell(east, view.column("Homicides") + 1) == "-25%"
    assert view.cell(east, view.column("Detections") + 1) == "new"
    assert view.cell(view.area_row("Western"), shootings + 1) == "0%"
    assert view.area_row(CITY) == 2 and view.cell(2, shootings) == "17  (14)"
    assert view.table.item(2, 0).font().bold()
    assert "28d" in view.caption.text()


def test_outcomes_show_open_and_unknown_with_honest_shares(qtbot) -> None:
    view = OutcomesTable(figures().outcomes)
    qtbot.addWidget(view)
    row = view.area_row("Eastern")
    assert view.cell(row, view.column("Alerts")) == "10"
    assert view.cell(row, view.column("Open")) == "5  ·  50%"
    assert view.cell(row, view.column("Unknown")) == "1  ·  10%"
    assert view.cell(row, view.column("Evidence found")) == "2  ·  20%"
    assert view.cell(row, view.column("Evidence rate")) == "50%"  # 2 of 4 closed with a verdict
    empty = OutcomesTable([Outcome(CITY, dict.fromkeys(("evidence_found", "no_evidence", "not_gunfire",
                                                        "unknown", "open"), 0))])
    qtbot.addWidget(empty)
    assert empty.cell(0, empty.column("Open")) == "0  ·  —" and empty.cell(0, empty.column("Evidence rate")) == "—"


def test_missions_list_shows_open_missions(qtbot) -> None:
    view = MissionsList([
        {"id": "M-7", "label": "Hot spot patrol", "district": "Eastern", "units": ["E11", "E12"],
         "dosage_min": 45.4, "state": "active"},
        {"id": "M-8", "label": "Done one", "district": "Western", "units": 2, "dosage_min": 60, "state": "closed"},
        {"id": "M-9", "label": "Planned", "district": None, "units": [], "dosage_min": None, "state": "planned"},
        {"id": "M-10", "label": "Shift", "district": "Central", "units": ["C1"], "dosage_min": 30,
         "target_min": 45, "state": "assigned"},
        {"id": "M-11", "label": "Suppressed", "district": "Central", "units": [], "dosage_min": 0, "state": "suppressed"},
    ])
    qtbot.addWidget(view)
    assert view.table.rowCount() == 3 and view.cell(2, 4) == "30 / 45 min"
    assert [view.cell(0, c) for c in range(6)] == ["M-7", "Hot spot patrol", "Eastern", "E11, E12", "45 min", "active"]
    assert [view.cell(1, c) for c in range(6)] == ["M-9", "Planned", "—", "none", "—", "planned"]
    view.set_missions([])
    assert view.table.rowCount() == 0 and view.note.text() == "No open missions."
