"""`opscenter brief` on imported real detections: the table's counts match a direct count."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opscenter.domain import Kind
from opscenter.importer import import_file
from opscenter.persistence import Archive
from tests.conftest import SHARED_DATA

DC = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"


@pytest.mark.skipif(not DC.exists(), reason="shared data not present")
def test_brief_counts_detections_this_year_and_last(tmp_path) -> None:
    db = tmp_path / "ops.sqlite3"
    archive = Archive(db)
    import_file(DC, archive)
    zone = ZoneInfo("America/New_York")
    def local(y, m, d, h=0, mi=0, s=0):
        return datetime(y, m, d, h, mi, s, tzinfo=zone).timestamp()
    # year to date as of 2012-06-30 23:59:59, against the same days of 2011
    now_count = len(archive.records(Kind.SHOT, since=local(2012, 1, 1), until=local(2012, 6, 30, 23, 59, 59)))
    then_count = len(archive.records(Kind.SHOT, since=local(2011, 1, 1), until=local(2011, 6, 30, 23, 59, 59)))
    archive.close()
    out_csv = tmp_path / "brief.csv"
    result = subprocess.run([sys.executable, "-m", "opscenter.cli", "brief", "--db", str(db), "--period", "ytd",
                             "--at", "2012-06-30", "--csv", str(out_csv)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {r["area"]: r for r in csv.DictReader(out_csv.open())}
    city = rows["City total"]
    assert int(city["detections now"]) == now_count > 0
    assert int(city["detections a year earlier"]) == then_count > 0
    assert sum(int(r["detections now"]) for a, r in rows.items() if a != "City total") == now_count
    assert "ytd: 2012-01-01 00:00 to 2012-06-30 23:59" in result.stdout


def test_brief_without_history_says_so(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "opscenter.cli", "brief", "--db", str(tmp_path / "none.sqlite3")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "import history first" in result.stderr
