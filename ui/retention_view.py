"""What the wall keeps and for how long, and what the next purge removes — viewable in the app.

Retention is policy: commanders ask "how long do we keep unit positions?" at the wall, not at a
terminal. Everyone may look; only an admin changes a period (the hub checks again and audits it).
The dialog reads through an adapter, so it cannot tell the in-process hub from a remote one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from opscenter.errors import OpsCenterError

from . import theme

Describe = Callable[[], Awaitable[dict]]
Save = Callable[[str, float], Awaitable[Any]]
REFRESH_MS = 30_000
COLUMNS = ("Record kind", "Kept for", "What it is", "Next purge removes")
READ_ONLY_NOTE = "Read-only: only an admin changes retention."


def period_text(days: float | None) -> str:
    """"30 days", "1 day", "kept": a period as a commander reads it."""
    if days is None or days <= 0:
        return "kept"
    whole = f"{days:g}"
    return f"{whole} day" if whole == "1" else f"{whole} days"


def until_text(seconds: float) -> str:
    """Time to the next purge: "in 3 h 20 min", "in 4 min", "due now"."""
    if seconds < 60:
        return "due now"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"in {days} d {hours} h"
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"


def retention_adapters(runtime: Any, ops: Any) -> tuple[Describe | None, Save | None]:
    """(describe, save) for this window: straight into the embedded hub's keeper, or over REST
    to a remote hub; save is None unless this window's user may change retention."""
    user = getattr(ops, "user", None)
    may_change = user is not None and user.can("retention.change")
    keeper = getattr(getattr(runtime, "hub", None), "retention", None)
    if keeper is not None:
        async def describe() -> dict:
            return keeper.describe()

        async def save(kind: str, days: float) -> Any:
            keeper.set(kind, days, user.name)
            return keeper.describe()

        return describe, (save if may_change else None)
    client = getattr(runtime, "client", None)
    if client is not None:
        return client.retention, (client.set_retention if may_change else None)
    return None, None


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, OpsCenterError) else f"{type(exc).__name__}: {exc}"


class RetentionDialog(QDialog):
    """One row per record kind; refreshed every 30 s while open; an admin's change row below."""

    def __init__(self, describe: Describe, save: Save | None = None, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retention")
        self.resize(1150, 520)
        self.describe, self.save, self.clock = describe, save, clock
        self.data: dict = {}
        self.pending: asyncio.Future | None = None
        self.closed = False  # an answer arriving after the dialog is gone is dropped
        heading = QLabel("What is kept, for how long")
        heading.setObjectName("panelTitle")
        self.next_label = QLabel("Reading…")
        self.next_label.setObjectName("title")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.message = QLabel()
        self.message.setObjectName("feed")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.next_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self._build_change_row())
        layout.addWidget(self.message)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def _build_change_row(self) -> QWidget:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 6, 0, 0)
        self.kind_box = QComboBox()
        self.days_box = QDoubleSpinBox()
        self.days_box.setRange(0, 36500)
        self.days_box.setDecimals(0)
        self.days_box.setSuffix(" days")
        self.days_box.setSpecialValueText("keep")  # 0 = keep forever
        self.days_box.setToolTip("0 days: keep forever")
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_clicked)
        self.kind_box.currentIndexChanged.connect(self._kind_chosen)
        self.table.currentCellChanged.connect(lambda r, *_: r >= 0 and self.kind_box.setCurrentIndex(r))
        line.addWidget(QLabel("Change"))
        line.addWidget(self.kind_box, 1)
        line.addWidget(QLabel("to"))
        line.addWidget(self.days_box)
        line.addWidget(self.save_button)
        if self.save is None:
            row.hide()
        return row

    @property
    def read_only(self) -> bool:
        return self.save is None

    # -- data ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Ask the adapter again; the answer fills the table when it comes."""
        if self.pending is not None and not self.pending.done():
            return
        self.pending = asyncio.ensure_future(self._load())

    async def _load(self) -> None:
        try:
            data = await self.describe()
            if not self.closed:
                self.show_data(data)
        except Exception as exc:  # a hub away or a refusal: said in the dialog, never raised into Qt
            if not self.closed:
                self.show_message(f"Could not read retention: {_reason(exc)}", bad=True)

    def show_data(self, data: dict) -> None:
        self.data = data
        kinds = data.get("kinds") or []
        now = self.clock()
        next_run = data.get("next_run")
        if next_run is None:
            self.next_label.setText("No purge scheduled")
        else:
            at = time.strftime("%a %d %b %H:%M", time.localtime(float(next_run)))
            self.next_label.setText(f"Next purge {at} ({until_text(float(next_run) - now)})")
        self.table.setRowCount(len(kinds))
        for row, item in enumerate(kinds):
            due = int(item.get("due") or 0)
            cells = (str(item.get("kind", "")), period_text(item.get("days")), str(item.get("what", "")),
                     "—" if item.get("days") is None else f"{due:,} records")
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if col in (1, 3):
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 3 and not due:
                    cell.setForeground(theme.qcolor(theme.TEXT_DIM))  # nothing goes: quieter
                self.table.setItem(row, col, cell)
        names = [str(k.get("kind", "")) for k in kinds]
        if names != [self.kind_box.itemText(i) for i in range(self.kind_box.count())]:
            self.kind_box.blockSignals(True)
            self.kind_box.clear()
            self.kind_box.addItems(names)
            self.kind_box.blockSignals(False)
            self._kind_chosen(self.kind_box.currentIndex())
        if self.read_only:
            self.show_message(READ_ONLY_NOTE)

    def _kind_chosen(self, index: int) -> None:
        kinds = self.data.get("kinds") or []
        if 0 <= index < len(kinds):
            self.days_box.setValue(float(kinds[index].get("days") or 0))

    def save_clicked(self) -> None:
        if self.save is None or self.kind_box.currentIndex() < 0:
            return
        kind, days = self.kind_box.currentText(), float(self.days_box.value())
        self.save_button.setEnabled(False)
        self.show_message(f"Saving {kind}…")
        self.pending = asyncio.ensure_future(self._save(kind, days))

    async def _save(self, kind: str, days: float) -> None:
        assert self.save is not None
        try:
            answer = await self.save(kind, days)
            if self.closed:
                return
            self.show_data(answer if isinstance(answer, dict) and "kinds" in answer else await self.describe())
            self.show_message(f"{kind} now {period_text(days)}; the change is on the audit trail.")
        except Exception as exc:
            if not self.closed:
                self.show_message(f"Not saved: {_reason(exc)}", bad=True)
        finally:
            if not self.closed:
                self.save_button.setEnabled(True)

    def show_message(self, text: str, bad: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.WARN};" if bad else "")

    def done(self, result: int) -> None:
        self.closed = True
        self.timer.stop()
        super().done(result)
