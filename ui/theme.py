"""Wall palette and type, after ISA-101: calm grey, colour only for what needs attention."""

from __future__ import annotations

from PySide6.QtGui import QColor

BACKGROUND = "#1f2226"
PANEL = "#272b30"
PANEL_ALT = "#2c3036"
GRID = "#3a3f46"
TEXT = "#d6d9dd"
TEXT_DIM = "#8b9199"
TEXT_FAINT = "#60666e"
ALERT = "#e5484d"        # unacknowledged gunfire
ALERT_BG = "#4a2326"
WARN = "#e8a33d"         # stale, degraded, reconnecting
WARN_BG = "#4a3a1f"
OK = "#8fbf8f"           # used sparingly: a healthy feed dot only

STATUS_COLOURS = {
    "available": "#9aa3ad",
    "dispatched": "#c9c9c9",
    "en_route": "#dcdcdc",
    "on_scene": "#f0f0f0",
    "out_of_service": "#5c6168",
}


def qcolor(hex_value: str) -> QColor:
    return QColor(hex_value)


def stylesheet(scale: float = 1.0) -> str:
    """One stylesheet for the whole wall; `scale` follows screen size and viewing distance."""
    base = round(17 * scale)
    big = round(22 * scale)
    huge = round(30 * scale)
    return f"""
    QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: {base}px; }}
    QLabel#title {{ font-size: {big}px; font-weight: 600; color: {TEXT}; letter-spacing: 1px; }}
    QLabel#clock {{ font-size: {huge}px; font-weight: 600; color: {TEXT}; }}
    QLabel#panelTitle {{ font-size: {big}px; font-weight: 600; color: {TEXT_DIM}; padding: 4px 2px; }}
    QLabel#feed {{ font-size: {base}px; color: {TEXT_DIM}; }}
    QLabel#feed[state="bad"] {{ color: {WARN}; font-weight: 600; }}
    QLabel#banner {{ background: {ALERT_BG}; color: {ALERT}; font-size: {big}px; font-weight: 700;
                     padding: 6px 12px; border-radius: 4px; }}
    QTableView {{ background: {PANEL}; alternate-background-color: {PANEL_ALT}; gridline-color: {GRID};
                  border: none; selection-background-color: #3d4450; selection-color: {TEXT}; }}
    QHeaderView::section {{ background: {BACKGROUND}; color: {TEXT_DIM}; border: none;
                            border-bottom: 1px solid {GRID}; padding: 4px 6px; font-size: {base}px; }}
    QPushButton, QToolButton {{ background: {PANEL_ALT}; color: {TEXT}; border: 1px solid {GRID};
                                border-radius: 4px; padding: 6px 14px; }}
    QPushButton:checked, QToolButton:checked {{ background: #3d4450; }}
    QPushButton:hover, QToolButton:hover {{ border-color: {TEXT_DIM}; }}
    QSplitter::handle {{ background: {GRID}; }}
    QStatusBar {{ color: {TEXT_DIM}; font-size: {round(14 * scale)}px; }}
    """
