"""The quarantine, viewable in the app: which feed sent what, when, and why it was refused."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QDialog, QHeaderView, QLabel, QPlainTextEdit, QSplitter, QTableView, QVBoxLayout

from opscenter.quarantine import Quarantine, QuarantinedMessage

from .table_model import FlatTableModel

COLUMNS = ("Time", "Feed", "Reason", "Bytes")


def preview(raw: bytes, limit: int = 4000) -> str:
    """Raw bytes as readable text: decoded where possible, control bytes shown as escapes."""
    text = raw[:limit].decode("utf-8", "backslashreplace")
    return "".join(c if c in "\n\t" or c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class QuarantineModel(FlatTableModel):
    """The quarantine's messages, newest first, refreshed as they arrive."""

    columns = COLUMNS

    def __init__(self, quarantine: Quarantine, parent=None) -> None:
        super().__init__(parent)
        self.quarantine = quarantine
        self.items: list[QuarantinedMessage] = []
        self._unsubscribe = quarantine.subscribe(lambda _item: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self.items = self.quarantine.items()
        self.endResetModel()

    def close(self) -> None:
        self._unsubscribe()

    def row_count(self) -> int:
        return len(self.items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        item = self.items[index.row()]
        return (
            time.strftime("%H:%M:%S", time.localtime(item.at)),
            item.source,
            item.reason,
            f"{len(item.raw):,}" + ("+" if item.truncated else ""),
        )[index.column()]


class QuarantineDialog(QDialog):
    """Newest first; selecting a row shows its raw bytes as plain text (never rendered)."""

    def __init__(self, quarantine: Quarantine, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quarantined messages")
        self.resize(1100, 600)
        self.model = QuarantineModel(quarantine, self)
        counts = ", ".join(f"{src}: {n}" for src, n in quarantine.counts.most_common()) or "none"
        heading = QLabel(f"Refused messages by feed — {counts}")
        heading.setObjectName("panelTitle")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.raw = QPlainTextEdit()
        self.raw.setReadOnly(True)
        self.table.selectionModel().currentRowChanged.connect(self._show)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.raw)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(split)

    def _show(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.raw.setPlainText(preview(self.model.items[current.row()].raw))

    def done(self, result: int) -> None:
        self.model.close()
        super().done(result)
