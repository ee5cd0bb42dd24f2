"""The wall's other arrangements through the app itself: a saved layout, and briefing mode."""

from __future__ import annotations

import json

from opscenter.domain import AlertType, ShotAlert
from opscenter.runtime import RuntimeConfig
from tests.conftest import wait_until
from tests.test_ui_live import running_wall
from ui.app import WallOptions


def test_a_layout_opens_with_the_live_panels_and_survives_a_restart(run, tmp_path) -> None:
    config = RuntimeConfig(db_path=None, seed=4)
    options = WallOptions(size=(1400, 900), layout="wall", layouts_dir=tmp_path)
    for wall in running_wall(run, config, options):
        windows = wall.layouts.windows
        assert len(windows) == 1
        assert set(windows[0].panel_names()) >= {"map", "queue", "deployment", "details"}
        assert wall.window.map_view in windows[0].findChildren(type(wall.window.map_view))
        wall.layouts.move_panel("deployment", 1)  # to a second window (same screen here)
        path = wall.layouts.save("desk")
    saved = json.loads(path.read_text())
    assert [sorted(w["panels"]) for w in saved["windows"]][1] == ["deployment"]
    # the app restarted on the saved layout: the same panels in the same windows
    for wall in running_wall(run, config, WallOptions(size=(1400, 900), layout="desk", layouts_dir=tmp_path)):
        assert [sorted(w.panel_names()) for w in wall.layouts.windows][1] == ["deployment"]


def test_briefing_mode_rotates_and_a_new_alert_interrupts_it_on_the_map(run, tmp_path) -> None:
    config = RuntimeConfig(db_path=tmp_path / "ops.sqlite3", seed=4)
    for wall in running_wall(run, config, WallOptions(size=(1400, 900), briefing=True)):
        briefing = wall.briefing
        titles = [v.title for v in briefing.views]
        assert titles[0] == "Map" and {"Compstat", "Fairness"} <= {t.title() for t in titles}
        assert not wall.window.isVisible()
        briefing.next()
        assert briefing.index == 1
        store = wall.runtime.store
        now = store.clock()
        store.apply(ShotAlert("S-NEW", 1, now, 39.29, -76.61, AlertType.MULTIPLE, 6,
                              address="100 block of E Test St", district="Eastern"))
        wall.bridge.flush()

        async def interrupted():
            await wait_until(lambda: briefing.interrupted and briefing.index == 0, timeout=5)

        run(interrupted())
        assert "100 block of E Test St" in briefing.alert_banner.text()
