"""Briefing mode: the commanders' views in rotation on the wall, interrupted by live gunfire.

A commander briefs from the wall without touching it: each view shows for its time, then the
next. A new shot alert must not wait for the slide show, so `interrupt()` jumps to the alert
view (the map) with a red banner and holds there; the rotation resumes where it was once the
hold runs out. Keys: Space pause/resume, Right/PageDown next, Left/PageUp previous, Escape exit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget,
)

from . import theme

NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_PageDown)
PREVIOUS_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_PageUp)
OWN_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Escape, *NEXT_KEYS, *PREVIOUS_KEYS)

DEFAULT_CONFIG: dict[str, Any] = {"views": [
    {"name": "map", "seconds": 30}, {"name": "compstat", "seconds": 25},
    {"name": "outcomes", "seconds": 20}, {"name": "missions", "seconds": 20},
]}


@dataclass(slots=True)
class BriefingView:
    """One view in the rotation and how long it stays up."""

    title: str
    widget: QWidget
    duration_s: float


def _style(scale: float) -> str:
    return f"""
    QWidget#briefingBar {{ background: {theme.PANEL}; }}
    QWidget#briefingBar QLabel {{ background: transparent; }}
    QLabel#briefingTitle {{ font-size: {round(40 * scale)}px; font-weight: 600; color: {theme.TEXT}; }}
    QLabel#briefingPosition {{ font-size: {round(30 * scale)}px; color: {theme.TEXT_DIM}; }}
    QLabel#briefingPaused {{ font-size: {round(30 * scale)}px; font-weight: 700; color: {theme.WARN};
                             padding: 0 16px; }}
    QLabel#briefingAlert {{ background: {theme.ALERT_BG}; color: {theme.ALERT}; font-weight: 700;
                            font-size: {round(34 * scale)}px; padding: 10px 18px; }}
    QProgressBar#briefingProgress {{ background: {theme.GRID}; border: none; max-height: {max(3, round(5 * scale))}px; }}
    QProgressBar#briefingProgress::chunk {{ background: {theme.TEXT_DIM}; }}
    """


class BriefingMode(QWidget):
    """Rotates through `views`; `clock` and `tick_ms` are injectable so timing can be tested."""

    view_changed = Signal(int)
    exit_requested = Signal()

    def __init__(self, views: Sequence[BriefingView], alert_view: str | None = "Map",
                 scale: float = 1.0, tick_ms: int = 100,
                 clock: Callable[[], float] = time.monotonic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not views:
            raise ValueError("a briefing needs at least one view")
        self.views = list(views)
        self.clock = clock
        self.alert_index = next((i for i, v in enumerate(self.views)
                                 if alert_view is not None and v.title.lower() == alert_view.lower()), None)
        self.index = 0
        self.paused = False
        self._started = clock()
        self._paused_elapsed = 0.0
        self._hold_until: float | None = None
        self._resume_index: int | None = None
        self._banner_text = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(_style(scale))
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._show(0)

    def _build(self) -> None:
        bar = QWidget()
        bar.setObjectName("briefingBar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        row = QHBoxLayout(bar)
        row.setContentsMargins(24, 10, 24, 10)
        self.title_label = QLabel(objectName="briefingTitle")
        self.paused_label = QLabel("PAUSED", objectName="briefingPaused")
        self.paused_label.hide()
        self.position_label = QLabel(objectName="briefingPosition")
        row.addWidget(self.title_label, 1)
        row.addWidget(self.paused_label)
        row.addWidget(self.position_label)
        self.progress = QProgressBar(objectName="briefingProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.alert_banner = QLabel(objectName="briefingAlert")
        self.alert_banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.alert_banner.hide()
        self.stack = QStackedWidget()
        for view in self.views:
            self.stack.addWidget(view.widget)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(bar)
        column.addWidget(self.progress)
        column.addWidget(self.alert_banner)
        column.addWidget(self.stack, 1)

    # -- state ---------------------------------------------------------------------------
    @property
    def interrupted(self) -> bool:
        return self._hold_until is not None

    def elapsed(self) -> float:
        """Seconds the current view has been up (frozen while paused)."""
        return self._paused_elapsed if self.paused else self.clock() - self._started

    def _show(self, index: int) -> None:
        self.index = index % len(self.views)
        view = self.views[self.index]
        self.stack.setCurrentIndex(self.index)
        self.title_label.setText(view.title)
        self.position_label.setText(f"{self.index + 1} / {len(self.views)}")
        self._started = self.clock()
        self._paused_elapsed = 0.0
        self.progress.setValue(0)
        self.view_changed.emit(self.index)

    def go_to(self, index: int) -> None:
        """Show view `index` by hand; a manual move cancels the return after an interrupt."""
        self._resume_index = None
        self._show(index)

    def next(self) -> None:
        self.go_to(self.index + 1)

    def previous(self) -> None:
        self.go_to(self.index - 1)

    def set_paused(self, paused: bool) -> None:
        if paused == self.paused:
            return
        now = self.clock()
        if paused:
            self._paused_elapsed = now - self._started
        else:
            self._started = now - self._paused_elapsed
        self.paused = paused
        self.paused_label.setVisible(paused)

    def toggle_pause(self) -> None:
        self.set_paused(not self.paused)

    def interrupt(self, title: str, detail: str, hold_s: float = 20) -> None:
        """A live alert: jump to the alert view with a red banner and hold the rotation for
        `hold_s`; another alert during the hold shows its text and extends the hold."""
        now = self.clock()
        if self._hold_until is None:
            self._resume_index = self.index
        self._hold_until = max(self._hold_until or now, now + hold_s)
        self._banner_text = f"{title} — {detail}" if detail else title
        self.alert_banner.show()
        self._update_banner(now)
        if self.alert_index is not None and self.index != self.alert_index:
            resume = self._resume_index
            self._show(self.alert_index)
            self._resume_index = resume

    def _update_banner(self, now: float) -> None:
        left = max(0, round((self._hold_until or now) - now))
        self.alert_banner.setText(f"{self._banner_text}   ·   briefing resumes in {left} s")

    def _end_interrupt(self) -> None:
        self._hold_until = None
        self.alert_banner.hide()
        resume, self._resume_index = self._resume_index, None
        self._show(self.index if resume is None else resume)

    def tick(self) -> None:
        """Advance the rotation: called by the timer; tests with a fake clock call it directly."""
        now = self.clock()
        if self._hold_until is not None:
            if now < self._hold_until:
                self._update_banner(now)
                self.progress.setValue(0)
                return
            self._end_interrupt()
            return
        if self.paused:
            return
        duration = max(0.05, self.views[self.index].duration_s)
        elapsed = now - self._started
        if elapsed >= duration:
            self._resume_index = None
            self._show(self.index + 1)
        else:
            self.progress.setValue(round(1000 * elapsed / duration))

    # -- keys ----------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # Inside the wall window Space acknowledges alerts: here it must pause instead.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() in OWN_KEYS and not event.modifiers():
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Space:
            self.toggle_pause()
        elif key in NEXT_KEYS:
            self.next()
        elif key in PREVIOUS_KEYS:
            self.previous()
        elif key == Qt.Key.Key_Escape:
            self.exit_requested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def present(self, screen: int | None = None, fullscreen: bool = True) -> None:
        """Show as its own window, full screen on `screen` when asked (the briefing-room wall)."""
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        if screen is not None and 0 <= screen < len(screens):
            self.setScreen(screens[screen])
            self.move(screens[screen].geometry().topLeft())
        self.showFullScreen() if fullscreen else self.show()
        self.setFocus()


def _title(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").title()


def briefing_sequence_from_config(config: Mapping[str, Any],
                                  available: Mapping[str, QWidget | Callable[[], QWidget]],
                                  default_seconds: float = 30.0) -> list[BriefingView]:
    """Views from `{"views": [{"name": "map", "seconds": 30, "title": "Map"}, …]}`, picking
    from the named widgets (or factories) in `available`; a view named "map" is titled "Map",
    which makes it the default alert view. Unknown names and bad durations are refused."""
    entries = config.get("views")
    if not isinstance(entries, list) or not entries:
        raise ValueError("briefing config: 'views' must be a non-empty list")
    views: list[BriefingView] = []
    names: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ValueError(f"briefing config: view {number} needs a 'name'")
        name = entry["name"]
        if name in names:
            raise ValueError(f"briefing config: view {name!r} appears twice")
        names.add(name)
        if name not in available:
            raise ValueError(f"briefing config: view {number}: unknown view {name!r}; "
                             f"available: {', '.join(sorted(available))}")
        seconds = entry.get("seconds", default_seconds)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 3600:
            raise ValueError(f"briefing config: view {name!r}: seconds must be between 0 and 3600")
        source = available[name]
        widget = source if isinstance(source, QWidget) else source()
        views.append(BriefingView(str(entry.get("title") or _title(name)), widget, float(seconds)))
    return views


def briefing_from_config(config: Mapping[str, Any],
                         available: Mapping[str, QWidget | Callable[[], QWidget]],
                         scale: float = 1.0) -> BriefingMode:
    """A ready BriefingMode; `"alert_view": "map"` in the config names the view alerts jump to."""
    views = briefing_sequence_from_config(config, available)
    alert = config.get("alert_view", "map")
    alert_title = next((v.title for v, e in zip(views, config["views"])
                        if (e if isinstance(e, str) else e["name"]) == alert), None)
    return BriefingMode(views, alert_view=alert_title, scale=scale)
