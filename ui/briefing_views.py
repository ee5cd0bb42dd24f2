"""The commanders' views for briefing mode, in type read from the back of the room.

* `YoyTable`: counts per district against the same period a year earlier (`compstat.Figures`,
  the same strings `opscenter brief` prints, via `briefing_text.table_rows`);
* `OutcomesTable`: what became of the shot alerts per district, counts and shares of all
  alerts, with open and unknown shown rather than dropped;
* `MissionsList`: open missions from plain dicts;
* `FairnessTable`: the risk forecast's per-district fairness readout.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from opscenter.briefing_text import table_rows
from opscenter.compstat import CITY, DISPOSITIONS, OPEN, Figures, Outcome

from . import theme

DEFAULT_METRICS = ("shootings", "homicides", "detections")
OUTCOME_LABELS = {"evidence_found": "Evidence found", "no_evidence": "No evidence",
                  "not_gunfire": "Not gunfire", "unknown": "Unknown", OPEN: "Open"}
CLOSED_STATES = frozenset({"closed", "cancelled", "canceled", "done", "completed", "ended", "suppressed"})


class _BigTable(QWidget):
    """A caption, a read-only table in large type, and a footnote; no focus, so the briefing's
    keys never land in a cell."""

    def __init__(self, caption: str, scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        cell, head = round(30 * scale), round(24 * scale)
        self.setStyleSheet(
            f"QTableWidget {{ font-size: {cell}px; }}"
            f"QHeaderView::section {{ font-size: {head}px; font-weight: 600; padding: 6px 10px; }}"
            f"QLabel#briefingCaption {{ font-size: {head}px; color: {theme.TEXT_DIM}; padding: 8px 12px; }}"
            f"QLabel#briefingNote {{ font-size: {round(22 * scale)}px; color: {theme.TEXT_DIM}; padding: 6px 12px; }}")
        self.caption = QLabel(caption, objectName="briefingCaption")
        self.table = QTableWidget()
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.note = QLabel(objectName="briefingNote")
        self.note.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 4, 8, 4)
        column.addWidget(self.caption)
        column.addWidget(self.table, 1)
        column.addWidget(self.note)

    def _fill(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              colours: Mapping[tuple[int, int], str] | None = None, bold_last: bool = True) -> None:
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(list(header))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment((Qt.AlignmentFlag.AlignLeft if c == 0 else Qt.AlignmentFlag.AlignRight)
                                      | Qt.AlignmentFlag.AlignVCenter)
                if colours and (r, c) in colours:
                    item.setForeground(QColor(colours[(r, c)]))
                if bold_last and r == len(rows) - 1:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)

    def cell(self, row: int, column: int) -> str:
        """The text shown in a cell ("" when empty)."""
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def column(self, name: str) -> int:
        """Index of the column headed `name`, -1 when absent."""
        for c in range(self.table.columnCount()):
            header = self.table.horizontalHeaderItem(c)
            if header is not None and header.text() == name:
                return c
        return -1

    def area_row(self, area: str) -> int:
        for r in range(self.table.rowCount()):
            if self.cell(r, 0) == area:
                return r
        return -1


def _day(value: float, zone: str) -> str:
    return datetime.fromtimestamp(value, ZoneInfo(zone)).strftime("%d %b %Y %H:%M")


class YoyTable(_BigTable):
    """Per district: each metric now, a year earlier in brackets, and the change; a rise shows
    in the warning colour (the only colour on the page)."""

    def __init__(self, figures: Figures | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
                 zone: str = "America/New_York", scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__("", scale, parent)
        self.metrics = tuple(metrics)
        self.zone = zone
        self.note.setText("now (a year earlier) · change; \"new\": none a year earlier. "
                          "Shootings are victim reports only.")
        if figures is not None:
            self.set_figures(figures)

    def set_figures(self, figures: Figures) -> None:
        header, rows = table_rows(figures)
        where = {name: i for i, name in enumerate(header)}
        metrics = [m for m in self.metrics if f"{m} now" in where]
        out_header = ["District"]
        for m in metrics:
            out_header += [m.capitalize(), "±"]
        out_rows, colours = [], {}
        for r, row in enumerate(rows):
            cells = [row[0]]
            for m in metrics:
                change = row[where[f"{m} change"]]
                cells += [f"{row[where[f'{m} now']]}  ({row[where[f'{m} a year earlier']]})", change]
                if change == "new" or change.startswith("+"):
                    colours[(r, len(cells) - 1)] = theme.WARN
            out_rows.append(cells)
        self._fill(out_header, out_rows, colours, bold_last=bool(rows) and rows[-1][0] == CITY)
        start, end = figures.bounds
        self.caption.setText(f"{figures.period}: {_day(start, self.zone)} – {_day(end, self.zone)}"
                             f"   vs   {_day(figures.earlier[0], self.zone)} – {_day(figures.earlier[1], self.zone)}")


def _share(outcome: Outcome, disposition: str) -> str:
    share = outcome.share(disposition)
    return f"{outcome.counts.get(disposition, 0)}  ·  " + ("—" if share is None else f"{100 * share:.0f}%")


class OutcomesTable(_BigTable):
    """Alert outcomes per district: count and share of all alerts for every disposition, open
    included, and the evidence rate among alerts closed with a known verdict."""

    def __init__(self, outcomes: Iterable[Outcome] | None = None, scale: float = 1.0,
                 parent: QWidget | None = None) -> None:
        super().__init__("Shot alerts: what was found", scale, parent)
        self.note.setText("count · share of all alerts (open and unknown included). Evidence rate: "
                          "evidence found among alerts closed as evidence / no evidence / not gunfire.")
        if outcomes is not None:
            self.set_outcomes(outcomes)

    def set_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        outcomes = list(outcomes)
        columns = (*DISPOSITIONS, OPEN)
        header = ["District", "Alerts", *(OUTCOME_LABELS[d] for d in columns), "Evidence rate"]
        rows = []
        for outcome in outcomes:
            rate = outcome.evidence_rate
            rows.append([outcome.area, str(outcome.total), *(_share(outcome, d) for d in columns),
                         "—" if rate is None else f"{100 * rate:.0f}%"])
        self._fill(header, rows, bold_last=bool(outcomes) and outcomes[-1].area == CITY)


def _units(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value) if value else "none"
    return str(value)


def _dosage(done: Any, target: Any) -> str:
    """Minutes on post, against the target when the mission has one ("30 / 45 min")."""
    if done is None:
        return "—"
    if target:
        return f"{float(done):.0f} / {float(target):.0f} min"
    return f"{float(done):.0f} min"


class MissionsList(_BigTable):
    """Open missions: id, what, where, units, dosage (minutes on post), state. Missions are plain
    dicts with keys id, label, district, units, dosage_min (and target_min when set), state, as
    `Mission.to_dict()` gives them; closed states (completed, cancelled, suppressed…) are left out."""

    HEADER = ("ID", "Mission", "District", "Units", "Dosage", "State")

    def __init__(self, missions: Iterable[Mapping[str, Any]] | None = None, scale: float = 1.0,
                 parent: QWidget | None = None) -> None:
        super().__init__("Open missions", scale, parent)
        self.missions: list[Mapping[str, Any]] = []
        self.set_missions(missions or [])

    def set_missions(self, missions: Iterable[Mapping[str, Any]]) -> None:
        shown = [m for m in missions if str(m.get("state", "")).lower() not in CLOSED_STATES]
        self.missions = shown
        rows = []
        for m in shown:
            rows.append([str(m.get("id", "—")), str(m.get("label", "—")), str(m.get("district") or "—"),
                         _units(m.get("units")), _dosage(m.get("dosage_min"), m.get("target_min")),
                         str(m.get("state") or "—").replace("_", " ")])
        self._fill(self.HEADER, rows, bold_last=False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.note.setText("No open missions." if not rows else f"{len(rows)} open")


class FairnessTable(_BigTable):
    """Per district: share of the flagged area and of the suggested patrol time against the share
    of victim-reported shootings, with the warning where the forecast concentrates beyond harm.
    Filled later (`set_readout`): the forecast behind it takes seconds and runs off the GUI thread."""

    HEADER = ("District", "Flagged area", "Patrol time", "Victim shootings", "Ratio", "")

    def __init__(self, scale: float = 1.0, parent: QWidget | None = None) -> None:
        super().__init__("Risk forecast for tomorrow — fairness by district", scale, parent)
        self.note.setText("Computing the forecast…")

    def set_readout(self, readout: Any) -> None:
        """`readout` is a `briefing_text.RiskReadout`; its reason is shown when there is none."""
        fair = getattr(readout, "fairness", None)
        if readout is None or getattr(readout, "reason", None) or fair is None:
            self._fill(self.HEADER, [], bold_last=False)
            self.note.setText(getattr(readout, "reason", None) or "No forecast for this briefing.")
            return
        rows, colours = [], {}
        for r, d in enumerate(fair.districts):
            ratio = "∞" if d.ratio == float("inf") else f"{d.ratio:.2f}×"
            rows.append([d.district, f"{100 * d.flagged_area_share:.0f}%", f"{100 * d.patrol_share:.0f}%",
                         f"{100 * d.victim_share:.0f}%", ratio, "warning" if d.warning else ""])
            if d.warning:
                colours[(r, 4)] = colours[(r, 5)] = theme.WARN
        self._fill(self.HEADER, rows, colours, bold_last=False)
        self.caption.setText(f"Risk forecast for {readout.day} — top {100 * fair.fraction:.0f}% of the area, "
                             f"fairness by district")
        self.note.setText(
            f"Learnt from {readout.events:,} gunfire detections and victim-reported shootings "
            f"({readout.victim_reports:,} victim reports); never arrests or stops. A district warns "
            f"when its flagged area or patrol time exceeds {fair.threshold:g}× its share of victims."
            + ("" if readout.victim_reports else " No victim reports in the history: every district warns."))
