"""`[briefing]`: validation with named errors, and `open_briefing` following the configured
rotation, alert view and hold (offscreen, on a stand-in wall around a real store)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QWidget

from opscenter.briefing_config import BriefingConfig, ViewTime, load_briefing_config, parse_briefing_config
from opscenter.domain import AlertType, ShotAlert
from opscenter.feed_config import ConfigError
from opscenter.store import LiveStore
from ui.bridge import ChangeBatch
from ui.wall_modes import open_briefing


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(text)
    return path


def test_a_good_table_parses() -> None:
    config = parse_briefing_config({"briefing": {
        "views": [{"name": "map", "seconds": 30}, {"name": "compstat", "seconds": 25}, {"name": "fairness"}],
        "alert_view": "map", "hold_s": 45}}, "wall.toml")
    assert config == BriefingConfig((ViewTime("map", 30.0), ViewTime("compstat", 25.0), ViewTime("fairness", 30.0)),
                                    "map", 45.0)
    assert config.to_dict() == {"alert_view": "map", "views": [
        {"name": "map", "seconds": 30.0}, {"name": "compstat", "seconds": 25.0}, {"name": "fairness", "seconds": 30.0}]}


def test_defaults_and_absence() -> None:
    assert parse_briefing_config({"feed": []}, "wall.toml") is None
    assert parse_briefing_config({"briefing": {}}, "wall.toml") == BriefingConfig((), "map", 20.0)
    no_map = parse_briefing_config({"briefing": {"views": [{"name": "queue", "seconds": 5}]}}, "wall.toml")
    assert no_map is not None and no_map.alert_view is None  # an alert holds in place


INVALID = [
    ('views = [{name = "weather", seconds = 30}]', "views[1].name: unknown view 'weather'"),
    ('views = [{name = "map", seconds = 4}]', "views[1].seconds: must be within 5..600 s (got 4)"),
    ('views = [{name = "map", seconds = 601}]', "views[1].seconds: must be within 5..600"),
    ('views = [{name = "map", seconds = "30"}]', "views[1].seconds: must be a number of seconds, not str"),
    ('views = [{name = "map", seconds = true}]', "views[1].seconds: must be a number of seconds, not bool"),
    ('views = [{name = "map"}, {name = "queue", secs = 5}]', "views[2]: unknown key 'secs'"),
    ('views = [{name = "map"}, {name = "map"}]', "views[2].name: 'map' is already in the rotation"),
    ('views = [{seconds = 10}]', "views[1].name: missing"),
    ('views = ["map"]', "views[1]: must be a table"),
    ('views = []', "views: must be a non-empty list"),
    ('views = [{name = "map"}]\nalert_view = "queue"', "alert_view: 'queue' is not one of the views"),
    ('alert_view = "radar"', "alert_view: unknown view 'radar'"),
    ('hold_s = 1', "hold_s: must be within 5..600 s (got 1)"),
    ('hold_s = nan', "hold_s: must be within 5..600"),
    ('speed = 2', "unknown key 'speed'"),
]


@pytest.mark.parametrize("body, expected", INVALID, ids=[str(i) for i in range(len(INVALID))])
def test_invalid_briefing_tables_name_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "[briefing]\n" + body + "\n")
    with pytest.raises(ConfigError) as info:
        load_briefing_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: [briefing]"), message
    assert expected in message, message


def test_an_array_of_briefing_tables_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[briefing\], not \[\[briefing\]\]"):
        load_briefing_config(write(tmp_path, "[[briefing]]\nhold_s = 10\n"))


# -- the wall ---------------------------------------------------------------------------------
class _Bridge(QObject):
    changed = Signal(object)


def _wall(qtbot, briefing: BriefingConfig | None):
    """What open_briefing reads of a Wall: map view, queue panel, store, config, bridge."""
    window = QWidget()
    qtbot.addWidget(window)
    window.map_view = QLabel("map")
    window.right_split = QSplitter()
    window.right_split.addWidget(QLabel("queue"))
    store = LiveStore()
    runtime = SimpleNamespace(store=store, hub=None, config=SimpleNamespace(db_path=None, briefing=briefing))
    return SimpleNamespace(window=window, runtime=runtime, bridge=_Bridge())


def _open(qtbot, wall):
    mode = open_briefing(wall)
    qtbot.addWidget(mode)
    return mode


def _alert(wall) -> None:
    store = wall.runtime.store
    store.apply(ShotAlert("SST-9", 1, store.clock(), 39.29, -76.61, AlertType.MULTIPLE, 5, "1200 N Gay St"))
    wall.bridge.changed.emit(ChangeBatch(added_shots=["SST-9"]))


def test_open_briefing_follows_the_configured_views_alert_view_and_hold(qtbot, caplog) -> None:
    config = BriefingConfig((ViewTime("queue", 7), ViewTime("compstat", 25), ViewTime("map", 11),
                             ViewTime("trends", 9)), alert_view="map", hold_s=45)
    wall = _wall(qtbot, config)
    with caplog.at_level(logging.WARNING):
        mode = _open(qtbot, wall)
    # no archive here, so compstat cannot be shown: left out, and said so
    assert [(v.title, v.duration_s) for v in mode.views] == [("Queue", 7.0), ("Map", 11.0), ("Trends", 9.0)]
    assert "no compstat view here" in caplog.text
    assert mode.index == 0 and mode.alert_index == 1
    _alert(wall)
    assert mode.index == 1 and mode.interrupted
    assert "resumes in 45 s" in mode.alert_banner.text()


def test_open_briefing_without_config_keeps_its_defaults(qtbot) -> None:
    wall = _wall(qtbot, None)
    mode = _open(qtbot, wall)
    assert [(v.title, v.duration_s) for v in mode.views] == [
        ("Map", 30.0), ("Trends", 20.0), ("Missions", 20.0), ("Queue", 20.0)]
    mode.go_to(2)
    _alert(wall)
    assert mode.index == 0 and "resumes in 20 s" in mode.alert_banner.text()


def test_a_briefing_table_without_views_sets_only_alert_and_hold(qtbot) -> None:
    wall = _wall(qtbot, BriefingConfig((), alert_view="queue", hold_s=90))
    mode = _open(qtbot, wall)
    assert [v.title for v in mode.views] == ["Map", "Trends", "Missions", "Queue"]
    _alert(wall)
    assert mode.index == 3 and "resumes in 90 s" in mode.alert_banner.text()
