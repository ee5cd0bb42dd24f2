"""The PDF briefing on imported real DC detections, made offscreen: page count, and the
tables' values read back out of the PDF text."""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opscenter.briefing_text import main_brief
from opscenter.domain import AlertType, Kind, ShotAlert
from opscenter.importer import import_file
from opscenter.persistence import Archive
from tests.conftest import SHARED_DATA

DC = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"
NY = ZoneInfo("America/New_York")
COLUMNS = ("alert_id", "state", "shown_at", "acknowledged_at", "dispatched_at", "on_scene_at",
           "disposition", "updated_at")
SCHEMA = ("CREATE TABLE IF NOT EXISTS alert_workflow (alert_id TEXT PRIMARY KEY, state TEXT, "
          "shown_at REAL, acknowledged_at REAL, acknowledged_by TEXT, dispatched_at REAL, "
          "dispatched_by TEXT, on_scene_at REAL, closed_at REAL, closed_by TEXT, disposition TEXT, "
          "shelved_until REAL, shelve_reason TEXT, updated_at REAL)")


def local(*parts: int) -> float:
    return datetime(*parts, tzinfo=NY).timestamp()


def pdf_text(path) -> tuple[int, str]:
    from PySide6.QtPdf import QPdfDocument

    doc = QPdfDocument()
    doc.load(str(path))
    pages = doc.pageCount()
    text = "\n".join(doc.getAllText(p).text() for p in range(pages))
    doc.close()
    return pages, text


def add_workflow(db, rows: list[tuple]) -> None:
    con = sqlite3.connect(db)
    con.execute(SCHEMA)
    con.executemany(f"INSERT INTO alert_workflow ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})", rows)
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def dc_archive(tmp_path_factory):
    """Detections of May 2011 to June 2012 (a slice of the DC release) in a fresh archive, and
    three June 2012 alerts with a workflow record."""
    if not DC.exists():
        pytest.skip("shared data not present")
    folder = tmp_path_factory.mktemp("brief")
    piece = folder / "dc_slice.csv"
    with DC.open(newline="") as src, piece.open("w", newline="") as out:
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        writer.writerows(r for r in reader if "2011-05-01" <= r[2][:10] <= "2012-06-30")
    db = folder / "ops.sqlite3"
    archive = Archive(db)
    import_file(piece, archive)
    june = archive.records(Kind.SHOT, since=local(2012, 6, 1), until=local(2012, 6, 30, 23, 59, 59))
    last_year = archive.records(Kind.SHOT, since=local(2011, 6, 1), until=local(2011, 6, 30, 23, 59, 59))
    archive.close()
    a, b, c = june[:3]
    # shown 10 s after detection; acknowledged 60 s and 120 s after shown (median 90 s = 1.5 min,
    # p90 60 + 0.9 * 60 = 114 s); c shown but never acknowledged (open).
    add_workflow(db, [
        (a.id, "closed", a.detected_at + 10, a.detected_at + 70, a.detected_at + 130, a.detected_at + 610, "evidence_found", a.detected_at + 900),
        (b.id, "closed", b.detected_at + 10, b.detected_at + 130, None, None, "no_evidence", b.detected_at + 900),
        (c.id, "shown", c.detected_at + 10, None, None, None, None, c.detected_at + 10),
    ])
    return db, june, last_year


def test_pdf_briefing_on_real_detections(dc_archive, tmp_path, qapp, capsys):
    db, june, last_year = dc_archive
    out = tmp_path / "brief.pdf"
    table = tmp_path / "brief.csv"
    assert main_brief(["--db", str(db), "--period", "monthly", "--at", "2012-06-30",
                       "--out", str(out), "--csv", str(table)]) == 0
    assert "briefing written to" in capsys.readouterr().out
    pages, text = pdf_text(out)
    # title + YoY table, hourly + weekly, YoY bars, the workflow charts, response and
    # outcome tables, risk and fairness
    assert pages == 6
    rows = {r["area"]: r for r in csv.DictReader(table.open())}
    city = rows["City total"]
    assert int(city["detections now"]) == len(june) > 100
    assert int(city["detections a year earlier"]) == len(last_year) > 100
    assert f"Gunfire detections: {len(june):,} this period against {len(last_year):,} a year earlier" in " ".join(text.split())
    for area, row in rows.items():
        assert area in text and row["detections change"] in text
    response = {(r["stage"], r["area"]): r for r in csv.DictReader((tmp_path / "brief-response.csv").open())}
    ack = response[("alert → acknowledged", "City total")]
    assert (ack["count"], ack["median seconds"], ack["p90 seconds"], ack["without end"]) == ("2", "90", "114", "1")
    assert "alert → acknowledged" in text and "1.5" in text and "1.9" in text
    outcomes = {r["area"]: r for r in csv.DictReader((tmp_path / "brief-outcomes.csv").open())}
    assert outcomes["City total"]["evidence_found"] == "1"
    assert outcomes["City total"]["open"] == str(len(june) - 2)
    assert "Risk forecast and fairness" in text and "Fairness readout" in text
    assert "Too little history" not in text
    assert (tmp_path / "brief-fairness.csv").exists() and (tmp_path / "brief-weekly.csv").exists()


def test_one_district_keeps_the_city_total(dc_archive, tmp_path, qapp):
    db, june, _ = dc_archive
    table = tmp_path / "d.csv"
    assert main_brief(["--db", str(db), "--period", "weekly", "--at", "2012-06-30",
                       "--district", "WashingtonDC7D", "--csv", str(table)]) == 0
    rows = list(csv.DictReader(table.open()))
    assert [r["area"] for r in rows] == ["WashingtonDC7D", "City total"]


def test_short_history_is_said_on_the_page_and_names_are_escaped(tmp_path, qapp):
    db = tmp_path / "tiny.sqlite3"
    archive = Archive(db)
    when = local(2024, 5, 20, 22)
    archive.write([ShotAlert(f"s{k}", 1, when + 60 * k, 39.29 + k / 1000, -76.61, AlertType.SINGLE, 1,
                             district="<b>East</b> & West") for k in range(5)])
    archive.close()
    out = tmp_path / "tiny.pdf"
    assert main_brief(["--db", str(db), "--period", "daily", "--at", "2024-05-20", "--out", str(out)]) == 0
    _, text = pdf_text(out)
    assert "Too little history for a forecast" in text
    assert "<b>East</b> & West" in text  # shown as written, not read as markup


def test_the_periods_patrol_missions_are_in_the_briefing(tmp_path, qapp):
    from opscenter.missions import MissionBook

    db = tmp_path / "missions.sqlite3"
    archive = Archive(db)
    when = local(2024, 5, 20, 22)
    archive.write([ShotAlert(f"s{k}", 1, when + 60 * k, 39.29, -76.61, AlertType.SINGLE, 1, district="Eastern")
                   for k in range(3)])
    archive.close()
    book = MissionBook(db)
    box = [(39.29, -76.612), (39.292, -76.612), (39.292, -76.608), (39.29, -76.608)]
    mission = book.add_manual(local(2024, 5, 20, 16), local(2024, 5, 21, 0), actor="ana",
                              reason="retaliation feared", polygon=box, label="Box <1> & Monument",
                              district="Eastern")
    book.assign(mission.id, ["3C21"], actor="ana")
    book.set_dosage(mission.id, 42.0)
    later = book.add_manual(local(2024, 6, 20, 16), local(2024, 6, 21, 0), actor="ana",
                            reason="another month", polygon=box, label="Next month's box")
    book.close()
    out = tmp_path / "m.pdf"
    assert main_brief(["--db", str(db), "--period", "daily", "--at", "2024-05-20", "--out", str(out)]) == 0
    _, text = pdf_text(out)
    assert "Patrol missions" in text and "Box <1> & Monument" in text
    assert "3C21" in text and "42" in text
    assert later.label not in text  # outside the period
