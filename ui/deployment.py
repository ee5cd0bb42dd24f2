"""Deployment panel: units by district and status, with late position reports called out."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QTableView

from opscenter.domain import Kind, UnitStatus
from opscenter.store import LiveStore

from . import theme
from .bridge import ChangeBatch
from .table_model import FlatTableModel

STATUSES = tuple(UnitStatus)
COLUMNS = ("District",) + tuple(s.label for s in STATUSES) + ("Stale",)
STALE_COL = len(COLUMNS) - 1


class DeploymentModel(FlatTableModel):
    """A district × status count matrix; re-read on unit changes and once a second (staleness)."""

    columns = COLUMNS

    def __init__(self, store: LiveStore, districts: Sequence[str], parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.districts = list(districts)
        self.counts: list[list[int]] = []
        self.stale: list[list[str]] = []
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self.recount)
        self._ticker.start()
        self.recount()

    def on_batch(self, batch: ChangeBatch) -> None:
        if batch.touches(Kind.UNIT):
            self.recount()

    def recount(self) -> None:
        index = {d: i for i, d in enumerate(self.districts)}
        counts = [[0] * len(STATUSES) for _ in self.districts]
        stale: list[list[str]] = [[] for _ in self.districts]
        now = self.store.clock()
        for unit in self.store.units():
            row = index.get(unit.district)
            if row is None:
                row = len(self.districts)
                self.districts.append(unit.district or "Unassigned")
                index[unit.district] = row
                counts.append([0] * len(STATUSES))
                stale.append([])
            counts[row][STATUSES.index(unit.status)] += 1
            if self.store.is_stale(unit, now) and unit.status is not UnitStatus.OUT_OF_SERVICE:
                stale[row].append(unit.id)
        reshaped = len(counts) != len(self.counts)
        if reshaped:
            self.beginResetModel()
        self.counts, self.stale = counts, [sorted(s) for s in stale]
        if reshaped:
            self.endResetModel()
        elif self.counts:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.counts) - 1, STALE_COL))

    def totals(self) -> dict[UnitStatus, int]:
        return {s: sum(r[i] for r in self.counts) for i, s in enumerate(STATUSES)}

    def row_count(self) -> int:
        return len(self.counts)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        stale = self.stale[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return self.districts[row]
            if col == STALE_COL:
                if not stale:
                    return ""
                shown = ", ".join(stale[:3])
                return f"{len(stale)}: {shown}" + (" …" if len(stale) > 3 else "")
            value = self.counts[row][col - 1]
            if col == 1 + STATUSES.index(UnitStatus.AVAILABLE):
                return str(value)  # "0 available" is news, not an empty cell
            return str(value) if value else "·"
        if role == Qt.ItemDataRole.ToolTipRole and col == STALE_COL and stale:
            return "Position report late: " + ", ".join(stale)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == STALE_COL and stale:
                return theme.qcolor(theme.WARN)
            if col == 1 + STATUSES.index(UnitStatus.AVAILABLE) and self.counts[row][col - 1] == 0:
                return theme.qcolor(theme.WARN)
            if col > 0 and col != STALE_COL and not self.counts[row][col - 1]:
                return theme.qcolor(theme.TEXT_FAINT)
            return theme.qcolor(theme.TEXT)
        if role == Qt.ItemDataRole.TextAlignmentRole and 0 < col < STALE_COL:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class DeploymentView(QTableView):
    def __init__(self, model: DeploymentModel, parent=None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QTableView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(30)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STALE_COL, QHeaderView.ResizeMode.Stretch)
