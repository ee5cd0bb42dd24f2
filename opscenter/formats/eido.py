"""NENA-STA-021 Emergency Incident Data Object (EIDO, JSON) to Incident and CallForService.

A document is one EIDO object or a JSON array of them (an STA-024 notification carries a list).

Mapping, per EIDO:
* **Incident** — id: `incidentTrackingIdentifier` (top level or in `incidentComponent`), else the
  incident component's `$id`, else the EIDO's `$id`. version: `lastUpdateTimeStamp` as whole
  epoch *seconds*: the envelope caps incident and call versions at 2**31, which epoch
  milliseconds overflow, so two updates within the same second count as one. opened_at: the
  earliest call start or component time. status: closed when an incident status says closed,
  cleared, cancelled, completed or resolved, else open. summary: the incident type.
* **CallForService** — one per `callComponent` (id: `callIdentifier` or `$id`; received_at:
  `callStartTimestamp`); an EIDO without calls but with an incident component (the 2020 draft)
  gives one call from that component. priority: `incidentCommonPriorityNumber` (0..10, 10 the
  highest: 9-10 emergency, 7-8 high, 4-6 medium, 2-3 low, 0-1 non-emergency), else words in
  `incidentPriorityInternalText`, else other. category: the incident type code. Position: the
  first PIDF-LO *by value* among the call's location references with a geodetic shape
  (gml:Point pos, the centre of a circle or ellipse, the vertex mean of a polygon). Locations by
  reference cannot be fetched here and are skipped; a call without a position yields a ParseError
  "no usable location" while its incident still goes through.

Privacy: only whitelisted fields are read. Person, callback, agent and additional-data components
(names, phone numbers, dates of birth, vCards) are never looked at, nor is a civic address's
occupant name (NAM).

Field names are matched without regard to case: the 2020 draft writes `LastUpdateTimeStamp`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from ..domain import CallForService, CallStatus, Incident, IncidentStatus, Priority, Record
from ..envelope import MAX_ID, record_from_dict, record_to_dict
from ..errors import ParseError
from .base import FormatParser, clean_ident, clean_text, Parsed, coordinate, iso_to_epoch, strip_bom

MAX_EIDOS = 1000  # EIDOs in one document
MAX_PIDF = 64 * 1024  # characters of one PIDF-LO; a location is never bigger

_CLOSED_WORDS = ("closed", "cleared", "cancel", "complete", "resolved", "disposed")
_DISPATCHED_WORDS = ("dispatch", "enroute", "en route", "onscene", "on scene", "assigned",
                     "responding")
_PRIORITY_WORDS = (  # first match wins, so "non-emergency" is tested before "emergency"
    (("non-emergency", "non emergency", "nonemergency"), Priority.NON_EMERGENCY),
    (("emergency", "very high", "critical", "immediate"), Priority.EMERGENCY),
    (("high", "urgent"), Priority.HIGH),
    (("medium", "moderate", "normal"), Priority.MEDIUM),
    (("low", "routine"), Priority.LOW),
)
_POINT_SHAPES = {"Point", "Circle", "Ellipse", "ArcBand", "Sphere", "Ellipsoid"}
_AREA_SHAPES = {"Polygon", "Prism"}
_CIVIC_PARTS = ("HNO", "HNS", "PRD", "RD", "STS", "POD")  # NAM (occupant name) is left out
# Last resort for a PIDF-LO that is not well-formed XML (the 2020 draft sample): its gml:pos only.
_POS_PATTERN = re.compile(
    r"<(?:[A-Za-z_][\w.-]*:)?pos(?:\s[^<>]*)?>\s*([-+]?\d{1,3}(?:\.\d+)?)\s+([-+]?\d{1,3}(?:\.\d+)?)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")


class _Obj:
    """A JSON object read with case-insensitive keys and forgiving types."""

    def __init__(self, data: dict) -> None:
        self._data = {k.lower(): v for k, v in data.items() if isinstance(k, str)}

    def get(self, *names: str) -> Any:
        for name in names:
            value = self._data.get(name.lower())
            if value is not None:
                return value
        return None

    def text(self, *names: str) -> str:
        texts = self.texts(*names)
        return texts[0] if texts else ""

    def texts(self, *names: str) -> list[str]:
        value = self.get(*names)
        items = value if isinstance(value, list) else [value]
        return [t for t in (clean_text(v) for v in items[:50]) if t]

    def objs(self, *names: str) -> list[_Obj]:
        value = self.get(*names)
        items = value if isinstance(value, list) else [value]
        return [_Obj(v) for v in items[:MAX_EIDOS] if isinstance(v, dict)]

    def refs(self, name: str) -> list[str]:
        """Ids a `...Reference` field points at ({"$ref": id} objects or bare strings)."""
        value = self.get(name)
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items[:100]:
            ref = _Obj(item).get("$ref") if isinstance(item, dict) else item
            if isinstance(ref, str) and clean_text(ref):
                out.append(clean_text(ref))
        return out

    def time(self, *names: str) -> float | None:
        for text in self.texts(*names):
            try:
                value = iso_to_epoch(text)
            except (ValueError, OverflowError):
                continue
            if math.isfinite(value):
                return value
        return None


class EidoParser(FormatParser):
    name = "eido"
    description = "NENA-STA-021 Emergency Incident Data Object (JSON): one EIDO or an array"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        text = strip_bom(head).lstrip().lower()
        if not text.startswith((b"{", b"[")):
            return 0.0
        if any(key in text for key in (b'"incidenttrackingidentifier"', b'"eidomessageidentifier"',
                                        b'"eidoversion"')):
            return 0.9
        if b'"$schema"' in text and b"eido" in text:
            return 0.9
        if b'"lastupdatetimestamp"' in text and (b'"callcomponent"' in text
                                                 or b'"incidentcomponent"' in text):
            return 0.8
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        doc = self.load_json(data)
        if isinstance(doc, list):
            if len(doc) > MAX_EIDOS:
                raise self.fail(f"more than {MAX_EIDOS} EIDOs in one document")
            for number, item in enumerate(doc, start=1):
                yield from self.parse_object(item, where=f"EIDO {number}")
        else:
            yield from self.parse_object(doc)

    def parse_object(self, eido: Any, where: str = "EIDO") -> Iterator[Parsed]:
        """One decoded EIDO, as an STA-024 notification carries it: its incident, then its calls."""
        if not isinstance(eido, dict):
            yield self.fail(f"{where}: not a JSON object")
            return
        doc = _Obj(eido)
        incidents = doc.objs("incidentComponent")
        inc = incidents[0] if incidents else None
        incident_id = clean_ident(doc.text("incidentTrackingIdentifier")
                                  or (inc.text("incidentTrackingIdentifier", "$id") if inc else "")
                                  or doc.text("$id"))
        if not incident_id:
            yield self.fail(f"{where}: no incident identifier")
            return
        where = f"{where} {incident_id}"
        updated = doc.time("lastUpdateTimeStamp") or (inc.time("lastUpdateTimeStamp") if inc else None)
        if updated is None:
            yield self.fail(f"{where}: no usable lastUpdateTimeStamp")
            return
        locations = {c.text("$id"): c for c in doc.objs("locationComponent",
                                                          "locationInformationComponent")}
        calls, errors, starts = [], [], []
        components = doc.objs("callComponent") or ([inc] if inc is not None else [])
        for number, comp in enumerate(components, start=1):
            start = comp.time("callStartTimestamp") or _range_start(comp)
            if start is not None:
                starts.append(start)
            try:
                calls.append(self._checked(self._call(comp, doc, inc, locations, updated, start,
                                                      incident_id, number)))
            except ParseError as exc:
                errors.append(self.fail(f"{where}: {exc.reason}"))
        times = starts + [t for t in (updated, inc.time("lastUpdateTimeStamp") if inc else None)
                          if t is not None]
        incident = Incident(
            id=incident_id, version=_version(updated), opened_at=min(times),
            status=IncidentStatus.CLOSED if _closed(inc) else IncidentStatus.OPEN,
            district=clean_text(inc.text("beatOrDispatchGroupText"), MAX_ID) if inc else "",
            call_ids=tuple(c.id for c in calls),
            summary=_incident_type(inc, long=True) or _call_type(components[0] if components else None),
            source=self.source,
        )
        try:
            yield self._checked(incident)
        except ParseError as exc:
            yield self.fail(f"{where}: {exc.reason}")
        yield from calls
        yield from errors

    def _call(self, comp: _Obj, doc: _Obj, inc: _Obj | None, locations: dict[str, _Obj],
              updated: float, start: float | None, incident_id: str, number: int) -> CallForService:
        call_id = clean_ident(comp.text("callIdentifier", "$id"))
        if not call_id or call_id == incident_id:
            call_id = clean_ident(f"{incident_id}:call:{number}")
        refs = comp.refs("locationReference") or (inc.refs("locationReference") if inc else [])
        chosen = [locations[r] for r in refs if r in locations] if refs else list(locations.values())
        point, address, skipped = None, "", []
        for loc in chosen:
            found, civic = _location(loc)
            address = address or civic
            if found is not None and point is None:
                point = found
            elif found is None:
                skipped.append("by reference, not fetched" if loc.text("locationByReferenceUrl")
                               and not loc.text("locationByValue") else "no geodetic shape")
        if point is None:
            detail = "; ".join(sorted(set(skipped))) or "no location component"
            raise ParseError(self.source, f"call {call_id}: no usable location ({detail})")
        status = _call_status(inc, doc)
        return CallForService(
            id=call_id, version=_version(comp.time("lastUpdateTimeStamp") or updated),
            received_at=start if start is not None else updated,
            priority=_priority(inc), category=clean_text(_incident_type(inc), MAX_ID),
            description=clean_text(" ".join(p for p in (_call_type(comp), _incident_type(inc, long=True))
                                            if p)),
            lat=point[0], lon=point[1], address=address,
            district=clean_text(inc.text("beatOrDispatchGroupText"), MAX_ID) if inc else "",
            status=status, source=self.source,
        )

    def _checked(self, record: Record) -> Record:
        """The record as the envelope would accept it; ParseError names the refused field."""
        return record_from_dict(record.kind, record_to_dict(record), self.source)


def _version(epoch: float) -> int:
    return max(1, int(epoch))


def _range_start(comp: _Obj) -> float | None:
    ranges = comp.objs("activityDateRange")
    return ranges[0].time("startDate", "startDateTime") if ranges else comp.time("answerDate")


def _incident_type(inc: _Obj | None, long: bool = False) -> str:
    if inc is None:
        return ""
    if long:
        return inc.text("incidentTypeInternalText", "incidentTypeCommonRegistryText")
    return inc.text("incidentTypeCommonRegistryText", "incidentTypeInternalCode",
                    "incidentTypeInternalText")


def _call_type(comp: _Obj | None) -> str:
    if comp is None:
        return ""
    kind = comp.text("standardPrimaryCallType", "callTypeDescriptionRegistryText")
    return f"{kind} call" if kind else ""


def _status_texts(inc: _Obj | None) -> list[str]:
    if inc is None:
        return []
    return [t.lower() for t in inc.texts("incidentStatusCommonRegistryText")
            + inc.texts("incidentStatusInternalText")]


def _closed(inc: _Obj | None) -> bool:
    return any(word in text for text in _status_texts(inc) for word in _CLOSED_WORDS)


def _call_status(inc: _Obj | None, doc: _Obj) -> CallStatus:
    if _closed(inc):
        return CallStatus.CLOSED
    texts = _status_texts(inc)
    if doc.objs("dispatchComponent") or any(w in t for t in texts for w in _DISPATCHED_WORDS):
        return CallStatus.DISPATCHED
    return CallStatus.PENDING


def _priority(inc: _Obj | None) -> Priority:
    """EIDO priority to the CAD words; unknown stays explicit as OTHER."""
    if inc is None:
        return Priority.OTHER
    number = inc.get("incidentCommonPriorityNumber")
    if isinstance(number, (int, float)) and not isinstance(number, bool) and 0 <= number <= 10:
        for floor, priority in ((9, Priority.EMERGENCY), (7, Priority.HIGH), (4, Priority.MEDIUM),
                                (2, Priority.LOW), (0, Priority.NON_EMERGENCY)):
            if number >= floor:
                return priority
    text = inc.text("incidentPriorityInternalText").lower()
    for words, priority in _PRIORITY_WORDS:
        if any(word in text for word in words):
            return priority
    return Priority.OTHER


def _location(loc: _Obj) -> tuple[tuple[float, float] | None, str]:
    """(lat, lon) and a civic address from a PIDF-LO by value; by-reference gives nothing."""
    value = loc.get("locationByValue")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PIDF:
        return None, ""
    text = value.strip()
    try:
        root = safe_xml.fromstring(text.encode("utf-8"), forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except DefusedXmlException:
        return None, ""  # a DTD or entity in a location is hostile, not merely broken
    except (XmlParseError, ValueError):
        match = _POS_PATTERN.search(text)
        return (coordinate(match.group(1), match.group(2)) if match else None), ""
    return _shape_position(root), _civic_address(root)


def _local(element: Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _shape_position(root: Element) -> tuple[float, float] | None:
    for element in root.iter():
        shape = _local(element)
        if shape not in _POINT_SHAPES and shape not in _AREA_SHAPES:
            continue
        srs = element.get("srsName", "")
        if srs and "4326" not in srs and "4979" not in srs:
            continue  # another coordinate system: not lat/lon degrees
        if shape in _POINT_SHAPES:
            for child in element.iter():
                if _local(child) == "pos" and child.text:
                    point = _pair(child.text.split())
                    if point is not None:
                        return point
        else:
            points = _ring(element, 3 if "4979" in srs else 2)
            if points:
                lat = sum(p[0] for p in points) / len(points)
                lon = sum(p[1] for p in points) / len(points)
                return coordinate(lat, lon)
    return None


def _pair(parts: list[str]) -> tuple[float, float] | None:
    return coordinate(parts[0], parts[1]) if len(parts) >= 2 else None


def _ring(shape: Element, dimension: int) -> list[tuple[float, float]]:
    """Vertices of a polygon's exterior (gml:pos elements or a gml:posList), closing point once."""
    points: list[tuple[float, float]] = []
    for child in shape.iter():
        name = _local(child)
        if name == "pos" and child.text:
            point = _pair(child.text.split())
            if point is not None:
                points.append(point)
        elif name == "posList" and child.text:
            declared = child.get("srsDimension", "")
            step = int(declared) if declared in ("2", "3") else dimension
            values = child.text.split()[:20_000]
            for i in range(0, len(values) - 1, step):
                point = _pair(values[i:i + 2])
                if point is not None:
                    points.append(point)
        if len(points) >= 5000:
            break
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return points


def _civic_address(root: Element) -> str:
    for element in root.iter():
        if _local(element) == "civicAddress":
            parts = {_local(c): (c.text or "").strip() for c in element}
            street = " ".join(parts[p] for p in _CIVIC_PARTS if parts.get(p))
            town = " ".join(parts[p] for p in ("A3", "A1") if parts.get(p))
            return clean_text(", ".join(p for p in (street, town) if p))
    return ""
