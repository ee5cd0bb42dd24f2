"""The wall window: header (clock, alert count, feed health), map, shot-alert queue, deployment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from opscenter.domain import Kind
from opscenter.feed_health import FeedHealth, FeedState
from opscenter.quarantine import Quarantine
from opscenter.store import LiveStore

from . import theme
from .alert_queue import AlertQueueModel, AlertQueueView
from .charts_panel import ChartsPanel
from .annotation_editor import AnnotationEditor
from .bridge import ChangeBatch, StoreBridge
from .deployment import DeploymentModel, DeploymentView
from .details import DetailsPanel
from .live_layers import LiveLayers
from .map_view import MapView
from .missions_panel import MissionsPanel
from .risk_panel import RiskWhyPanel
from .sound import AlertSound
from .workflow_actions import WorkflowActions, run_op

NEW_ALERT_WINDOW_S = 300.0


def _panel(title: str, body: QWidget, footer: QWidget | None = None) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 4, 6, 4)
    label = QLabel(title)
    label.setObjectName("panelTitle")
    layout.addWidget(label)
    layout.addWidget(body, 1)
    if footer is not None:
        layout.addWidget(footer)
    return box


class WallWindow(QMainWindow):
    """Everything on one screen; reads the store through the bridge's batches."""

    def __init__(
        self,
        store: LiveStore,
        bridge: StoreBridge,
        districts: Sequence[str],
        boundaries: dict[str, Any],
        center: tuple[float, float],
        feeds: Callable[[], list[FeedHealth]],
        quarantine: Quarantine,
        operator: str = "operator",
        sound: AlertSound | None = None,
        tiles_url: str | None = None,
        acknowledge: Callable[[str, str], bool] | None = None,
        ops: Any = None,
        risk_records: Callable[[], Any] | None = None,
        missions: Any = None,
        retention: Callable[[], Awaitable[dict]] | None = None,
        retention_save: Callable[[str, float], Awaitable[Any]] | None = None,
        archive_db: Path | None = None,
        audit: Any = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("OpsCenter — live operations")
        self.store = store
        self.feeds = feeds
        self.quarantine = quarantine
        self.operator = operator
        self.sound = sound or AlertSound(parent=self)

        self.queue_model = AlertQueueModel(store, clock=store.clock, parent=self, acknowledge=acknowledge,
                                           workflow=ops.workflow if ops is not None else None)
        self.queue_view = AlertQueueView(self.queue_model)
        self.deployment_model = DeploymentModel(store, districts, parent=self)
        self.deployment_view = DeploymentView(self.deployment_model)
        self.map_view = MapView(store, boundaries, center, tiles_url=tiles_url, parent=self)
        self.details = DetailsPanel(store, getattr(ops, "annotations", None))
        # status-bar dialogs: retention (describe/save adapters) and the PDF briefing (embedded archive)
        self.districts, self.retention, self.retention_save = list(districts), retention, retention_save
        self.archive_db, self.audit = archive_db, audit
        self.ops = ops  # this window's user and what they may do (None: a bare wall, acknowledge only)
        self.risk_panel = RiskWhyPanel()
        self.layers = LiveLayers(self.map_view, self.risk_panel, getattr(ops, "annotations", None),
                                 risk_records, clock=store.clock, parent=self)
        self.actions: WorkflowActions | None = None
        self.annotation_editor: AnnotationEditor | None = None
        self.missions_panel: MissionsPanel | None = None
        if missions is not None:
            self.missions_panel = MissionsPanel(missions)
            self._missions_dirty = True
            missions.subscribe(self._missions_changed)
        if ops is not None:
            self.actions = WorkflowActions(ops, self.queue_view, parent=self)
            self.annotation_editor = AnnotationEditor(ops, parent=self)
            self.queue_view.alert_selected.connect(self._on_alert_selected)
            self.annotation_editor.draw_requested.connect(lambda shape, _target: self.map_view.start_drawing(shape))
            self.map_view.shape_drawn.connect(self.annotation_editor.shape_drawn)
            self.details.notes_requested.connect(self.open_notes)

        self.setCentralWidget(self._build_body())
        self._build_shortcuts()
        self.queue_model.layout_changed.connect(self._on_queue_layout)
        self.queue_view.alert_activated.connect(self.map_view.flash)
        self.queue_view.alert_activated.connect(lambda alert_id: self.show_details(Kind.SHOT, alert_id))
        self.map_view.marker_clicked.connect(self._on_marker_clicked)
        bridge.changed.connect(self.on_batch)

        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(500)
        self._clock_timer.timeout.connect(self._tick)
        self._clock_timer.start()
        self._on_queue_layout(self.queue_model.unacknowledged, self.queue_model.flood)
        self._tick()

    # -- layout ------------------------------------------------------------------------
    def _build_header(self) -> QWidget:
        header = QWidget()
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 6, 12, 6)
        title = QLabel("OPSCENTER")
        title.setObjectName("title")
        self.alert_count = QLabel()
        self.alert_count.setObjectName("title")
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.banner.hide()
        self.feed_label = QLabel()
        self.feed_label.setObjectName("feed")
        self.feed_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.feed_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.clock_label = QLabel()
        self.clock_label.setObjectName("clock")
        self.follow_button = QPushButton("Follow new alerts")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.toggled.connect(self.map_view.set_follow)
        self.sound_button = QPushButton("Sound on")
        self.sound_button.setCheckable(True)
        self.sound_button.setChecked(True)
        self.sound_button.toggled.connect(self._set_sound)
        row.addWidget(title)
        row.addSpacing(24)
        row.addWidget(self.alert_count)
        row.addSpacing(12)
        row.addWidget(self.banner, 3)
        row.addWidget(self.feed_label, 2)
        row.addSpacing(16)
        row.addWidget(self.follow_button)
        row.addWidget(self.sound_button)
        row.addSpacing(16)
        row.addWidget(self.clock_label)
        return header

    def _build_body(self) -> QWidget:
        queue_footer = QWidget()
        footer_row = QHBoxLayout(queue_footer)
        footer_row.setContentsMargins(0, 0, 0, 0)
        if self.actions is not None:
            footer_row.addWidget(self.actions, 1)
            if self.missions_panel is not None and self.ops.user.can("message.send"):
                self.send_button = QPushButton("Send to units")
                self.send_button.setToolTip("Send the selected alert to the units' devices and the "
                                            "configured endpoints (the project's envelope)")
                self.send_button.clicked.connect(self.send_selected_alert)
                footer_row.addWidget(self.send_button)
        else:
            ack = QPushButton("Acknowledge  (Space)")
            ack.clicked.connect(self.acknowledge_selected)
            hint = QLabel("double-click a district row to expand it")
            hint.setObjectName("feed")
            footer_row.addWidget(hint)
            footer_row.addStretch(1)
            footer_row.addWidget(ack)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(_panel("Shot alerts", self.queue_view, queue_footer))
        right.addWidget(_panel("Deployment", self.deployment_view))
        # one side area, tabbed, so the column's minimum height is the tallest page, not the sum
        self.side = QTabWidget()
        self.side.addTab(self.details, "Details")
        self.side.addTab(self.risk_panel, "Why this area")
        if self.annotation_editor is not None:
            self.side.addTab(self.annotation_editor, "Notes")
        if self.missions_panel is not None:
            self.side.addTab(self.missions_panel, "Missions")
        self.charts_panel = ChartsPanel(self.store, self.archive_db)
        self.side.addTab(self.charts_panel, "Charts")
        right.addWidget(self.side)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([520, 330, 0])  # the side area opens when something is picked
        self.right_split = right

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.map_view)
        split.addWidget(right)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setSizes([900, 720])

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._build_header())
        column.addWidget(split, 1)
        self.status_label = QLabel()
        self.status_label.setObjectName("feed")
        self.statusBar().addWidget(self.status_label, 1)
        self.quarantine_button = QPushButton("Quarantine: 0")
        self.quarantine_button.clicked.connect(self.show_quarantine)
        self.statusBar().addPermanentWidget(self.quarantine_button)
        if self.retention is not None:
            self.retention_button = QPushButton("Retention")
            self.retention_button.clicked.connect(self.show_retention)
            self.statusBar().addPermanentWidget(self.retention_button)
        self.report_button = QPushButton("Briefing report…")
        self.report_button.clicked.connect(self.show_report)
        self.statusBar().addPermanentWidget(self.report_button)
        return body

    def _build_shortcuts(self) -> None:
        if self.actions is None:  # the action bar owns Space (two shortcuts on one key cancel out)
            QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.acknowledge_selected)
        QShortcut(QKeySequence("F11"), self, activated=self._toggle_fullscreen)
        QShortcut(QKeySequence("N"), self, activated=lambda: self._open_side(4))  # notes on the selection
        QShortcut(QKeySequence("Ctrl+M"), self, activated=self.sound_button.toggle)

    # -- behaviour ---------------------------------------------------------------------
    def send_selected_alert(self) -> None:
        """Dissemination of a shot alert; the delivery states come back in the status line."""
        alert_id = self.queue_view.selected_alert()
        if not alert_id or self.missions_panel is None:
            self.statusBar().showMessage("Select an alert to send it to units", 8000)
            return

        def sent(deliveries: list[dict]) -> None:
            states = ", ".join(f"{d.get('endpoint')}: {d.get('state')}" for d in deliveries) or "no endpoint"
            self.statusBar().showMessage(f"Alert {alert_id} sent · {states}", 15000)

        run_op(self.missions_panel.source.send("shot", alert_id, "envelope"),
               lambda error: self.statusBar().showMessage(f"Not sent: {error}", 15000), sent)

    def _missions_changed(self, *_: Any) -> None:
        self._missions_dirty = True  # drawn on the next tick: dosage updates come in bursts

    def on_batch(self, batch: ChangeBatch) -> None:
        self.queue_model.on_batch(batch)
        self.deployment_model.on_batch(batch)
        self.map_view.on_batch(batch)
        now = self.store.clock()
        for alert_id in batch.added_shots:
            shot = self.store.get(Kind.SHOT, alert_id)
            if shot is not None and now - shot.detected_at < NEW_ALERT_WINDOW_S:
                self.sound.on_new_alert(now)

    def acknowledge_selected(self) -> int:
        if self.actions is not None:
            return self.actions.acknowledge()
        row = self.queue_view.selected_row()
        if row < 0 and self.queue_model.rows:
            row = 0  # nothing selected: the top of the queue is what the operator is looking at
        return self.queue_model.acknowledge_row(row, by=self.operator)

    def _on_marker_clicked(self, layer: str, record_id: str) -> None:
        kind = {"shots": Kind.SHOT, "calls": Kind.CALL, "units": Kind.UNIT, "advisories": Kind.ADVISORY}.get(layer)
        if kind is not None:
            self.show_details(kind, record_id)
            if self.annotation_editor is not None and kind in (Kind.SHOT, Kind.CALL):
                self.annotation_editor.open_for(f"{kind.value}:{record_id}")
        elif layer == "risk" and self.layers.show_risk(record_id):
            self._open_side(3)
        elif layer == "missions" and self.missions_panel is not None:
            self.side.setCurrentWidget(self.missions_panel)
            self._open_side(self.side.currentIndex() + 2)
        elif layer == "annotations" and self.annotation_editor is not None:
            ann = self.ops.annotations.get(record_id)
            if ann is not None:
                self.annotation_editor.open_for(ann.target)
                self._open_side(4)

    def _on_alert_selected(self, alert_id: str) -> None:
        if alert_id and self.annotation_editor is not None:
            self.annotation_editor.open_for(f"shot:{alert_id}")

    def show_details(self, kind: Kind, record_id: str) -> None:
        if self.details.show_record(kind, record_id):
            self._open_side(2)

    def _open_side(self, index: int) -> None:
        """Show the details (2), the risk "why" (3) or the notes (4) in the side area, opened to
        a third of the column if it was closed."""
        page = index - 2
        if page >= self.side.count():
            return
        self.side.setCurrentIndex(page)
        sizes = self.right_split.sizes()
        total = sum(sizes)
        # writing notes needs the room; reading details or a "why" leaves the queue more
        shares = (0.35, 0.12, 0.53) if index == 4 else (0.45, 0.25, 0.30)
        if sizes[2] < total * shares[2] - 20:
            self.right_split.setSizes([int(total * f) for f in shares])

    def show_quarantine(self) -> None:
        from .quarantine_view import QuarantineDialog

        dialog = QuarantineDialog(self.quarantine, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.quarantine_dialog = dialog

    # -- status-bar dialogs and notes from the details panel ---------------------------------
    def show_retention(self) -> None:
        from .retention_view import RetentionDialog

        if self.retention is not None:
            dialog = RetentionDialog(self.retention, self.retention_save, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.show()
            self.retention_dialog = dialog

    def show_report(self) -> None:
        from .report_dialog import ReportDialog

        if getattr(self, "report_dialog", None) is None:  # kept: a briefing may outlive a close
            user = getattr(getattr(self.ops, "user", None), "name", None) or self.operator
            self.report_dialog = ReportDialog(self.archive_db, self.districts, user, self.audit, self)
        self.report_dialog.show()
        self.report_dialog.raise_()

    def open_notes(self, target: str) -> None:
        if self.annotation_editor is not None:
            self.annotation_editor.open_for(target)
            self._open_side(4)

    def _set_sound(self, on: bool) -> None:
        self.sound.set_muted(not on)
        self.sound_button.setText("Sound on" if on else "Sound muted")

    def closeEvent(self, event) -> None:  # noqa: N802
        self.layers.close()  # no forecast may start for a window that is gone
        self.charts_panel.close_panel()
        super().closeEvent(event)

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _on_queue_layout(self, unacknowledged: int, flood: bool) -> None:
        if unacknowledged:
            self.alert_count.setText(f"{unacknowledged} NEW")
            self.alert_count.setStyleSheet("color: #e5484d;")
        else:
            self.alert_count.setText("no open alerts")
            self.alert_count.setStyleSheet("color: #8b9199;")
        self._update_banner(self.store.clock())

    def _update_banner(self, now: float) -> None:
        detector = self.sound.policy.flood
        in_flood = detector.in_flood(now)
        self.map_view.follow_suspended = in_flood  # the whole city matters, not the newest dot
        if in_flood:
            self.banner.setText(f"FLOOD · {detector.recent(now)} alerts in 5 min · grouped by district")
        self.banner.setVisible(in_flood)

    def _tick(self) -> None:
        now = self.store.clock()
        if self.missions_panel is not None and self._missions_dirty:
            self._missions_dirty = False
            self.map_view.set_missions(self.missions_panel.source.missions())
        self.clock_label.setText(time.strftime("%H:%M:%S", time.localtime(now)))
        self._update_banner(now)
        parts, bad = [], False
        wall_now = time.time()  # feeds keep real time, even when a demo runs faster
        for health in self.feeds():
            parts.append(f"{health.name}: {health.summary(wall_now)}")
            bad = bad or health.state is not FeedState.CONNECTED
        self.feed_label.setText("   ".join(parts) or "no feeds")
        if self.feed_label.property("state") != ("bad" if bad else "ok"):
            self.feed_label.setProperty("state", "bad" if bad else "ok")
            self.feed_label.style().unpolish(self.feed_label)
            self.feed_label.style().polish(self.feed_label)
        q = len(self.quarantine)
        last = self.quarantine.items()[0] if q else None
        self.status_label.setText(
            f"Shots {self.store.size(Kind.SHOT)} · calls {self.store.size(Kind.CALL)} · "
            f"units {self.store.size(Kind.UNIT)}"
            + (f" · last refused: {last.source}: {last.reason}" if last else "")
        )
        self.quarantine_button.setText(f"Quarantine: {q}")
        self.quarantine_button.setStyleSheet(f"color: {theme.WARN};" if q else "")
