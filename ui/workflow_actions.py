"""The action bar under the queue: acknowledge, dispatch, on scene, close, shelve, unshelve.

Buttons follow the selected alert's workflow state and the user's role, so an operator only
sees what they may do now. Nothing here assumes a step worked: the bar asks `ops` and re-reads
the workflow board when it changes, as every other screen does. A refusal (`Forbidden`, an
illegal step) is shown in the bar in the user's words and never raised into Qt.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from opscenter.domain import Kind
from opscenter.errors import OpsCenterError
from opscenter.hub.ops import Operations
from opscenter.nearby import nearest_available
from opscenter.workflow import DISPOSITION_LABELS, DISPOSITIONS, AlertFlow, State, describe

from . import theme

log = logging.getLogger(__name__)
SHELVE_MINUTES = (15, 30, 60, 120)
PERMISSION = {
    "acknowledge": "alert.acknowledge", "dispatch": "alert.dispatch", "on_scene": "alert.on_scene",
    "close": "alert.close", "shelve": "alert.shelve", "unshelve": "alert.shelve",
}


def run_op(coro: Awaitable[Any], on_error: Callable[[str], None],
           on_ok: Callable[[Any], None] | None = None) -> asyncio.Future:
    """Run an `ops` call from a Qt slot; its refusal goes to `on_error`, never up into Qt."""
    future = asyncio.ensure_future(coro)

    def done(fut: asyncio.Future) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        if isinstance(exc, OpsCenterError):
            on_error(str(exc))
        elif exc is not None:
            log.error("operation failed", exc_info=exc)
            on_error(f"Failed: {exc}")
        elif on_ok is not None:
            on_ok(fut.result())

    future.add_done_callback(done)
    return future


def once_later(parent: QWidget, slot: Callable[[], None]) -> QTimer:
    """A timer whose start() runs `slot` once when control returns to the loop, however often started."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(slot)
    return timer


def panel_style(name: str, font_px: int, button_px: int) -> str:
    """Big type, disabled buttons that look disabled, radio and check marks that show on grey."""
    n = f"#{name}"
    return (f"{n}, {n} QWidget {{ font-size: {font_px}px; }} {n} QPushButton {{ min-height: {button_px}px; }}"
            f" {n} QPushButton:disabled {{ color: {theme.TEXT_FAINT}; background: {theme.BACKGROUND};"
            f" border-color: {theme.PANEL_ALT}; }}"
            f" {n} QRadioButton::indicator, {n} QCheckBox::indicator, {n} QListWidget::indicator"
            f" {{ width: 14px; height: 14px; border: 2px solid {theme.TEXT_DIM}; }}"
            f" {n} QRadioButton::indicator {{ border-radius: 9px; }}"
            f" {n} QRadioButton::indicator:checked, {n} QCheckBox::indicator:checked,"
            f" {n} QListWidget::indicator:checked {{ background: {theme.TEXT}; }}")


def why_not(action: str, flow: AlertFlow, now: float) -> str:
    """Why `action` is not possible in the alert's state, or "" when it is."""
    state, shelved = flow.state, flow.is_shelved(now)
    if state is State.CLOSED:
        return "the alert is closed"
    if action == "acknowledge" and state is not State.NEW:
        return f"already {state.label}"
    if action == "dispatch" and state is State.ON_SCENE:
        return "units are on scene"
    if action == "on_scene" and state is not State.DISPATCHED:
        return "no unit dispatched yet"
    if action == "shelve" and shelved:
        return "already shelved"
    if action == "unshelve" and not shelved:
        return "not shelved"
    return ""


class _Form(QWidget):
    """A form page: Enter confirms, Escape cancels."""

    confirmed = Signal()
    cancelled = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirmed.emit()
        elif event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            super().keyPressEvent(event)


class WorkflowActions(QWidget):
    """Buttons and inline forms for the selected alert; follows `queue_view`'s selection if given."""

    failed = Signal(str)  # the message shown, for a status bar or a test

    def __init__(self, ops: Operations, queue_view: Any = None, parent: QWidget | None = None,
                 scale: float = 1.0) -> None:
        super().__init__(parent)
        self.ops = ops
        self.queue_view = queue_view
        self.alert_id = ""
        self.pending: list[asyncio.Future] = []
        self.setObjectName("workflowActions")
        self.setStyleSheet(panel_style("workflowActions", round(20 * scale), round(36 * scale)))
        self.title = QLabel("No alert selected")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setStyleSheet(f"color: {theme.WARN}; font-weight: 600;")
        self.message.hide()
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for key, text, slot in (
            ("acknowledge", "Acknowledge  ␣", self.acknowledge), ("dispatch", "Dispatch…  D", self.open_dispatch),
            ("on_scene", "On scene", self.on_scene), ("close", "Close…  C", self.open_close),
            ("shelve", "Shelve…  S", self.open_shelve), ("unshelve", "Unshelve", self.unshelve),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            row.addWidget(button)
        row.addStretch(1)
        self.forms = QStackedWidget()
        self.forms.addWidget(QWidget())
        self.forms.addWidget(self._dispatch_form())
        self.forms.addWidget(self._close_form())
        self.forms.addWidget(self._shelve_form())
        self.forms.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 4)
        column.addWidget(self.title)
        column.addLayout(row)
        column.addWidget(self.forms)
        column.addWidget(self.message)
        for key, slot in (("Space", self.acknowledge), ("D", self.open_dispatch), ("C", self.open_close),
                          ("S", self.open_shelve)):
            QShortcut(QKeySequence(key), self, activated=slot,
                      context=Qt.ShortcutContext.WindowShortcut)
        self._refresh_soon = once_later(self, self.refresh)
        unsubscribe = ops.workflow.subscribe(self._on_flow)
        self.destroyed.connect(lambda *_: unsubscribe())
        self._timer = QTimer(self)  # timers in the title, and a shelve running out
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        if queue_view is not None:
            queue_view.alert_selected.connect(self.set_alert)
        self.refresh()

    # -- forms -------------------------------------------------------------------------
    def _form(self, title: str, confirm: str, on_confirm: Callable[[], None]) -> tuple[_Form, QVBoxLayout]:
        form = _Form()
        layout = QVBoxLayout(form)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(QLabel(title))
        buttons = QHBoxLayout()
        ok, cancel = QPushButton(confirm), QPushButton("Cancel  Esc")
        ok.clicked.connect(on_confirm)
        cancel.clicked.connect(self.hide_form)
        form.confirmed.connect(on_confirm)
        form.cancelled.connect(self.hide_form)
        buttons.addWidget(ok)
        buttons.addWidget(cancel)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return form, layout

    def _dispatch_form(self) -> QWidget:
        form, layout = self._form("Send units — nearest available first, or type ids", "Dispatch",
                                  self.confirm_dispatch)
        self.unit_list = QListWidget()
        self.unit_list.setMaximumHeight(150)
        self.unit_edit = QLineEdit()
        self.unit_edit.setPlaceholderText("unit ids, comma separated, e.g. 3C21, 3C22")
        self.unit_edit.returnPressed.connect(self.confirm_dispatch)
        layout.insertWidget(1, self.unit_list)
        layout.insertWidget(2, self.unit_edit)
        return form

    def _close_form(self) -> QWidget:
        form, layout = self._form("Close with a disposition (Enter confirms)", "Close alert", self.confirm_close)
        self.disposition_group = QButtonGroup(form)
        radios = QHBoxLayout()
        for i, key in enumerate(DISPOSITIONS):
            radio = QRadioButton(DISPOSITION_LABELS[key])
            radio.setProperty("disposition", key)
            self.disposition_group.addButton(radio, i)
            radios.addWidget(radio)
        radios.addStretch(1)
        self.close_note = QLineEdit()
        self.close_note.setPlaceholderText("note (optional)")
        self.close_note.returnPressed.connect(self.confirm_close)
        layout.insertLayout(1, radios)
        layout.insertWidget(2, self.close_note)
        return form

    def _shelve_form(self) -> QWidget:
        form, layout = self._form("Shelve — the alert comes back by itself", "Shelve", self.confirm_shelve)
        self.shelve_reason = QLineEdit()
        self.shelve_reason.setPlaceholderText("reason (required), e.g. known fireworks display")
        self.shelve_reason.returnPressed.connect(self.confirm_shelve)
        self.minutes_group = QButtonGroup(form)
        durations = QHBoxLayout()
        for minutes in SHELVE_MINUTES:
            button = QPushButton(f"{minutes} min")
            button.setCheckable(True)
            button.setChecked(minutes == 30)
            self.minutes_group.addButton(button, minutes)
            durations.addWidget(button)
        durations.addStretch(1)
        layout.insertWidget(1, self.shelve_reason)
        layout.insertLayout(2, durations)
        return form

    def _show_form(self, page: int, focus: QWidget) -> None:
        self.show_message("")
        for i in range(self.forms.count()):  # the stack takes the height of the page shown, not the tallest
            policy = QSizePolicy.Policy.Preferred if i == page else QSizePolicy.Policy.Ignored
            self.forms.widget(i).setSizePolicy(policy, policy)
        self.forms.setCurrentIndex(page)
        self.forms.show()
        focus.setFocus()

    def hide_form(self) -> None:
        self.forms.setCurrentIndex(0)
        self.forms.hide()

    # -- state ---------------------------------------------------------------------------
    def set_alert(self, alert_id: str) -> None:
        """Follow another alert ("" for none); an open form belongs to the old one, so it closes."""
        if alert_id != self.alert_id:
            self.alert_id = alert_id
            self.hide_form()
            self.show_message("")
        self.refresh()

    def flow(self) -> AlertFlow:
        return self.ops.workflow.get(self.alert_id)

    def _on_flow(self, flow: AlertFlow) -> None:
        if flow.alert_id == self.alert_id:
            self._refresh_soon.start()

    def refresh(self) -> None:
        """Title, and each button enabled by state and role, with a tooltip saying why not."""
        now = self.ops.store.clock()
        flow = self.flow()
        if self.alert_id:
            self.title.setText(f"Alert {self.alert_id} · {describe(flow, now)}")
        else:
            self.title.setText("No alert selected — Space acknowledges the top one")
        user = self.ops.user
        for key, button in self.buttons.items():
            if not user.can(PERMISSION[key]):
                reason = f"{user.role}s may not {key.replace('_', ' ')}"
            elif not self.alert_id:
                reason = "" if key == "acknowledge" and self.queue_view is not None else "select an alert"
            else:
                reason = why_not(key, flow, now)
            button.setEnabled(not reason)
            button.setToolTip(reason and f"Not now: {reason}")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            self.failed.emit(text)

    def _call(self, coro: Awaitable[Any], on_ok: Callable[[Any], None] | None = None) -> asyncio.Future:
        future = run_op(coro, self.show_message, on_ok)
        self.pending = [f for f in self.pending if not f.done()] + [future]
        return future

    # -- actions -------------------------------------------------------------------------
    def acknowledge(self) -> int:
        """The selected alert, all of a selected district row, or the top of the queue."""
        ids: tuple[str, ...] = (self.alert_id,) if self.alert_id else ()
        view = self.queue_view
        if view is not None:
            row = view.selected_row()
            if row < 0 and view.model().rows:
                row = 0  # nothing selected: the top of the queue is what the operator is looking at
            ids = view.model().ids_of_row(row) or ids
        if len(ids) > 1:  # a district: only what is still new
            ids = tuple(i for i in ids if self.ops.workflow.get(i).state is State.NEW)
        for alert_id in ids:
            self._call(self.ops.acknowledge(alert_id))
        return len(ids)

    def open_dispatch(self) -> None:
        if not self.buttons["dispatch"].isEnabled():
            return
        self.unit_list.clear()
        shot = self.ops.store.get(Kind.SHOT, self.alert_id)
        if shot is not None:
            for unit, metres in nearest_available(self.ops.store, shot.lat, shot.lon, 8):
                item = QListWidgetItem(f"{unit.id}   {metres:,.0f} m   {unit.district}")
                item.setData(Qt.ItemDataRole.UserRole, unit.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.unit_list.addItem(item)
        self.unit_edit.clear()
        self._show_form(1, self.unit_list if self.unit_list.count() else self.unit_edit)

    def chosen_units(self) -> list[str]:
        picked = [self.unit_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.unit_list.count())
                  if self.unit_list.item(i).checkState() is Qt.CheckState.Checked]
        typed = [u.strip() for u in self.unit_edit.text().split(",") if u.strip()]
        return list(dict.fromkeys(picked + typed))

    def confirm_dispatch(self) -> None:
        units = self.chosen_units()
        if not units:
            self.show_message("Pick or type at least one unit")
            return
        self._call(self.ops.dispatch(self.alert_id, units), lambda _: self.hide_form())

    def on_scene(self) -> None:
        self._call(self.ops.on_scene(self.alert_id))

    def open_close(self) -> None:
        if not self.buttons["close"].isEnabled():
            return
        self.close_note.clear()
        self.disposition_group.setExclusive(False)
        for button in self.disposition_group.buttons():
            button.setChecked(False)  # a conscious choice every time
        self.disposition_group.setExclusive(True)
        self._show_form(2, self.disposition_group.buttons()[0])

    def confirm_close(self) -> None:
        checked = self.disposition_group.checkedButton()
        if checked is None:
            self.show_message("Pick a disposition")
            return
        self._call(self.ops.close(self.alert_id, checked.property("disposition"), self.close_note.text()),
                   lambda _: self.hide_form())

    def open_shelve(self) -> None:
        if not self.buttons["shelve"].isEnabled():
            return
        self.shelve_reason.clear()
        self._show_form(3, self.shelve_reason)

    def confirm_shelve(self) -> None:
        reason = self.shelve_reason.text().strip()
        if not reason:
            self.show_message("Shelving needs a reason")
            return
        minutes = self.minutes_group.checkedId()
        self._call(self.ops.shelve(self.alert_id, reason, float(minutes if minutes > 0 else 30)),
                   lambda _: self.hide_form())

    def unshelve(self) -> None:
        self._call(self.ops.unshelve(self.alert_id))
