"""The life of a shot alert after it reaches the wall, after alarm-management practice.

new → acknowledged (by whom, when) → dispatched (which units) → on scene → closed with a
disposition. Shelving takes an alert out of the operators' way for a stated reason until a
stated time, after which it comes back by itself. Every step keeps who and when, so the
commanders' response times (alert → acknowledgement → dispatch → on scene) come from here.

Transitions are pure functions returning a new `AlertFlow`; the hub applies and persists them,
a remote window mirrors them. Illegal steps raise `WorkflowError` with a reason an operator can
read.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .errors import OpsCenterError

DISPOSITIONS = ("evidence_found", "no_evidence", "not_gunfire", "unknown")
DISPOSITION_LABELS = {
    "evidence_found": "Evidence found", "no_evidence": "No evidence",
    "not_gunfire": "Not gunfire", "unknown": "Unknown",
}
MAX_SHELVE_S = 12 * 3600.0
MAX_REASON_CHARS = 500
MAX_UNITS = 20


class State(str, enum.Enum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class WorkflowError(OpsCenterError):
    """A step that is not allowed from the alert's current state, or a bad argument."""


@dataclass(frozen=True, slots=True)
class AlertFlow:
    alert_id: str
    state: State = State.NEW
    updated_at: float = 0.0
    shown_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    dispatched_at: float | None = None
    dispatched_by: str | None = None
    units: tuple[str, ...] = ()
    on_scene_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    disposition: str | None = None
    shelved_until: float | None = None
    shelve_reason: str | None = None
    shelved_by: str | None = None

    def is_shelved(self, now: float) -> bool:
        return self.shelved_until is not None and now < self.shelved_until and self.state is not State.CLOSED

    @property
    def is_open(self) -> bool:
        return self.state is not State.CLOSED

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["state"] = self.state.value
        out["units"] = list(self.units)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AlertFlow":
        """Validate a row from disk or the wire; unknown keys are ignored."""
        try:
            values = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name in data}
            values["state"] = State(values.get("state", "new"))
            units = values.get("units") or ()
            if isinstance(units, str):
                units = json.loads(units)
            values["units"] = tuple(str(u) for u in units)[:MAX_UNITS]
            values["updated_at"] = float(values.get("updated_at") or 0.0)
            if values.get("disposition") not in (None, *DISPOSITIONS):
                raise ValueError(f"unknown disposition {values['disposition']!r}")
            flow = cls(**values)
        except (TypeError, ValueError, KeyError) as exc:
            raise WorkflowError(f"bad workflow row: {exc}") from exc
        if not isinstance(flow.alert_id, str) or not flow.alert_id:
            raise WorkflowError("bad workflow row: no alert_id")
        return flow


def _reason(text: str | None, what: str) -> str:
    cleaned = " ".join(str(text or "").split())
    if not cleaned:
        raise WorkflowError(f"{what} needs a reason")
    return cleaned[:MAX_REASON_CHARS]


def acknowledge(flow: AlertFlow, by: str, now: float) -> AlertFlow:
    if flow.state is not State.NEW:
        raise WorkflowError(f"alert {flow.alert_id} is already {flow.state.label}")
    return dataclasses.replace(flow, state=State.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by,
                               updated_at=now)


def _acked(flow: AlertFlow, by: str, now: float) -> AlertFlow:
    """Dispatching or closing an alert nobody acknowledged acknowledges it too."""
    return acknowledge(flow, by, now) if flow.state is State.NEW else flow


def dispatch(flow: AlertFlow, by: str, now: float, units: Iterable[str] = ()) -> AlertFlow:
    if flow.state in (State.ON_SCENE, State.CLOSED):
        raise WorkflowError(f"alert {flow.alert_id} is already {flow.state.label}")
    units = tuple(dict.fromkeys(" ".join(str(u).split())[:40] for u in units if str(u).strip()))
    if len(units) > MAX_UNITS:
        raise WorkflowError(f"at most {MAX_UNITS} units per dispatch")
    flow = _acked(flow, by, now)
    merged = tuple(dict.fromkeys(flow.units + units))
    return dataclasses.replace(flow, state=State.DISPATCHED, dispatched_at=flow.dispatched_at or now,
                               dispatched_by=flow.dispatched_by or by, units=merged, updated_at=now,
                               shelved_until=None, shelve_reason=None, shelved_by=None)


def on_scene(flow: AlertFlow, by: str, now: float) -> AlertFlow:
    if flow.state is not State.DISPATCHED:
        raise WorkflowError(f"alert {flow.alert_id} is {flow.state.label}, not dispatched")
    return dataclasses.replace(flow, state=State.ON_SCENE, on_scene_at=now, updated_at=now)


def close(flow: AlertFlow, by: str, now: float, disposition: str) -> AlertFlow:
    if flow.state is State.CLOSED:
        raise WorkflowError(f"alert {flow.alert_id} is already closed")
    if disposition not in DISPOSITIONS:
        raise WorkflowError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    flow = _acked(flow, by, now)
    return dataclasses.replace(flow, state=State.CLOSED, closed_at=now, closed_by=by, disposition=disposition,
                               updated_at=now, shelved_until=None, shelve_reason=None, shelved_by=None)


def set_disposition(flow: AlertFlow, by: str, now: float, disposition: str) -> AlertFlow:
    """An analyst's later finding (evidence found on review) corrects a closed alert's outcome."""
    if disposition not in DISPOSITIONS:
        raise WorkflowError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    return dataclasses.replace(flow, disposition=disposition, updated_at=now)


def shelve(flow: AlertFlow, by: str, now: float, reason: str, until: float) -> AlertFlow:
    if flow.state is State.CLOSED:
        raise WorkflowError(f"alert {flow.alert_id} is closed")
    if not (now < until <= now + MAX_SHELVE_S):
        raise WorkflowError(f"shelve for between a minute and {MAX_SHELVE_S / 3600:g} hours")
    return dataclasses.replace(flow, shelved_until=until, shelve_reason=_reason(reason, "shelving"),
                               shelved_by=by, updated_at=now)


def unshelve(flow: AlertFlow, by: str, now: float) -> AlertFlow:
    if flow.shelved_until is None:
        raise WorkflowError(f"alert {flow.alert_id} is not shelved")
    return dataclasses.replace(flow, shelved_until=None, shelve_reason=None, shelved_by=None, updated_at=now)


class WorkflowBoard:
    """Current workflow rows by alert id, with listeners; the hub writes it, mirrors copy it."""

    def __init__(self) -> None:
        self._flows: dict[str, AlertFlow] = {}
        self._listeners: list[Callable[[AlertFlow], None]] = []

    def subscribe(self, listener: Callable[[AlertFlow], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def get(self, alert_id: str) -> AlertFlow:
        return self._flows.get(alert_id) or AlertFlow(alert_id)

    def known(self, alert_id: str) -> bool:
        return alert_id in self._flows

    def put(self, flow: AlertFlow) -> bool:
        """Keep `flow` unless an equal or newer row is held; tell listeners when it changed."""
        held = self._flows.get(flow.alert_id)
        if held == flow or (held is not None and held.updated_at > flow.updated_at):
            return False
        self._flows[flow.alert_id] = flow
        for listener in list(self._listeners):
            listener(flow)
        return True

    def forget(self, alert_id: str) -> None:
        self._flows.pop(alert_id, None)

    def all(self) -> list[AlertFlow]:
        return list(self._flows.values())

    def dispositions(self) -> dict[str, str]:
        return {f.alert_id: f.disposition for f in self._flows.values() if f.disposition}

    def __len__(self) -> int:
        return len(self._flows)


def describe(flow: AlertFlow, now: float) -> str:
    """The queue's State cell: what happened last and how long ago, so timers are visible."""
    def ago(at: float | None) -> str:
        if at is None:
            return ""
        seconds = max(0, int(now - at))
        return f"{seconds // 60}:{seconds % 60:02d}"

    if flow.is_shelved(now):
        left = int((flow.shelved_until or now) - now)
        return f"Shelved {left // 60}m · {flow.shelve_reason}"
    if flow.state is State.ACKNOWLEDGED:
        return f"Ack {ago(flow.acknowledged_at)} · {flow.acknowledged_by}"
    if flow.state is State.DISPATCHED:
        return f"Dispatched {ago(flow.dispatched_at)} · {', '.join(flow.units) or flow.dispatched_by}"
    if flow.state is State.ON_SCENE:
        return f"On scene {ago(flow.on_scene_at)}"
    if flow.state is State.CLOSED:
        return f"Closed · {DISPOSITION_LABELS.get(flow.disposition or '', '')}"
    return "New"
