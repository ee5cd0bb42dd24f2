"""Store → Qt: collect the store's changes and hand them to views at most `hz` times a second.

Per-event UI work saturates a core at a few hundred events/s; collecting ids and letting views
re-read the store on a timer holds tens of thousands. The batch says *which* records changed;
the store remains the truth the views read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from opscenter.domain import Kind
from opscenter.store import Change, LiveStore, Op


@dataclass(slots=True)
class ChangeBatch:
    """Ids touched since the last batch, by kind; `removed` wins over an earlier upsert."""

    upserted: dict[Kind, set[str]] = field(default_factory=lambda: {k: set() for k in Kind})
    removed: dict[Kind, set[str]] = field(default_factory=lambda: {k: set() for k in Kind})
    added_shots: list[str] = field(default_factory=list)
    events: int = 0

    def touches(self, kind: Kind) -> bool:
        return bool(self.upserted[kind] or self.removed[kind])

    def merge(self, later: "ChangeBatch") -> None:
        """Fold a later batch into this one (the later operation on an id wins)."""
        for kind in Kind:
            self.upserted[kind] -= later.removed[kind]
            self.removed[kind] -= later.upserted[kind]
            self.upserted[kind] |= later.upserted[kind]
            self.removed[kind] |= later.removed[kind]
        self.added_shots.extend(later.added_shots)
        self.events += later.events


class StoreBridge(QObject):
    """Emits `changed(ChangeBatch)` on a fixed cadence while the store is changing."""

    changed = Signal(object)

    def __init__(self, store: LiveStore, hz: float = 15.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._batch = ChangeBatch()
        self._unsubscribe = store.subscribe(self._on_change)
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / hz)))
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self.batches = 0

    def _on_change(self, change: Change) -> None:
        batch = self._batch
        batch.events += 1
        if change.op is Op.REMOVED:
            batch.upserted[change.kind].discard(change.id)
            batch.removed[change.kind].add(change.id)
        else:
            batch.removed[change.kind].discard(change.id)
            batch.upserted[change.kind].add(change.id)
            if change.op is Op.ADDED and change.kind is Kind.SHOT:
                batch.added_shots.append(change.id)

    def flush(self) -> None:
        """Emit what has accumulated (also callable directly, e.g. before a screenshot)."""
        if self._batch.events == 0:
            return
        batch, self._batch = self._batch, ChangeBatch()
        self.batches += 1
        self.changed.emit(batch)

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()
