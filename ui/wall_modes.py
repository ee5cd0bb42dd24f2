"""The wall's other arrangements: saved layouts across screens, and the briefing rotation.

Both reuse the one wall window's live panels (map, queue, deployment, side area) rather than
building second copies, so every arrangement shows the same picture at the same moment.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QWidget

from opscenter.background import run_in_thread, when_done
from opscenter.domain import Kind

if TYPE_CHECKING:
    from .app import Wall

logger = logging.getLogger(__name__)
LAYOUTS_DIR = Path("var/layouts")
ZONE = "America/New_York"  # the briefing's local time (the demo city's; CompStat's default)


def _take(widget: QWidget) -> QWidget:
    widget.setParent(None)
    return widget


def open_layout(wall: "Wall", name: str, layouts_dir: Path = LAYOUTS_DIR):
    """Open layout `name`; Ctrl+Shift+S on any of its windows saves the arrangement back."""
    from .layouts import LayoutManager

    window = wall.window
    header = window.centralWidget().layout().itemAt(0).widget()
    queue_panel = window.right_split.widget(0)
    deployment_panel = window.right_split.widget(1)
    headers = iter([header])

    def make_header() -> QWidget:
        # the first window carries the live header; the others a clock-only strip
        first = next(headers, None)
        if first is not None:
            return _take(first)
        label = QLabel("OPSCENTER")
        label.setObjectName("title")
        return label

    panels = {
        "map": lambda: _take(window.map_view),
        "queue": lambda: _take(queue_panel),
        "deployment": lambda: _take(deployment_panel),
        "details": lambda: _take(window.side),
        "charts": lambda: _charts_panel(wall),
        "briefing": lambda: _briefing(wall, borrow=False),
    }
    manager = LayoutManager(panels, layouts_dir, header=make_header)
    windows = manager.open(name)
    for panel_window in windows:
        _shortcuts(wall, panel_window)
        QShortcut(QKeySequence("Ctrl+Shift+S"), panel_window, activated=lambda: _save(manager))
    return manager


def _save(manager) -> None:
    path = manager.save()
    logger.info("layout saved to %s", path)


def _shortcuts(wall: "Wall", target: QWidget) -> None:
    """The wall's keys work on every window of a layout."""
    window = wall.window
    if window.actions is None:
        QShortcut(QKeySequence(Qt.Key.Key_Space), target, activated=window.acknowledge_selected)
    QShortcut(QKeySequence("Ctrl+M"), target, activated=window.sound_button.toggle)


def _figures(wall: "Wall"):
    """This period's CompStat figures from the archive (imported and live history), if any."""
    from opscenter.compstat import figures_from_archive
    from opscenter.persistence import Archive

    db_path = _db_path(wall)
    if db_path is None:
        return None
    archive = Archive(db_path)
    try:
        return figures_from_archive(archive, "28d", time.time())
    finally:
        archive.close()


def _charts_panel(wall: "Wall") -> QWidget:
    """The commanders' charts (last day, weekly trends, year on year, 911 delay), kept fresh."""
    from .charts_panel import ChartsPanel

    return ChartsPanel(wall.runtime.store, _db_path(wall))


def _db_path(wall: "Wall") -> Path | None:
    path = getattr(getattr(wall.runtime, "config", None), "db_path", None)
    return Path(path) if path is not None and Path(path).exists() else None


def _fairness_view(db_path: Path, now: float) -> QWidget:
    """Tomorrow's forecast and its fairness readout, computed in a worker thread (seconds)."""
    from opscenter.briefing_text import next_midnight, risk_readout
    from opscenter.persistence import Archive

    from .briefing_views import FairnessTable

    view = FairnessTable()

    def compute():
        archive = Archive(db_path)
        try:
            return risk_readout(archive, next_midnight(now, ZONE), ZONE)
        finally:
            archive.close()

    def failed(error: BaseException) -> None:
        logger.warning("fairness readout failed: %s", error)
        view.note.setText("The forecast could not be computed; see the log.")

    when_done(run_in_thread(compute), view.set_readout, failed)
    return view


def _briefing(wall: "Wall", borrow: bool = True, config: dict[str, Any] | None = None):
    """The rotation. `borrow`: it may take the wall's live map and queue into its views (the
    briefing as the whole screen); inside a layout those panels live in their own docks."""
    from .briefing import briefing_from_config
    from .briefing_views import MissionsList, OutcomesTable, YoyTable

    figures = _figures(wall)
    available: dict[str, Any] = {}
    if borrow:
        available["map"] = lambda: _take(wall.window.map_view)
        available["queue"] = lambda: _take(wall.window.right_split.widget(0))
    if figures is not None:
        available["compstat"] = lambda: YoyTable(figures)
        available["outcomes"] = lambda: OutcomesTable(figures.outcomes)
    available["trends"] = lambda: _charts_panel(wall)
    missions = getattr(getattr(wall.runtime, "hub", None), "missions", None)
    available["missions"] = lambda: MissionsList([m.to_dict() for m in missions.book.missions()]
                                                 if missions is not None else [])
    db_path = _db_path(wall)
    if db_path is not None:
        available["fairness"] = lambda: _fairness_view(db_path, wall.runtime.store.clock())
    seconds = {"map": 30, "compstat": 25, "trends": 20, "outcomes": 20, "fairness": 25, "missions": 20,
               "queue": 20}
    views = [{"name": n, "seconds": seconds[n]} for n in seconds if n in available]
    config = dict(config or {"alert_view": "map"})
    wanted = config.get("views") or views
    # a configured view this wall cannot show (no archive yet for compstat) is left out, not fatal
    skipped = [v["name"] for v in wanted if v["name"] not in available]
    if skipped:
        logger.warning("briefing: no %s view here; left out of the rotation", ", ".join(skipped))
    config["views"] = [v for v in wanted if v["name"] in available] or views
    return briefing_from_config(config, available)


def open_briefing(wall: "Wall", screen: int | None = None):
    """Full-screen rotation; a new shot alert interrupts it on the map; Escape returns to the wall."""
    chosen = getattr(getattr(wall.runtime, "config", None), "briefing", None)  # `[briefing]` of --config
    briefing = _briefing(wall, config=chosen.to_dict() if chosen is not None else None)
    hold_s = chosen.hold_s if chosen is not None else 20.0
    window = wall.window
    store = wall.runtime.store

    def on_batch(batch) -> None:
        now = store.clock()
        for alert_id in batch.added_shots:
            shot = store.get(Kind.SHOT, alert_id)
            if shot is not None and now - shot.detected_at < 300:
                briefing.interrupt("SHOTS FIRED", f"{shot.rounds} rounds · {shot.address} · {shot.district}",
                                   hold_s=hold_s)

    wall.bridge.changed.connect(on_batch)
    briefing.exit_requested.connect(briefing.close)
    briefing.present(screen, fullscreen=True)
    window.hide()
    return briefing
