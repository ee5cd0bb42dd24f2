"""Keeps the map's shared layers in step with the shared picture: annotations, risk, missions.

Annotation shapes come from the hub's annotation board (whoever drew them, on whichever
screen); the risk surface is recomputed off the GUI thread from detections and victim-reported
shootings and explained in its panel on click.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Iterable

from PySide6.QtCore import QObject, QTimer

from opscenter.background import run_in_thread, when_done
from opscenter.annotations import Annotation, AnnotationBoard
from opscenter.risk import RiskSurface, compute_risk

from .map_view import MapView
from .risk_panel import RiskWhyPanel

logger = logging.getLogger(__name__)
RISK_EVERY_S = 30 * 60.0
ANNOTATION_COLOUR = "#a79bc9"


def shape_item(ann: Annotation) -> dict[str, Any]:
    return {"id": ann.id, "label": ann.label or ann.text[:60], "geometry": ann.geometry, "author": ann.author}


class LiveLayers(QObject):
    def __init__(self, map_view: MapView, risk_panel: RiskWhyPanel,
                 annotations: AnnotationBoard | None,
                 risk_records: Callable[[], Iterable[Any]] | None,
                 clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.map_view = map_view
        self.risk_panel = risk_panel
        self.annotations = annotations
        self.risk_records = risk_records
        self.clock = clock
        self.surface: RiskSurface | None = None
        self._task: asyncio.Future[Any] | None = None
        if annotations is not None:
            map_view.set_annotations([shape_item(a) for a in annotations.shapes()])
            self._unsubscribe = annotations.subscribe(self._on_annotation)
        self._timers: list[QTimer] = []
        if risk_records is not None:
            # a first forecast shortly after start, then every RISK_EVERY_S
            for interval, single in ((3000, True), (int(RISK_EVERY_S * 1000), False)):
                timer = QTimer(self)
                timer.setSingleShot(single)
                timer.setInterval(interval)
                timer.timeout.connect(self.refresh_risk)
                timer.start()
                self._timers.append(timer)

    def _on_annotation(self, ann: Annotation) -> None:
        if ann.deleted or ann.geometry is None:
            self.map_view.remove_annotation(ann.id)
        else:
            self.map_view.upsert_annotation(shape_item(ann))

    def refresh_risk(self) -> None:
        """Recompute in a worker thread; the wall keeps moving meanwhile."""
        if self.risk_records is None or (self._task is not None and not self._task.done()):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop runs (the window is being torn down): nothing to compute for

        try:
            records = list(self.risk_records())
        except Exception:
            logger.exception("risk input could not be read")
            return
        until = self.clock()
        self._task = when_done(run_in_thread(compute_risk, records, until), self._risk_ready,
                               lambda error: logger.error("risk forecast failed: %s", error))

    def _risk_ready(self, surface: RiskSurface) -> None:
        self.surface = surface
        self.map_view.set_risk(self.surface.cells)
        if self.surface.empty:
            self.risk_panel.show_reason(self.surface.reason)

    def show_risk(self, cell_id: str) -> bool:
        if self.surface is None:
            self.risk_panel.show_reason("The risk forecast is still being computed.")
            return True
        return self.risk_panel.show_cell(self.surface, cell_id)

    def close(self) -> None:
        for timer in self._timers:
            timer.stop()
        if self._task is not None:
            self._task.cancel()
        if self.annotations is not None:
            self._unsubscribe()
