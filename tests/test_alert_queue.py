"""Queue layout: unacknowledged first, newest first, and a flood never hides an open alert."""

from __future__ import annotations

from opscenter.alert_queue import AlertRow, GroupRow, ShelvedRow, build_queue, format_911, format_age
from opscenter.alerting import Chime, ChimePolicy, FloodDetector, chime_wav
from opscenter.domain import AlertType, CallForService, Priority, ShotAlert
from opscenter.store import LiveStore

T0 = 1_780_000_000.0
DISTRICTS = ["Central", "Eastern", "Western", "Northern"]


def shot(i: int, kind: AlertType = AlertType.SINGLE, district: str = "Eastern") -> ShotAlert:
    return ShotAlert(id=f"S-{i:04d}", version=1, detected_at=T0 + i, lat=39.29, lon=-76.61,
                     alert_type=kind, rounds=1 + i % 9, district=district)


def visible_open_ids(layout) -> set[str]:
    ids: set[str] = set()
    for row in layout.rows:
        if isinstance(row, GroupRow):
            ids.update(row.ids)
        elif isinstance(row, AlertRow) and not row.acknowledged:
            ids.add(row.shot.id)
    return ids


def test_unacknowledged_first_then_newest_first() -> None:
    store = LiveStore(clock=lambda: T0)
    for i in range(5):
        store.apply(shot(i))
    store.acknowledge("S-0004", by="op")
    layout = build_queue(store)
    order = [r.shot.id for r in layout.rows]
    assert order == ["S-0003", "S-0002", "S-0001", "S-0000", "S-0004"]
    assert not layout.flood and layout.unacknowledged == 4


def test_flood_collapses_but_every_open_alert_stays_on_the_first_screen() -> None:
    store = LiveStore(clock=lambda: T0)
    kinds = [AlertType.POSSIBLE_FIRECRACKER, AlertType.SINGLE, AlertType.MULTIPLE]
    for i in range(600):
        store.apply(shot(i, kinds[i % 7 % 3], DISTRICTS[i % 4]))
    for i in range(0, 40):
        store.acknowledge(f"S-{i:04d}", by="op")
    layout = build_queue(store, fits=14, pinned=6)
    assert layout.flood and layout.unacknowledged == 560
    first_screen = layout.rows[:6 + len(DISTRICTS)]
    assert len(visible_open_ids(layout)) == 560
    ids_on_first_screen: set[str] = set()
    for row in first_screen:
        ids_on_first_screen.update(row.ids if isinstance(row, GroupRow) else [row.shot.id])
    assert len(ids_on_first_screen) == 560
    pinned = [r for r in first_screen if isinstance(r, AlertRow)]
    assert len(pinned) == 6
    # the three newest are always shown in full, whatever their type; then the serious ones
    assert [r.shot.id for r in pinned[:3]] == ["S-0599", "S-0598", "S-0597"]
    assert all(r.shot.alert_type is AlertType.MULTIPLE for r in pinned[3:])


def test_expanded_group_lists_its_members_under_it() -> None:
    store = LiveStore(clock=lambda: T0)
    for i in range(30):
        store.apply(shot(i, AlertType.SINGLE, DISTRICTS[i % 2]))
    layout = build_queue(store, fits=10, expanded=frozenset({"Central"}))
    at = next(i for i, r in enumerate(layout.rows) if isinstance(r, GroupRow) and r.district == "Central")
    group = layout.rows[at]
    members = layout.rows[at + 1:at + 1 + len(group.ids)]
    assert len(group.ids) >= 10
    assert [r.shot.id for r in members] == list(group.ids)
    assert all(isinstance(r, AlertRow) and r.member_of == "Central" for r in members)


def test_911_and_age_text() -> None:
    s = shot(0)
    assert format_911(s, None) == "no 911 call yet"
    assert format_911(s, s.detected_at + 135) == "911 +2:15"
    assert format_age(42) == "0:42" and format_age(3 * 3600 + 240) == "3 h 04"


def test_queue_shows_911_link() -> None:
    store = LiveStore(clock=lambda: T0)
    store.apply(shot(1))
    store.apply(CallForService(id="C-1", version=1, received_at=T0 + 61, priority=Priority.HIGH,
                               category="DISCHRG FIREARM", description="", lat=39.29, lon=-76.61,
                               shot_id="S-0001"))
    row = build_queue(store).rows[0]
    assert format_911(row.shot, row.first_call_at) == "911 +1:00"


def test_chime_policy_switches_to_rate_limited_flood_chime() -> None:
    policy = ChimePolicy(FloodDetector(threshold=5, window_s=60), flood_repeat_s=20)
    sounds = [policy.on_new_alert(T0 + i) for i in range(12)]
    assert sounds[:5] == [Chime.ALERT] * 5
    assert sounds[5] is Chime.FLOOD and sounds[6:] == [None] * 6
    assert policy.on_new_alert(T0 + 30) is Chime.FLOOD
    policy.muted = True
    assert policy.on_new_alert(T0 + 60) is None


def test_chime_sounds_differ_and_are_wav() -> None:
    alert, flood = chime_wav(Chime.ALERT), chime_wav(Chime.FLOOD)
    assert alert[:4] == b"RIFF" and flood[:4] == b"RIFF" and alert != flood


def test_late_alert_is_placed_by_detection_time_not_arrival() -> None:
    store = LiveStore(clock=lambda: T0)
    for i in (5, 6, 7):
        store.apply(shot(i))
    store.apply(shot(2))  # arrives last, happened first
    assert [r.shot.id for r in build_queue(store).rows] == ["S-0007", "S-0006", "S-0005", "S-0002"]


def test_with_a_workflow_board_new_means_state_new_and_closed_alerts_leave() -> None:
    from opscenter import workflow as wf
    from opscenter.alert_queue import state_text

    store = LiveStore(clock=lambda: T0)
    board = wf.WorkflowBoard()
    for i in range(5):
        store.apply(shot(i))
    board.put(wf.acknowledge(board.get("S-0003"), "alice", T0))
    board.put(wf.close(board.get("S-0002"), "bob", T0, "not_gunfire"))
    board.put(wf.shelve(board.get("S-0004"), "bob", T0, "fireworks", T0 + 900))
    layout = build_queue(store, workflow=board, now=T0 + 70)
    alerts = [r for r in layout.rows if isinstance(r, AlertRow)]
    assert [r.shot.id for r in alerts] == ["S-0001", "S-0000", "S-0003"]  # new first, closed gone
    assert [state_text(r, T0 + 70) for r in alerts] == ["NEW", "NEW", "Ack 1:10 · alice"]
    assert layout.unacknowledged == 2 and layout.shelved == 1 and layout.next_change == T0 + 900
    assert isinstance(layout.rows[-1], ShelvedRow) and layout.rows[-1].ids == ("S-0004",)
    back = build_queue(store, workflow=board, now=T0 + 900)  # the shelve ran out: new again, on top
    assert back.rows[0].shot.id == "S-0004" and back.shelved == 0 and back.next_change is None


def test_expanded_shelved_row_lists_its_alerts_and_floods_still_group() -> None:
    from opscenter import workflow as wf

    store = LiveStore(clock=lambda: T0)
    board = wf.WorkflowBoard()
    for i in range(40):
        store.apply(shot(i, AlertType.SINGLE, DISTRICTS[i % 2]))
    for i in range(10):
        board.put(wf.shelve(board.get(f"S-{i:04d}"), "op", T0, "celebratory", T0 + 600 + i))
    layout = build_queue(store, fits=10, workflow=board, now=T0, expanded=frozenset({"Shelved"}))
    assert layout.flood and layout.unacknowledged == 30 and layout.next_change == T0 + 600
    assert len(visible_open_ids(layout)) == 30 + 10  # open ones, and the new ones listed as shelved
    at = next(i for i, r in enumerate(layout.rows) if isinstance(r, ShelvedRow))
    assert at == len(layout.rows) - 11 and layout.rows[at].expanded
    assert {r.shot.id for r in layout.rows[at + 1:]} == {f"S-{i:04d}" for i in range(10)}
    assert all(r.member_of == "Shelved" for r in layout.rows[at + 1:])
    grouped = {i for r in layout.rows if isinstance(r, GroupRow) for i in r.ids}
    assert grouped and not grouped & {f"S-{i:04d}" for i in range(10)}
