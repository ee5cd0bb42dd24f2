"""Details of what the operator picked (queue row or map marker), and what is around it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from opscenter.alert_queue import format_age
from opscenter.domain import Kind
from opscenter.nearby import describe, nearby, nearest_available
from opscenter.store import LiveStore, event_time

RADIUS_M = 500.0
NOTED_KINDS = (Kind.SHOT, Kind.CALL)  # what analysts annotate (the notes editor's targets)


def _plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # feed text is never rendered as rich text
    label.setWordWrap(True)
    return label


class DetailsPanel(QWidget):
    """Fields of the selected record; for a place, the calls, units and earlier shots nearby.
    With an annotation board, a "Notes (N)" button asks for the notes of a shot or call."""

    notes_requested = Signal(str)  # "shot:ID" / "call:ID"

    def __init__(self, store: LiveStore, annotations: Any = None, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.annotations = annotations
        self.selected: tuple[Kind, str] | None = None
        self.title = QLabel("Nothing selected — click an alert or a marker")
        self.title.setObjectName("panelTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.notes_button = QPushButton("Notes")
        self.notes_button.clicked.connect(lambda: self.target and self.notes_requested.emit(self.target))
        self.notes_button.hide()
        self._unsubscribe = annotations.subscribe(self._on_annotation) if annotations is not None else None
        self.fields = QFormLayout()
        self.nearby_label = QLabel()
        self.nearby_label.setObjectName("feed")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["What", "Id", "Distance", "When"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.notes_button)
        layout.addLayout(title_row)
        layout.addLayout(self.fields)
        layout.addWidget(self.nearby_label)
        layout.addWidget(self.table, 1)

    def show_record(self, kind: Kind, record_id: str) -> bool:
        record = self.store.get(kind, record_id)
        if record is None:
            return False
        self.selected = (kind, record_id)
        self.title.setText(f"{kind.value.capitalize()} {record_id}")
        self._update_notes()
        while self.fields.rowCount():
            self.fields.removeRow(0)
        for name, value in describe(record):
            self.fields.addRow(name, _plain(value))
        lat, lon = getattr(record, "lat", None), getattr(record, "lon", None)
        rows = []
        if lat is not None and lon is not None:
            rows = nearby(self.store, lat, lon, event_time(record), RADIUS_M, exclude=record_id)
            closest = nearest_available(self.store, lat, lon, 3)
            self.nearby_label.setText(
                f"Within {RADIUS_M:.0f} m: {len(rows)}   ·   nearest available: "
                + (", ".join(f"{u.id} {d:,.0f} m" for u, d in closest) or "none"))
        else:
            self.nearby_label.setText("No position")
        self.table.setRowCount(len(rows))
        for i, item in enumerate(rows):
            when = ("−" if item.seconds < 0 else "+") + format_age(abs(item.seconds))
            for col, text in enumerate((f"{item.kind.value}: {item.label}", item.id,
                                        f"{item.distance_m:,.0f} m", when)):
                self.table.setItem(i, col, QTableWidgetItem(text))
        return True

    def refresh(self) -> None:
        if self.selected is not None:
            self.show_record(*self.selected)

    @property
    def target(self) -> str | None:
        """The selection as an annotation target, when it is something analysts annotate."""
        if self.selected is None or self.selected[0] not in NOTED_KINDS:
            return None
        return f"{self.selected[0].value}:{self.selected[1]}"

    def _update_notes(self) -> None:
        target = self.target
        if self.annotations is None or target is None:
            self.notes_button.hide()
            return
        self.notes_button.setText(f"Notes ({len(self.annotations.for_target(target))})")
        self.notes_button.show()

    def _on_annotation(self, ann: Any) -> None:
        target = self.target
        if target is not None and target in (ann.target, *ann.links):
            try:
                self._update_notes()
            except RuntimeError:  # the panel is gone (window closed) while the board lives on
                self.close_notes()

    def close_notes(self) -> None:
        """Stop following the board (the window is closing)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
