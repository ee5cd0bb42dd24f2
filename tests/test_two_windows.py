"""Two wall windows — one running the hub, one joined with --hub — share the picture live."""

from __future__ import annotations

import pytest

from opscenter.hub.remote import RemoteRuntime
from opscenter.hub.service import HubConfig
from opscenter.runtime import Runtime, RuntimeConfig
from opscenter.workflow import State
from ui.app import Wall, WallOptions

from .conftest import wait_until


@pytest.fixture
def two_walls(run, tmp_path):
    runtime = Runtime(RuntimeConfig(db_path=tmp_path / "ops.sqlite3", seed=5,
                                    hub=HubConfig(port=0, commit_s=0.02)))

    async def start():
        await runtime.start()
        first = Wall(runtime, WallOptions(size=(1400, 900), operator="olga", role="operator"))
        token = runtime.hub.users.add("ana", "analyst")
        remote = RemoteRuntime(runtime.hub.url, token)
        await remote.start()
        second = Wall(remote, WallOptions(size=(1400, 900), hub_url=runtime.hub.url))
        return first, second, remote

    first, second, remote = run(start())
    try:
        yield first, second, runtime, remote
    finally:
        async def stop():
            second.close()
            await remote.stop()
            first.close()
            await runtime.stop()

        run(stop())


def test_an_acknowledgement_and_a_note_reach_the_other_window(two_walls, run) -> None:
    first, second, runtime, remote = two_walls

    async def scenario():
        await wait_until(lambda: second.window.queue_model.unacknowledged > 0
                         and remote.client.mirror.seq == runtime.hub.core.log.last_seq, timeout=30,
                         what="the joined window has the live queue")
        assert second.ops.user.name == "ana" and second.ops.user.role == "analyst"
        # window 2's header shows the hub connection and the hub's own upstream feed
        await wait_until(lambda: [h.name for h in remote.feed_health()] == ["hub", "demo"], timeout=8)
        assert first.window.acknowledge_selected() == 1  # Space on window 1: the top alert
        def acknowledged():
            return [f.alert_id for f in runtime.hub.core.workflow.all() if f.state is State.ACKNOWLEDGED]

        await wait_until(lambda: len(acknowledged()) == 1, timeout=2, what="the hub took the acknowledgement")
        acked = acknowledged()[0]
        await wait_until(lambda: remote.store.is_acknowledged(acked), timeout=1.5,
                         what="acknowledgement on window 2 within a second or so")
        assert remote.client.workflow.get(acked).acknowledged_by == "olga"

        # ana writes a note and draws a circle in window 2; window 1's board and map get both
        note = await second.ops.annotate({"type": "note", "target": f"shot:{acked}", "text": "two casings"})
        shape = await second.ops.annotate({"type": "shape", "target": "place", "label": "perimeter",
                                           "geometry": {"type": "Circle", "coordinates": [-76.61, 39.29],
                                                        "radius_m": 150}})
        await wait_until(lambda: first.ops.annotations.get(note.id) is not None
                         and first.ops.annotations.get(shape.id) is not None, timeout=1.5)
        first.window.annotation_editor.open_for(f"shot:{acked}")
        assert "two casings" in [a.text for a in first.ops.annotations.for_target(f"shot:{acked}")]

    run(scenario())


def test_an_operator_sends_an_alert_to_units_from_the_queue(two_walls, run) -> None:
    first, _second, runtime, _remote = two_walls
    window = first.window

    async def scenario():
        await wait_until(lambda: window.queue_model.unacknowledged > 0, timeout=30)
        row = next(i for i, r in enumerate(window.queue_model.rows) if hasattr(r, "shot"))
        window.queue_view.selectRow(row)
        alert_id = window.queue_view.selected_alert()
        window.send_button.click()
        await wait_until(lambda: "sent" in window.statusBar().currentMessage(), timeout=5)
        assert f"Alert {alert_id} sent" in window.statusBar().currentMessage()
        assert "hub: delivered" in window.statusBar().currentMessage()
        messages = [e for e in runtime.hub.core.log.since(0) if '"t":"message"' in e.text]
        assert messages and alert_id in messages[-1].text

    run(scenario())
