"""The wall's charts tab: the same figures as the PDF, computed off the GUI thread."""

from __future__ import annotations

import time

from opscenter.city import build_demo_city
from opscenter.demo_history import seed_demo_history
from opscenter.store import LiveStore
from ui.charts_panel import ChartsPanel

from .conftest import wait_until


def test_charts_from_the_archive_appear_when_the_tab_is_shown(run, qtbot, tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    now = time.time()
    assert seed_demo_history(db, build_demo_city(), now, seed=2) > 0
    panel = ChartsPanel(LiveStore(clock=lambda: now), db)
    qtbot.addWidget(panel)
    assert panel.charts == {}  # nothing computed until someone looks
    panel.show()

    async def scenario():
        await wait_until(lambda: set(panel.charts) >= {"hourly", "weekly", "yoy"}, timeout=30,
                         what="the charts were drawn")

    run(scenario())
    assert panel.grid.count() >= 3
    panel.close_panel()


def test_without_a_database_the_window_still_charts_its_own_detections(run, qtbot) -> None:
    panel = ChartsPanel(LiveStore(), None)
    qtbot.addWidget(panel)
    panel.show()

    async def scenario():
        await wait_until(lambda: list(panel.charts) == ["hourly"], timeout=5)

    run(scenario())
    panel.close_panel()
