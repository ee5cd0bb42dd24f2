"""Event-log write throughput: one SQLite transaction per event against one per 50 ms batch.

The hub numbers every change and commits it before any client sees it; HubService commits every
50 ms, so at R events/s a transaction carries about R/20 events. This measures what that
batching buys, on a temp file opened as the hub opens it (`schema.connect`: WAL,
synchronous=NORMAL), through the hub's own `EventLog.write`:

  log only        events rows alone;
  log + records   the hub's real commit: `SqliteJournal.flush(also=...)` upserting the records
                  the events describe in the same transaction.

Batch sizes: 1 (a transaction per event) and the 50 ms batch at 1,000, 5,000 and 20,000
events/s (50, 250 and 1,000 events). Events are unit reports as the hub logs them (~330 bytes).
`ms/commit` is the time one commit holds the event loop; `core at 1k/s` is the share of one core
the log would take at 1,000 events/s with that batch size.

Run:  .venv/bin/python bench/eventlog_writes.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opscenter.domain import Unit, UnitStatus  # noqa: E402
from opscenter.envelope import record_to_dict  # noqa: E402
from opscenter.hub.eventlog import EventLog  # noqa: E402
from opscenter.persistence import SqliteJournal  # noqa: E402
from opscenter.schema import connect  # noqa: E402
from opscenter.store import LiveStore  # noqa: E402

UNITS = 1000


def make_unit(i: int, now: float) -> Unit:
    return Unit(id=f"U{i % UNITS}", version=i // UNITS + 1, reported_at=now, status=UnitStatus.AVAILABLE,
                lat=39.2 + (i % 97) * 0.001, lon=-76.6 - (i % 89) * 0.001, district="Central", heading=90.0)


def event_of(unit: Unit) -> dict:
    return {"t": "record", "kind": "unit", "id": unit.id, "rec": record_to_dict(unit), "src": "bench"}


def log_only(path: Path, batch: int, seconds: float) -> tuple[int, float, int]:
    """(events, elapsed s, commits) writing events rows in transactions of `batch`."""
    db = connect(path)
    log = EventLog(db)
    made = commits = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        now = time.time()
        events = [event_of(make_unit(made + j, now)) for j in range(batch)]
        with db:
            db.execute("BEGIN")
            written = log.write(db, now, events)
        log.committed(written)
        made += batch
        commits += 1
    elapsed = time.perf_counter() - started
    db.close()
    return made, elapsed, commits


def with_records(path: Path, batch: int, seconds: float) -> tuple[int, float, int]:
    """The hub's commit: records through the journal and their events, one transaction."""
    store = LiveStore(retention_s=1e9, unit_stale_s=1e9)
    journal = SqliteJournal(path)
    journal.attach(store)
    log = EventLog(journal.db)
    made = commits = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        now = time.time()
        events = []
        for j in range(batch):
            unit = make_unit(made + j, now)
            store.apply(unit)
            events.append(event_of(unit))
        written = []
        journal.flush(also=lambda db: written.extend(log.write(db, now, events)))
        log.committed(written)
        made += batch
        commits += 1
    elapsed = time.perf_counter() - started
    journal.close()
    return made, elapsed, commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="per case")
    args = parser.parse_args()
    cases = [("per event", 1), ("50 ms @ 1k/s", 50), ("50 ms @ 5k/s", 250), ("50 ms @ 20k/s", 1000)]
    print(f"\nevent-log writes, {args.seconds:g} s per case, temp file, WAL + synchronous=NORMAL\n")
    head = (f"{'what':>13} | {'transaction':>14} | {'events/s':>9} | {'vs per event':>12} | {'ms/commit':>9} | "
            f"{'core at 1k/s':>12}")
    print(head)
    print("-" * len(head))
    for what, writer in (("log only", log_only), ("log + records", with_records)):
        base = None
        for label, batch in cases:
            with tempfile.TemporaryDirectory() as tmp:
                made, elapsed, commits = writer(Path(tmp) / "log.sqlite3", batch, args.seconds)
            rate = made / elapsed
            base = base or rate
            per_commit = elapsed / commits
            share = (1000 / batch) * per_commit  # commits per second at 1k/s times their cost
            print(f"{what:>13} | {label:>14} | {rate:>9,.0f} | {rate / base:>11.1f}x | {per_commit * 1000:>9.2f} | "
                  f"{share:>11.0%}")


if __name__ == "__main__":
    main()
