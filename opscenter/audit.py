"""Tamper-evident audit trail: who did what, when, chained so no entry can be quietly changed.

Acknowledgements, annotations, exports, logins, purges and configuration changes are appended
to the `audit` table of an SQLite file (normally the app's own `var/opscenter.sqlite3`). Each
entry carries a hash of its content and the hash of the entry before it, so an edited, deleted
or reordered entry breaks the chain at a point `verify` can name.

Hashes (all SHA-256, lowercase hex), so anyone can re-check an export without this program:

* ``content`` is the details as canonical JSON: keys sorted, separators ``","`` and ``":"``,
  non-ASCII kept as UTF-8 (``json.dumps(d, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False, allow_nan=False)``);
* ``content_hash = sha256(utf8(content))``;
* ``entry_hash = sha256(utf8(json.dumps([seq, repr(at), actor, action, target, content_hash,
  prev_hash], separators=(",", ":"), ensure_ascii=False)))`` — a compact JSON array whose second
  element is the time as a *string*: Python's shortest round-trip ``repr`` of the float seconds
  since the epoch (e.g. ``"1700000000.25"``), so no float formatting ambiguity enters the hash;
* ``prev_hash`` of entry 1 is 64 zeros; of entry n it is entry n-1's ``entry_hash``; ``seq``
  counts 1, 2, 3, … with no gaps.

The chain proves integrity from the first entry to the last one present. Removing entries from
the tail, or rewriting everything after some point, is only caught against an anchor: a last
hash the operator wrote down or exported earlier (`verify(expected_last_hash=...)`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping

GENESIS_HASH = "0" * 64
MAX_NAME_CHARS = 200
MAX_CONTENT_BYTES = 64 * 1024
EXPORT_FORMAT = "opscenter-audit"
EXPORT_VERSION = 1
FIELDS = ("seq", "at", "actor", "action", "target", "content", "content_hash", "prev_hash", "entry_hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, content TEXT NOT NULL, content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL
);
"""


class AuditError(ValueError):
    """An entry that must not be written (bad actor/action/target or details)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    target: str
    content: str
    content_hash: str
    prev_hash: str
    entry_hash: str

    @property
    def details(self) -> dict[str, Any]:
        return json.loads(self.content)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    last_hash: str = GENESIS_HASH


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_content(details: Mapping[str, Any]) -> str:
    """The one text form of the details, so equal details always hash the same."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_entry_hash(seq: int, at: float, actor: str, action: str, target: str,
                       content_hash: str, prev_hash: str) -> str:
    """The chain link; the encoding is the one given in the module docstring."""
    fields = [seq, repr(float(at)), actor, action, target, content_hash, prev_hash]
    return sha256_hex(json.dumps(fields, separators=(",", ":"), ensure_ascii=False))


def _check_name(label: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AuditError(f"{label} must be a non-empty string")
    if len(value) > MAX_NAME_CHARS:
        raise AuditError(f"{label} is longer than {MAX_NAME_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise AuditError(f"{label} contains control characters")
    return value


def _check_details(details: object) -> str:
    if not isinstance(details, Mapping):
        raise AuditError("details must be a mapping")
    try:
        content = canonical_content(details)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"details are not plain JSON: {exc}") from exc
    if len(content.encode("utf-8")) > MAX_CONTENT_BYTES:
        raise AuditError(f"details exceed {MAX_CONTENT_BYTES} bytes as JSON")
    return content


def verify_entries(rows: Iterable[Mapping[str, Any]], expected_last_hash: str | None = None) -> VerifyResult:
    """Walk the chain in seq order; the first entry that does not check out is named."""
    prev_seq, prev_hash, checked, seen_anchor = 0, GENESIS_HASH, 0, expected_last_hash is None

    def bad(seq: int | None, why: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, why, prev_hash)

    for row in rows:
        seq = row.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return bad(None, f"entry after {prev_seq}: sequence number {seq!r} is not an integer")
        if seq <= prev_seq:
            return bad(seq, f"entry {seq}: out of order (follows entry {prev_seq})")
        if seq != prev_seq + 1:
            missing = prev_seq + 1 if seq == prev_seq + 2 else f"{prev_seq + 1}-{seq - 1}"
            after = f"entry {prev_seq}" if prev_seq else "the start of the log"
            return bad(seq, f"entry {missing} missing: entry {seq} does not follow {after}")
        values = {name: row.get(name) for name in FIELDS[2:]}
        for name, value in values.items():
            if not isinstance(value, str):
                return bad(seq, f"entry {seq}: {name} is not text (stored value altered)")
        at = row.get("at")
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
            return bad(seq, f"entry {seq}: time {at!r} is not a number")
        if sha256_hex(values["content"]) != values["content_hash"]:
            return bad(seq, f"entry {seq}: content changed (hash mismatch)")
        if values["prev_hash"] != prev_hash:
            return bad(seq, f"entry {seq}: does not link to entry {prev_seq} "
                            "(chain broken: entry removed, reordered or edited)")
        recomputed = compute_entry_hash(seq, at, values["actor"], values["action"], values["target"],
                                        values["content_hash"], values["prev_hash"])
        if recomputed != values["entry_hash"]:
            return bad(seq, f"entry {seq}: fields changed (entry hash mismatch)")
        prev_seq, prev_hash, checked = seq, recomputed, checked + 1
        seen_anchor = seen_anchor or recomputed == expected_last_hash
    if not seen_anchor:
        return bad(prev_seq + 1, f"entry {prev_seq + 1} missing: the log ends at entry {prev_seq} and the "
                                 "expected last hash is not in it (entries removed from the end, or wrong anchor)")
    return VerifyResult(True, checked, None, f"{checked} entries verified", prev_hash)


def verify_export(json_data: str | bytes | Mapping[str, Any], expected_last_hash: str | None = None) -> VerifyResult:
    """Re-check an `export_json` document on its own, without the database."""
    doc = json.loads(json_data) if isinstance(json_data, (str, bytes)) else json_data
    if not isinstance(doc, Mapping) or doc.get("format") != EXPORT_FORMAT or not isinstance(doc.get("entries"), list):
        return VerifyResult(False, 0, None, "not an OpsCenter audit export")
    entries = doc["entries"]
    if not all(isinstance(e, Mapping) for e in entries):
        return VerifyResult(False, 0, None, "export entries are not objects")
    result = verify_entries(entries, expected_last_hash)
    if result.ok and doc.get("count") != len(entries):
        return VerifyResult(False, result.checked, None, f"export says {doc.get('count')!r} entries, holds {len(entries)}",
                            result.last_hash)
    if result.ok and doc.get("last_hash") != result.last_hash:
        return VerifyResult(False, result.checked, len(entries) + 1,
                            "export's last hash does not match its last entry (entries removed from the end)",
                            result.last_hash)
    return result


class AuditLog:
    """Append-only, hash-chained audit entries in one SQLite table (WAL)."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_s,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None,
               at: float | None = None) -> AuditEntry:
        """Add one entry; BEGIN IMMEDIATE so two writers can never both extend the same head."""
        actor, action, target = (_check_name(n, v) for n, v in
                                 (("actor", actor), ("action", action), ("target", target)))
        content = _check_details({} if details is None else details)
        when = time.time() if at is None else at
        if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
            raise AuditError("at must be a finite number of seconds")
        when = float(when)
        content_hash = sha256_hex(content)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev_hash = (row[0] + 1, row[1]) if row else (1, GENESIS_HASH)
                entry_hash = compute_entry_hash(seq, when, actor, action, target, content_hash, prev_hash)
                entry = AuditEntry(seq, when, actor, action, target, content, content_hash, prev_hash, entry_hash)
                self._db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)",
                                 tuple(getattr(entry, f) for f in FIELDS))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return entry

    def head(self) -> tuple[int, str]:
        """(last seq, last entry hash) — the anchor an operator can write down."""
        with self._lock:
            row = self._db.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def _rows(self, since_seq: int = 0) -> Iterator[dict[str, Any]]:
        """Raw rows as stored (types unchecked), read in one snapshot."""
        with self._lock:
            rows = self._db.execute(f"SELECT {','.join(FIELDS)} FROM audit WHERE seq > ? ORDER BY seq",
                                    (since_seq,)).fetchall()
        for row in rows:
            yield dict(zip(FIELDS, row))

    def entries(self, since_seq: int = 0) -> list[AuditEntry]:
        """Entries after `since_seq`, oldest first."""
        return [AuditEntry(**row) for row in self._rows(since_seq)]

    def verify(self, expected_last_hash: str | None = None) -> VerifyResult:
        """Recompute every hash and link; `expected_last_hash` also catches a cut-off tail."""
        return verify_entries(self._rows(), expected_last_hash)

    def export_json(self, path_or_stream: str | Path | IO[str]) -> VerifyResult:
        """All entries with their hashes, so the export can be checked without the database."""
        rows = [{k: _plain(v) for k, v in row.items()} for row in self._rows()]
        last = rows[-1]["entry_hash"] if rows else GENESIS_HASH
        doc = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": time.time(),
               "genesis_hash": GENESIS_HASH, "count": len(rows), "last_hash": last, "entries": rows}
        text = json.dumps(doc, ensure_ascii=False, indent=1)
        _write_text(path_or_stream, text + "\n")
        return verify_entries(rows)

    def export_csv(self, path_or_stream: str | Path | IO[str]) -> VerifyResult:
        """One row per entry with an ISO time beside the raw one, for spreadsheets."""
        rows = list(self._rows())

        def write(stream: IO[str]) -> None:
            writer = csv.writer(stream)
            writer.writerow(("seq", "at", "at_utc") + FIELDS[2:])
            for row in rows:
                at = row["at"]
                iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)) if isinstance(at, (int, float)) else ""
                writer.writerow([row["seq"], repr(at), iso] + [row[f] for f in FIELDS[2:]])

        if isinstance(path_or_stream, (str, Path)):
            with open(path_or_stream, "w", encoding="utf-8", newline="") as fh:
                write(fh)
        else:
            write(path_or_stream)
        return verify_entries(rows)


def _plain(value: Any) -> Any:
    """A damaged BLOB cell still exports (and then fails verification) instead of crashing."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _write_text(path_or_stream: str | Path | IO[str], text: str) -> None:
    if isinstance(path_or_stream, (str, Path)):
        Path(path_or_stream).write_text(text, encoding="utf-8")
    else:
        path_or_stream.write(text)


def main_audit(argv: list[str] | None = None) -> int:
    """`opscenter audit verify|verify-export|export`: 0 ok, 1 tampered, 2 usage/file problems."""
    import argparse
    import getpass

    parser = argparse.ArgumentParser(prog="opscenter audit", description="Check or export the audit trail.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_db = Path("var/opscenter.sqlite3")
    ver = sub.add_parser("verify", help="check every entry and chain link")
    ver.add_argument("--db", type=Path, default=default_db, help="SQLite file (default: %(default)s)")
    ver.add_argument("--expect-last-hash", metavar="HASH", help="last hash recorded earlier; catches a cut-off tail")
    vex = sub.add_parser("verify-export", help="check a JSON export on its own")
    vex.add_argument("file", type=Path)
    vex.add_argument("--expect-last-hash", metavar="HASH")
    exp = sub.add_parser("export", help="write the audit trail as CSV or JSON")
    exp.add_argument("--format", choices=("csv", "json"), required=True)
    exp.add_argument("--out", type=Path, required=True, metavar="FILE")
    exp.add_argument("--db", type=Path, default=default_db, help="SQLite file (default: %(default)s)")
    exp.add_argument("--actor", default=None, help="name recorded for the export (default: login name)")
    args = parser.parse_args(argv)

    if args.command == "verify-export":
        try:
            result = verify_export(args.file.read_text(encoding="utf-8"), args.expect_last_hash)
        except (OSError, ValueError) as exc:
            print(f"cannot read {args.file}: {exc}")
            return 2
        return _report(result)
    if not args.db.is_file():
        print(f"no database at {args.db}")
        return 2
    with AuditLog(args.db) as log:
        if args.command == "verify":
            return _report(log.verify(args.expect_last_hash))
        writer = log.export_json if args.format == "json" else log.export_csv
        result = writer(args.out)
        # Exporting the trail is itself an audited act; it follows the entries it exported.
        log.append(args.actor or getpass.getuser() or "unknown", "audit.export", str(args.out)[:MAX_NAME_CHARS],
                   {"format": args.format, "count": result.checked, "last_hash": result.last_hash,
                    "chain_ok": result.ok})
        print(f"exported {result.checked} entries to {args.out}; last hash {result.last_hash}")
        if not result.ok:
            print(f"warning: the exported trail does not verify: {result.reason}")
        return 0 if result.ok else 1


def _report(result: VerifyResult) -> int:
    if result.ok:
        print(f"audit trail OK: {result.checked} entries; last hash {result.last_hash}")
        return 0
    print(f"audit trail TAMPERED: {result.reason} ({result.checked} entries checked before it)")
    return 1
