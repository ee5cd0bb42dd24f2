"""The commanders' PDF briefing made from the wall, the same document `opscenter brief --out` writes.

A commander asks for it at the wall, minutes before a meeting; sending them to a terminal is
how briefings end up made from stale copies. The figures are read from the archive in a worker
thread (a year of records takes seconds); the painting needs Qt's GUI thread. A briefing leaves
the building, so it is an export and goes on the audit trail.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from opscenter.background import run_in_thread
from opscenter.briefing_text import Briefing

from . import theme

PERIOD_CHOICES = (("Last 24 hours (daily)", "daily"), ("Last 7 days (weekly)", "weekly"),
                  ("This month (monthly)", "monthly"), ("Last 28 days", "28d"), ("Year to date", "ytd"))
ALL_DISTRICTS = "All districts"
DEFAULT_DIR = Path("var/briefings")
ZONE = "America/New_York"
REMOTE_NOTE = ("This window joined a hub; the archive lives with the hub, so make the briefing "
               "there (opscenter brief --out FILE.pdf).")


def default_path(now: float, folder: Path = DEFAULT_DIR) -> Path:
    return folder / time.strftime("brief-%Y%m%d-%H%M.pdf", time.localtime(now))


def collect_briefing(db_path: Path, period: str, now: float, district: str | None,
                     zone: str = ZONE) -> Briefing:
    """What `opscenter brief --out` computes, run in a worker thread (its own SQLite connection)."""
    from opscenter.briefing_text import collect
    from opscenter.persistence import Archive
    from opscenter.response_times import load_workflow

    workflow = load_workflow(db_path)
    archive = Archive(db_path)
    try:
        return collect(archive, period, now, zone, district=district, workflow=workflow, forecast=True)
    finally:
        archive.close()


class ReportDialog(QDialog):
    """Period, district and file; Generate; progress, the result and "Open folder", or the error."""

    def __init__(self, db_path: Path | None, districts: Sequence[str], user: str, audit: Any = None,
                 parent: QWidget | None = None, clock: Callable[[], float] = time.time,
                 folder: Path = DEFAULT_DIR) -> None:
        super().__init__(parent)
        self.setWindowTitle("Briefing report")
        self.resize(760, 360)
        self.db_path, self.user, self.audit, self.clock = db_path, user, audit, clock
        self.result_path: Path | None = None
        self.pending: asyncio.Future | None = None
        self.period_box = QComboBox()
        for label, value in PERIOD_CHOICES:
            self.period_box.addItem(label, value)
        self.period_box.setCurrentIndex(3)  # 28 days, as `opscenter brief`
        self.district_box = QComboBox()
        self.district_box.addItems([ALL_DISTRICTS, *districts])
        self.folder = folder
        self._default = str(default_path(clock(), folder))
        self.path_edit = QLineEdit(self._default)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Period", self.period_box)
        form.addRow("District", self.district_box)
        form.addRow("Save as", file_row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("feed")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate_clicked)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        self.open_button.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.generate_button)
        heading = QLabel("Commanders' briefing (PDF)")
        heading.setObjectName("panelTitle")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status, 1)
        layout.addLayout(buttons)
        self.setStyleSheet(f"QPushButton:disabled, QComboBox:disabled, QLineEdit:disabled "
                           f"{{ color: {theme.TEXT_FAINT}; border-color: {theme.PANEL_ALT}; }}")
        if db_path is None:
            for widget in (self.period_box, self.district_box, self.path_edit, browse, self.generate_button):
                widget.setEnabled(False)
            self.say(REMOTE_NOTE)

    def showEvent(self, event: QShowEvent) -> None:
        """Reopened later: a fresh default name, unless the user chose one."""
        if self.path_edit.text() == self._default:
            self._default = str(default_path(self.clock(), self.folder))
            self.path_edit.setText(self._default)
        super().showEvent(event)

    # -- choices -------------------------------------------------------------------------
    @property
    def period(self) -> str:
        return str(self.period_box.currentData())

    @property
    def district(self) -> str | None:
        text = self.district_box.currentText()
        return None if text == ALL_DISTRICTS else text

    def choose_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the briefing as", self.path_edit.text(), "PDF (*.pdf)")
        if path:
            self.path_edit.setText(path if path.lower().endswith(".pdf") else f"{path}.pdf")

    def say(self, text: str, bad: bool = False, result: bool = False) -> None:
        """Progress and notes in dim grey; the written file in full text; a failure in amber."""
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.WARN}; font-weight: 600;" if bad
                                  else f"color: {theme.TEXT};" if result else "")

    # -- generating ----------------------------------------------------------------------
    def generate_clicked(self) -> None:
        if self.pending is None or self.pending.done():
            self.pending = asyncio.ensure_future(self.generate())

    async def generate(self) -> Path | None:
        """Write the PDF; the path, or None with the reason shown in the dialog."""
        out = Path(self.path_edit.text().strip()).expanduser()
        if self.db_path is None:
            self.say(REMOTE_NOTE, bad=True)
            return None
        if out.suffix.lower() != ".pdf":
            self.say(f"The file must end in .pdf, not {out.name or 'nothing'}.", bad=True)
            return None
        if not Path(self.db_path).exists():
            self.say(f"No database at {self.db_path}: import history first (opscenter import FILE).", bad=True)
            return None
        self.result_path = None
        self.generate_button.setEnabled(False)
        self.open_button.hide()
        self.progress.show()
        period, district = self.period, self.district
        try:
            self.say("Reading the archive and computing the figures…")
            briefing = await run_in_thread(collect_briefing, Path(self.db_path), period, self.clock(), district)
            self.say("Drawing the charts and writing the PDF…")
            await asyncio.sleep(0)  # let the label repaint before the painting holds the thread
            out.parent.mkdir(parents=True, exist_ok=True)
            from .report import write_pdf

            pages = write_pdf(briefing, out)
            self._audit(out, period, district, pages)
        except Exception as exc:  # any failure is the commander's to read, not a traceback
            self.say(f"The briefing was not made: {type(exc).__name__}: {exc}", bad=True)
            return None
        finally:
            self.progress.hide()
            self.generate_button.setEnabled(True)
        self.result_path = out.resolve()
        self.say(f"Written: {self.result_path} ({pages} pages)", result=True)
        self.open_button.show()
        return self.result_path

    def _audit(self, out: Path, period: str, district: str | None, pages: int) -> None:
        if self.audit is not None:
            self.audit.append(self.user, "brief.export", str(out.resolve()),
                              {"period": period, "district": district or "all", "pages": pages})

    def open_folder(self) -> None:
        if self.result_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_path.parent)))
