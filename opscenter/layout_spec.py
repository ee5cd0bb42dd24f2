"""Wall layouts as data: which panels sit in which window on which screen, and how big the type is.

A layout is kept as JSON (`var/layouts/NAME.json`) so the operators' arrangement survives a
restart and can be copied between consoles. It is pure data: the Qt side (`ui/layouts.py`) opens
windows from it and captures it back, including each window's `QMainWindow.saveState()` as
base64, which this module stores but never interprets.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import OpsCenterError

MAP = "map"
QUEUE = "queue"
DEPLOYMENT = "deployment"
DETAILS = "details"
CHARTS = "charts"
BRIEFING = "briefing"
PANELS = (MAP, QUEUE, DEPLOYMENT, DETAILS, CHARTS, BRIEFING)
"""Every panel a wall window can hold (the header is on every window and is not a panel)."""

DEFAULT_DIR = Path("var/layouts")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_SCALE, MAX_SCALE = 0.8, 3.0


class LayoutError(OpsCenterError, ValueError):
    """A layout file that cannot be used; the message names the file and what is wrong."""


@dataclass(slots=True)
class WindowSpec:
    """One top-level window: its screen, its panels, and how it was last placed."""

    screen: int
    panels: list[str]
    fullscreen: bool = False
    geometry: tuple[int, int, int, int] | None = None
    """x, y, width, height of the normal (not full-screen) window, in virtual-desktop pixels."""
    dock_state: str | None = None
    """base64 of QMainWindow.saveState(): docking, tabs, splitter sizes, floating panels."""


@dataclass(slots=True)
class Layout:
    """A named arrangement of windows; `font_scale` multiplies the type scale of each screen."""

    name: str
    windows: list[WindowSpec] = field(default_factory=list)
    font_scale: float = 1.0
    distance_m: float | None = None
    """How far the farthest seat is from the wall; with the screen's size it sets the type."""

    def panel_window(self, panel: str) -> int | None:
        """Index of the window holding `panel`, None when the layout leaves it out."""
        for index, window in enumerate(self.windows):
            if panel in window.panels:
                return index
        return None

    def scale_for(self, screen_height_px: int, screen_height_mm: float | None) -> float:
        """The stylesheet scale for a window on a screen of this size."""
        base = font_scale_for(screen_height_px, screen_height_mm, self.distance_m)
        return _clamp(base * self.font_scale)


# --- type size ---------------------------------------------------------------------------

BASE_FONT_PX = 17
"""The wall's body type at scale 1 (ui/theme.py)."""
CAP_HEIGHT_EM = 0.7
"""Capital letters are about 0.7 em high in the sans-serif faces the wall uses."""
DESIGN_HEIGHT_PX = 1080
"""The wall is designed on a 1080-line screen; the fallback keeps type at its share of the screen."""


def _clamp(value: float) -> float:
    return round(min(MAX_SCALE, max(MIN_SCALE, value)), 3)


def font_scale_for(screen_height_px: int, screen_height_mm: float | None,
                   distance_m: float | None) -> float:
    """The type scale that keeps the wall legible from the farthest seat.

    Rule: the cap height of body text must be at least 1/200 of the viewing distance (5 mm per
    metre; signage guides ask for 1/200 as the minimum for short reading at a glance). At scale 1
    body text is 17 px with a cap height of about 0.7 em = 11.9 px, so the scale is
    (distance_mm / 200) / (11.9 px × mm per pixel). A 55-inch 1080p panel (685 mm high) read from
    3 m needs 15 mm capitals: scale 2.0.

    When the physical height or the distance is unknown, or the screen reports an implausible
    size (TVs often report 16 × 9 mm, i.e. only the aspect ratio: anything outside 0.1–2 mm per
    pixel is ignored), the type keeps the share of the screen it has on a 1080-line screen:
    scale = height_px / 1080. The result is clamped to 0.8–3.0.
    """
    if screen_height_px <= 0:
        return 1.0
    mm_per_px = (screen_height_mm / screen_height_px) if screen_height_mm else 0.0
    if distance_m is None or distance_m <= 0 or not 0.1 <= mm_per_px <= 2.0:
        return _clamp(screen_height_px / DESIGN_HEIGHT_PX)
    needed_cap_mm = distance_m * 1000.0 / 200.0
    cap_mm_at_1 = BASE_FONT_PX * CAP_HEIGHT_EM * mm_per_px
    return _clamp(needed_cap_mm / cap_mm_at_1)


# --- built-in layouts --------------------------------------------------------------------

def builtin_layouts() -> dict[str, Layout]:
    """The layouts that exist without a file: "wall" (everything on one screen) and
    "two-screen" (the map alone on screen 0, queue, deployment and details on screen 1)."""
    return {
        "wall": Layout("wall", [WindowSpec(0, list(PANELS))]),
        "two-screen": Layout("two-screen", [WindowSpec(0, [MAP]),
                                            WindowSpec(1, [QUEUE, DEPLOYMENT, DETAILS])]),
    }


# --- validation and JSON -----------------------------------------------------------------

def check_name(name: str) -> str:
    """A layout name is a file name: letters, digits, "_" and "-" only (no paths)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise LayoutError(f"layout name {name!r}: use 1-64 letters, digits, '_' or '-'")
    return name


def validate(layout: Layout, source: str = "<layout>") -> Layout:
    """Refuse what would open a broken wall; `source` (usually the file) starts every message."""
    try:
        check_name(layout.name)
    except LayoutError as exc:
        raise LayoutError(f"{source}: {exc}") from None
    if not layout.windows:
        raise LayoutError(f"{source}: layout {layout.name!r} has no windows")
    seen: dict[str, int] = {}
    for number, window in enumerate(layout.windows, start=1):
        where = f"{source}: window {number}"
        if isinstance(window.screen, bool) or not isinstance(window.screen, int) or window.screen < 0:
            raise LayoutError(f"{where}: screen must be a whole number ≥ 0, not {window.screen!r}")
        if not window.panels:
            raise LayoutError(f"{where}: no panels")
        for panel in window.panels:
            if panel not in PANELS:
                raise LayoutError(f"{where}: unknown panel {panel!r}; known panels: {', '.join(PANELS)}")
            if panel in seen:
                raise LayoutError(f"{where}: panel {panel!r} is already in window {seen[panel]}; "
                                  "a panel can be in only one window")
            seen[panel] = number
        if window.geometry is not None:
            geometry = window.geometry
            if len(geometry) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in geometry):
                raise LayoutError(f"{where}: geometry must be four whole numbers [x, y, width, height]")
            if geometry[2] <= 0 or geometry[3] <= 0:
                raise LayoutError(f"{where}: geometry width and height must be positive")
        if window.dock_state is not None:
            try:
                base64.b64decode(window.dock_state, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise LayoutError(f"{where}: dock_state is not base64") from None
    if not (isinstance(layout.font_scale, (int, float)) and math.isfinite(layout.font_scale)
            and MIN_SCALE <= layout.font_scale <= MAX_SCALE):
        raise LayoutError(f"{source}: font_scale must be between {MIN_SCALE} and {MAX_SCALE}")
    if layout.distance_m is not None and not (isinstance(layout.distance_m, (int, float))
                                              and 0 < layout.distance_m <= 100):
        raise LayoutError(f"{source}: distance_m must be a positive number of metres (or null)")
    return layout


def to_dict(layout: Layout) -> dict[str, Any]:
    """The JSON form (plain lists and numbers)."""
    return {
        "name": layout.name,
        "font_scale": layout.font_scale,
        "distance_m": layout.distance_m,
        "windows": [{"screen": w.screen, "panels": list(w.panels), "fullscreen": w.fullscreen,
                     "geometry": list(w.geometry) if w.geometry is not None else None,
                     "dock_state": w.dock_state} for w in layout.windows],
    }


def from_dict(data: Mapping[str, Any], source: str = "<layout>") -> Layout:
    """Parse and validate the JSON form; every refusal names `source`."""
    if not isinstance(data, Mapping):
        raise LayoutError(f"{source}: a layout must be a JSON object")
    windows_raw = data.get("windows")
    if not isinstance(windows_raw, list):
        raise LayoutError(f"{source}: 'windows' must be a list")
    windows = []
    for number, raw in enumerate(windows_raw, start=1):
        if not isinstance(raw, Mapping):
            raise LayoutError(f"{source}: window {number} must be an object")
        panels = raw.get("panels", [])
        if not isinstance(panels, list) or not all(isinstance(p, str) for p in panels):
            raise LayoutError(f"{source}: window {number}: 'panels' must be a list of names")
        geometry = raw.get("geometry")
        if geometry is not None:
            if not isinstance(geometry, list):
                raise LayoutError(f"{source}: window {number}: geometry must be a list")
            geometry = tuple(geometry)
        windows.append(WindowSpec(screen=raw.get("screen", 0), panels=list(panels),
                                  fullscreen=bool(raw.get("fullscreen", False)),
                                  geometry=geometry, dock_state=raw.get("dock_state")))
    layout = Layout(name=data.get("name", ""), windows=windows,
                    font_scale=data.get("font_scale", 1.0), distance_m=data.get("distance_m"))
    return validate(layout, source)


def layout_path(name: str, directory: Path = DEFAULT_DIR) -> Path:
    return Path(directory) / f"{check_name(name)}.json"


def save_layout(layout: Layout, directory: Path = DEFAULT_DIR) -> Path:
    """Write NAME.json atomically (a crash mid-write leaves the previous file)."""
    path = layout_path(layout.name, directory)
    validate(layout, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_dict(layout), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_layout(name: str, directory: Path = DEFAULT_DIR) -> Layout:
    """The saved layout NAME, else the built-in one of that name; LayoutError otherwise."""
    path = layout_path(name, directory)
    if not path.exists():
        builtin = builtin_layouts().get(name)
        if builtin is None:
            known = sorted(set(builtin_layouts()) | set(saved_layouts(directory)))
            raise LayoutError(f"{path}: no such layout; known: {', '.join(known)}")
        return builtin
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayoutError(f"{path}: cannot read: {exc}") from None
    layout = from_dict(data, str(path))
    if layout.name != name:
        raise LayoutError(f"{path}: holds layout {layout.name!r}, not {name!r}")
    return layout


def saved_layouts(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of the layout files in `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if NAME_PATTERN.match(p.stem))
