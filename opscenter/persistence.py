"""SQLite persistence of the live picture, so a restarted wall shows what it showed before.

The journal listens to the store (the only writer) and writes changed records in batches:
one transaction per flush keeps the event loop free at thousands of events per second.
Records are stored as the envelope's JSON so one validated decoder serves wire and disk alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Callable

from .domain import Deletion, Kind, Record
from .envelope import record_from_dict, record_to_dict
from .errors import OpsCenterError, ParseError
from .schema import connect
from .store import Change, LiveStore, Op, event_time

class DatabaseInUse(OpsCenterError):
    """Another running wall or hub already writes this database."""


class WriterLock:
    """One writing program per database: a second wall on the same file would number events
    twice. An OS lock beside the file (`NAME.lock`), released by the OS if the program dies."""

    def __init__(self, path: str | Path, hint: str = "") -> None:
        self.path = Path(f"{path}.lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not a POSIX system: no lock, as before
            pass
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip()[:200]
            self._file.close()
            raise DatabaseInUse(f"{path} is in use by another OpsCenter ({holder or 'unknown'}); join it with "
                                f"--hub{hint} or start this one with another --db") from None
        self.note("")

    def note(self, text: str) -> None:
        """Say who holds the file (and where its hub listens) to the next program that tries."""
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}" + (f", {text}" if text else ""))
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()


class SqliteJournal:
    """Write-behind copy of a LiveStore in one SQLite file (WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)
        self._pending: dict[tuple[Kind, str], Record | None] = {}
        self._store: LiveStore | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.rejected: list[ParseError] = []

    def load_into(self, store: LiveStore) -> int:
        """Replay stored records and acknowledgements into the store; returns records loaded."""
        loaded = 0
        for kind, body, source in self._db.execute("SELECT kind, body, source FROM records"):
            try:
                record = record_from_dict(Kind(kind), json.loads(body), source or str(self.path))
            except (ParseError, ValueError) as exc:
                # A damaged row must not stop the wall from starting; it is reported instead.
                self.rejected.append(exc if isinstance(exc, ParseError) else ParseError(str(self.path), str(exc)))
                continue
            store.apply(record)
            loaded += 1
        for alert_id, by, at in self._db.execute("SELECT alert_id, by, at FROM acknowledgements"):
            store.acknowledge(alert_id, by=by, at=at)
        return loaded

    def attach(self, store: LiveStore) -> None:
        """Start recording the store's changes (call after load_into)."""
        self._store = store
        self._unsubscribe = store.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        self._pending[(change.kind, change.id)] = None if change.op is Op.REMOVED else change.record

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def db(self) -> sqlite3.Connection:
        """The journal's connection, for writers that must commit in the same transaction."""
        return self._db

    def flush(self, also: Callable[[sqlite3.Connection], None] | None = None) -> int:
        """Write everything changed since the last flush in one transaction.

        `also` runs inside that transaction: the hub logs the events it is about to send with
        the records they describe, so a crash keeps both or neither."""
        if not self._pending and also is None:
            return 0
        pending, self._pending = self._pending, {}
        upserts, deletes, acks = [], [], []
        for (kind, id_), record in pending.items():
            if record is None:
                deletes.append((kind.value, id_))
                continue
            upserts.append((kind.value, id_, record.version, event_time(record),
                            json.dumps(record_to_dict(record)), record.source))
            if kind is Kind.SHOT and self._store is not None:
                ack = self._store.acknowledgement(id_)
                if ack is not None:
                    acks.append((ack.alert_id, ack.by, ack.at))
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO records VALUES (?,?,?,?,?,?) ON CONFLICT(kind, id) DO UPDATE SET "
                "version=excluded.version, event_time=excluded.event_time, body=excluded.body, "
                "source=excluded.source WHERE excluded.version >= records.version",
                upserts,
            )
            # live history joins imported history, so briefings cover both; leaving the live
            # picture (pruning) is not a deletion, so the archive keeps what the wall let go.
            # Unit positions stay out: the archive keeps one row per id, so it would hold only
            # each unit's last fix at the cost of most of the writes.
            self._db.executemany(
                "INSERT INTO archive VALUES (?,?,?,?,?,?,0) ON CONFLICT(kind, id) DO UPDATE SET "
                "version=excluded.version, event_time=excluded.event_time, body=excluded.body, "
                "source=excluded.source, deleted=0 WHERE excluded.version > archive.version",
                [row for row in upserts if row[0] != Kind.UNIT.value],
            )
            self._db.executemany("DELETE FROM records WHERE kind=? AND id=?", deletes)
            self._db.executemany(
                "DELETE FROM acknowledgements WHERE alert_id=?", [(i,) for k, i in deletes if k == Kind.SHOT.value]
            )
            self._db.executemany("INSERT OR IGNORE INTO acknowledgements VALUES (?,?,?)", acks)
            if also is not None:
                also(self._db)
        return len(pending)

    def count(self, kind: Kind) -> int:
        return self._db.execute("SELECT COUNT(*) FROM records WHERE kind=?", (kind.value,)).fetchone()[0]

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.flush()
        self._db.close()


class Archive:
    """History for figures and models: every imported or replayed record, newest version kept.

    Lives in the same SQLite file as the journal but is never loaded into the live store.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)

    def write(self, items: list[Record | Deletion]) -> tuple[int, int, int]:
        """Upsert records (a higher version wins) and apply deletions in one transaction.

        Returns (written, unchanged, deleted).
        """
        before = self._db.total_changes
        rows, deletions = [], []
        for item in items:
            if isinstance(item, Deletion):
                deletions.append((item.kind.value, item.id, item.version))
            else:
                rows.append((item.kind.value, item.id, item.version, event_time(item),
                             json.dumps(record_to_dict(item)), item.source))
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO archive VALUES (?,?,?,?,?,?,0) ON CONFLICT(kind, id) DO UPDATE SET "
                "version=excluded.version, event_time=excluded.event_time, body=excluded.body, "
                "source=excluded.source, deleted=0 WHERE excluded.version > archive.version",
                rows,
            )
            written = self._db.total_changes - before
            # A deletion stays as a tombstone so re-importing the older record changes nothing.
            self._db.executemany(
                "INSERT INTO archive VALUES (?,?,?,0,'','',1) ON CONFLICT(kind, id) DO UPDATE SET "
                "version=excluded.version, deleted=1 WHERE excluded.version > archive.version",
                deletions,
            )
        deleted = self._db.total_changes - before - written
        return written, len(rows) - written, deleted

    def count(self, kind: Kind | None = None) -> int:
        if kind is None:
            return self._db.execute("SELECT COUNT(*) FROM archive WHERE deleted=0").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM archive WHERE kind=? AND deleted=0",
                                (kind.value,)).fetchone()[0]

    def records(self, kind: Kind, since: float | None = None, until: float | None = None) -> list[Record]:
        """Records of one kind in event-time order, optionally within [since, until)."""
        query = "SELECT body, source FROM archive WHERE kind=? AND deleted=0"
        args: list[object] = [kind.value]
        if since is not None:
            query += " AND event_time >= ?"
            args.append(since)
        if until is not None:
            query += " AND event_time < ?"
            args.append(until)
        query += " ORDER BY event_time"
        return [record_from_dict(kind, json.loads(body), source) for body, source in self._db.execute(query, args)]

    def close(self) -> None:
        self._db.close()
