"""Shapes the map draws from Python data: checked before they reach the page.

Risk cells, mission boxes and annotations come from other screens, files and the page itself
(a finished drawing arrives as a console line a hostile string could imitate), so every
position, number and string is checked and bounded here, where it can be tested without Qt.
Geometry is GeoJSON-like, lon/lat order; risk cells and mission boxes are [[lat, lon], ...]
outlines as Leaflet draws them.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any, Callable

log = logging.getLogger(__name__)
SHAPE_TYPES = ("Point", "LineString", "Polygon", "Circle")
MAX_VERTICES = 500
MAX_RADIUS_M = 50_000.0
MAX_TEXT = 200
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _number(value: Any) -> float:  # bool is an int to Python, not a number to a map
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def _lonlat(pair: Any) -> list[float]:
    """One GeoJSON position [lon, lat] (a third value, height, is dropped)."""
    if not isinstance(pair, (list, tuple)) or len(pair) not in (2, 3):
        raise ValueError(f"not a [lon, lat] position: {pair!r}"[:120])
    lon, lat = _number(pair[0]), _number(pair[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"position out of range: lon {lon}, lat {lat}")
    return [lon, lat]


def _positions(items: Any, least: int) -> list[list[float]]:
    if isinstance(items, (list, tuple)) and least <= len(items) <= MAX_VERTICES + 1:
        return [_lonlat(p) for p in items]
    raise ValueError(f"needs {least} to {MAX_VERTICES} positions")


def clean_geometry(raw: Any) -> dict[str, Any]:
    """A drawn or received geometry, checked and normalised; ValueError says what is wrong.

    The page is not trusted: a message claiming to be a drawn shape is data from a browser
    that shows feed text, so it is checked like any feed record before anything stores it.
    """
    if not isinstance(raw, dict) or raw.get("type") not in SHAPE_TYPES:
        raise ValueError(f"not a geometry of type {', '.join(SHAPE_TYPES)}")
    kind, coords = raw["type"], raw.get("coordinates")
    if kind == "Point":
        return {"type": kind, "coordinates": _lonlat(coords)}
    if kind == "LineString":
        return {"type": kind, "coordinates": _positions(coords, 2)}
    if kind == "Circle":
        radius = _number(raw.get("radius_m"))
        if not 0 < radius <= MAX_RADIUS_M:
            raise ValueError(f"circle radius {radius} m outside (0, {MAX_RADIUS_M:.0f}]")
        return {"type": kind, "coordinates": _lonlat(coords), "radius_m": radius}
    if not isinstance(coords, (list, tuple)) or len(coords) != 1:
        raise ValueError("a polygon needs exactly one ring")
    ring = _positions(coords[0], 3)
    if ring[0] != ring[-1]:
        ring.append(list(ring[0]))  # GeoJSON rings are closed
    if len({tuple(p) for p in ring}) < 3 or len(ring) > MAX_VERTICES + 1:
        raise ValueError("a polygon needs 3 to 500 distinct corners")
    return {"type": kind, "coordinates": [ring]}


def _text(value: Any) -> str:
    return ("" if value is None else str(value))[:MAX_TEXT]


def _need_id(item: Any) -> None:
    if not isinstance(item, dict) or not _text(item.get("id")):
        raise ValueError("an item without an id")


def _latlon_ring(polygon: Any) -> list[list[float]]:
    """A [[lat, lon], ...] outline (risk cells, mission boxes) checked like a GeoJSON ring."""
    ring = _positions([p[::-1] if isinstance(p, (list, tuple)) else p for p in polygon or ()], 3)
    return [[lat, lon] for lon, lat in ring]


def clean_annotation(item: Any) -> dict[str, Any]:
    """An annotation as the page draws it: id, label, author, geometry, optional #rrggbb colour."""
    _need_id(item)
    out = {"id": _text(item["id"]), "label": _text(item.get("label")), "author": _text(item.get("author")),
           "geometry": clean_geometry(item.get("geometry"))}
    if isinstance(item.get("colour"), str) and _COLOUR.match(item["colour"]):
        out["colour"] = item["colour"]
    return out


def clean_mission(item: Any) -> dict[str, Any]:
    _need_id(item)
    units = item.get("units") or []
    return {"id": _text(item["id"]), "label": _text(item.get("label")), "state": _text(item.get("state")),
            "polygon": _latlon_ring(item.get("polygon")),
            "dosage_min": max(0.0, _number(item.get("dosage_min", 0.0))),
            "target_min": max(0.0, _number(item.get("target_min", 0.0))),
            "units": [_text(u) for u in units][:50] if isinstance(units, (list, tuple)) else []}


def clean_risk_cell(item: Any) -> dict[str, Any]:
    _need_id(item)
    return {"id": _text(item["id"]), "polygon": _latlon_ring(item.get("polygon")),
            "score": _number(item.get("score", 0.0)), "rank": int(_number(item.get("rank", 0))),
            "share_background": _number(item.get("share_background", 0.0)),
            "share_trigger": _number(item.get("share_trigger", 0.0))}


def clean_all(items: Any, clean: Callable[[Any], dict[str, Any]], what: str) -> list[dict[str, Any]]:
    out = []
    for item in items or ():
        try:
            out.append(clean(item))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("map: %s left out: %s", what, exc)
    return out
