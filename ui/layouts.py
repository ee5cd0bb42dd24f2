"""Wall layouts on screen: panels as dock widgets in one window per screen, saved and reopened.

Operators arrange the wall by dragging panels (docked, tabbed, floating) and by "Move to
window N" on a panel's title; `LayoutManager.capture()` reads the arrangement back into an
`opscenter.layout_spec.Layout` (which panels in which window, geometry, `saveState()`), and
`open()` rebuilds it, so the arrangement survives a restart. Each panel widget is built once
and moves between windows; it is never rebuilt (the map keeps its page).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

from PySide6.QtCore import QByteArray, QPoint, QRect, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QScreen
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from opscenter.layout_spec import (
    DEFAULT_DIR, MAP, Layout, WindowSpec, check_name, load_layout, save_layout, validate,
)

from . import theme

log = logging.getLogger(__name__)

TITLES = {"map": "Map", "queue": "Shot alerts", "deployment": "Deployment", "details": "Details",
          "charts": "Charts", "briefing": "Briefing"}
DOCK_FEATURES = QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable


class PanelWindow(QMainWindow):
    """One wall window: the header on top, every panel a movable, floatable dock widget."""

    def __init__(self, number: int, header: QWidget | None = None,
                 menu_for: Callable[[str], QMenu] | None = None,
                 on_close: Callable[[PanelWindow], None] | None = None) -> None:
        super().__init__()
        self.number = number
        self.menu_for = menu_for
        self.on_close = on_close
        self.requested_screen = 0
        self.fallback = False
        """True when the layout's screen is missing and the window opened on screen 0."""
        self.scale: float | None = None
        self.docks: dict[str, QDockWidget] = {}
        self.setObjectName(f"panelWindow{number}")
        self.setWindowTitle(f"OpsCenter — window {number + 1}")
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        if header is not None:
            self.setMenuWidget(header)

    def add_panel(self, name: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Dock `widget` as panel `name` (the dock's objectName, which saveState keys on)."""
        dock = QDockWidget(TITLES.get(name, name.title()), self)
        dock.setObjectName(f"panel:{name}")
        dock.setFeatures(DOCK_FEATURES)
        dock.setWidget(widget)
        dock.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        dock.customContextMenuRequested.connect(lambda pos, n=name, d=dock: self._title_menu(n, d, pos))
        self.addDockWidget(area, dock)
        dock.show()
        self.docks[name] = dock
        return dock

    def take_panel(self, name: str) -> QWidget:
        """Remove panel `name` and return its widget, unparented and alive."""
        dock = self.docks.pop(name)
        widget = dock.widget()
        self.removeDockWidget(dock)
        widget.setParent(None)
        dock.deleteLater()
        return widget

    def panel_names(self) -> list[str]:
        return list(self.docks)

    def _title_menu(self, name: str, dock: QDockWidget, pos: QPoint) -> None:
        inner = dock.widget()
        if inner is not None and pos.y() >= inner.geometry().top():
            return  # a right-click inside the panel belongs to the panel
        if self.menu_for is not None:
            self.menu_for(name).exec(dock.mapToGlobal(pos))

    def createPopupMenu(self) -> QMenu | None:  # noqa: N802
        return None  # Qt's default menu would let a panel be hidden and lost

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.on_close is not None:
            self.on_close(self)
        super().closeEvent(event)


def _dock_style(scale: float) -> str:
    """Dock titles in the panel-title type of the wall, so a panel's name reads from afar."""
    return (f"QDockWidget {{ font-size: {round(22 * scale)}px; font-weight: 600; color: {theme.TEXT_DIM}; }}"
            f"QDockWidget::title {{ background: {theme.BACKGROUND}; padding: 4px 8px; }}")


def _place_default(window: PanelWindow, names: Sequence[str], docks: Sequence[QDockWidget]) -> None:
    """Without a saved state: the map (or the first panel) left, two panels stacked on the
    right, any further ones tabbed with the last."""
    order = sorted(range(len(names)), key=lambda i: names[i] != MAP)
    first, rest = docks[order[0]], [docks[i] for i in order[1:]]
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first)
    for i, dock in enumerate(rest):
        if i < 2:
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock, Qt.Orientation.Vertical)
        else:
            window.tabifyDockWidget(rest[1], dock)
    if rest:
        rest[min(1, len(rest) - 1)].raise_()
        width = max(window.width(), 800)
        window.resizeDocks([first, rest[0]], [int(width * 0.55), int(width * 0.45)], Qt.Orientation.Horizontal)


class LayoutManager:
    """Opens, captures and saves wall layouts over a fixed set of named panel factories."""

    def __init__(self, panels: Mapping[str, Callable[[], QWidget]], layouts_dir: Path = DEFAULT_DIR,
                 header: Callable[[], QWidget] | None = None,
                 screens: Callable[[], Sequence[QScreen]] | None = None) -> None:
        self.factories = dict(panels)
        self.layouts_dir = Path(layouts_dir)
        self.header = header
        self.screens = screens or QGuiApplication.screens
        self.widgets: dict[str, QWidget] = {}
        self.windows: list[PanelWindow] = []
        self.layout: Layout | None = None
        self.warnings: list[str] = []
        self._closing = False
        self._retiring: list[PanelWindow] = []

    def widget(self, name: str) -> QWidget:
        """Panel `name`, built on first use and kept for the manager's life (taken out of a
        window that is being replaced)."""
        for window in self._retiring:
            if name in window.docks:
                window.take_panel(name)
        if name not in self.widgets:
            self.widgets[name] = self.factories[name]()
        return self.widgets[name]

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        log.warning(text)

    # -- open ----------------------------------------------------------------------------
    def open(self, name: str) -> list[PanelWindow]:
        """Open layout `name` (its file in layouts_dir, else the built-in one), replacing any
        windows this manager has open."""
        return self.open_layout(load_layout(check_name(name), self.layouts_dir))

    def open_layout(self, layout: Layout) -> list[PanelWindow]:
        """Open `layout`; the new windows are up before the old ones close, so the application
        never sees its last window close."""
        validate(layout)
        retiring, self.windows = self.windows, []
        self._retiring = retiring
        try:
            self.layout = layout
            for spec in layout.windows:
                self._open_window(spec, layout)
        finally:
            self._retiring = []
            self._close_windows(retiring)
        return list(self.windows)

    def _new_window(self) -> PanelWindow:
        window = PanelWindow(len(self.windows), self.header() if self.header else None,
                             menu_for=self.panel_menu, on_close=self._window_closed)
        self.windows.append(window)
        return window

    def _open_window(self, spec: WindowSpec, layout: Layout) -> PanelWindow:
        screens = list(self.screens())
        window = self._new_window()
        window.requested_screen = spec.screen
        index = spec.screen
        if index >= len(screens):
            self._warn(f"layout {layout.name!r}: screen {spec.screen} is not connected "
                       f"({len(screens)} screen(s)); window {window.number + 1} opens on screen 0")
            index, window.fallback = 0, True
        screen = screens[index] if screens else None
        names = [n for n in spec.panels if n in self.factories]
        for missing in (n for n in spec.panels if n not in self.factories):
            self._warn(f"layout {layout.name!r}: panel {missing!r} is not available here; left out")
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1600, 900)
        wanted = QRect(*spec.geometry) if spec.geometry else None
        if wanted is not None and not window.fallback and area.contains(wanted.center()):
            window.setGeometry(wanted)
        else:
            window.setGeometry(area)
        docks = [window.add_panel(n, self.widget(n)) for n in names]
        if docks:
            _place_default(window, names, docks)
        if spec.dock_state and not window.restoreState(QByteArray.fromBase64(spec.dock_state.encode("ascii"))):
            self._warn(f"layout {layout.name!r}: window {window.number + 1}: saved arrangement not applied")
        if screen is not None:
            if layout.distance_m is not None or layout.font_scale != 1.0:
                window.scale = layout.scale_for(screen.geometry().height(), screen.physicalSize().height())
            window.setScreen(screen)
        window.setStyleSheet((theme.stylesheet(window.scale) if window.scale else "")
                             + _dock_style(window.scale or 1.0))
        window.showFullScreen() if spec.fullscreen else window.show()
        return window

    # -- move ----------------------------------------------------------------------------
    def window_of(self, panel: str) -> PanelWindow | None:
        return next((w for w in self.windows if panel in w.docks), None)

    def move_panel(self, panel: str, target: int) -> None:
        """Move `panel` to window `target` (an index into `windows`; len(windows) opens a new
        window on the next screen)."""
        source = self.window_of(panel)
        if source is None:
            raise KeyError(f"panel {panel!r} is not open")
        if target == len(self.windows):
            self._new_window_for(panel)
            return
        window = self.windows[target]
        if window is source:
            return
        dock = window.add_panel(panel, source.take_panel(panel))
        others = [d for n, d in window.docks.items() if n != panel]
        if others:
            window.splitDockWidget(others[-1], dock, Qt.Orientation.Vertical)

    def _new_window_for(self, panel: str) -> PanelWindow:
        screens = list(self.screens())
        used = {w.requested_screen for w in self.windows}
        screen = next((i for i in range(len(screens)) if i not in used), 0)
        spec = WindowSpec(screen, [])
        source = self.window_of(panel)
        window = self._open_window(spec, self.layout or Layout("wall", [WindowSpec(0, [panel])]))
        assert source is not None
        window.add_panel(panel, source.take_panel(panel))
        return window

    def panel_menu(self, panel: str) -> QMenu:
        """The title-bar menu of a panel: "Move to window N" for every other window, and a new one."""
        menu = QMenu()
        source = self.window_of(panel)
        for index, window in enumerate(self.windows):
            if window is not source:
                action = menu.addAction(f"Move “{TITLES.get(panel, panel)}” to window {index + 1} "
                                        f"(screen {window.requested_screen})")
                action.triggered.connect(lambda _=False, i=index: self.move_panel(panel, i))
        action = menu.addAction("Move to a new window")
        action.triggered.connect(lambda _=False: self.move_panel(panel, len(self.windows)))
        return menu

    # -- capture and save ----------------------------------------------------------------
    def _screen_index(self, window: PanelWindow) -> int:
        screens = list(self.screens())
        current = window.screen()
        index = screens.index(current) if current in screens else 0
        # On a machine without the layout's screen, keep the wall's screen in the file.
        return window.requested_screen if window.fallback and index == 0 else index

    def capture(self, name: str | None = None) -> Layout:
        """The arrangement on screen now, as a Layout (windows without panels are left out)."""
        base = self.layout or Layout(name or "wall")
        windows = []
        for window in self.windows:
            if not window.docks:
                continue
            full = window.isFullScreen()
            rect = window.normalGeometry() if full else window.geometry()
            geometry = (rect.x(), rect.y(), rect.width(), rect.height()) if rect.isValid() else None
            state = bytes(window.saveState().toBase64().data()).decode("ascii")
            windows.append(WindowSpec(self._screen_index(window), window.panel_names(), full, geometry, state))
        return validate(Layout(name or base.name, windows, base.font_scale, base.distance_m))

    def save(self, name: str | None = None) -> Path:
        """Capture and write `layouts_dir/NAME.json`; returns the path."""
        layout = self.capture(name)
        path = save_layout(layout, self.layouts_dir)
        self.layout = layout
        return path

    # -- close ---------------------------------------------------------------------------
    def _window_closed(self, window: PanelWindow) -> None:
        """A window closed by hand hands its panels to the first other window, so none is lost."""
        if self._closing or window not in self.windows:
            return
        others = [w for w in self.windows if w is not window]
        if not others:
            return
        for name in window.panel_names():
            self.move_panel(name, self.windows.index(others[0]))
        self.windows.remove(window)
        for number, remaining in enumerate(self.windows):
            remaining.number = number
        window.deleteLater()

    def _close_windows(self, windows: Sequence[PanelWindow]) -> None:
        self._closing = True
        try:
            for window in windows:
                for name in window.panel_names():
                    window.take_panel(name)
                window.close()
                window.deleteLater()
        finally:
            self._closing = False

    def close(self) -> None:
        """Close every window; panel widgets are kept for the next `open()`."""
        windows, self.windows = self.windows, []
        self._close_windows(windows)
