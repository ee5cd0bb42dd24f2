"""The shot-alert queue panel: a table model over `opscenter.alert_queue.build_queue`, and its view.

With a workflow board the model re-lays the queue whenever the board changes (another screen's
dispatch, a shelve) and when a shelved alert's time is up, so it returns without anyone asking.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from opscenter.alert_queue import (
    SHELVED,
    AlertRow,
    GroupRow,
    QueueRow,
    ShelvedRow,
    build_queue,
    format_911,
    format_age,
    state_text,
)
from opscenter.domain import AlertType, Kind
from opscenter.store import LiveStore
from opscenter.workflow import State, WorkflowBoard

from . import theme
from .bridge import ChangeBatch
from .table_model import FlatTableModel

COLUMNS = ("Age", "Type", "Rnds", "Address", "District / post", "911", "State")
AGE, TYPE, ROUNDS, ADDRESS, PLACE, CALL, STATE = range(len(COLUMNS))
IdRole = Qt.ItemDataRole.UserRole + 1
SHORT_TYPE = {
    AlertType.MULTIPLE: "Multiple",
    AlertType.SINGLE: "Single",
    AlertType.POSSIBLE_FIRECRACKER: "Gunshot/firecracker",
    AlertType.OTHER: "Other",
}


def _type_text(row: GroupRow) -> str:
    parts = [f"{n} {t.label.lower()}" for t, n in sorted(row.by_type.items(), key=lambda kv: -kv[0].severity)]
    return ", ".join(parts)


class AlertQueueModel(FlatTableModel):
    """Rows rebuilt from the store on each bridge batch; ages tick once a second."""

    columns = COLUMNS

    layout_changed = Signal(int, bool)  # unacknowledged count, flood

    def __init__(self, store: LiveStore, clock: Callable[[], float] = time.time, parent=None,
                 acknowledge: Callable[[str, str], bool] | None = None,
                 workflow: WorkflowBoard | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.workflow = workflow
        # who records an acknowledgement (the runtime also writes it to the audit trail)
        self._acknowledge = acknowledge or (lambda alert_id, by: store.acknowledge(alert_id, by=by))
        self.clock = clock
        self.rows: list[QueueRow] = []
        self.expanded: set[str] = set()
        self.fits = 14  # open alerts shown one per row before grouping; the view sets it from its height
        self.unacknowledged = 0
        self.flood = False
        self.shelved = 0
        self.next_change: float | None = None
        self._bold = QFont()
        self._bold.setBold(True)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._ticker.start()
        # board listeners fire once per alert (a district acknowledged = many): rebuild once after
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.rebuild)
        if workflow is not None:
            unsubscribe = workflow.subscribe(lambda _flow: self._pending.start())
            self.destroyed.connect(lambda *_: unsubscribe())
        self.rebuild()

    # -- updates -----------------------------------------------------------------------
    def on_batch(self, batch: ChangeBatch) -> None:
        if batch.touches(Kind.SHOT):
            self.rebuild()

    def rebuild(self) -> None:
        layout = build_queue(self.store, fits=self.fits, expanded=frozenset(self.expanded),
                             workflow=self.workflow, now=self.clock())
        self.beginResetModel()
        self.rows = layout.rows
        self.endResetModel()
        self.unacknowledged, self.flood = layout.unacknowledged, layout.flood
        self.shelved, self.next_change = layout.shelved, layout.next_change
        self.layout_changed.emit(self.unacknowledged, self.flood)

    def _tick(self) -> None:
        """Ages and workflow timers count up; a shelve that ran out puts its alert back."""
        if self.next_change is not None and self.clock() >= self.next_change:
            self.rebuild()
        elif self.rows:
            self.dataChanged.emit(self.index(0, AGE), self.index(len(self.rows) - 1, STATE),
                                  [Qt.ItemDataRole.DisplayRole])

    def set_fits(self, fits: int) -> None:
        fits = max(6, fits)
        if fits != self.fits:
            self.fits = fits
            self.rebuild()

    def toggle_group(self, district: str) -> None:
        self.expanded.symmetric_difference_update({district})
        self.rebuild()

    def acknowledge_row(self, row: int, by: str) -> int:
        """Acknowledge the alert (or every alert of the group) on `row`; returns how many."""
        return sum(self._acknowledge(i, by) for i in self.ids_of_row(row))

    def ids_of_row(self, row: int) -> tuple[str, ...]:
        """What acting on `row` means: its alert, or a district's alerts; the shelved row is none."""
        if not 0 <= row < len(self.rows):
            return ()
        item = self.rows[row]
        if isinstance(item, ShelvedRow):
            return ()
        return item.ids if isinstance(item, GroupRow) else (item.shot.id,)

    def row_of(self, alert_id: str) -> int:
        for i, item in enumerate(self.rows):
            if isinstance(item, AlertRow) and item.shot.id == alert_id:
                return i
        return -1

    # -- Qt model ----------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.rows[index.row()]
        if isinstance(item, GroupRow):
            return self._group_data(item, index.column(), role)
        if isinstance(item, ShelvedRow):
            return self._shelved_data(item, index.column(), role)
        return self._alert_data(item, index.column(), role)

    def _alert_data(self, item: AlertRow, col: int, role: int) -> Any:
        shot = item.shot
        if role == Qt.ItemDataRole.DisplayRole:
            if col == AGE:
                return format_age(self.clock() - shot.detected_at)
            if col == TYPE:
                return SHORT_TYPE[shot.alert_type]
            if col == ROUNDS:
                return str(shot.rounds)
            if col == ADDRESS:
                return ("  └ " if item.member_of else "") + (shot.address or f"{shot.lat:.4f}, {shot.lon:.4f}")
            if col == PLACE:
                return " / ".join(p for p in (shot.district, shot.post) if p) or "—"
            if col == CALL:
                return format_911(shot, item.first_call_at)
            if col == STATE:
                return state_text(item, self.clock())
        if role == IdRole:
            return shot.id
        attention = not item.acknowledged and item.member_of != SHELVED
        if role == Qt.ItemDataRole.ForegroundRole:
            if not attention:
                live = item.flow is not None and item.flow.state in (State.DISPATCHED, State.ON_SCENE)
                # the timer of what is under way stays readable; the rest recedes
                return theme.qcolor(theme.TEXT_DIM if col == STATE or (live and col == ADDRESS)
                                    else theme.TEXT_FAINT)
            if col in (STATE, TYPE, ROUNDS):
                return theme.qcolor(theme.ALERT)
            return theme.qcolor(theme.TEXT)
        if role == Qt.ItemDataRole.BackgroundRole and attention:
            return theme.qcolor(theme.ALERT_BG)
        if role == Qt.ItemDataRole.FontRole and attention and shot.alert_type is AlertType.MULTIPLE:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (AGE, ROUNDS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _group_data(self, item: GroupRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == AGE:
                return format_age(self.clock() - item.newest)
            if col == TYPE:
                return f"{'▾' if item.expanded else '▸'} {len(item.ids)} alerts"  # groups hold 2 or more
            if col == ROUNDS:
                return f"≤{item.max_rounds}"
            if col == ADDRESS:
                return _type_text(item)
            if col == PLACE:
                return item.district
            if col == CALL:
                return f"{item.with_911} with 911" if item.with_911 else "no 911 calls yet"
            if col == STATE:
                return "NEW"
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.qcolor(theme.ALERT if col in (TYPE, STATE) else theme.TEXT)
        if role == Qt.ItemDataRole.BackgroundRole:
            return theme.qcolor(theme.ALERT_BG)
        if role == Qt.ItemDataRole.FontRole:
            return self._bold
        return None


    def _shelved_data(self, item: ShelvedRow, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == TYPE:
                return f"{'▾' if item.expanded else '▸'} Shelved ({len(item.ids)})"
            if col == ADDRESS:
                return f"next back in {format_age(item.next_return - self.clock())}"
            if col == STATE:
                return "shelved"
            return ""
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.qcolor(theme.TEXT_DIM)
        return None


class AlertQueueView(QTableView):
    """Large rows; double-click toggles a group; `alert_activated(id)` for the map to fly to."""

    alert_activated = Signal(str)
    alert_selected = Signal(str)  # the selected alert's id, "" for a group row or nothing

    def __init__(self, model: AlertQueueModel, parent=None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(False)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(40)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ADDRESS, QHeaderView.ResizeMode.Stretch)
        self.clicked.connect(self._on_click)
        self.doubleClicked.connect(self._on_double_click)
        self._selected_id: str | None = None
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)
        self.selectionModel().selectionChanged.connect(self._on_selection)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        rows = self.viewport().height() // max(1, self.verticalHeader().defaultSectionSize())
        self.model().set_fits(rows - 1)

    def _remember_selection(self) -> None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        self._selected_id = rows[0].data(IdRole) if rows else None

    def _restore_selection(self) -> None:
        if self._selected_id:
            row = self.model().row_of(self._selected_id)
            if row >= 0:
                self.selectRow(row)

    def _on_click(self, index: QModelIndex) -> None:
        alert_id = index.data(IdRole)
        if alert_id:
            self.alert_activated.emit(alert_id)

    def _on_double_click(self, index: QModelIndex) -> None:
        item = self.model().rows[index.row()]
        if isinstance(item, GroupRow):
            self.model().toggle_group(item.district)
        elif isinstance(item, ShelvedRow):
            self.model().toggle_group(SHELVED)

    def _on_selection(self, *_args) -> None:
        rows = self.selectionModel().selectedRows()
        self.alert_selected.emit((rows[0].data(IdRole) or "") if rows else "")

    def selected_alert(self) -> str:
        """The selected alert's id, or "" (nothing, or a group row)."""
        rows = self.selectionModel().selectedRows()
        return (rows[0].data(IdRole) or "") if rows else ""

    def selected_row(self) -> int:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else -1
