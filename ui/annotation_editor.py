"""The analysts' annotation panel for one target: what is already said about it, and forms to add.

The list is drawn from the shared annotation board and redrawn whenever it changes, so a note
typed on another screen shows here without a refresh, and this panel never shows its own
request as done before the board says so. Edit and delete are offered only to the author (or an
admin); the hub checks again, and any refusal is shown inline in the user's words.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QCompleter, QDialog, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QRadioButton, QScrollArea, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from opscenter.annotations import Annotation
from opscenter.domain import Kind
from opscenter.hub.ops import Operations
from opscenter.workflow import DISPOSITION_LABELS, DISPOSITIONS

from . import theme
from .workflow_actions import once_later, panel_style, run_op

SHAPE_TYPES = ("Polygon", "Circle", "LineString", "Point")
TABS = ("note", "tag", "disposition", "link", "shape")


def _hhmm(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def _plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # what people type is never rendered as rich text
    label.setWordWrap(True)
    return label


def byline(ann: Annotation) -> str:
    """'note · alice · 14:05 · v2 edited 14:07 by bob' — who said it, when, and whether it changed."""
    line = f"{ann.type} · {ann.author} · {_hhmm(ann.created_at)}"
    if ann.version > 1:
        line += f" · v{ann.version} edited {_hhmm(ann.updated_at)}"
        if ann.editor and ann.editor != ann.author:
            line += f" by {ann.editor}"
    return line


class AnnotationRow(QFrame):
    """One annotation: byline, gist, and History / Edit / Delete."""

    def __init__(self, ann: Annotation, may_edit: bool, editor: "AnnotationEditor") -> None:
        super().__init__()
        self.ann = ann
        self.setStyleSheet(f"AnnotationRow {{ background: {theme.PANEL}; border-bottom: 1px solid {theme.GRID}; }}"
                           " AnnotationRow QLabel { background: transparent; }")
        self.byline = _plain(byline(ann))
        self.byline.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.body = _plain(ann.summary())
        self.history_button, self.edit_button, self.delete_button = map(QPushButton, ("History", "Edit", "Delete"))
        self.history_button.clicked.connect(lambda: editor.show_history(ann.id))
        self.edit_button.clicked.connect(lambda: editor.begin_edit(ann.id))
        self.delete_button.clicked.connect(lambda: self._delete_clicked(editor))
        for button in (self.edit_button, self.delete_button):
            button.setEnabled(may_edit)
            button.setToolTip("" if may_edit else f"Only {ann.author} or an admin may change this")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.history_button, self.edit_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        for widget in (self.byline, self.body):
            layout.addWidget(widget)
        layout.addLayout(buttons)

    def _delete_clicked(self, editor: "AnnotationEditor") -> None:
        if self.delete_button.text() == "Delete":
            self.delete_button.setText("Really delete?")  # a second click deletes
            return
        editor.delete(self.ann.id)


class HistoryDialog(QDialog):
    """Every version of one annotation, oldest first."""

    def __init__(self, versions: list[Annotation], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Annotation history")
        self.table = QTableWidget(len(versions), 4)
        self.table.setHorizontalHeaderLabels(["Version", "When", "By", "What"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for row, ann in enumerate(sorted(versions, key=lambda a: a.version)):
            what = "deleted" if ann.deleted else ann.summary()
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ann.updated_at))
            for col, text in enumerate((f"v{ann.version}", when, ann.editor or ann.author, what)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(720, 320)


class AnnotationEditor(QWidget):
    """Annotations of one target, live; `draw_requested(shape_type, target)` asks the map for a shape."""

    draw_requested = Signal(str, str)

    def __init__(self, ops: Operations, parent: QWidget | None = None, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.ops = ops
        self.target = ""
        self.editing: Annotation | None = None
        self.pending_geometry: dict[str, Any] | None = None
        self.draw_target = ""
        self.rows: dict[str, AnnotationRow] = {}
        self.history_dialog: HistoryDialog | None = None
        self.pending: Any = None  # the last request's future, for whoever wants to wait on it
        self.setObjectName("annotationEditor")
        self.setStyleSheet(panel_style("annotationEditor", round(18 * scale), round(32 * scale)))
        self.title = _plain("Annotations")
        self.title.setObjectName("panelTitle")
        self.list_box = QWidget()
        self.list_layout = QVBoxLayout(self.list_box)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(2)
        self.list_layout.addStretch(1)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list_box)
        self.empty = _plain("Nothing noted yet")
        self.empty.setStyleSheet(f"color: {theme.TEXT_FAINT};")
        self.tabs = QTabWidget()
        self.submit_buttons: dict[str, QPushButton] = {}
        for build in (self._note_tab, self._tag_tab, self._disposition_tab, self._link_tab, self._shape_tab):
            build()
        self.cancel_edit_button = QPushButton("Cancel edit")
        self.cancel_edit_button.clicked.connect(self.cancel_edit)
        self.cancel_edit_button.hide()
        self.message = _plain("")
        self.message.setStyleSheet(f"color: {theme.WARN}; font-weight: 600;")
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        for widget in (self.title, self.empty, scroll):
            layout.addWidget(widget, 1 if widget is scroll else 0)
        layout.addWidget(self.cancel_edit_button, 0, Qt.AlignmentFlag.AlignRight)
        # the forms take what they need; the list of what is already noted gets the rest
        self.tabs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout.addWidget(self.tabs)
        layout.addWidget(self.message)
        self._redraw = once_later(self, self.refresh)  # board listeners fire per annotation: redraw once
        unsubscribe = ops.annotations.subscribe(self._on_annotation)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.setEnabled(False)

    # -- forms -------------------------------------------------------------------------
    def _tab(self, name: str, title: str, widgets: list[QWidget], submit_text: str) -> QPushButton:
        page = QWidget()
        layout = QVBoxLayout(page)
        for widget in widgets:
            layout.addWidget(widget)
        button = QPushButton(submit_text)
        button.setProperty("base_text", submit_text)
        button.clicked.connect(lambda: self.submit(name))
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        self.tabs.addTab(page, title)
        self.submit_buttons[name] = button
        return button

    def _field(self, placeholder: str, submits: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        if submits:
            edit.returnPressed.connect(lambda: self.submit(submits))
        return edit

    def _note_tab(self) -> None:
        self.note_edit = self._field("what you know about it", "note")
        self.note_button = self._tab("note", "Note", [self.note_edit], "Add note")

    def _tag_tab(self) -> None:
        self.tags_edit = self._field("tags, comma separated: gang, retaliation", "tag")
        self.tags_button = self._tab("tag", "Tags", [self.tags_edit], "Add tags")

    def _disposition_tab(self) -> None:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.disposition_group = QButtonGroup(self)
        for i, key in enumerate(DISPOSITIONS):
            radio = QRadioButton(DISPOSITION_LABELS[key])
            radio.setProperty("disposition", key)
            self.disposition_group.addButton(radio, i)
            row.addWidget(radio)
        self.disposition_note = self._field("why (optional)")
        self.disposition_button = self._tab("disposition", "Disposition", [box, self.disposition_note],
                                            "Set disposition")

    def _link_tab(self) -> None:
        self.link_edit = self._field("another alert or call: shot:ID or call:ID")
        self.link_model = QStringListModel(self)
        completer = QCompleter(self.link_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.link_edit.setCompleter(completer)
        self.one_incident = QCheckBox("One incident")
        self.link_note = self._field("note (optional)")
        self.link_button = self._tab("link", "Link", [self.link_edit, self.one_incident, self.link_note], "Add link")

    def _shape_tab(self) -> None:
        self.shape_type = QComboBox()
        self.shape_type.addItems(SHAPE_TYPES)
        self.draw_button = QPushButton("Draw on map")
        self.draw_button.clicked.connect(self.request_draw)
        self.shape_status = _plain("Pick a shape, draw it on the map, then name it")
        self.shape_label = self._field("label, e.g. canvass area", "shape")
        self.shape_button = self._tab("shape", "Shape", [self.shape_type, self.draw_button, self.shape_status,
                                                         self.shape_label], "Save shape")

    # -- showing -----------------------------------------------------------------------
    def open_for(self, target: str) -> None:
        """Show `target`'s annotations ("shot:ID", "call:ID", "incident:ID" or "place")."""
        if target != self.target:
            self.pending_geometry, self.draw_target = None, ""  # a drawing belongs to the old target
            self.shape_status.setText("Pick a shape, draw it on the map, then name it")
        self.target = target
        self.cancel_edit()
        self.show_message("")
        self.setEnabled(True)
        self.title.setText(f"Annotations · {target}")
        kinds = ("shape",) if target == "place" else TABS if target.startswith("shot:") else \
            tuple(t for t in TABS if t != "disposition")
        for i, name in enumerate(TABS):
            self.tabs.setTabEnabled(i, name in kinds)
            self.tabs.setTabToolTip(i, "" if name in kinds else
                                    "only for shot alerts" if name == "disposition" else "needs a target")
        if not self.tabs.isTabEnabled(self.tabs.currentIndex()):
            self.tabs.setCurrentIndex(TABS.index(kinds[0]))
        self.link_model.setStringList([f"shot:{s.id}" for s in self.ops.store.shots()]
                                      + [f"call:{c.id}" for c in self.ops.store.calls()])
        self.refresh()

    def _on_annotation(self, ann: Annotation) -> None:
        if self.target and (ann.id in self.rows or ann.target == self.target or self.target in ann.links):
            self._redraw.start()

    def refresh(self) -> None:
        """Redraw the list from the board, oldest first so the newest is at the bottom."""
        for row in self.rows.values():
            self.list_layout.removeWidget(row)
            row.deleteLater()
        self.rows = {}
        annotations = self.ops.annotations.for_target(self.target) if self.target else []
        for ann in annotations:
            row = AnnotationRow(ann, self.ops.user.may_edit(ann.author), self)
            self.list_layout.insertWidget(self.list_layout.count() - 1, row)
            self.rows[ann.id] = row
        self.empty.setVisible(not annotations)
        bar = self.scroll.verticalScrollBar()  # the newest is at the bottom: keep it in sight
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()))
        if self.editing is not None and self.editing.id not in self.rows:
            self.cancel_edit()  # deleted meanwhile, perhaps on another screen

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- adding and editing --------------------------------------------------------------
    def _fields(self, kind: str) -> dict[str, Any] | None:
        """The form's fields for `kind`, or None (with a message) when something is missing."""
        if kind == "note":
            return {"text": self.note_edit.text()}
        if kind == "tag":
            return {"tags": [t.strip() for t in self.tags_edit.text().split(",") if t.strip()]}
        if kind == "disposition":
            checked = self.disposition_group.checkedButton()
            return {"disposition": checked.property("disposition") if checked else None,
                    "text": self.disposition_note.text()}
        if kind == "link":
            return {"links": [self._as_target(t) for t in self.link_edit.text().split(",") if t.strip()],
                    "text": "; ".join(t for t in ("one incident" if self.one_incident.isChecked() else "",
                                                  self.link_note.text().strip()) if t)}
        if self.editing is None and self.pending_geometry is None:
            self.show_message("Draw the shape on the map first")
            return None
        if not self.shape_label.text().strip():
            self.show_message("Give the shape a label")
            return None
        fields: dict[str, Any] = {"label": self.shape_label.text()}
        if self.editing is None:
            fields["geometry"] = self.pending_geometry
        return fields

    def _as_target(self, text: str) -> str:
        """'S-1' → 'shot:S-1' when the store knows it; anything with a colon is taken as typed."""
        text = text.strip()
        if ":" in text:
            return text
        for kind in (Kind.SHOT, Kind.CALL):
            if self.ops.store.get(kind, text) is not None:
                return f"{kind.value}:{text}"
        return text  # the annotation check says what is wrong with it

    def submit(self, kind: str) -> None:
        """Add (or, while editing, save) the form of `kind`; the list updates from the board."""
        if self.editing is not None and kind != self.editing.type:
            self.show_message(f"Editing a {self.editing.type}: save it or cancel the edit first")
            return
        fields = self._fields(kind)
        if fields is None or not self.target:
            return
        self.show_message("")
        if self.editing is not None:
            coro = self.ops.edit_annotation(self.editing.id, fields)
        else:
            target = self.draw_target if kind == "shape" and self.draw_target else self.target
            coro = self.ops.annotate({"type": kind, "target": target, **fields})
        self.pending = run_op(coro, self.show_message, lambda _: self._clear_form(kind))

    def _clear_form(self, kind: str) -> None:
        """Empty the form that was sent; what is half-typed in another tab stays."""
        edits = {"note": (self.note_edit,), "tag": (self.tags_edit,), "disposition": (self.disposition_note,),
                 "link": (self.link_edit, self.link_note), "shape": (self.shape_label,)}[kind]
        for edit in edits:
            edit.clear()
        if kind == "link":
            self.one_incident.setChecked(False)
        elif kind == "shape":
            self.pending_geometry, self.draw_target = None, ""
            self.shape_status.setText("Saved. Draw another, or pick a shape type")
        self.cancel_edit()

    def begin_edit(self, ident: str) -> None:
        """Load an annotation into its form; the form's button then saves a new version."""
        ann = self.ops.annotations.get(ident)
        if ann is None:
            return
        self.editing = ann
        self.tabs.setCurrentIndex(TABS.index(ann.type))
        if ann.type == "note":
            self.note_edit.setText(ann.text)
        elif ann.type == "tag":
            self.tags_edit.setText(", ".join(ann.tags))
        elif ann.type == "disposition":
            for button in self.disposition_group.buttons():
                button.setChecked(button.property("disposition") == ann.disposition)
            self.disposition_note.setText(ann.text)
        elif ann.type == "link":
            self.link_edit.setText(", ".join(ann.links))
            self.link_note.setText(ann.text)
        else:
            self.shape_label.setText(ann.label)
        for button in self.submit_buttons.values():
            button.setText(f"Save as v{ann.version + 1}")
        self.cancel_edit_button.setText(f"Cancel editing {ann.author}'s {ann.type} (v{ann.version})")
        self.cancel_edit_button.show()

    def cancel_edit(self) -> None:
        self.editing = None
        for button in self.submit_buttons.values():
            button.setText(button.property("base_text"))
        self.cancel_edit_button.hide()

    def delete(self, ident: str) -> None:
        self.pending = run_op(self.ops.delete_annotation(ident), self.show_message)

    def show_history(self, ident: str) -> None:
        def shown(versions: list[Annotation]) -> None:
            self.history_dialog = HistoryDialog(versions, self)
            self.history_dialog.show()

        self.pending = run_op(self.ops.history(ident), self.show_message, shown)

    # -- drawing -------------------------------------------------------------------------
    def request_draw(self) -> None:
        """Ask the map to draw; it answers with `shape_drawn(geometry)`."""
        if not self.target:
            return
        shape = self.shape_type.currentText()
        self.draw_target = self.target
        self.pending_geometry = None
        self.shape_status.setText(f"Draw the {shape.lower()} on the map …")
        self.draw_requested.emit(shape, self.target)

    def shape_drawn(self, geometry: dict) -> None:
        """The map's answer: keep the geometry and ask for a label before saving."""
        if not self.draw_target:
            return  # nobody asked (or the panel moved on): nothing to attach it to
        self.pending_geometry = dict(geometry)
        self.tabs.setCurrentIndex(TABS.index("shape"))
        self.shape_status.setText(f"{geometry.get('type', 'Shape')} drawn — name it and press Enter")
        self.shape_label.setFocus()
