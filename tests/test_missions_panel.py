"""The missions panel against a fake adapter: rows, dosage, role- and state-driven buttons, forms."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
from PySide6.QtCore import Qt

from opscenter.mission_plan import MissionError
from opscenter.users import User
from ui.missions_panel import MissionsPanel


def _mission(ident: str, label: str, state: str = "planned", **kw: Any) -> dict[str, Any]:
    return {"id": ident, "label": label, "district": "Western", "state": state, "units": [],
            "dosage_min": 0.0, "target_min": 120.0, "polygon": [[39.29, -76.62], [39.29, -76.61], [39.30, -76.61]],
            **kw}


class FakeMissions:
    """Holds missions like a hub would; every action is recorded and applied after a loop turn."""

    def __init__(self, role: str = "analyst") -> None:
        self.user = User("ana", role)
        self.rows = {m["id"]: m for m in (_mission("M-1", "Western box 1"), _mission("M-2", "Western box 2"))}
        self.calls: list[tuple] = []
        self.listeners: list[Callable[[], None]] = []

    def missions(self) -> list[dict]:
        return [dict(m) for m in self.rows.values()]

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    def change(self, ident: str, **fields: Any) -> None:
        self.rows[ident] = {**self.rows[ident], **fields}
        for cb in list(self.listeners):
            cb()

    def available_units(self) -> list[str]:
        return ["3C21", "3C22", "4A10"]

    async def plan(self, hours: float = 8.0, top: int = 5) -> list[dict]:
        await asyncio.sleep(0)
        self.calls.append(("plan", hours, top))
        return [self.rows["M-1"]]

    async def assign(self, mission_id: str, units: list[str], reason: str = "") -> dict:
        await asyncio.sleep(0)
        self.calls.append(("assign", mission_id, units, reason))
        self.change(mission_id, units=units, state="assigned")
        return self.rows[mission_id]

    async def set_state(self, mission_id: str, state: str, reason: str = "") -> dict:
        await asyncio.sleep(0)
        self.calls.append(("state", mission_id, state, reason))
        if state == "completed" and self.rows[mission_id]["state"] != "active":
            raise MissionError(f"mission {mission_id} is {self.rows[mission_id]['state']}; it cannot become completed")
        self.change(mission_id, state=state)
        return self.rows[mission_id]

    async def send(self, kind: str, ident: str, fmt: str = "envelope") -> list[dict]:
        await asyncio.sleep(0)
        self.calls.append(("send", kind, ident, fmt))
        return [{"endpoint": "district-3", "state": "delivered", "last_error": ""},
                {"endpoint": "hub", "state": "failed", "last_error": "HTTP 503"}]


def settle(run, future: asyncio.Future) -> None:
    """Let the panel's action finish (a refusal included) with the loop running as in the app."""
    async def wait() -> None:
        await asyncio.gather(future, return_exceptions=True)
    run(wait())


def _row_of(panel: MissionsPanel, ident: str) -> int:
    return next(r for r, m in enumerate(panel._rows) if m["id"] == ident)


@pytest.fixture
def panel(qtbot):
    def make(role: str = "analyst") -> tuple[MissionsPanel, FakeMissions]:
        source = FakeMissions(role)
        widget = MissionsPanel(source)
        qtbot.addWidget(widget)
        return widget, source
    return make


def test_rows_show_dosage_and_follow_changes(panel, qtbot) -> None:
    widget, source = panel()
    assert widget.table.rowCount() == 2
    source.change("M-2", state="active", units=["3C21"], dosage_min=12.4, target_min=45.0)
    qtbot.waitUntil(lambda: widget._rows[0]["id"] == "M-2")  # active first
    assert [widget.table.item(0, c).text() for c in range(4)] == ["Western box 2", "Western", "active", "3C21"]
    assert widget.table.item(0, 4).text() == "12 / 45 min"
    assert widget.table.cellWidget(0, 4).value() == 28


def test_buttons_follow_role_and_state_and_selection_is_signalled(panel, qtbot) -> None:
    commander, _ = panel("commander")
    commander.table.selectRow(0)
    assert not any(b.isEnabled() for b in commander.buttons.values())
    operator, _ = panel("operator")
    assert not operator.buttons["plan"].isEnabled() and not operator.buttons["assign"].isEnabled()
    with qtbot.waitSignal(operator.mission_selected) as sig:
        operator.table.selectRow(_row_of(operator, "M-1"))
    assert sig.args == ["M-1"]
    enabled = {k for k, b in operator.buttons.items() if b.isEnabled()}
    assert enabled == {"assign", "cancelled", "send"}  # planned: no start yet; suppress is the analysts'
    analyst, _ = panel("analyst")
    analyst.table.selectRow(_row_of(analyst, "M-1"))
    assert {k for k, b in analyst.buttons.items() if b.isEnabled()} == {
        "plan", "assign", "cancelled", "suppressed", "send"}


def test_assign_then_start_from_the_panel(panel, qtbot, run) -> None:
    widget, source = panel("operator")
    widget.table.selectRow(_row_of(widget, "M-1"))
    widget.buttons["assign"].click()
    assert not widget.form.isHidden() and not widget.units.isHidden()
    assert [widget.units.item(i).text() for i in range(widget.units.count())] == ["3C21", "3C22", "4A10"]
    widget.units.item(1).setCheckState(Qt.CheckState.Checked)
    widget._confirm()
    settle(run, widget.pending)
    assert source.calls[-1] == ("assign", "M-1", ["3C22"], "")
    qtbot.waitUntil(lambda: widget.buttons["active"].isEnabled())
    assert widget.selected()["id"] == "M-1"  # the selection stayed on the mission
    widget.buttons["active"].click()
    settle(run, widget.pending)
    assert source.rows["M-1"]["state"] == "active"


def test_cancel_needs_a_reason_and_refusals_are_shown(panel, qtbot, run) -> None:
    widget, source = panel("analyst")
    widget.table.selectRow(_row_of(widget, "M-2"))
    widget.buttons["cancelled"].click()
    widget._confirm()
    assert widget.status.text() == "A reason is required" and not source.calls
    widget.reason.setText("road closed for the parade")
    widget._confirm()
    settle(run, widget.pending)
    assert source.calls[-1] == ("state", "M-2", "cancelled", "road closed for the parade")
    qtbot.waitUntil(lambda: source.rows["M-2"]["state"] == "cancelled")
    # a refusal from the hub (another screen moved the mission) lands in the status line
    settle(run, widget._run(source.set_state("M-1", "completed"), lambda _: "ok"))
    qtbot.waitUntil(lambda: "cannot become completed" in widget.status.text())


def test_send_shows_each_delivery(panel, qtbot, run) -> None:
    widget, source = panel("operator")
    widget.table.selectRow(_row_of(widget, "M-1"))
    widget.format.setCurrentIndex(1)
    widget.buttons["send"].click()
    settle(run, widget.pending)
    assert source.calls[-1] == ("send", "mission", "M-1", "cap")
    qtbot.waitUntil(lambda: widget.status.text().startswith("Sent"))
    assert widget.status.text() == "Sent — district-3: delivered · hub: failed (HTTP 503)"
