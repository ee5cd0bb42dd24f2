"""The shift's patrol missions in large type, with what the wall may do to them.

The panel reads missions through a small adapter (`LocalMissions` over the embedded hub's
`MissionsService`, or `RemoteMissions` over a `HubClient`'s mirror and REST), so it cannot tell
where the hub runs. Buttons follow both the mission's state and the user's role; a refusal from the
hub is shown in the panel, never raised into Qt. Cancelling and suppressing ask for a reason
inline (no modal dialog: the wall must keep updating while someone types).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from opscenter.errors import OpsCenterError
from opscenter.users import User

from . import theme

log = logging.getLogger(__name__)
COLUMNS = ["Mission", "District", "State", "Units", "Dosage"]
# state -> the actions it allows (mirrors opscenter.missions.TRANSITIONS)
ALLOWED = {"planned": {"assign", "cancelled", "suppressed", "send"},
           "assigned": {"assign", "active", "cancelled", "suppressed", "send"},
           "active": {"assign", "completed", "cancelled", "send"}}


class MissionsSource(Protocol):
    """What the panel needs from a hub, in-process or remote."""

    user: User

    def missions(self) -> list[dict[str, Any]]: ...
    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]: ...
    def available_units(self) -> list[str]: ...
    async def plan(self, hours: float = 8.0, top: int = 5) -> list[dict]: ...
    async def assign(self, mission_id: str, units: list[str], reason: str = "") -> dict: ...
    async def set_state(self, mission_id: str, state: str, reason: str = "") -> dict: ...
    async def send(self, kind: str, ident: str, fmt: str = "envelope") -> list[dict]: ...


class LocalMissions:
    """The adapter for a window in the hub's process (`runtime.hub.missions`): same checks."""

    def __init__(self, service: Any, user: User) -> None:
        self.service, self.user = service, user

    def missions(self) -> list[dict]:
        return self.service.list(self.user)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.service.book.subscribe(lambda _e, _m: callback())

    def available_units(self) -> list[str]:
        return _available(self.service.core.store)

    async def plan(self, hours: float = 8.0, top: int = 5) -> list[dict]:
        return await self.service.plan(self.user, hours, top)

    async def assign(self, mission_id: str, units: list[str], reason: str = "") -> dict:
        return self.service.assign(self.user, mission_id, units, reason)

    async def set_state(self, mission_id: str, state: str, reason: str = "") -> dict:
        return self.service.set_state(self.user, mission_id, state, reason)

    async def send(self, kind: str, ident: str, fmt: str = "envelope") -> list[dict]:
        return await self.service.send(self.user, kind, ident, fmt)


class RemoteMissions:
    """The adapter for a window on a remote hub (a `HubClient`): the mirror to read, REST to act."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.user = client.user

    def missions(self) -> list[dict]:
        return list(self.client.mirror.missions.values())

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        listener = lambda _ident: callback()  # noqa: E731
        self.client.mirror.mission_listeners.append(listener)
        return lambda: self.client.mirror.mission_listeners.remove(listener)

    def available_units(self) -> list[str]:
        return _available(self.client.store)

    async def plan(self, hours: float = 8.0, top: int = 5) -> list[dict]:
        return await self.client.plan_missions(hours, top)

    async def assign(self, mission_id: str, units: list[str], reason: str = "") -> dict:
        return await self.client.assign_mission(mission_id, units, reason)

    async def set_state(self, mission_id: str, state: str, reason: str = "") -> dict:
        return await self.client.mission_state(mission_id, state, reason)

    async def send(self, kind: str, ident: str, fmt: str = "envelope") -> list[dict]:
        return await self.client.send_message(kind, ident, fmt)


def _available(store: Any) -> list[str]:
    return sorted(u.id for u in store.units() if u.status.value == "available")


def dosage_text(m: dict[str, Any]) -> str:
    return f"{m.get('dosage_min', 0):.0f} / {m.get('target_min', 0):.0f} min"


def may(user: User, action: str) -> bool:
    """The hub's own rule, so a button is never offered only to be refused."""
    if action in ("plan", "suppressed"):
        return user.can("mission.manage")
    if action == "send":
        return user.can("message.send")
    return user.can("mission.manage") or user.can("alert.dispatch")


class MissionsPanel(QWidget):
    """List and actions; `mission_selected(id)` lets the map fly to the box."""

    mission_selected = Signal(str)

    def __init__(self, source: MissionsSource, scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.setObjectName("missionsPanel")
        self._rows: list[dict[str, Any]] = []
        self._form_action = ""
        self.pending: asyncio.Future | None = None
        self.title = QLabel("Patrol missions — this shift")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for key, text in (("plan", "Plan shift"), ("assign", "Assign units…"), ("active", "Start"),
                          ("completed", "Complete"), ("cancelled", "Cancel…"), ("suppressed", "Suppress…"),
                          ("send", "Send to units")):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, k=key: self._clicked(k))
            self.buttons[key] = button
            bar.addWidget(button)
        self.format = QComboBox()
        self.format.addItem("Envelope", "envelope")
        self.format.addItem("CAP", "cap")
        bar.addWidget(self.format)
        # the inline form: units to pick and/or a reason
        self.form = QWidget()
        form = QVBoxLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        self.form_title = QLabel("")
        self.units = QListWidget()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (kept on the audit trail)")
        self.reason.returnPressed.connect(self._confirm)
        self.confirm = QPushButton("Confirm")
        self.confirm.clicked.connect(self._confirm)
        self.back = QPushButton("Back")
        self.back.clicked.connect(self._close_form)
        row = QHBoxLayout()
        row.addWidget(self.reason, 1)
        row.addWidget(self.confirm)
        row.addWidget(self.back)
        for widget in (self.form_title, self.units):
            form.addWidget(widget)
        form.addLayout(row)
        self.form.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        for label in (self.title, self.form_title, self.status):
            label.setTextFormat(Qt.TextFormat.PlainText)  # labels and reasons are data, never rich text
        self.setStyleSheet(
            f"#missionsPanel, #missionsPanel QWidget {{ font-size: {round(20 * scale)}px; }}"
            f" #missionsPanel QPushButton {{ min-height: {round(40 * scale)}px; }}"
            f" #missionsPanel QPushButton:disabled {{ color: {theme.TEXT_FAINT}; }}"
            f" #missionsPanel QTableWidget {{ font-size: {round(24 * scale)}px; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addLayout(bar)
        layout.addWidget(self.form)
        layout.addWidget(self.status)
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.refresh)
        unsubscribe = source.subscribe(self._later.start)  # many changes, one redraw
        self.destroyed.connect(lambda *_: unsubscribe())
        self.refresh()

    # -- reading ------------------------------------------------------------------------------
    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows and rows[0].row() < len(self._rows) else None

    def refresh(self) -> None:
        """Re-read the missions; the selection stays on the same mission."""
        keep = (self.selected() or {}).get("id")
        order = {"active": 0, "assigned": 1, "planned": 2}
        self._rows = sorted(self.source.missions(), key=lambda m: (order.get(m.get("state", ""), 3),
                                                                   str(m.get("label", ""))))
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._rows))
        for r, m in enumerate(self._rows):
            values = [m.get("label", ""), m.get("district", ""), m.get("state", ""),
                      ", ".join(m.get("units", [])) or "—", dosage_text(m)]
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(str(value)))
            bar = self.table.cellWidget(r, 4)
            if not isinstance(bar, QProgressBar):
                bar = QProgressBar()
                self.table.setCellWidget(r, 4, bar)
            target = float(m.get("target_min") or 0)
            bar.setRange(0, 100)
            bar.setValue(min(100, round(100 * float(m.get("dosage_min") or 0) / target)) if target > 0 else 0)
            bar.setFormat(dosage_text(m))
            if m.get("id") == keep:
                self.table.selectRow(r)
        self.table.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        m, user = self.selected(), self.source.user
        busy = self.pending is not None and not self.pending.done()
        for key, button in self.buttons.items():
            allowed = may(user, key) and not busy
            if key != "plan":
                allowed = allowed and m is not None and key in ALLOWED.get(m.get("state", ""), set())
            button.setEnabled(allowed)
            button.setToolTip("" if may(user, key) else f"{user.role}s may not do this")

    def _selection_changed(self) -> None:
        self._update_buttons()
        m = self.selected()
        if m is not None:
            self.mission_selected.emit(str(m["id"]))

    # -- acting -------------------------------------------------------------------------------
    def _clicked(self, key: str) -> None:
        m = self.selected()
        if key == "plan":
            self._run(self.source.plan(), lambda made: f"Planned {len(made)} missions")
        elif key in ("active", "completed") and m is not None:
            self._run(self.source.set_state(m["id"], key), lambda _: f"{m['label']}: {key}")
        elif key == "send" and m is not None:
            fmt = self.format.currentData()
            self._run(self.source.send("mission", m["id"], fmt), self._delivery_text)
        elif key in ("assign", "cancelled", "suppressed") and m is not None:
            self._open_form(key, m)

    def _open_form(self, key: str, m: dict[str, Any]) -> None:
        self._form_action = key
        verb = {"assign": "Assign units to", "cancelled": "Cancel", "suppressed": "Suppress"}[key]
        self.form_title.setText(f"{verb} {m.get('label', '')}")
        self.units.clear()
        self.units.setVisible(key == "assign")
        if key == "assign":
            for unit in sorted(set(self.source.available_units()) | set(m.get("units", []))):
                item = QListWidgetItem(unit)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if unit in m.get("units", []) else Qt.CheckState.Unchecked)
                self.units.addItem(item)
        self.reason.clear()
        self.form.show()
        self.reason.setFocus()

    def _close_form(self) -> None:
        self._form_action = ""
        self.form.hide()

    def _confirm(self) -> None:
        m, key = self.selected(), self._form_action
        if m is None or not key:
            return
        reason = self.reason.text().strip()
        if key == "assign":
            units = [self.units.item(i).text() for i in range(self.units.count())
                     if self.units.item(i).checkState() == Qt.CheckState.Checked]
            if not units:
                self.status.setText("Pick at least one unit")
                return
            coro = self.source.assign(m["id"], units, reason)
        else:
            if not reason:
                self.status.setText("A reason is required")
                return
            coro = self.source.set_state(m["id"], key, reason)
        self._close_form()
        self._run(coro, lambda _: f"{m['label']}: {key}")

    def _delivery_text(self, deliveries: list[dict]) -> str:
        return "Sent — " + " · ".join(f"{d['endpoint']}: {d['state']}"
                                      + (f" ({d['last_error']})" if d.get("last_error") else "")
                                      for d in deliveries)

    def _run(self, coro: Awaitable[Any], ok: Callable[[Any], str]) -> asyncio.Future:
        """Run an adapter call from a slot; refusals land in the status line, never in Qt."""
        self.status.setText("Working…")
        future = asyncio.ensure_future(coro)
        self.pending = future

        def done(fut: asyncio.Future) -> None:
            if fut.cancelled():
                return
            exc = fut.exception()
            if isinstance(exc, OpsCenterError):
                self.status.setText(str(exc))
            elif exc is not None:
                log.error("mission action failed", exc_info=exc)
                self.status.setText(f"Failed: {type(exc).__name__}")
            else:
                self.status.setText(ok(fut.result()))
            self._update_buttons()

        future.add_done_callback(done)
        self._update_buttons()
        return future
