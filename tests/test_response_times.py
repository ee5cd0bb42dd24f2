"""Response times per district from the alert workflow table, on a hand-built fixture whose
medians and 90th percentiles are worked out in comments (type 7 quantiles)."""

from __future__ import annotations

import sqlite3

import pytest

from opscenter.compstat import CITY, OPEN, alert_outcomes, figures_from_archive
from opscenter.domain import AlertType, CallForService, Priority, ShotAlert
from opscenter.persistence import Archive
from opscenter.response_times import (ACKNOWLEDGED, DISPATCHED, FIRST_CALL, ON_SCENE, SHOWN,
                                      dispositions, load_workflow, response_table, restrict,
                                      stage_pairs, stage_seconds, table_rows)

T0 = 1_700_000_000.0
COLUMNS = ("alert_id", "state", "shown_at", "acknowledged_at", "acknowledged_by", "dispatched_at",
           "dispatched_by", "on_scene_at", "closed_at", "closed_by", "disposition",
           "shelved_until", "shelve_reason", "updated_at")
SCHEMA = ("CREATE TABLE IF NOT EXISTS alert_workflow (alert_id TEXT PRIMARY KEY, state TEXT, shown_at REAL, "
          "acknowledged_at REAL, acknowledged_by TEXT, dispatched_at REAL, dispatched_by TEXT, "
          "on_scene_at REAL, closed_at REAL, closed_by TEXT, disposition TEXT, "
          "shelved_until REAL, shelve_reason TEXT, updated_at REAL)")


def shot(sid: str, when: float, district: str) -> ShotAlert:
    return ShotAlert(sid, 1, when, 38.9, -77.0, AlertType.MULTIPLE, 3, district=district)


def call(cid: str, when: float, shot_id: str | None) -> CallForService:
    return CallForService(cid, 1, when, Priority.HIGH, "shooting", "", 38.9, -77.0, shot_id=shot_id)


def wf(alert_id, shown=None, ack=None, dispatched=None, on_scene=None, disposition=None) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(alert_id=alert_id, state="closed" if disposition else "open", shown_at=shown, updated_at=T0,
               acknowledged_at=ack, dispatched_at=dispatched, on_scene_at=on_scene,
               disposition=disposition)
    return row


SHOTS = [shot("s1", T0, "Eastern"), shot("s2", T0 + 1000, "Eastern"),
         shot("s3", T0 + 2000, "Western"), shot("s4", T0 + 5000, "Eastern")]  # s4: no workflow
CALLS = [call("c1", T0 + 100, "s1"), call("c2", T0 + 50, "s1"), call("c3", T0 + 5300, "s4"),
         call("c4", T0 + 60, None)]
# seconds after shown: s1 ack 50, dispatch 120, on scene 600; s2 ack 30 only; s3 ack 90,
# dispatch 200, on scene 400. Shown after detection: s1 20, s2 40, s3 10.
WORKFLOW = [wf("s1", T0 + 20, T0 + 70, T0 + 140, T0 + 620, "evidence_found"),
            wf("s2", T0 + 1040, T0 + 1070),
            wf("s3", T0 + 2010, T0 + 2100, T0 + 2210, T0 + 2410, "not_gunfire")]


def by_area(timings):
    return {t.area: t for t in timings}


def test_medians_and_p90_per_district_and_city():
    table = response_table(SHOTS, CALLS, WORKFLOW)
    shown = by_area(table[SHOWN])
    # Eastern [20, 40]: median 30, p90 = 20 + 0.9*20 = 38. City [10, 20, 40]: 20, 20+0.8*20 = 36.
    assert (shown["Eastern"].count, shown["Eastern"].median, shown["Eastern"].p90) == (2, 30, 38)
    assert (shown[CITY].median, shown[CITY].p90) == (20, pytest.approx(36))
    ack = by_area(table[ACKNOWLEDGED])
    # Eastern [50, 30]: 40 and 30 + 0.9*20 = 48. City [30, 50, 90]: 50 and 50 + 0.8*40 = 82.
    assert (ack["Eastern"].median, ack["Eastern"].p90) == (40, pytest.approx(48))
    assert (ack[CITY].median, ack[CITY].p90) == (50, pytest.approx(82))
    dispatched = by_area(table[DISPATCHED])
    # s2 was never dispatched: counted apart, not as a long time.
    assert (dispatched["Eastern"].count, dispatched["Eastern"].without_end) == (1, 1)
    assert (dispatched[CITY].median, dispatched[CITY].without_end) == (160, 1)
    assert by_area(table[ON_SCENE])["Western"].median == 400
    first = by_area(table[FIRST_CALL])
    # s1: first of two calls 50 s; s2: none; s4 (no workflow, still a detection) 300 s.
    assert (first["Eastern"].count, first["Eastern"].median, first["Eastern"].without_end) == (2, 175, 1)
    assert first["Western"].without_end == 1 and first["Western"].count == 0


def test_detections_outside_the_workflow_are_left_out_of_workflow_stages():
    pairs = stage_pairs(SHOTS, CALLS, WORKFLOW)
    assert [p for p in pairs[SHOWN] if p[1] == T0 + 5000] == []
    assert len(pairs[FIRST_CALL]) == 4
    seconds = stage_seconds(pairs, "Eastern")
    assert seconds[ON_SCENE] == [600] and sorted(seconds[ACKNOWLEDGED]) == [30, 50]
    assert sorted(stage_seconds(pairs)[ON_SCENE]) == [400, 600]


def test_restrict_and_rows_keep_one_district_and_the_city():
    table = restrict(response_table(SHOTS, CALLS, WORKFLOW), "Western")
    assert {t.area for t in table[ACKNOWLEDGED]} == {"Western", CITY}
    header, rows = table_rows(table)
    assert header[:3] == ["stage", "area", "count"]
    assert [ACKNOWLEDGED, "Western", "1", "90", "90", "0"] in rows


def test_load_workflow_from_the_archive_file_and_outcomes(tmp_path):
    db = tmp_path / "ops.sqlite3"
    assert load_workflow(db) == []                      # no file
    bare = tmp_path / "bare.sqlite3"
    sqlite3.connect(bare).execute("CREATE TABLE other (x)").connection.close()
    assert load_workflow(bare) == []                    # a file without the table
    archive = Archive(db)
    archive.write(SHOTS)
    con = sqlite3.connect(db)
    con.execute(SCHEMA)
    con.executemany(f"INSERT INTO alert_workflow ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                    [tuple(r[c] for c in COLUMNS) for r in WORKFLOW])
    con.commit()
    con.close()
    rows = load_workflow(db)
    assert {r["alert_id"] for r in rows} == {"s1", "s2", "s3"}
    verdicts = dispositions(rows)
    assert verdicts == {"s1": "evidence_found", "s3": "not_gunfire"}
    outcomes = {o.area: o for o in alert_outcomes(SHOTS, verdicts)}
    assert outcomes["Eastern"].counts["evidence_found"] == 1 and outcomes["Eastern"].counts[OPEN] == 2
    assert outcomes[CITY].share("not_gunfire") == 0.25
    figures = figures_from_archive(archive, "24h", T0 + 6000, dispositions=verdicts)
    archive.close()
    city = {o.area: o for o in figures.outcomes}[CITY]
    assert city.counts == {"evidence_found": 1, "no_evidence": 0, "not_gunfire": 1, "unknown": 0, OPEN: 2}


def test_a_disposition_outside_the_list_is_refused():
    verdicts = dispositions([wf("s1", T0, disposition="maybe")])
    with pytest.raises(ValueError):
        alert_outcomes(SHOTS, verdicts)
