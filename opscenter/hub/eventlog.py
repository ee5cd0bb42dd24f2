"""The hub's numbered log of everything it has told its clients.

Each event is stored as the exact JSON text clients receive, with its sequence number inside,
so a resuming client gets byte-for-byte what it missed and the hub serialises each event once
however many clients there are. Sequence numbers only grow (AUTOINCREMENT), across restarts and
purges; the `epoch` names this log, so a client that finds a different epoch (a new database)
starts over from a snapshot instead of trusting numbers that mean something else now.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    text: str  # the JSON object sent to clients, "seq" included


class EventLog:
    """Append in the caller's transaction (see `SqliteJournal.flush(also=...)`), read by range."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        row = db.execute("SELECT value FROM meta WHERE key='hub_epoch'").fetchone()
        if row is None:
            self.epoch = secrets.token_hex(8)
            db.execute("INSERT INTO meta VALUES ('hub_epoch', ?)", (self.epoch,))
        else:
            self.epoch = row[0]
        self.last_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        if self.last_seq == 0:
            # after a full purge AUTOINCREMENT still remembers; keep numbering monotonic
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
            self.last_seq = row[0] if row else 0

    def write(self, db: sqlite3.Connection, at: float, events: list[dict[str, Any]]) -> list[LoggedEvent]:
        """Number and store `events` (inside the open transaction); returns them as sent."""
        out: list[LoggedEvent] = []
        seq = self.last_seq
        rows = []
        for event in events:
            seq += 1
            text = json.dumps({"seq": seq, **event}, separators=(",", ":"), ensure_ascii=False)
            rows.append((seq, at, event["t"], event.get("kind", ""), event.get("id", ""), text))
            out.append(LoggedEvent(seq, text))
        db.executemany("INSERT INTO events (seq, at, type, kind, id, body) VALUES (?,?,?,?,?,?)", rows)
        return out

    def committed(self, written: list[LoggedEvent]) -> None:
        """Advance the head only after the transaction committed."""
        if written:
            self.last_seq = written[-1].seq

    def first_seq(self) -> int:
        row = self._db.execute("SELECT MIN(seq) FROM events").fetchone()
        return row[0] if row and row[0] is not None else self.last_seq + 1

    def since(self, seq: int, limit: int | None = None) -> list[LoggedEvent]:
        query = "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq"
        args: tuple[Any, ...] = (seq,)
        if limit is not None:
            query += " LIMIT ?"
            args = (seq, limit)
        return [LoggedEvent(s, b) for s, b in self._db.execute(query, args)]

    def can_resume(self, since: int, epoch: str | None) -> bool:
        """True when every event after `since` is still in the log and the numbering is ours."""
        return (epoch == self.epoch and 0 < since <= self.last_seq
                and since >= self.first_seq() - 1)

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
