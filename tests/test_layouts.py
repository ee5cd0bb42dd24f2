"""Wall layouts on screen (offscreen): open, rearrange, save, close, reopen the same."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QLabel

from opscenter.layout_spec import (
    BRIEFING, CHARTS, DEPLOYMENT, DETAILS, MAP, PANELS, QUEUE, Layout, LayoutError, WindowSpec,
    save_layout,
)
from ui.layouts import LayoutManager


@pytest.fixture
def manager(qtbot, tmp_path):
    built: list[str] = []

    def factory(name):
        def make():
            built.append(name)
            return QLabel(f"panel {name}")
        return make

    mgr = LayoutManager({n: factory(n) for n in PANELS}, tmp_path, header=lambda: QLabel("HEADER"))
    mgr.built = built
    yield mgr
    mgr.close()


def areas(window) -> dict[str, Qt.DockWidgetArea]:
    return {n: window.dockWidgetArea(d) for n, d in window.docks.items()}


def test_builtin_wall_opens_every_panel_once_in_one_window(manager) -> None:
    windows = manager.open("wall")
    assert len(windows) == 1 and windows[0].panel_names() == list(PANELS)
    assert windows[0].menuWidget().text() == "HEADER"
    assert areas(windows[0])[MAP] == Qt.DockWidgetArea.LeftDockWidgetArea
    assert areas(windows[0])[QUEUE] == Qt.DockWidgetArea.RightDockWidgetArea
    assert sorted(manager.built) == sorted(PANELS)


def test_round_trip_keeps_panels_geometry_and_dock_arrangement(manager, tmp_path, qtbot) -> None:
    layout = Layout("ops", [WindowSpec(0, [MAP, QUEUE, DEPLOYMENT, DETAILS]), WindowSpec(0, [CHARTS])])
    save_layout(layout, tmp_path)
    first, second = manager.open("ops")
    first.setGeometry(40, 30, 700, 520)
    second.setGeometry(100, 80, 500, 400)
    qtbot.waitExposed(first)
    # Rearrange: details (tabbed with deployment) to window 2, deployment to the top, the
    # queue tabbed with the map.
    assert first.tabifiedDockWidgets(first.docks[DEPLOYMENT]) == [first.docks[DETAILS]]
    manager.move_panel(DETAILS, 1)
    first.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, first.docks[DEPLOYMENT])
    first.tabifyDockWidget(first.docks[MAP], first.docks[QUEUE])
    assert first.tabifiedDockWidgets(first.docks[MAP]) == [first.docks[QUEUE]]
    qtbot.wait(50)
    before = {w.number: (w.panel_names(), areas(w)) for w in manager.windows}
    path = manager.save("ops")
    assert json.loads(path.read_text())["windows"][0]["geometry"] == [40, 30, 700, 520]
    manager.close()
    assert manager.windows == []

    first, second = manager.open("ops")
    assert first.panel_names() == [MAP, QUEUE, DEPLOYMENT] and second.panel_names() == [CHARTS, DETAILS]
    assert (first.geometry().getRect(), second.geometry().getRect()) == ((40, 30, 700, 520), (100, 80, 500, 400))
    assert {w.number: (w.panel_names(), areas(w)) for w in manager.windows} == before
    assert areas(first)[DEPLOYMENT] == Qt.DockWidgetArea.TopDockWidgetArea  # restoreState applied
    assert first.tabifiedDockWidgets(first.docks[MAP]) == [first.docks[QUEUE]]
    assert sorted(manager.built) == sorted([MAP, QUEUE, DEPLOYMENT, DETAILS, CHARTS])  # built once


def test_floating_panel_survives_the_round_trip(manager, qtbot) -> None:
    (window,) = manager.open("wall")
    window.setGeometry(0, 0, 780, 560)
    qtbot.waitExposed(window)
    window.docks[CHARTS].setFloating(True)
    qtbot.wait(20)
    manager.save("floaty")
    manager.close()
    (window,) = manager.open("floaty")
    assert window.docks[CHARTS].isFloating() and not window.docks[MAP].isFloating()


def test_missing_screen_falls_back_to_screen_0_and_keeps_the_wall_screen(manager, tmp_path) -> None:
    windows = manager.open("two-screen")  # offscreen has one screen
    assert [w.panel_names() for w in windows] == [[MAP], [QUEUE, DEPLOYMENT, DETAILS]]
    assert windows[1].screen() is windows[0].screen() and windows[1].fallback
    assert any("screen 1 is not connected" in w for w in manager.warnings)
    saved = manager.capture("two-screen")
    assert [w.screen for w in saved.windows] == [0, 1]


def test_panel_menu_offers_every_other_window_and_moves(manager) -> None:
    manager.open("two-screen")
    menu = manager.panel_menu(QUEUE)
    labels = [a.text() for a in menu.actions()]
    assert labels == ["Move “Shot alerts” to window 1 (screen 0)", "Move to a new window"]
    menu.actions()[0].trigger()
    assert manager.windows[0].panel_names() == [MAP, QUEUE]
    menu = manager.panel_menu(MAP)
    menu.actions()[-1].trigger()
    assert len(manager.windows) == 3 and manager.windows[2].panel_names() == [MAP]
    manager.move_panel(QUEUE, 2)
    assert manager.windows[0].panel_names() == []
    saved = manager.capture()
    assert [w.panels for w in saved.windows] == [[DEPLOYMENT, DETAILS], [MAP, QUEUE]]  # no empty window


def test_title_right_click_opens_the_menu_only_on_the_title(manager, monkeypatch) -> None:
    (window,) = manager.open("wall")
    opened = []
    monkeypatch.setattr(window, "menu_for", lambda name: opened.append(name) or _NoMenu())
    dock = window.docks[QUEUE]
    dock.customContextMenuRequested.emit(QPoint(5, 2))
    dock.customContextMenuRequested.emit(QPoint(5, dock.widget().geometry().top() + 5))
    assert opened == [QUEUE]


class _NoMenu:
    def exec(self, *_):
        return None


def test_closing_a_window_by_hand_keeps_its_panels(manager) -> None:
    first, second = manager.open("two-screen")
    second.close()
    assert manager.windows == [first]
    assert first.panel_names() == [MAP, QUEUE, DEPLOYMENT, DETAILS]


def test_unavailable_panel_is_left_out_with_a_warning(qtbot, tmp_path) -> None:
    mgr = LayoutManager({MAP: lambda: QLabel("m")}, tmp_path)
    try:
        (window,) = mgr.open("wall")
        assert window.panel_names() == [MAP]
        assert any("'briefing' is not available" in w for w in mgr.warnings)
    finally:
        mgr.close()


def test_bad_layout_file_is_refused(manager, tmp_path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "windows": [{"screen": 0, "panels": ["mapp"]}]}))
    with pytest.raises(LayoutError, match=r"bad\.json: window 1: unknown panel 'mapp'"):
        manager.open("bad")
    with pytest.raises(LayoutError):
        manager.open("../bad")


def test_distance_sets_each_windows_type_scale(manager, tmp_path) -> None:
    save_layout(Layout("far", [WindowSpec(0, [MAP, BRIEFING])], distance_m=6.0), tmp_path)
    (window,) = manager.open("far")
    screen = window.screen()
    expected = Layout("x", [], distance_m=6.0).scale_for(screen.geometry().height(), screen.physicalSize().height())
    assert window.scale == expected and f"font-size: {round(17 * expected)}px" in window.styleSheet()
    manager.open("wall")
    assert manager.windows[0].scale is None and "QWidget {" not in manager.windows[0].styleSheet()


class _HideSpy(QObject):
    """Records, when a window hides, how many of the manager's windows are visible."""

    def __init__(self, manager) -> None:
        super().__init__()
        self.manager, self.seen = manager, []

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Hide:
            self.seen.append(sum(w.isVisible() for w in self.manager.windows))
        return False


def test_switching_layouts_keeps_a_window_open_throughout(manager, qtbot) -> None:
    (old,) = manager.open("wall")
    map_widget = manager.widget(MAP)
    spy = _HideSpy(manager)
    old.installEventFilter(spy)
    windows = manager.open("two-screen")
    assert spy.seen == [2]  # the old window hid only once both new ones were up
    assert windows[0].docks[MAP].widget() is map_widget  # moved, not rebuilt
