"""The hub's heart: the live store, the alert workflow and the annotations, logged and shared.

Every change — a feed record, an acknowledgement, a note — becomes a numbered event. Events are
committed to SQLite together with the state they describe (one transaction: the journal's
flush), and only then handed to clients, so nothing a client has seen can be missing after a
crash. People's actions are checked against their role, committed at once, then appended to the
audit trail.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import annotations as notes
from .. import workflow as wf
from ..annotations import Annotation, AnnotationBoard, AnnotationError
from ..audit import AuditLog
from ..domain import Kind
from ..envelope import record_to_dict
from ..persistence import SqliteJournal
from ..schema import connect
from ..store import Change, LiveStore, Op
from ..users import Forbidden, User
from ..workflow import AlertFlow, WorkflowBoard, WorkflowError
from .eventlog import EventLog, LoggedEvent

Subscriber = Callable[[list[LoggedEvent]], None]


@dataclass
class HubStats:
    committed: int = 0
    commits: int = 0
    last_commit_s: float = 0.0
    slow_clients_dropped: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class HubCore:
    """Owns event numbering and the people-made state; the store stays the only record writer."""

    def __init__(self, store: LiveStore, journal: SqliteJournal | None, audit: AuditLog | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.journal = journal
        self.audit = audit
        self.clock = clock
        # With no database (--no-db) the hub still numbers events, in memory.
        self.db: sqlite3.Connection = journal.db if journal is not None else connect(":memory:")
        self.log = EventLog(self.db)
        self.workflow = WorkflowBoard()
        self.annotations = AnnotationBoard()
        self._load()
        self._pending: list[dict[str, Any]] = []
        self._rows: list[Callable[[sqlite3.Connection], None]] = []
        self._subscribers: list[Subscriber] = []
        # parts of the picture kept by other services (missions): name -> current items as dicts
        self.snapshot_parts: dict[str, Callable[[], list[dict[str, Any]]]] = {}
        self.stats = HubStats()
        self._unsubscribe = store.subscribe(self._on_store_change)

    # -- state from disk ----------------------------------------------------------------
    def _load(self) -> None:
        cols = [c[1] for c in self.db.execute("PRAGMA table_info(alert_workflow)")]
        for row in self.db.execute("SELECT * FROM alert_workflow"):
            try:
                self.workflow.put(AlertFlow.from_dict(dict(zip(cols, row))))
            except WorkflowError:
                continue  # a damaged row must not stop the hub; the alert starts over as new
        for (body,) in self.db.execute("SELECT body FROM annotations"):
            try:
                self.annotations.put(notes.from_dict(json.loads(body)))
            except (AnnotationError, ValueError):
                continue

    # -- events -------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def _on_store_change(self, change: Change) -> None:
        if change.op is Op.REMOVED:
            self._pending.append({"t": "remove", "kind": change.kind.value, "id": change.id})
            return
        record = change.record
        assert record is not None
        event: dict[str, Any] = {"t": "record", "kind": change.kind.value, "id": change.id,
                                 "rec": record_to_dict(record), "src": record.source}
        if change.kind is Kind.SHOT:
            event["withdrawn"] = self.store.is_withdrawn(change.id)
        self._pending.append(event)
        if change.kind is Kind.SHOT and change.op is Op.ADDED and not self.workflow.known(change.id):
            # the moment the alert reached the screens: detection → shown is measured from here
            self._put_flow(AlertFlow(change.id, shown_at=self.clock(), updated_at=self.clock()))

    def publish(self, event: dict[str, Any]) -> None:
        """Queue an event of another service (a mission, a message to units) for the next commit."""
        self._pending.append(event)

    def _put_flow(self, flow: AlertFlow) -> None:
        if not self.workflow.put(flow):
            return
        row = flow.to_dict()
        row["units"] = json.dumps(row["units"])
        names = list(row)
        sql = (f"INSERT INTO alert_workflow ({','.join(names)}) VALUES ({','.join('?' * len(names))}) "
               f"ON CONFLICT(alert_id) DO UPDATE SET " + ",".join(f"{n}=excluded.{n}" for n in names[1:]))
        values = tuple(row[n] for n in names)
        self._rows.append(lambda db: db.execute(sql, values))
        self._pending.append({"t": "workflow", "id": flow.alert_id, "flow": flow.to_dict()})

    def _put_annotation(self, ann: Annotation) -> None:
        self.annotations.put(ann)
        body = json.dumps(ann.to_dict(), ensure_ascii=False)
        self._rows.append(lambda db: (
            db.execute("INSERT INTO annotations VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                       "version=excluded.version, body=excluded.body, deleted=excluded.deleted, "
                       "updated_at=excluded.updated_at WHERE excluded.version > annotations.version",
                       (ann.id, ann.version, body, ann.target, ann.author, int(ann.deleted),
                        ann.created_at, ann.updated_at)),
            db.execute("INSERT OR IGNORE INTO annotation_history VALUES (?,?,?,?,?)",
                       (ann.id, ann.version, body, ann.editor or ann.author, ann.updated_at))))
        self._pending.append({"t": "annotation", "id": ann.id, "ann": ann.to_dict()})

    def commit(self) -> int:
        """Write pending state and events in one transaction, then hand the events to clients."""
        if not self._pending and not self._rows:
            return 0
        pending, self._pending = self._pending, []
        rows, self._rows = self._rows, []
        written: list[LoggedEvent] = []
        started = time.perf_counter()

        def write(db: sqlite3.Connection) -> None:
            for row in rows:
                row(db)
            written.extend(self.log.write(db, self.clock(), pending))

        if self.journal is not None:
            self.journal.flush(also=write)
        else:
            with self.db:
                self.db.execute("BEGIN")
                write(self.db)
        self.log.committed(written)
        self.stats.commits += 1
        self.stats.committed += len(written)
        self.stats.last_commit_s = time.perf_counter() - started
        for subscriber in list(self._subscribers):
            subscriber(written)
        return len(written)

    # -- what clients see first ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole current picture at the last committed sequence number."""
        self.commit()
        records = []
        for kind in Kind:
            for record in self.store.all(kind):
                item = {"kind": kind.value, "rec": record_to_dict(record), "src": record.source}
                if kind is Kind.SHOT and self.store.is_withdrawn(record.id):
                    item["withdrawn"] = True
                records.append(item)
        snap = {"t": "snapshot", "seq": self.log.last_seq, "epoch": self.log.epoch, "records": records,
                "workflow": [f.to_dict() for f in self.workflow.all()],
                "annotations": [a.to_dict() for a in self.annotations.all()]}
        for name, part in self.snapshot_parts.items():
            snap[name] = part()
        return snap

    # -- people's actions ---------------------------------------------------------------
    def audit_action(self, user: User, action: str, target: str, details: dict[str, Any]) -> None:
        if self.audit is not None:
            self.audit.append(user.name, action, target, details, at=self.clock())

    def alert_action(self, user: User, action: str, alert_id: str, **args: Any) -> AlertFlow:
        """acknowledge | dispatch | on_scene | close | shelve | unshelve | disposition."""
        permission = {"disposition": "alert.close"}.get(action, f"alert.{action}")
        user.require(permission, f"{action.replace('_', ' ')} alerts")
        if self.store.get(Kind.SHOT, alert_id) is None and not self.workflow.known(alert_id):
            raise WorkflowError(f"no alert {alert_id}")
        now = self.clock()
        flow = self.workflow.get(alert_id)
        if action == "acknowledge":
            new = wf.acknowledge(flow, user.name, now)
        elif action == "dispatch":
            new = wf.dispatch(flow, user.name, now, args.get("units") or ())
        elif action == "on_scene":
            new = wf.on_scene(flow, user.name, now)
        elif action == "close":
            new = wf.close(flow, user.name, now, str(args.get("disposition")))
        elif action == "shelve":
            minutes = float(args.get("minutes") or 0)
            new = wf.shelve(flow, user.name, now, str(args.get("reason") or ""), now + 60.0 * minutes)
        elif action == "unshelve":
            new = wf.unshelve(flow, user.name, now)
        elif action == "disposition":
            new = wf.set_disposition(flow, user.name, now, str(args.get("disposition")))
        else:
            raise WorkflowError(f"unknown action {action}")
        self._put_flow(new)
        if new.acknowledged_at is not None and not self.store.is_acknowledged(alert_id):
            self.store.acknowledge(alert_id, by=new.acknowledged_by or user.name, at=new.acknowledged_at)
        note = " ".join(str(args.get("note") or "").split())
        if note:
            self._put_annotation(notes.new_annotation({"type": "note", "target": f"shot:{alert_id}", "text": note},
                                                      user.name, now))
        self.commit()
        details = {k: v for k, v in new.to_dict().items() if v not in (None, [], "")}
        details.pop("alert_id", None)
        if note:
            details["note"] = note
        self.audit_action(user, f"alert.{action}", alert_id, details)
        return new

    def annotate(self, user: User, data: dict[str, Any]) -> Annotation:
        user.require("annotation.create", "annotate")
        ann = notes.new_annotation(data, user.name, self.clock())
        if ann.type == "disposition" and ann.disposition:
            alert_id = ann.target.split(":", 1)[1]
            if self.workflow.known(alert_id) and self.workflow.get(alert_id).state is wf.State.CLOSED:
                self._put_flow(wf.set_disposition(self.workflow.get(alert_id), user.name, ann.created_at,
                                                  ann.disposition))
        self._put_annotation(ann)
        self.commit()
        self.audit_action(user, "annotation.create", ann.id, ann.to_dict())
        return ann

    def edit_annotation(self, user: User, ident: str, changes: dict[str, Any]) -> Annotation:
        current = self._editable(user, ident)
        ann = notes.edited(current, changes, user.name, self.clock())
        self._put_annotation(ann)
        self.commit()
        self.audit_action(user, "annotation.edit", ident, ann.to_dict())
        return ann

    def delete_annotation(self, user: User, ident: str) -> Annotation:
        current = self._editable(user, ident)
        ann = notes.deleted(current, user.name, self.clock())
        self._put_annotation(ann)
        self.commit()
        self.audit_action(user, "annotation.delete", ident, {"version": ann.version})
        return ann

    def _editable(self, user: User, ident: str) -> Annotation:
        current = self.annotations.get(ident)
        if current is None:
            raise AnnotationError(f"no annotation {ident}")
        if not user.may_edit(current.author):
            raise Forbidden(f"{user.name} ({user.role}) may not change {current.author}'s annotation")
        return current

    def history(self, ident: str) -> list[Annotation]:
        rows = self.db.execute("SELECT body FROM annotation_history WHERE id=? ORDER BY version", (ident,))
        return [notes.from_dict(json.loads(body)) for (body,) in rows]

    def close(self) -> None:
        self.commit()
        self._unsubscribe()
