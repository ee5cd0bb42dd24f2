"""The commanders' charts on the wall: the last day against the typical one, weekly trends,
year on year by district, and the detection → first 911 call distribution.

The figures come from the same `briefing_text.collect` as the PDF (so wall and paper agree),
computed in a worker thread every few minutes; the charts are rebuilt on the GUI thread.
Without a database (a window joined to a remote hub) only the hourly chart is drawn, from the
detections the window holds.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from opscenter.background import run_in_thread, when_done
from opscenter.response_times import FIRST_CALL
from opscenter.store import LiveStore
from opscenter.trends import alerts_per_hour

from .charts import distribution_chart, hourly_chart, weekly_chart, yoy_chart

logger = logging.getLogger(__name__)
REFRESH_S = 300.0
WIDE_PX = 1400  # below this the charts stack: a chart squeezed to 400 px cannot be read
CHART_MIN_PX = 340
ZONE = "America/New_York"


def _collect(db_path: Path, now: float) -> Any:
    from opscenter.briefing_text import collect
    from opscenter.persistence import Archive
    from opscenter.response_times import load_workflow

    archive = Archive(db_path)
    try:
        return collect(archive, "28d", now, ZONE, workflow=load_workflow(db_path), forecast=False)
    finally:
        archive.close()


class ChartsPanel(QWidget):
    def __init__(self, store: LiveStore, db_path: Path | None, clock: Callable[[], float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.db_path = db_path
        self.clock = clock or store.clock
        # charts sit in a scrolling column on a desk's side panel, two abreast on a wide panel
        inner = QWidget()
        self.grid = QGridLayout(inner)
        self.grid.setContentsMargins(4, 4, 4, 4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.note = QLabel("Charts are being computed…")
        self.note.setObjectName("feed")
        self.grid.addWidget(self.note, 0, 0)
        self.charts: dict[str, QWidget] = {}
        self._task: asyncio.Future[Any] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(int(REFRESH_S * 1000))
        self._timer.timeout.connect(self.refresh)

    def showEvent(self, event) -> None:  # noqa: N802
        """Computed when first seen (a tab nobody opens costs nothing), then every REFRESH_S."""
        super().showEvent(event)
        if not self._timer.isActive():
            self._timer.start()
            QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        now = self.clock()
        if self.db_path is None or not Path(self.db_path).exists():
            self._show({"hourly": hourly_chart(alerts_per_hour([s.detected_at for s in self.store.shots()], now),
                                               title="Alerts per hour vs the typical day")})
            return
        if self._task is not None and not self._task.done():
            return
        self._task = when_done(run_in_thread(_collect, Path(self.db_path), now), self._ready, self._failed)

    def _failed(self, error: BaseException) -> None:
        logger.warning("charts could not be computed: %s", error)
        self.note.setText("Charts could not be computed; see the log.")

    def _ready(self, briefing: Any) -> None:
        charts = {"hourly": hourly_chart(briefing.hourly, title="Alerts per hour vs the typical day"),
                  "weekly": weekly_chart(briefing.weekly, zone=ZONE,
                                         title=f"Weekly counts, {len(briefing.weekly.starts)} weeks"),
                  "yoy": yoy_chart(briefing.yoy, title="Detections by district, year on year")}
        seconds = briefing.distributions.get(FIRST_CALL, [])
        if seconds:
            charts["first_call"] = distribution_chart(seconds, f"Detection → first 911 call ({len(seconds):,})")
        self._show(charts)

    def _show(self, charts: dict[str, QWidget]) -> None:
        """Replace the charts; two columns, so each stays large enough to read from the room."""
        for old in self.charts.values():
            self.grid.removeWidget(old)
            old.deleteLater()
        self.note.hide()
        self.charts = charts
        columns = 2 if self.width() >= WIDE_PX else 1
        for k, (name, chart) in enumerate(charts.items()):
            # the weekly chart stacks one small plot per series; each needs the room of a chart
            chart.setMinimumHeight(int(CHART_MIN_PX * (1.7 if name == "weekly" else 1.0)))
            self.grid.addWidget(chart, k // columns, k % columns)

    def close_panel(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
