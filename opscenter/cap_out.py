"""Outbound OASIS CAP 1.2: shot alerts and patrol missions for systems that speak CAP.

Built with xml.etree so every text is escaped; control characters are removed first because
XML 1.0 cannot carry them at all. Identifier and sender must not hold spaces, commas, '<' or
'&' (CAP 1.2 section 3.2.1). Times are whole seconds with a numeric offset ("+00:00"), as CAP
requires ("Z" is not allowed). Scope is Restricted: these messages are for police units, not
the public. Polygons are "lat,lon" pairs, closed; circles are "lat,lon radius_km".
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Sequence

from .domain import AlertType, ShotAlert

CAP_12 = "urn:oasis:names:tc:emergency:cap:1.2"
CONTENT_TYPE = "application/cap+xml"
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
_BAD_ID = re.compile(r"[\s,<&]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 2000


class CapBuildError(ValueError):
    """A CAP message that would not be valid (bad id, code value, area or time)."""


def cap_time(epoch: float) -> str:
    """CAP date-time: whole seconds, "+00:00" offset."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not 946684800 <= epoch <= 4102444800:
        raise CapBuildError("time must be epoch seconds within 2000..2100")
    return datetime.fromtimestamp(int(epoch), timezone.utc).isoformat(timespec="seconds")


def _clean(value: str, limit: int = MAX_TEXT) -> str:
    text = _CONTROL.sub(" ", str(value)).strip()
    return text[:limit]


def _ident(name: str, value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or _BAD_ID.search(value) or _CONTROL.search(value):
        raise CapBuildError(f"{name} must be 1..200 characters without spaces, commas, '<' or '&'")
    return value


def _code(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CapBuildError(f"{name} {value[:30]!r} is not one of {', '.join(allowed)}")
    return value


def _coord(lat: float, lon: float) -> str:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapBuildError(f"point {lat}, {lon} is outside the globe")
    return f"{lat:.6f},{lon:.6f}"


def _ring(points: Sequence[Sequence[float]]) -> str:
    pts = [(float(p[0]), float(p[1])) for p in points]
    if len(set(pts)) < 3:
        raise CapBuildError("a polygon needs 3 distinct points")
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    return " ".join(_coord(*p) for p in pts)


def build_alert(*, identifier: str, sender: str, sent: float, event: str, urgency: str, severity: str,
                certainty: str, area_desc: str, headline: str = "", description: str = "",
                instruction: str = "", expires: float | None = None, msg_type: str = "Alert",
                polygons: Sequence[Sequence[Sequence[float]]] = (),
                circles: Sequence[tuple[float, float, float]] = (), web: str = "") -> bytes:
    """One CAP 1.2 alert (UTF-8 bytes with an XML declaration). Raises CapBuildError."""
    if not polygons and not circles:
        raise CapBuildError("an alert for units needs an area (polygon or circle)")
    if not _clean(event):
        raise CapBuildError("event is required")
    ET.register_namespace("", CAP_12)

    def sub(parent: ET.Element, name: str, text: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{CAP_12}}}{name}")
        el.text = text
        return el

    alert = ET.Element(f"{{{CAP_12}}}alert")
    sub(alert, "identifier", _ident("identifier", identifier))
    sub(alert, "sender", _ident("sender", sender))
    sub(alert, "sent", cap_time(sent))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", _code("msgType", msg_type, ("Alert", "Update")))
    sub(alert, "scope", "Restricted")
    sub(alert, "restriction", "Law enforcement units only")
    info = ET.SubElement(alert, f"{{{CAP_12}}}info")
    sub(info, "language", "en-US")
    sub(info, "category", "Security")
    sub(info, "event", _clean(event, 200))
    sub(info, "urgency", _code("urgency", urgency, URGENCY))
    sub(info, "severity", _code("severity", severity, SEVERITY))
    sub(info, "certainty", _code("certainty", certainty, CERTAINTY))
    if expires is not None:
        sub(info, "expires", cap_time(expires))
    sub(info, "senderName", "OpsCenter")
    for name, text in (("headline", headline), ("description", description), ("instruction", instruction),
                       ("web", web)):
        if _clean(text):
            sub(info, name, _clean(text))
    area = ET.SubElement(info, f"{{{CAP_12}}}area")
    sub(area, "areaDesc", _clean(area_desc, 400) or _clean(event, 200))
    for ring in polygons:
        sub(area, "polygon", _ring(ring))
    for lat, lon, radius_m in circles:
        if not (math.isfinite(radius_m) and 0 <= radius_m <= 5e6):
            raise CapBuildError("circle radius must be 0..5,000 km")
        sub(area, "circle", f"{_coord(lat, lon)} {radius_m / 1000.0:.3f}")
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)


def shot_alert_cap(shot: ShotAlert, *, sender: str, sent: float, radius_m: float = 150.0,
                   identifier: str | None = None) -> bytes:
    """A gunshot detection for units: immediate, a circle around the located position."""
    certain = "Likely" if shot.alert_type == AlertType.POSSIBLE_FIRECRACKER else "Observed"
    place = shot.address or f"{shot.lat:.5f}, {shot.lon:.5f}"
    rounds = f"{shot.rounds} rounds" if shot.rounds else "rounds unknown"
    return build_alert(
        identifier=identifier or _safe_id(f"shot-{shot.id}-v{shot.version}"), sender=sender, sent=sent,
        event=shot.alert_type.label, urgency="Immediate", severity="Severe", certainty=certain,
        headline=f"{shot.alert_type.label} — {place}", area_desc=place,
        description=f"{rounds}; detected {cap_time(shot.detected_at)}; district {shot.district or '?'}",
        circles=[(shot.lat, shot.lon, radius_m)])


def mission_cap(mission: dict, *, sender: str, sent: float) -> bytes:
    """A patrol mission (`Mission.to_dict()`) for units: expected, the box as a polygon."""
    why = "; ".join(f"{w.get('event_id')} ({w.get('age_days')} d ago)" for w in mission.get("why", [])[:3])
    return build_alert(
        identifier=_safe_id(f"mission-{mission['id']}"), sender=sender, sent=sent,
        event="Directed patrol", urgency="Expected", severity="Minor", certainty="Likely",
        headline=f"Directed patrol: {mission.get('label', '')}",
        description=(f"Target {mission.get('target_min', 0):.0f} min in the box this shift. "
                     f"Units: {', '.join(mission.get('units', [])) or 'none'}."
                     + (f" Recent events: {why}." if why else "")),
        area_desc=str(mission.get("label") or mission["id"]),
        expires=mission.get("shift_end"), polygons=[mission["polygon"]])


def _safe_id(text: str) -> str:
    return re.sub(r"[\s,<&]", "_", _CONTROL.sub("_", text))[:200]
