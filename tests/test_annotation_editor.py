"""The annotation panel: live across screens, edits by the author only, history, map drawing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from opscenter.domain import CallForService, Priority
from tests.test_workflow_ui import FakeHub, FakeOps, T0, shot
from ui.annotation_editor import TABS, AnnotationEditor


def editor_for(qtbot, hub: FakeHub, name: str, role: str, target: str = "shot:S-1") -> AnnotationEditor:
    editor = AnnotationEditor(FakeOps(hub, name, role))
    qtbot.addWidget(editor)
    editor.open_for(target)
    return editor


@pytest.fixture
def hub() -> FakeHub:
    hub = FakeHub()
    for i in range(3):
        hub.store.apply(shot(i))
    hub.store.apply(CallForService(id="C-7", version=1, received_at=T0, priority=Priority.HIGH,
                                   category="DISCHRG FIREARM", description="", lat=39.29, lon=-76.61))
    return hub


def bodies(editor: AnnotationEditor) -> list[str]:
    return [row.body.text() for row in editor.rows.values()]


def test_a_note_added_here_appears_on_the_other_screen(qtbot, run, hub) -> None:
    mine = editor_for(qtbot, hub, "ana", "analyst")
    other_screen = editor_for(qtbot, hub, "olly", "operator")
    elsewhere = editor_for(qtbot, hub, "olly", "operator", target="shot:S-2")
    assert mine.empty.isVisibleTo(mine) and mine.rows == {}
    mine.note_edit.setText("Witness saw a grey sedan")
    qtbot.keyClick(mine.note_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bodies(other_screen) == ["Witness saw a grey sedan"], timeout=2000)
    assert bodies(mine) == ["Witness saw a grey sedan"] and mine.note_edit.text() == ""
    assert elsewhere.rows == {}  # another target's panel is not touched
    row = next(iter(other_screen.rows.values()))
    assert row.byline.text().startswith("note · ana · ")
    hub.now += 60
    run(FakeOps(hub, "ana", "analyst").annotate({"type": "tag", "target": "shot:S-1", "tags": ["Retaliation"]}))
    qtbot.waitUntil(lambda: len(mine.rows) == 2, timeout=2000)
    assert bodies(mine)[-1] == "Tags: retaliation"  # newest last


def test_an_operator_cannot_edit_an_analysts_note(qtbot, run, hub) -> None:
    analyst = editor_for(qtbot, hub, "ana", "analyst")
    operator = editor_for(qtbot, hub, "olly", "operator")
    note = run(analyst.ops.annotate({"type": "note", "target": "shot:S-1", "text": "Known dispute address"}))
    qtbot.waitUntil(lambda: note.id in operator.rows, timeout=2000)
    row = operator.rows[note.id]
    assert not row.edit_button.isEnabled() and not row.delete_button.isEnabled()
    assert row.edit_button.toolTip() == "Only ana or an admin may change this"
    assert row.history_button.isEnabled()
    qtbot.waitUntil(lambda: note.id in analyst.rows, timeout=2000)
    assert analyst.rows[note.id].edit_button.isEnabled()
    operator.begin_edit(note.id)  # forced past the disabled button: the hub refuses, shown inline
    operator.note_edit.setText("rewritten")
    operator.submit("note")
    qtbot.waitUntil(lambda: operator.message.isVisibleTo(operator), timeout=2000)
    assert operator.message.text() == "olly (operator) may not change ana's annotation"
    assert hub.annotations.get(note.id).text == "Known dispute address"
    admin = editor_for(qtbot, hub, "root", "admin")
    assert admin.rows[note.id].edit_button.isEnabled()


def test_edit_makes_a_version_and_history_lists_them(qtbot, run, hub) -> None:
    editor = editor_for(qtbot, hub, "ana", "analyst")
    editor.note_edit.setText("Two shooters")
    editor.submit("note")
    qtbot.waitUntil(lambda: len(editor.rows) == 1, timeout=2000)
    ident = next(iter(editor.rows))
    hub.now += 120
    editor.rows[ident].edit_button.click()
    assert editor.note_edit.text() == "Two shooters" and editor.note_button.text() == "Save as v2"
    editor.note_edit.setText("Two shooters, one on foot")
    editor.submit("note")
    qtbot.waitUntil(lambda: "v2 edited" in editor.rows[ident].byline.text(), timeout=2000)
    assert editor.rows[ident].body.text() == "Two shooters, one on foot" and editor.editing is None
    editor.rows[ident].history_button.click()
    qtbot.waitUntil(lambda: editor.history_dialog is not None and editor.history_dialog.isVisible(), timeout=2000)
    table = editor.history_dialog.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["v1", "v2"]
    assert [table.item(r, 3).text() for r in range(table.rowCount())] == ["Two shooters", "Two shooters, one on foot"]
    editor.history_dialog.close()


def test_delete_takes_two_clicks_and_leaves_every_screen(qtbot, run, hub) -> None:
    editor = editor_for(qtbot, hub, "ana", "analyst")
    other = editor_for(qtbot, hub, "bea", "analyst")
    note = run(editor.ops.annotate({"type": "note", "target": "shot:S-1", "text": "dup of S-0"}))
    qtbot.waitUntil(lambda: note.id in editor.rows and note.id in other.rows, timeout=2000)
    editor.rows[note.id].delete_button.click()
    assert hub.annotations.get(note.id).deleted is False
    editor.rows[note.id].delete_button.click()
    qtbot.waitUntil(lambda: other.rows == {} and editor.rows == {}, timeout=2000)
    assert hub.annotations.get(note.id).deleted


def test_validation_errors_show_inline(qtbot, run, hub) -> None:
    editor = editor_for(qtbot, hub, "ana", "analyst")
    editor.submit("note")
    qtbot.waitUntil(lambda: editor.message.text() == "a note needs text", timeout=2000)
    editor.tags_edit.setText("ok, <script>")
    editor.submit("tag")
    qtbot.waitUntil(lambda: editor.message.text().startswith("a tag is letters"), timeout=2000)
    assert editor.rows == {}


def test_disposition_is_for_shots_and_links_complete_from_the_store(qtbot, run, hub) -> None:
    call_panel = editor_for(qtbot, hub, "ana", "analyst", target="call:C-7")
    assert not call_panel.tabs.isTabEnabled(TABS.index("disposition"))
    editor = editor_for(qtbot, hub, "ana", "analyst")
    assert editor.tabs.isTabEnabled(TABS.index("disposition"))
    assert {"shot:S-2", "call:C-7"} <= set(editor.link_model.stringList())
    editor.disposition_group.buttons()[0].setChecked(True)
    editor.submit("disposition")
    editor.link_edit.setText("S-2, C-7")
    editor.one_incident.setChecked(True)
    editor.submit("link")
    qtbot.waitUntil(lambda: len(editor.rows) == 2, timeout=2000)
    assert sorted(bodies(editor)) == ["Disposition: evidence_found", "Linked to shot:S-2, call:C-7 — one incident"]
    linked = editor_for(qtbot, hub, "olly", "operator", target="shot:S-2")  # a link shows on both ends
    assert bodies(linked) == ["Linked to shot:S-2, call:C-7 — one incident"]


def test_draw_on_map_round_trip(qtbot, run, hub) -> None:
    editor = editor_for(qtbot, hub, "ana", "analyst")
    editor.shape_type.setCurrentText("Circle")
    with qtbot.waitSignal(editor.draw_requested, timeout=1000) as drawn:
        editor.draw_button.click()
    assert drawn.args == ["Circle", "shot:S-1"]
    geometry = {"type": "Circle", "coordinates": [-76.61, 39.29], "radius_m": 250}
    editor.shape_drawn(geometry)  # what the map calls back
    assert editor.tabs.currentIndex() == TABS.index("shape")
    editor.submit("shape")
    assert editor.message.text() == "Give the shape a label"
    editor.shape_label.setText("Canvass area")
    qtbot.keyClick(editor.shape_label, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(editor.rows) == 1, timeout=2000)
    sent = [data for what, data in hub.requests if what == "annotate"]
    assert sent == [{"type": "shape", "target": "shot:S-1", "geometry": geometry, "label": "Canvass area"}]
    assert bodies(editor) == ["Circle: Canvass area"]
    assert editor.pending_geometry is None
    editor.shape_drawn(geometry)  # an answer nobody asked for is not saved anywhere
    assert editor.pending_geometry is None


def test_a_place_takes_only_shapes(qtbot, run, hub) -> None:
    editor = editor_for(qtbot, hub, "ana", "analyst", target="place")
    assert [editor.tabs.isTabEnabled(i) for i in range(len(TABS))] == [False, False, False, False, True]
    assert editor.tabs.currentIndex() == TABS.index("shape")
