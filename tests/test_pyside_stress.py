"""Catches a crashing Python/PySide6 pair (6.12.0 on CPython 3.11 dies with none_dealloc).

The crash is a refcount bug on void calls and signal emits; tens of thousands of them in a
child process bring it out within seconds. A child process, so a crash fails this test instead
of killing the whole run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

STRESS = r"""
import sys, gc
from PySide6.QtCore import QObject, Signal, QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QTableView
from PySide6.QtGui import QStandardItemModel, QStandardItem

class Emitter(QObject):
    void = Signal()
    value = Signal(object)

app = QApplication(sys.argv[:1])
e = Emitter()
seen = [0]
e.void.connect(lambda: None)
e.value.connect(lambda v: seen.__setitem__(0, seen[0] + 1))
label = QLabel()
model = QStandardItemModel(50, 3)
view = QTableView(); view.setModel(model)
for round_ in range(40):
    for i in range(1000):
        e.void.emit()
        e.value.emit(None)
        e.value.emit(True)
        label.setText("x")        # void call
        label.setVisible(False)   # void call with a bool
        model.setItem(i % 50, i % 3, QStandardItem(str(i)))
    app.processEvents()
    gc.collect()
assert seen[0] == 80000, seen[0]
print("survived", sys.version_info[:2], flush=True)
"""


@pytest.mark.slow
def test_signal_and_void_call_storm_does_not_crash() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", STRESS], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert "survived" in out.stdout


def test_installed_pair_is_a_known_safe_one() -> None:
    import PySide6

    version = tuple(int(p) for p in PySide6.__version__.split(".")[:2])
    if sys.version_info[:2] <= (3, 11):
        assert version < (6, 12), f"PySide6 {PySide6.__version__} crashes on Python {sys.version_info[:2]}"
