"""The wall's status-bar dialogs and the details panel's notes button: retention (read by all,
changed by an admin only), the PDF briefing made from the app, and notes on the picked incident."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from opscenter.audit import AuditLog
from opscenter.domain import Kind
from opscenter.hub.client import HubClient
from opscenter.hub.service import HubConfig
from opscenter.importer import import_file
from opscenter.persistence import Archive
from opscenter.runtime import RuntimeConfig
from opscenter.users import Forbidden, User
from tests.conftest import SHARED_DATA, wait_until
from tests.test_ui_live import running_wall
from tests.test_workflow_ui import FakeHub, FakeOps, shot
from ui.app import WallOptions
from ui.details import DetailsPanel
from ui.report_dialog import REMOTE_NOTE, ReportDialog
from ui.retention_view import READ_ONLY_NOTE, RetentionDialog, retention_adapters, until_text

DC = SHARED_DATA / "gunshot" / "dc_shotspotter_2006-2013_foia.csv"
NOW = 1_780_000_000.0


def described(unit_days: float | None = 30.0, unit_due: int = 1234) -> dict:
    return {"next_run": NOW + 3 * 3600 + 20 * 60, "interval_s": 21600.0, "kinds": [
        {"kind": "events", "days": 30.0, "what": "raw feed events in the hub's log", "due": 17, "cutoff": 1.0},
        {"kind": "archive.shot", "days": None, "what": "archived gunfire detections", "due": 0, "cutoff": None},
        {"kind": "archive.unit", "days": unit_days, "what": "archived unit positions", "due": unit_due,
         "cutoff": 2.0}]}


def cells(dialog: RetentionDialog) -> list[list[str]]:
    table = dialog.table
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def retention_dialog(qtbot, save=None, data=None) -> tuple[RetentionDialog, list]:
    reads: list[float] = []

    async def describe() -> dict:
        reads.append(time.monotonic())
        return data or described()

    dialog = RetentionDialog(describe, save, clock=lambda: NOW)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 3, timeout=3000)
    return dialog, reads


def test_retention_lists_each_kind_its_period_and_the_next_purge(qtbot, run) -> None:
    dialog, _ = retention_dialog(qtbot)
    assert cells(dialog) == [
        ["events", "30 days", "raw feed events in the hub's log", "17 records"],
        ["archive.shot", "kept", "archived gunfire detections", "—"],
        ["archive.unit", "30 days", "archived unit positions", "1,234 records"]]
    local = time.strftime("%H:%M", time.localtime(NOW + 3 * 3600 + 20 * 60))
    assert local in dialog.next_label.text() and "(in 3 h 20 min)" in dialog.next_label.text()
    assert until_text(30) == "due now" and until_text(4 * 60 + 5) == "in 4 min"


def test_an_admin_saves_a_new_period_through_the_adapter(qtbot, run) -> None:
    saved: list[tuple[str, float]] = []

    async def save(kind: str, days: float) -> dict:
        saved.append((kind, days))
        return described(unit_days=days, unit_due=99)

    dialog, _ = retention_dialog(qtbot, save)
    assert not dialog.read_only and dialog.save_button.isVisibleTo(dialog)
    dialog.table.setCurrentCell(2, 0)  # picking a row picks the kind to change
    assert dialog.kind_box.currentText() == "archive.unit" and dialog.days_box.value() == 30
    dialog.days_box.setValue(14)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: saved == [("archive.unit", 14.0)], timeout=3000)
    qtbot.waitUntil(lambda: cells(dialog)[2][1:4:2] == ["14 days", "99 records"], timeout=3000)
    assert "archive.unit now 14 days" in dialog.message.text()


def test_a_refused_save_is_said_in_the_dialog(qtbot, run) -> None:
    async def save(kind: str, days: float) -> dict:
        raise Forbidden("olga (operator) may not change retention")

    dialog, _ = retention_dialog(qtbot, save)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Not saved" in dialog.message.text(), timeout=3000)
    assert "may not change retention" in dialog.message.text() and dialog.save_button.isEnabled()


def test_an_operator_sees_retention_read_only(qtbot, run) -> None:
    dialog, reads = retention_dialog(qtbot, save=None)
    assert dialog.read_only and not dialog.save_button.isVisibleTo(dialog)
    assert dialog.message.text() == READ_ONLY_NOTE and "only an admin changes retention" in READ_ONLY_NOTE
    dialog.timer.setInterval(50)  # the 30 s refresh, sped up
    qtbot.waitUntil(lambda: len(reads) >= 3, timeout=3000)


def test_adapters_follow_the_users_role() -> None:
    keeper = SimpleNamespace(calls=[], describe=lambda: {"kinds": []})
    keeper.set = lambda kind, days, actor: keeper.calls.append((kind, days, actor))
    embedded = SimpleNamespace(hub=SimpleNamespace(retention=keeper))
    describe, save = retention_adapters(embedded, SimpleNamespace(user=User("ada", "admin")))
    asyncio.run(save("events", 7.0))
    assert keeper.calls == [("events", 7.0, "ada")]
    assert retention_adapters(embedded, SimpleNamespace(user=User("olga", "operator")))[1] is None
    client = SimpleNamespace(retention=object(), set_retention=object())
    remote = SimpleNamespace(hub=None, client=client)
    assert retention_adapters(remote, SimpleNamespace(user=User("ada", "admin"))) == (client.retention,
                                                                                      client.set_retention)
    assert retention_adapters(SimpleNamespace(hub=None), None) == (None, None)


# -- the briefing report -----------------------------------------------------------------

@pytest.fixture
def small_archive(tmp_path):
    """A few hundred real DC detections, imported into a temp archive (the data file stays put)."""
    if not DC.exists():
        pytest.skip("shared data not present")
    sample = tmp_path / "dc_shotspotter_sample.csv"
    with DC.open(encoding="utf-8") as source:
        sample.write_text("".join(itertools.islice(source, 400)), encoding="utf-8")
    db = tmp_path / "ops.sqlite3"
    archive = Archive(db)
    summary = import_file(sample, archive)
    archive.close()
    assert summary.imported > 300
    return db


def test_report_dialog_writes_the_pdf_and_audits_the_export(qtbot, run, small_archive, tmp_path) -> None:
    audit = AuditLog(small_archive)
    at = datetime(2006, 4, 20, 23, 59, tzinfo=ZoneInfo("America/New_York")).timestamp()
    dialog = ReportDialog(small_archive, ["WashingtonDC7D", "WashingtonDC5D"], "cmdr-kim", audit,
                          clock=lambda: at, folder=tmp_path / "briefings")
    qtbot.addWidget(dialog)
    default = time.strftime("brief-%Y%m%d-%H%M.pdf", time.localtime(at))  # the machine's local time
    assert dialog.path_edit.text() == str(tmp_path / "briefings" / default)
    dialog.district_box.setCurrentText("WashingtonDC7D")
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: dialog.result_path is not None or "not made" in dialog.status.text(), timeout=120_000)
    assert dialog.result_path is not None, dialog.status.text()
    out = dialog.result_path
    assert out.parent == (tmp_path / "briefings").resolve() and out.read_bytes()[:5] == b"%PDF-"
    assert str(out) in dialog.status.text() and dialog.open_button.isVisibleTo(dialog)
    entries = [e for e in audit.entries() if e.action == "brief.export"]
    assert [(e.actor, e.target, e.details["period"], e.details["district"]) for e in entries] == [
        ("cmdr-kim", str(out), "28d", "WashingtonDC7D")]
    from tests.test_report_pdf import pdf_text

    pages, text = pdf_text(out)
    assert pages >= 3 and "WashingtonDC7D" in text
    audit.close()


def test_report_errors_stay_in_the_dialog(qtbot, run, tmp_path) -> None:
    dialog = ReportDialog(tmp_path / "missing.sqlite3", [], "kim", clock=lambda: NOW, folder=tmp_path)
    qtbot.addWidget(dialog)
    assert run(dialog.generate()) is None and "No database at" in dialog.status.text()
    dialog.path_edit.setText(str(tmp_path / "brief.txt"))
    assert run(dialog.generate()) is None and "must end in .pdf" in dialog.status.text()
    assert not dialog.open_button.isVisibleTo(dialog) and dialog.generate_button.isEnabled()


def test_a_remote_window_cannot_make_a_briefing(qtbot) -> None:
    dialog = ReportDialog(None, ["Eastern"], "kim")
    qtbot.addWidget(dialog)
    assert not dialog.generate_button.isEnabled() and dialog.status.text() == REMOTE_NOTE


# -- notes from the details panel ----------------------------------------------------------

def test_the_details_notes_button_asks_for_the_incidents_notes(qtbot, run) -> None:
    hub = FakeHub()
    hub.store.apply(shot(1))
    panel = DetailsPanel(hub.store, hub.annotations)
    qtbot.addWidget(panel)
    assert panel.show_record(Kind.SHOT, "S-1")
    assert panel.notes_button.isVisibleTo(panel) and panel.notes_button.text() == "Notes (0)"
    run(FakeOps(hub, "ana", "analyst").annotate({"type": "note", "target": "shot:S-1", "text": "casings"}))
    assert panel.notes_button.text() == "Notes (1)"
    with qtbot.waitSignal(panel.notes_requested, timeout=1000) as signal:
        panel.notes_button.click()
    assert signal.args == ["shot:S-1"]
    bare = DetailsPanel(hub.store)  # a wall without annotations has no notes to open
    qtbot.addWidget(bare)
    bare.show_record(Kind.SHOT, "S-1")
    assert not bare.notes_button.isVisibleTo(bare)


# -- wired into the wall -----------------------------------------------------------------

@pytest.fixture
def admin_wall(run, tmp_path):
    config = RuntimeConfig(db_path=tmp_path / "ops.sqlite3", scenario="normal", seed=5,
                           hub=HubConfig(port=0, commit_s=0.02))
    yield from running_wall(run, config, WallOptions(size=(1600, 900), operator="ada", role="admin"))


def test_the_wall_opens_retention_reports_and_notes(admin_wall, run, qtbot) -> None:
    window, runtime = admin_wall.window, admin_wall.runtime
    window.retention_button.click()
    dialog = window.retention_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 7, timeout=5000)
    assert not dialog.read_only
    dialog.kind_box.setCurrentText("archive.unit")
    dialog.days_box.setValue(12)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: runtime.hub.retention.periods()["archive.unit"] == 12.0, timeout=5000)
    assert [e.actor for e in runtime.audit.entries() if e.action == "retention.change"] == ["ada"]
    dialog.close()

    window.report_button.click()
    assert window.report_dialog.generate_button.isEnabled()
    assert window.report_dialog.district_box.count() == len(runtime.districts.names) + 1
    report = window.report_dialog
    report.close()
    window.report_button.click()  # the same dialog again: a briefing being made survives a close
    assert window.report_dialog is report and report.isVisible()
    report.close()

    run(wait_until(lambda: runtime.store.size(Kind.SHOT) > 0, timeout=30))
    alert = runtime.store.shots()[0]
    assert window.show_details(Kind.SHOT, alert.id) is None and window.details.notes_button.isVisibleTo(window)
    window.details.notes_button.click()
    assert window.annotation_editor.target == f"shot:{alert.id}"
    assert window.side.currentWidget() is window.annotation_editor


def test_set_retention_over_rest_is_for_admins_only(run, tmp_path) -> None:
    from opscenter.runtime import Runtime

    runtime = Runtime(RuntimeConfig(db_path=tmp_path / "hub.sqlite3", hub=HubConfig(port=0, commit_s=0.02)))

    async def scenario() -> None:
        await runtime.start()
        try:
            tokens = {n: runtime.hub.users.add(n, r) for n, r in (("ada", "admin"), ("olga", "operator"))}
            async with aiohttp.ClientSession() as session:
                ada, olga = (HubClient(runtime.hub.url, tokens[n], session) for n in ("ada", "olga"))
                answer = await ada.set_retention("archive.advisory", 45)
                assert {k["kind"]: k["days"] for k in answer["kinds"]}["archive.advisory"] == 45.0
                with pytest.raises(Forbidden):
                    await olga.set_retention("archive.advisory", 1)
                assert runtime.hub.retention.periods()["archive.advisory"] == 45.0
        finally:
            await runtime.stop()

    run(scenario())
