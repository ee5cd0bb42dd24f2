"""The live store: the one place that writes the current picture.

Everything that arrives — from any feed, in any order, any number of times — goes through
`apply`. A record replaces the one held only when its version is higher, so duplicates and
out-of-order deliveries are harmless. Listeners hear about real changes only.

Runs on the event loop's thread; it has no locks because nothing else writes to it.
"""

from __future__ import annotations

import enum
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from .domain import (
    Acknowledgement,
    CallForService,
    Deletion,
    Kind,
    Record,
    ShotAlert,
    Unit,
)


class Op(str, enum.Enum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


class Outcome(str, enum.Enum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    DUPLICATE = "duplicate"
    STALE = "stale"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Change:
    op: Op
    kind: Kind
    id: str
    record: Record | None


Listener = Callable[[Change], None]

EVENT_TIME_FIELD: dict[Kind, str] = {
    Kind.SHOT: "detected_at",
    Kind.CALL: "received_at",
    Kind.UNIT: "reported_at",
    Kind.INCIDENT: "opened_at",
    Kind.ADVISORY: "issued_at",
    Kind.REPORT: "occurred_at",
}


def event_time(record: Record) -> float:
    """When the thing happened (not when we heard of it); retention and ordering use it."""
    return getattr(record, EVENT_TIME_FIELD[record.kind])


class LiveStore:
    """Current state by kind and id, with operator acknowledgements kept beside it."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        retention_s: float = 12 * 3600.0,
        unit_stale_s: float = 90.0,
    ) -> None:
        self.clock = clock
        self.retention_s = retention_s
        self.unit_stale_s = unit_stale_s
        self._records: dict[Kind, dict[str, Record]] = {k: {} for k in Kind}
        self._tombstones: dict[tuple[Kind, str], tuple[int, float]] = {}
        self._acks: dict[str, Acknowledgement] = {}
        self._first_call: dict[str, float] = {}
        self._withdrawn: set[str] = set()
        self._listeners: list[Listener] = []
        self.counts: Counter[str] = Counter()

    # -- subscription ------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register a listener; returns its own unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, op: Op, kind: Kind, id_: str, record: Record | None) -> None:
        change = Change(op, kind, id_, record)
        for listener in list(self._listeners):
            listener(change)

    # -- writing -----------------------------------------------------------------------
    def apply(self, item: Record | Deletion) -> Outcome:
        """Apply one record or deletion idempotently; returns what happened."""
        if isinstance(item, Deletion):
            outcome = self._delete(item)
        else:
            outcome = self._upsert(item)
        self.counts[outcome.value] += 1
        return outcome

    def apply_many(self, items: Iterable[Record | Deletion]) -> Counter[str]:
        out: Counter[str] = Counter()
        for item in items:
            out[self.apply(item).value] += 1
        return out

    def _upsert(self, record: Record) -> Outcome:
        kind = record.kind
        table = self._records[kind]
        tomb = self._tombstones.get((kind, record.id))
        if tomb is not None and record.version <= tomb[0]:
            return Outcome.STALE
        held = table.get(record.id)
        if held is not None:
            if record.version == held.version:
                return Outcome.DUPLICATE
            if record.version < held.version:
                return Outcome.STALE
        table[record.id] = record
        if isinstance(record, CallForService) and record.shot_id:
            self._link_call(record)
        self._emit(Op.ADDED if held is None else Op.CHANGED, kind, record.id, record)
        return Outcome.ADDED if held is None else Outcome.UPDATED

    def _link_call(self, call: CallForService) -> None:
        shot_id = call.shot_id
        assert shot_id is not None
        first = self._first_call.get(shot_id)
        if first is None or call.received_at < first:
            self._first_call[shot_id] = call.received_at
            shot = self._records[Kind.SHOT].get(shot_id)
            if shot is not None:
                self._emit(Op.CHANGED, Kind.SHOT, shot_id, shot)

    def _delete(self, deletion: Deletion) -> Outcome:
        key = (deletion.kind, deletion.id)
        tomb = self._tombstones.get(key)
        if tomb is not None and deletion.version <= tomb[0]:
            return Outcome.DUPLICATE
        table = self._records[deletion.kind]
        held = table.get(deletion.id)
        if held is not None and deletion.version < held.version:
            return Outcome.STALE
        self._tombstones[key] = (deletion.version, self.clock())
        if held is None:
            return Outcome.UNKNOWN
        if deletion.kind is Kind.SHOT and deletion.id not in self._acks:
            # Withdrawn upstream before anyone saw it: keep it, marked, until acknowledged.
            self._withdrawn.add(deletion.id)
            self._emit(Op.CHANGED, Kind.SHOT, deletion.id, held)
            return Outcome.REMOVED
        self._drop(deletion.kind, held)
        return Outcome.REMOVED

    def _drop(self, kind: Kind, record: Record) -> None:
        del self._records[kind][record.id]
        if kind is Kind.SHOT:
            self._acks.pop(record.id, None)
            self._first_call.pop(record.id, None)
            self._withdrawn.discard(record.id)
        self._emit(Op.REMOVED, kind, record.id, record)

    def acknowledge(self, alert_id: str, by: str, at: float | None = None) -> bool:
        """Mark a shot alert seen by an operator. Returns False if unknown or already acked."""
        shot = self._records[Kind.SHOT].get(alert_id)
        if shot is None or alert_id in self._acks:
            return False
        self._acks[alert_id] = Acknowledgement(alert_id, by, self.clock() if at is None else at)
        if alert_id in self._withdrawn:
            self._drop(Kind.SHOT, shot)
        else:
            self._emit(Op.CHANGED, Kind.SHOT, alert_id, shot)
        return True

    def prune(self, now: float | None = None) -> int:
        """Drop records older than the retention window; unacknowledged shots always stay."""
        now = self.clock() if now is None else now
        horizon = now - self.retention_s
        dropped = 0
        for kind, table in self._records.items():
            old = [
                r for r in table.values()
                if event_time(r) < horizon and not (kind is Kind.SHOT and r.id not in self._acks)
            ]
            for record in old:
                self._drop(kind, record)
                dropped += 1
        self._tombstones = {k: v for k, v in self._tombstones.items() if v[1] >= horizon}
        self.counts["pruned"] += dropped
        return dropped

    # -- mirroring: a window fed by a hub ---------------------------------------------
    def put_mirrored(self, record: Record, withdrawn: bool = False) -> None:
        """Hold the hub's record as sent: the hub already decided versions and withdrawals."""
        held = self._records[record.kind].get(record.id)
        self._records[record.kind][record.id] = record
        if isinstance(record, CallForService) and record.shot_id:
            self._link_call(record)
        if record.kind is Kind.SHOT:
            (self._withdrawn.add if withdrawn else self._withdrawn.discard)(record.id)
        self._emit(Op.ADDED if held is None else Op.CHANGED, record.kind, record.id, record)

    def remove_mirrored(self, kind: Kind, id_: str) -> None:
        held = self._records[kind].get(id_)
        if held is not None:
            self._drop(kind, held)

    # -- reading -----------------------------------------------------------------------
    def get(self, kind: Kind, id_: str) -> Record | None:
        return self._records[kind].get(id_)

    def all(self, kind: Kind) -> list[Record]:
        return list(self._records[kind].values())

    def size(self, kind: Kind | None = None) -> int:
        if kind is None:
            return sum(len(t) for t in self._records.values())
        return len(self._records[kind])

    def shots(self) -> list[ShotAlert]:
        return list(self._records[Kind.SHOT].values())  # type: ignore[arg-type]

    def units(self) -> list[Unit]:
        return list(self._records[Kind.UNIT].values())  # type: ignore[arg-type]

    def calls(self) -> list[CallForService]:
        return list(self._records[Kind.CALL].values())  # type: ignore[arg-type]

    def acknowledgement(self, alert_id: str) -> Acknowledgement | None:
        return self._acks.get(alert_id)

    def is_acknowledged(self, alert_id: str) -> bool:
        return alert_id in self._acks

    def unacknowledged(self) -> list[ShotAlert]:
        return [s for s in self.shots() if s.id not in self._acks]

    def is_withdrawn(self, alert_id: str) -> bool:
        """The feed deleted this detection, but it waits for an operator's acknowledgement."""
        return alert_id in self._withdrawn

    def first_call_at(self, shot_id: str) -> float | None:
        """Time of the first 911 call linked to this detection, or None if none came in."""
        return self._first_call.get(shot_id)

    def is_stale(self, unit: Unit, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return now - unit.reported_at > self.unit_stale_s
