"""How long each kind of record is kept, what the next purge will remove, and the purge itself.

Retention is a legal and policy matter as much as a technical one: every change of a period and
every purge goes on the audit trail with who, what and how many. The audit trail itself is not
a retention kind — purging it would break the chain that makes it worth keeping.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from .audit import AuditLog
from .errors import OpsCenterError

DAY = 86400.0
# kind -> (default days or None for "keep", what it is)
KINDS: dict[str, tuple[float | None, str]] = {
    "events": (30.0, "raw feed events in the hub's log"),
    "closed_alerts": (365.0, "closed shot alerts' workflow and their annotations"),
    "archive.shot": (None, "archived gunfire detections"),
    "archive.call": (None, "archived 911/CAD calls"),
    "archive.unit": (30.0, "archived unit positions"),
    "archive.report": (None, "archived crime reports"),
    "archive.advisory": (90.0, "archived warnings and tracks"),
}
MAX_DAYS = 36500.0


class RetentionError(OpsCenterError):
    """An unknown kind or an unusable period."""


@dataclass(frozen=True, slots=True)
class Due:
    kind: str
    days: float | None
    count: int
    cutoff: float | None


class Retention:
    """Periods from the `retention` table over the defaults; purge every `interval_s`."""

    def __init__(self, db: sqlite3.Connection, audit: AuditLog | None, clock: Callable[[], float] = time.time,
                 interval_s: float = 6 * 3600.0) -> None:
        self._db = db
        self.audit = audit
        self.clock = clock
        self.interval_s = interval_s
        row = db.execute("SELECT value FROM meta WHERE key='retention_last_run'").fetchone()
        self.last_run: float | None = float(row[0]) if row else None
        self.listeners: list[Callable[[dict[str, int]], None]] = []

    def periods(self) -> dict[str, float | None]:
        out = {k: v[0] for k, v in KINDS.items()}
        for kind, days in self._db.execute("SELECT kind, days FROM retention"):
            if kind in out:
                out[kind] = None if days <= 0 else days
        return out

    def set(self, kind: str, days: object, actor: str) -> None:
        """Change one period (0 or None: keep forever); audited with the old and new value."""
        if kind not in KINDS:
            raise RetentionError(f"unknown retention kind {kind!r}; known: {', '.join(KINDS)}")
        if days is None:
            days = 0.0
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not (0 <= days <= MAX_DAYS):
            raise RetentionError(f"days must be a number from 0 (keep) to {MAX_DAYS:g}")
        old = self.periods()[kind]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO retention VALUES (?,?,?,?) ON CONFLICT(kind) DO UPDATE SET "
                             "days=excluded.days, updated_at=excluded.updated_at, updated_by=excluded.updated_by",
                             (kind, float(days), self.clock(), actor))
        if self.audit is not None:
            self.audit.append(actor, "retention.change", kind, {"from_days": old, "to_days": float(days) or None},
                              at=self.clock())

    def _queries(self, kind: str) -> tuple[str, list[str]]:
        """(count query, delete statements) taking the cutoff time as the only parameter."""
        if kind == "events":
            return "SELECT COUNT(*) FROM events WHERE at < ?", ["DELETE FROM events WHERE at < ?"]
        if kind == "closed_alerts":
            closed = "SELECT alert_id FROM alert_workflow WHERE state='closed' AND closed_at < ?"
            return (f"SELECT COUNT(*) FROM ({closed})", [
                f"DELETE FROM annotation_history WHERE id IN (SELECT id FROM annotations WHERE target IN "
                f"(SELECT 'shot:' || alert_id FROM ({closed})))",
                f"DELETE FROM annotations WHERE target IN (SELECT 'shot:' || alert_id FROM ({closed}))",
                "DELETE FROM alert_workflow WHERE state='closed' AND closed_at < ?"])
        record_kind = kind.split(".", 1)[1]
        return (f"SELECT COUNT(*) FROM archive WHERE kind='{record_kind}' AND event_time < ?",
                [f"DELETE FROM archive WHERE kind='{record_kind}' AND event_time < ?"])

    def preview(self, now: float | None = None) -> list[Due]:
        """What a purge at the next run would remove, kind by kind."""
        when = self.next_run(now)
        out = []
        for kind, days in self.periods().items():
            if days is None:
                out.append(Due(kind, None, 0, None))
                continue
            cutoff = when - days * DAY
            count_sql, _ = self._queries(kind)
            out.append(Due(kind, days, self._db.execute(count_sql, (cutoff,)).fetchone()[0], cutoff))
        return out

    def next_run(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        return now if self.last_run is None else max(now, self.last_run + self.interval_s)

    def purge(self, actor: str = "retention", now: float | None = None) -> dict[str, int]:
        """Remove everything past its period in one transaction; one audit entry lists it all."""
        now = self.clock() if now is None else now
        removed: dict[str, int] = {}
        cutoffs: dict[str, float] = {}
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for kind, days in self.periods().items():
                if days is None:
                    continue
                cutoff = now - days * DAY
                count_sql, deletes = self._queries(kind)
                count = self._db.execute(count_sql, (cutoff,)).fetchone()[0]
                if not count:
                    continue
                for statement in deletes:
                    self._db.execute(statement, (cutoff,) * statement.count("?"))
                removed[kind], cutoffs[kind] = count, cutoff
            self._db.execute("INSERT INTO meta VALUES ('retention_last_run', ?) ON CONFLICT(key) DO UPDATE "
                             "SET value=excluded.value", (repr(now),))
        self.last_run = now
        if removed and self.audit is not None:
            self.audit.append(actor, "retention.purge", ",".join(sorted(removed)),
                              {"removed": removed, "cutoffs": cutoffs}, at=now)
        for listener in list(self.listeners):
            listener(removed)
        return removed

    def describe(self, now: float | None = None) -> dict:
        """For the app's retention view: periods, and what goes next and when."""
        return {"next_run": self.next_run(now), "interval_s": self.interval_s,
                "kinds": [{"kind": d.kind, "days": d.days, "what": KINDS[d.kind][1], "due": d.count,
                           "cutoff": d.cutoff} for d in self.preview(now)]}
