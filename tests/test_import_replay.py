"""`opscenter import` and `opscenter replay` on files: counts, idempotence, order, the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from opscenter.domain import AlertType, Deletion, Kind, ShotAlert
from opscenter.envelope import encode_event
from opscenter.feed_client import SseFeedClient
from opscenter.importer import import_file
from opscenter.persistence import Archive
from opscenter.replay_feed import load_timeline, run_replay_feed
from tests.conftest import SHARED_DATA

T0 = 1_780_000_000.0


def write_envelope_file(path, count: int = 30, garbage: int = 3) -> None:
    lines = []
    for i in range(count):
        shot = ShotAlert(id=f"S-{i}", version=1, detected_at=T0 + (count - i) * 10, lat=39.29, lon=-76.61,
                         alert_type=AlertType.SINGLE, rounds=1)
        lines.append(encode_event(i + 1, T0, shot))
    for g in range(garbage):
        lines.insert(5 + g, '{"seq": 1, "kind": "shot", "record": {"id": ""}}')
    lines.append(encode_event(99, T0, Deletion(Kind.SHOT, "S-0", 5)))
    path.write_text("\n".join(lines) + "\n")


def test_import_counts_rejects_and_is_idempotent(tmp_path) -> None:
    source = tmp_path / "events.jsonl"
    write_envelope_file(source)
    archive = Archive(tmp_path / "ops.sqlite3")
    first = import_file(source, archive)  # format detected
    assert first.format == "envelope"
    assert (first.read, first.imported, first.rejected, first.deleted) == (31, 30, 3, 1)
    assert sum(first.reasons.values()) == 3 and all("line" not in r for r in first.reasons)
    assert archive.count(Kind.SHOT) == 29
    again = import_file(source, archive)
    assert (again.imported, again.unchanged) == (0, 30)
    assert archive.count(Kind.SHOT) == 29
    archive.close()


def test_unknown_file_is_refused_with_a_reason(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some words\nnothing a feed would send\n")
    result = subprocess.run([sys.executable, "-m", "opscenter.cli", "import", str(path), "--db",
                             str(tmp_path / "db.sqlite3")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "format not recognised" in result.stderr and "notes.txt" in result.stderr


def test_timeline_hands_out_records_in_event_time_order(tmp_path) -> None:
    source = tmp_path / "events.jsonl"
    write_envelope_file(source, count=20, garbage=1)
    timeline, name, rejected = load_timeline(source)
    assert (name, rejected, len(timeline)) == ("envelope", 1, 21)  # 20 records and the deletion
    first = timeline.advance_to(timeline.start + 45)
    times = [s.detected_at for s in first]
    assert times == sorted(times) and len(first) == 5
    rest = timeline.advance_to(timeline.end)
    assert len(first) + len(rest) == 21 and timeline.advance_to(timeline.end + 1) == []
    # the deletion of S-0 never overtakes S-0 itself
    order = [(type(i).__name__, i.id) for i in first + rest]
    assert order.index(("Deletion", "S-0")) > order.index(("ShotAlert", "S-0"))
    live = timeline.retimed(origin=1_800_000_000.0, speed=10)
    assert live.start == 1_800_000_000.0 and live.end == pytest.approx(1_800_000_000.0 + 19)


@pytest.mark.asyncio
async def test_replay_streams_the_file_into_a_feed_client(tmp_path) -> None:
    source = tmp_path / "events.jsonl"
    write_envelope_file(source, count=40, garbage=0)
    ports: list[int] = []
    server = asyncio.create_task(run_replay_feed(source, None, speed=200.0, host="127.0.0.1", port=0,
                                                 on_ready=lambda port, *_: ports.append(port)))
    got = []
    try:
        deadline = time.monotonic() + 10
        while not ports:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        client = SseFeedClient("replay", f"http://127.0.0.1:{ports[0]}/events", got.append)
        task = asyncio.create_task(client.run())
        while len(got) < 41:
            assert time.monotonic() < deadline, f"only {len(got)} of 41 arrived"
            await asyncio.sleep(0.02)
        await client.stop()
        await task
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
    shots = [e.payload for e in got if not isinstance(e.payload, Deletion)]
    times = [s.detected_at for s in shots]
    assert times == sorted(times)
    assert abs(times[0] - time.time()) < 30  # replayed as live: times moved to now
    assert len({s.id for s in shots}) == 40
    assert isinstance(got[-1].payload, Deletion) and got[-1].payload.id == "S-0"


DC_FILE = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"


@pytest.mark.skipif(not DC_FILE.exists(), reason="shared data not present")
def test_cli_imports_the_real_dc_file_with_expected_counts(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    result = subprocess.run([sys.executable, "-m", "opscenter.cli", "import", str(DC_FILE), "--db", str(db)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # one row has no position (0.001, -0.002: a rounded "no fix"): refused, and said so
    assert "(dc-shotspotter): 39,065 records read, 39,065 imported" in result.stdout
    assert "1 rejected" in result.stdout and "no coordinates" in result.stdout
    archive = Archive(db)
    assert archive.count(Kind.SHOT) == 39_065
    by_year: dict[int, int] = {}
    for shot in archive.records(Kind.SHOT):
        year = time.gmtime(shot.detected_at).tm_year
        by_year[year] = by_year.get(year, 0) + 1
    assert min(by_year) == 2006 and max(by_year) == 2013
    archive.close()
