"""One SQLite file, one schema version, migrated forward in numbered steps.

The journal, archive, audit trail, hub event log, alert workflow, annotations, users and
retention all live in the same file (WAL), so a center backs up one file. Every program that
opens it calls `migrate` first: a file from an older release is brought forward step by step in
one transaction; a file from a newer release is refused rather than half-understood.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from .errors import OpsCenterError

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    event_time REAL NOT NULL, body TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS records_time ON records (kind, event_time);
CREATE TABLE IF NOT EXISTS archive (
    kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    event_time REAL NOT NULL, body TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS archive_time ON archive (kind, event_time);
CREATE TABLE IF NOT EXISTS acknowledgements (
    alert_id TEXT PRIMARY KEY, by TEXT NOT NULL, at REAL NOT NULL
);
"""

_V2 = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, content TEXT NOT NULL, content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, type TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT '', id TEXT NOT NULL DEFAULT '', body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS alert_workflow (
    alert_id TEXT PRIMARY KEY, state TEXT NOT NULL, shown_at REAL,
    acknowledged_at REAL, acknowledged_by TEXT, dispatched_at REAL, dispatched_by TEXT,
    units TEXT NOT NULL DEFAULT '[]', on_scene_at REAL, closed_at REAL, closed_by TEXT,
    disposition TEXT, shelved_until REAL, shelve_reason TEXT, shelved_by TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS annotations (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL,
    target TEXT NOT NULL, author TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_target ON annotations (target);
CREATE TABLE IF NOT EXISTS annotation_history (
    id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, editor TEXT NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, created_at REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
    last_used REAL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS retention (
    kind TEXT PRIMARY KEY, days REAL NOT NULL, updated_at REAL NOT NULL, updated_by TEXT NOT NULL
);
"""


_V3 = """
CREATE TABLE IF NOT EXISTS missions (
    id TEXT PRIMARY KEY, shift_start REAL NOT NULL, shift_end REAL NOT NULL,
    state TEXT NOT NULL, body TEXT NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS missions_shift ON missions (shift_start);
"""


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _acks_to_workflow(db: sqlite3.Connection) -> None:
    """Acknowledgements kept by a version-1 wall become workflow rows."""
    db.execute(
        "INSERT OR IGNORE INTO alert_workflow (alert_id, state, acknowledged_at, acknowledged_by, updated_at) "
        "SELECT alert_id, 'acknowledged', at, by, at FROM acknowledgements"
    )


class SchemaError(OpsCenterError):
    """The file is from a newer release, or a migration step failed (nothing was changed)."""


@dataclass(frozen=True)
class Step:
    sql: str
    then: Callable[[sqlite3.Connection], None] | None = None


# Step n brings a file from version n-1 to n. Append, never edit: released files depend on them.
MIGRATIONS: list[Step] = [Step(_V1), Step(_V2, _acks_to_workflow), Step(_V3)]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(db: sqlite3.Connection) -> int:
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not has_meta:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection, path: object = "database", target: int = SCHEMA_VERSION) -> int:
    """Bring the file to `target`; returns the version it had. All steps run in one
    transaction, so a failed migration leaves the file as it was."""
    db.execute("BEGIN IMMEDIATE")  # two programs opening one new file must not both migrate it
    try:
        found = current_version(db)
        if found > SCHEMA_VERSION:
            raise SchemaError(f"{path}: schema {found} is newer than this program ({SCHEMA_VERSION}); "
                              "use the newer release")
        for version in range(found + 1, target + 1):
            step = MIGRATIONS[version - 1]
            for statement in _split(step.sql):
                db.execute(statement)
            if step.then is not None:
                step.then(db)
            db.execute("INSERT INTO meta VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (str(version),))
            db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (f"migrated.{version}", repr(time.time())))
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise SchemaError(f"{path}: migration failed, file unchanged: {exc}") from exc
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return found


def connect(path: object, busy_timeout_s: float = 10.0) -> sqlite3.Connection:
    """An autocommit connection in WAL mode with the schema brought up to date."""
    db = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_s)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    migrate(db, path)
    return db
