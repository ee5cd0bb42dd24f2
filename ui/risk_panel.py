"""Why a risk area is flagged: its rank and score, and the shootings that raise it.

A shaded cell on the wall invites action, so the reason must be one click away and readable
from the back of the room: how much is recent near-repeat activity versus the long-run pattern,
and which shootings, how old and how far. The caveat line stays on screen on purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from opscenter.risk import RiskSurface

from .theme import TEXT, TEXT_DIM

CAVEAT = ("Forecasts are about places and times, not people: they say where gunfire is more "
          "likely tomorrow, never who. Not grounds for a stop.")
COLUMNS = ["When", "Age", "Distance", "Share", "What"]


def _label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # ids and kinds are data, never rich text
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


def format_age(days: float) -> str:
    """Hours under two days (recent matters most), whole days after that."""
    if days < 2:
        return f"{days * 24:.0f} h"
    return f"{days:.0f} days"


class RiskWhyPanel(QWidget):
    """The explanation of one flagged cell, in large type; `show_cell` fills it."""

    def __init__(self, scale: float = 1.0, parent=None) -> None:
        super().__init__(parent)
        self.cell_id: str | None = None
        self.title = _label("Risk area — click a shaded square on the map", "panelTitle")
        self.headline = _label("", "riskHeadline")
        self.shares = _label("", "riskShares")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.caveat = _label(CAVEAT, "riskCaveat")
        self.setStyleSheet(
            f"QLabel#riskHeadline {{ font-size: {round(28 * scale)}px; font-weight: 600; color: {TEXT}; }}"
            f"QLabel#riskShares {{ font-size: {round(21 * scale)}px; color: {TEXT}; }}"
            f"QLabel#riskCaveat {{ font-size: {round(16 * scale)}px; color: {TEXT_DIM}; font-style: italic; }}"
            f"QTableWidget {{ font-size: {round(19 * scale)}px; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        for widget in (self.title, self.headline, self.shares):
            layout.addWidget(widget)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caveat)

    def show_cell(self, surface: RiskSurface, cell_id: str, limit: int = 10) -> bool:
        """Explain `cell_id` of `surface`; False (and a plain message) when it is not there."""
        cell = surface.cell(cell_id)
        if cell is None:
            self.show_reason(surface.reason or f"{cell_id} is not in the current forecast")
            return False
        self.show_explanation(cell, surface.explain(cell_id, limit), of=len(surface.cells))
        return True

    def show_explanation(self, cell: dict[str, Any], events: list[dict[str, Any]], of: int = 0) -> None:
        """Fill the panel from a cell dict and its `explain` rows (for callers without a surface)."""
        self.cell_id = str(cell.get("id", ""))
        rank = int(cell.get("rank", 0))
        score = float(cell.get("score", 0.0))
        self.title.setText("Risk area — why this square")
        self.headline.setText(f"#{rank}" + (f" of {of}" if of else "")
                              + f"  ·  {score:.2f} expected shootings a day")
        self.shares.setText(
            f"Recent shootings nearby (triggering): {float(cell.get('share_trigger', 0)):.0%}\n"
            f"Long-run pattern here (background): {float(cell.get('share_background', 0)):.0%}")
        self.table.setRowCount(len(events))
        for row, e in enumerate(events):
            share = float(e.get("weight", 0.0)) / score if score > 0 else 0.0
            texts = (datetime.fromtimestamp(float(e.get("time", 0))).strftime("%a %d %b %H:%M"),
                     format_age(float(e.get("age_days", 0))), f"{float(e.get('distance_m', 0)):,.0f} m",
                     f"{share:.1%}", str(e.get("kind", "")))
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col in (1, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)

    def show_reason(self, reason: str) -> None:
        """No cell to explain (no forecast, too little data): say why instead of an empty table."""
        self.cell_id = None
        self.title.setText("Risk areas")
        self.headline.setText(reason)
        self.shares.setText("")
        self.table.setRowCount(0)

    def rows(self) -> list[list[str]]:
        """The table as text (what the room reads)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]
