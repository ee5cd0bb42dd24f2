"""The shot-alert queue as rows: what an operator sees, in the order they need it.

Unacknowledged alerts come first, newest first. When there are more than fit on the wall
(a flood), the most serious ones stay as single rows and the rest collapse into one row per
district that counts them — so no unacknowledged alert is ever pushed out of sight, and none
is dropped. Acknowledged alerts follow, dimmed, up to a limit.

With a workflow board the queue follows each alert's life: "unacknowledged" means state NEW,
closed alerts leave, and shelved alerts wait in one compact row at the bottom until their time
is up, when they come back by themselves (`QueueLayout.next_change` says when to look again).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .domain import AlertType, ShotAlert
from .store import LiveStore
from .workflow import AlertFlow, State, WorkflowBoard, describe

SHELVED = "Shelved"  # the key of the shelved group in `expanded`


@dataclass(frozen=True, slots=True)
class AlertRow:
    shot: ShotAlert
    acknowledged: bool
    withdrawn: bool
    first_call_at: float | None
    member_of: str | None = None  # district of the expanded group this row belongs to
    flow: AlertFlow | None = None  # the alert's workflow row, when the queue has a board


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Unacknowledged alerts of one district, collapsed during a flood."""

    district: str
    ids: tuple[str, ...]
    newest: float
    oldest: float
    by_type: dict[AlertType, int] = field(hash=False)
    max_rounds: int
    with_911: int
    expanded: bool


@dataclass(frozen=True, slots=True)
class ShelvedRow:
    """Shelved alerts, out of the operators' way in one row at the bottom until they return."""

    ids: tuple[str, ...]
    next_return: float
    expanded: bool


QueueRow = AlertRow | GroupRow | ShelvedRow


@dataclass(frozen=True, slots=True)
class QueueLayout:
    rows: list[QueueRow]
    unacknowledged: int
    flood: bool
    shelved: int = 0
    next_change: float | None = None  # when a shelved alert returns: rebuild then


def _row(store: LiveStore, shot: ShotAlert, member_of: str | None = None,
         workflow: WorkflowBoard | None = None) -> AlertRow:
    flow = workflow.get(shot.id) if workflow is not None else None
    return AlertRow(
        shot=shot,
        acknowledged=_acknowledged(store, shot.id, flow),
        withdrawn=store.is_withdrawn(shot.id),
        first_call_at=store.first_call_at(shot.id),
        member_of=member_of,
        flow=flow,
    )


def _acknowledged(store: LiveStore, alert_id: str, flow: AlertFlow | None) -> bool:
    """Past NEW on the board; an acknowledgement the store holds counts too (older paths)."""
    if flow is not None and flow.state is not State.NEW:
        return True
    return store.is_acknowledged(alert_id)


def state_text(row: AlertRow, now: float) -> str:
    """The State cell: the workflow's words with their timer, or the plain NEW/ack of old."""
    if row.withdrawn:
        return "WITHDRAWN"
    flow = row.flow
    if flow is None:
        return "ack" if row.acknowledged else "NEW"
    if flow.state is State.NEW and not flow.is_shelved(now):
        return "NEW" if not row.acknowledged else "ack"
    return describe(flow, now)


def build_queue(
    store: LiveStore,
    fits: int = 14,
    pinned: int = 6,
    newest_pinned: int = 3,
    acknowledged_limit: int = 100,
    expanded: frozenset[str] = frozenset(),
    workflow: WorkflowBoard | None = None,
    now: float | None = None,
) -> QueueLayout:
    """Lay out the queue. `fits` is how many unacknowledged single rows show before grouping.

    Without `workflow` only the store's acknowledgements count (no closing, no shelving).
    """
    now = store.clock() if now is None else now
    newest_first = sorted(store.shots(), key=lambda s: (s.detected_at, s.id), reverse=True)
    open_alerts: list[ShotAlert] = []
    done: list[ShotAlert] = []
    shelved: list[tuple[ShotAlert, float]] = []
    for shot in newest_first:
        flow = workflow.get(shot.id) if workflow is not None else None
        if flow is not None and flow.state is State.CLOSED:
            continue
        if flow is not None and flow.is_shelved(now):
            shelved.append((shot, flow.shelved_until or now))
        elif _acknowledged(store, shot.id, flow):
            done.append(shot)
        else:
            open_alerts.append(shot)
    done = done[:acknowledged_limit]
    rows: list[QueueRow] = []

    def row(shot: ShotAlert, member_of: str | None = None) -> AlertRow:
        return _row(store, shot, member_of, workflow)

    flood = len(open_alerts) > fits
    if not flood:
        rows.extend(row(s) for s in open_alerts)
    else:
        # The newest alerts always show in full, then the most serious; the rest are grouped.
        newest = open_alerts[:newest_pinned]
        serious = [s for s in open_alerts[newest_pinned:] if s.alert_type is AlertType.MULTIPLE]
        chosen = newest + serious[: max(0, pinned - len(newest))]
        chosen.sort(key=lambda s: (s.detected_at, s.id), reverse=True)
        pinned_ids = {s.id for s in chosen}
        rows.extend(row(s) for s in chosen)
        groups: dict[str, list[ShotAlert]] = {}
        for shot in open_alerts:
            if shot.id not in pinned_ids:
                groups.setdefault(shot.district or "Unknown district", []).append(shot)
        ordered = sorted(groups.items(), key=lambda kv: kv[1][0].detected_at, reverse=True)
        for district, members in ordered:
            if len(members) == 1:
                rows.append(row(members[0]))  # a group of one is just the alert
                continue
            is_open = district in expanded
            rows.append(GroupRow(
                district=district,
                ids=tuple(s.id for s in members),
                newest=members[0].detected_at,
                oldest=members[-1].detected_at,
                by_type=dict(Counter(s.alert_type for s in members)),
                max_rounds=max(s.rounds for s in members),
                with_911=sum(1 for s in members if store.first_call_at(s.id) is not None),
                expanded=is_open,
            ))
            if is_open:
                rows.extend(row(s, member_of=district) for s in members)
    rows.extend(row(s) for s in done)
    next_change = min((until for _, until in shelved), default=None)
    if shelved:
        rows.append(ShelvedRow(ids=tuple(s.id for s, _ in shelved), next_return=next_change or now,
                               expanded=SHELVED in expanded))
        if SHELVED in expanded:
            rows.extend(row(s, member_of=SHELVED) for s, _ in shelved)
    return QueueLayout(rows=rows, unacknowledged=len(open_alerts), flood=flood, shelved=len(shelved),
                       next_change=next_change)


def format_age(seconds: float) -> str:
    """'0:42', '12:05', '3 h 04' — readable from across the room."""
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"


def format_911(shot: ShotAlert, first_call_at: float | None) -> str:
    """'911 +2:15' when a call came in, else 'no 911 call yet'."""
    if first_call_at is None:
        return "no 911 call yet"
    delta = first_call_at - shot.detected_at
    sign = "+" if delta >= 0 else "−"
    delta = abs(int(delta))
    return f"911 {sign}{delta // 60}:{delta % 60:02d}"
