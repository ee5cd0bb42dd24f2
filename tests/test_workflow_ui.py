"""The queue and action bar on the alert workflow, against an in-memory `Operations`.

`FakeHub` holds what a hub shares (store, workflow board, annotation board, version history);
each `FakeOps` is one screen's user on it, applying the real workflow and annotation functions
and refusing by role as the hub does. The views only ever see the change through the boards.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from opscenter import workflow as wf
from opscenter.alert_queue import ShelvedRow
from opscenter.annotations import Annotation, AnnotationBoard, AnnotationError, deleted, edited, new_annotation
from opscenter.domain import AlertType, ShotAlert, Unit, UnitStatus
from opscenter.store import LiveStore
from opscenter.users import Forbidden, User
from opscenter.workflow import State, WorkflowBoard
from ui.alert_queue import STATE, AlertQueueModel, AlertQueueView
from ui.workflow_actions import WorkflowActions

T0 = 1_780_000_000.0


class FakeHub:
    """The shared picture every screen watches; `now` is the test's clock."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.store = LiveStore(clock=self.clock)
        self.workflow = WorkflowBoard()
        self.annotations = AnnotationBoard()
        self.versions: dict[str, list[Annotation]] = {}
        self.requests: list[tuple[str, Any]] = []

    def clock(self) -> float:
        return self.now


class FakeOps:
    """One screen's `Operations`: role checks, then the core's own transitions onto the boards."""

    def __init__(self, hub: FakeHub, name: str = "alice", role: str = "operator") -> None:
        self.hub = hub
        self.user = User(name, role)
        self.store, self.workflow, self.annotations = hub.store, hub.workflow, hub.annotations

    async def _step(self, permission: str, alert_id: str, step, *args: Any) -> None:
        await asyncio.sleep(0)  # a real hub answers later, never inside the call
        self.hub.requests.append((permission, alert_id))
        self.user.require(permission)
        self.workflow.put(step(self.workflow.get(alert_id), self.user.name, self.hub.now, *args))

    async def acknowledge(self, alert_id: str) -> None:
        await self._step("alert.acknowledge", alert_id, wf.acknowledge)

    async def dispatch(self, alert_id: str, units: list[str]) -> None:
        await self._step("alert.dispatch", alert_id, wf.dispatch, units)

    async def on_scene(self, alert_id: str) -> None:
        await self._step("alert.on_scene", alert_id, wf.on_scene)

    async def close(self, alert_id: str, disposition: str, note: str = "") -> None:
        await self._step("alert.close", alert_id, wf.close, disposition)

    async def shelve(self, alert_id: str, reason: str, minutes: float) -> None:
        await self._step("alert.shelve", alert_id, wf.shelve, reason, self.hub.now + minutes * 60)

    async def unshelve(self, alert_id: str) -> None:
        await self._step("alert.shelve", alert_id, wf.unshelve)

    def _keep(self, ann: Annotation) -> Annotation:
        self.hub.versions.setdefault(ann.id, []).append(ann)
        self.annotations.put(ann)
        return ann

    async def annotate(self, data: dict[str, Any]) -> Annotation:
        await asyncio.sleep(0)
        self.hub.requests.append(("annotate", data))
        self.user.require("annotation.create")
        return self._keep(new_annotation(data, self.user.name, self.hub.now))

    def _editable(self, ident: str) -> Annotation:
        current = self.annotations.get(ident)
        if current is None:
            raise AnnotationError(f"no annotation {ident}")
        if not self.user.may_edit(current.author):
            raise Forbidden(f"{self.user.name} ({self.user.role}) may not change {current.author}'s annotation")
        return current

    async def edit_annotation(self, ident: str, changes: dict[str, Any]) -> Annotation:
        await asyncio.sleep(0)
        self.hub.requests.append(("edit", changes))
        return self._keep(edited(self._editable(ident), changes, self.user.name, self.hub.now))

    async def delete_annotation(self, ident: str) -> None:
        await asyncio.sleep(0)
        self._keep(deleted(self._editable(ident), self.user.name, self.hub.now))

    async def history(self, ident: str) -> list[Annotation]:
        await asyncio.sleep(0)
        return list(self.hub.versions.get(ident, []))


def shot(i: int, lat: float = 39.29, lon: float = -76.61) -> ShotAlert:
    return ShotAlert(id=f"S-{i}", version=1, detected_at=T0 - 100 + i, lat=lat, lon=lon,
                     alert_type=AlertType.SINGLE, rounds=2, address=f"{i} Test St", district="Eastern")


def hub_with_shots(n: int = 3) -> FakeHub:
    hub = FakeHub()
    for i in range(n):
        hub.store.apply(shot(i))
    return hub


def state_of(model: AlertQueueModel, alert_id: str) -> str:
    return model.index(model.row_of(alert_id), STATE).data()


@pytest.fixture
def queue(qtbot, run):
    """A queue model and view over a hub with three new alerts, followed by an operator's bar."""
    hub = hub_with_shots()
    model = AlertQueueModel(hub.store, clock=hub.clock, workflow=hub.workflow)
    view = AlertQueueView(model)
    qtbot.addWidget(view)
    return hub, model, view


def test_state_column_shows_who_and_a_running_timer(queue, run) -> None:
    hub, model, _view = queue
    ops = FakeOps(hub, "alice")
    run(ops.acknowledge("S-1"))
    hub.now += 130
    run(ops.dispatch("S-2", ["3C21"]))
    hub.now += 45
    model.rebuild()
    assert state_of(model, "S-0") == "NEW"
    assert state_of(model, "S-1") == "Ack 2:55 · alice"
    assert state_of(model, "S-2") == "Dispatched 0:45 · 3C21"
    assert model.unacknowledged == 1 and model.rows[0].shot.id == "S-0"  # the new one stays on top
    hub.now += 10  # the timer cell is computed when drawn: it counts without a rebuild
    assert state_of(model, "S-2") == "Dispatched 0:55 · 3C21"


def test_board_changes_from_any_screen_relay_the_queue(queue, qtbot, run) -> None:
    hub, model, _view = queue
    other_screen = FakeOps(hub, "bob")
    run(other_screen.acknowledge("S-0"))
    qtbot.waitUntil(lambda: model.unacknowledged == 2, timeout=2000)
    run(other_screen.close("S-0", "not_gunfire"))
    qtbot.waitUntil(lambda: model.row_of("S-0") == -1, timeout=2000)  # closed alerts leave
    assert {r.shot.id for r in model.rows} == {"S-1", "S-2"}


def test_shelved_alert_waits_at_the_bottom_and_returns_by_itself(queue, qtbot, run) -> None:
    hub, model, _view = queue
    run(FakeOps(hub).shelve("S-2", "fireworks at the harbour", 15))
    qtbot.waitUntil(lambda: isinstance(model.rows[-1], ShelvedRow), timeout=2000)
    assert model.unacknowledged == 2 and model.row_of("S-2") == -1
    assert model.index(len(model.rows) - 1, 1).data() == "▸ Shelved (1)"
    model.toggle_group("Shelved")  # expanded, it lists the alert with its reason and time left
    assert state_of(model, "S-2") == "Shelved 15m · fireworks at the harbour"
    hub.now += 15 * 60 + 1
    # nobody touches anything: the one-second ticker notices the shelve ran out
    qtbot.waitUntil(lambda: not any(isinstance(r, ShelvedRow) for r in model.rows), timeout=3000)
    assert model.unacknowledged == 3 and model.rows[0].shot.id == "S-2" and state_of(model, "S-2") == "NEW"


def bar_for(qtbot, hub: FakeHub, role: str, name: str = "alice", view=None) -> WorkflowActions:
    bar = WorkflowActions(FakeOps(hub, name, role), view)
    qtbot.addWidget(bar)
    return bar


def enabled(bar: WorkflowActions) -> set[str]:
    return {key for key, button in bar.buttons.items() if button.isEnabled()}


def test_buttons_follow_state_and_role(qtbot, run) -> None:
    hub = hub_with_shots()
    operator, analyst, commander = (bar_for(qtbot, hub, role) for role in ("operator", "analyst", "commander"))
    for bar in (operator, analyst, commander):
        bar.set_alert("S-1")
    assert enabled(operator) == {"acknowledge", "dispatch", "close", "shelve"}
    assert enabled(analyst) == {"acknowledge", "close", "shelve"}
    assert enabled(commander) == set()
    assert commander.buttons["close"].toolTip() == "Not now: commanders may not close"
    run(operator.ops.dispatch("S-1", ["3C21"]))
    qtbot.waitUntil(lambda: "on_scene" in enabled(operator), timeout=2000)
    assert enabled(operator) == {"dispatch", "on_scene", "close", "shelve"}
    assert "already dispatched" in operator.buttons["acknowledge"].toolTip()
    assert operator.title.text() == "Alert S-1 · Dispatched 0:00 · 3C21"
    run(operator.ops.shelve("S-1", "waiting for CAD", 30))
    qtbot.waitUntil(lambda: "unshelve" in enabled(analyst), timeout=2000)
    assert "shelve" not in enabled(analyst)


def test_dispatch_on_scene_close_from_the_bar(qtbot, run) -> None:
    hub = hub_with_shots()
    for i, (uid, dlat) in enumerate((("3C22", 0.010), ("3C21", 0.002), ("3C23", 0.030))):
        hub.store.apply(Unit(id=uid, version=1, reported_at=T0, status=UnitStatus.AVAILABLE,
                             lat=39.29 + dlat, lon=-76.61, district="Eastern"))
    hub.store.apply(Unit(id="9X9", version=1, reported_at=T0, status=UnitStatus.ON_SCENE, lat=39.29, lon=-76.61))
    bar = bar_for(qtbot, hub, "operator")
    bar.set_alert("S-0")
    bar.open_dispatch()
    offered = [bar.unit_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(bar.unit_list.count())]
    assert offered == ["3C21", "3C22", "3C23"]  # available only, nearest first
    bar.unit_list.item(0).setCheckState(Qt.CheckState.Checked)
    bar.unit_edit.setText("K9-2, 3C21")
    bar.confirm_dispatch()
    qtbot.waitUntil(lambda: hub.workflow.get("S-0").state is State.DISPATCHED, timeout=2000)
    assert hub.workflow.get("S-0").units == ("3C21", "K9-2")
    qtbot.waitUntil(lambda: bar.forms.isHidden(), timeout=2000)
    bar.buttons["on_scene"].click()
    qtbot.waitUntil(lambda: hub.workflow.get("S-0").state is State.ON_SCENE, timeout=2000)
    bar.open_close()
    bar.confirm_close()
    assert bar.message.text() == "Pick a disposition" and hub.workflow.get("S-0").state is State.ON_SCENE
    bar.disposition_group.buttons()[2].setChecked(True)
    qtbot.keyClick(bar.forms.currentWidget(), Qt.Key.Key_Return)  # Enter confirms
    qtbot.waitUntil(lambda: hub.workflow.get("S-0").state is State.CLOSED, timeout=2000)
    assert hub.workflow.get("S-0").disposition == "not_gunfire"
    assert enabled(bar) == set()


def test_shelve_needs_a_reason_and_takes_the_chosen_time(qtbot, run) -> None:
    hub = hub_with_shots()
    bar = bar_for(qtbot, hub, "analyst")
    bar.set_alert("S-2")
    bar.open_shelve()
    bar.confirm_shelve()
    assert bar.message.text() == "Shelving needs a reason" and hub.requests == []
    bar.shelve_reason.setText("known fireworks display")
    bar.minutes_group.button(60).click()
    bar.confirm_shelve()
    qtbot.waitUntil(lambda: hub.workflow.get("S-2").shelved_until is not None, timeout=2000)
    assert hub.workflow.get("S-2").shelved_until == T0 + 3600
    bar.buttons["unshelve"].click()
    qtbot.waitUntil(lambda: hub.workflow.get("S-2").shelved_until is None, timeout=2000)


def test_refusals_are_shown_in_the_bar_not_raised(qtbot, run) -> None:
    hub = hub_with_shots()
    bar = bar_for(qtbot, hub, "analyst", name="ana")
    bar.set_alert("S-0")
    assert not bar.buttons["dispatch"].isEnabled()
    bar.unit_edit.setText("3C21")  # forced past the disabled button: the hub still refuses
    bar.confirm_dispatch()
    qtbot.waitUntil(lambda: bar.message.isVisibleTo(bar), timeout=2000)
    assert bar.message.text() == "ana (analyst) may not alert.dispatch"
    assert hub.workflow.get("S-0").state is State.NEW
    operator = bar_for(qtbot, hub, "operator")
    operator.set_alert("S-0")
    run(FakeOps(hub, "bob").close("S-0", "unknown"))  # closed on another screen meanwhile
    operator.on_scene()  # now an illegal step: the core's reason, in the bar
    qtbot.waitUntil(lambda: operator.message.text() == "alert S-0 is closed, not dispatched", timeout=2000)


def test_keys_act_on_the_queue_selection(qtbot, run) -> None:
    hub = hub_with_shots()
    model = AlertQueueModel(hub.store, clock=hub.clock, workflow=hub.workflow)
    window = QWidget()
    view = AlertQueueView(model, window)
    bar = WorkflowActions(FakeOps(hub, "alice", "operator"), view)
    layout = QVBoxLayout(window)
    layout.addWidget(view)
    layout.addWidget(bar)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with warnings.catch_warnings():  # offscreen windows never become active by themselves
        warnings.simplefilter("ignore", DeprecationWarning)
        QApplication.setActiveWindow(window)
    qtbot.keyClick(view, Qt.Key.Key_Space)  # nothing selected: the top of the queue
    qtbot.waitUntil(lambda: hub.workflow.get("S-2").state is State.ACKNOWLEDGED, timeout=2000)
    view.selectRow(model.row_of("S-0"))
    assert bar.alert_id == "S-0"
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert bar.forms.isVisible() and bar.forms.currentIndex() == 3
    qtbot.keyClick(bar.shelve_reason, Qt.Key.Key_Escape)
    assert bar.forms.isHidden()
    qtbot.keyClick(view, Qt.Key.Key_D)
    assert bar.forms.isVisible() and bar.forms.currentIndex() == 1
    qtbot.keyClick(bar.unit_edit, Qt.Key.Key_C)  # typing a unit id is not a shortcut
    assert bar.unit_edit.text() == "c" and bar.forms.currentIndex() == 1
    qtbot.keyClick(bar.unit_edit, Qt.Key.Key_Return)  # Enter dispatches what was typed
    qtbot.waitUntil(lambda: hub.workflow.get("S-0").units == ("c",), timeout=2000)
