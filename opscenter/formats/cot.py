"""Cursor-on-Target (TAK) events: team positions as units, everything else as map advisories.

Accepts one `<event>` document, a document wrapping several, or a stream of events back to
back (one per line, as TAK servers relay them; not one well-formed document). A bad event
gives a ParseError and the others still come.

Mapping decisions:
* The uid identifies the thing; version is the event `time` in milliseconds, so the newest
  report wins whatever order they arrive in.
* A friendly ground track (`a-f-G...`) reporting itself (no `link relation="p-p"` to a
  parent that placed it) is a `Unit`: id the callsign (else uid), status available, heading
  from track/course. A friendly marker someone placed on the map is an advisory, not a patrol.
  A unit without a position fix (TAK devices report about (0, 0)) is a ParseError "no position
  fix": counted, never drawn in the Atlantic.
* Other atoms and map points are `Advisory` (category "cot"): event a readable type name
  ("hostile ground", "unknown air (fixed wing)", "map point"), headline callsign and remarks,
  expires at `stale`; no fix leaves lat/lon empty. Unknown types get event "other".
* GeoChat (`b-t-f`) is an advisory in category "chat" whose headline is "sender: message".
* `t-x-d-d` deletes the uid in its `link` (else its own uid): an advisory Deletion, and a unit
  Deletion when this parser has seen that uid as a unit. An emergency cancel (`b-a-o-can`)
  deletes the emergency it shares its uid with. Pings (`t-x-c-t`) yield nothing.
"""

from __future__ import annotations

import math
import re
from typing import Iterator
from xml.etree.ElementTree import Element

from ..domain import Advisory, Deletion, Kind, Unit, UnitStatus
from ..errors import ParseError
from .base import FormatParser, Parsed, iso_to_epoch, strip_bom
from ..envelope import MAX_ID
from .base import clean_ident as stable_id
from .base import clean_text
from .xml_safety import element_bytes, load_xml, local_name

MAX_EVENT = 1024 * 1024  # one event is a few hundred bytes; a megabyte is not an event
NO_FIX = 0.1  # degrees around (0, 0): where a TAK device without GPS puts itself
MAX_KNOWN_UNITS = 10_000

_EVENT_START = re.compile(rb"<event[\s>/]")
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>")
_LEADING_JUNK = re.compile(rb"^(\s|<\?[^>]*\?>|<!--.*?-->)*$", re.S)

_AFFILIATION = {"f": "friendly", "h": "hostile", "u": "unknown", "n": "neutral",
                "a": "assumed friend", "s": "suspect", "p": "pending", "j": "joker",
                "k": "faker", "o": "none"}
_DIMENSION = {"G": "ground", "A": "air", "S": "sea", "U": "subsurface", "P": "space",
              "F": "special forces", "X": "other"}
_FUNCTION = {"E-V": "vehicle", "U-C": "unit", "M-F": "fixed wing", "M-H": "helicopter",
             "C-F": "civil aircraft", "E-S": "sensor", "I": "installation"}
_BITS = (("b-m-p-w", "waypoint"), ("b-m-p", "map point"), ("b-m-r", "route"),
         ("b-a-o-tbl", "emergency: 911"), ("b-a-o-pan", "emergency: ring the bell"),
         ("b-a-o-opn", "emergency: troops in contact"), ("b-a-o", "emergency"),
         ("b-a-g", "geofence alert"), ("b-r-f-h-c", "casualty"), ("b-d", "detection"),
         ("u-d", "drawing"))


class CotParser(FormatParser):
    name = "cot"
    description = "Cursor-on-Target (TAK) events, one document or one event per line"

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self._unit_ids: dict[str, str] = {}  # uid -> unit id, so a delete by uid finds it

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        head = strip_bom(head)
        first = _EVENT_START.search(head[:8192])
        if first and b"uid=" in head and b"type=" in head and b"<point" in head:
            return 0.95
        if filename.lower().endswith(".cot") and head.lstrip()[:1] == b"<":
            return 0.6
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        data = strip_bom(data)
        for number, event in enumerate(self._events(data), start=1):
            if isinstance(event, ParseError):
                yield event
                continue
            try:
                yield from self._event(event)
            except ParseError as exc:
                exc.reason = f"event {number}: {exc.reason}"
                yield exc

    def _events(self, data: bytes) -> Iterator[Element | ParseError]:
        """The event elements: from one document if it is one, else event by event."""
        starts = [m.start() for m in _EVENT_START.finditer(data)]
        if not starts:
            raise self.fail("no CoT <event> in the data", data[:4096])
        if len(data) <= MAX_EVENT * 4:
            try:
                root = load_xml(data, self.source)
            except ParseError as exc:
                if exc.reason.startswith("XML refused"):
                    raise
            else:
                if local_name(root) == "event":
                    yield root
                else:
                    yield from (e for e in root.iter() if local_name(e) == "event")
                return
        if not _LEADING_JUNK.match(data[: starts[0]]):
            yield self.fail("text before the first <event> is not CoT", data[: starts[0]][:4096])
        for number, (begin, end) in enumerate(zip(starts, [*starts[1:], len(data)]), start=1):
            chunk = _DECLARATION.sub(b"", data[begin:end]).strip()
            try:
                yield load_xml(chunk, self.source, limit=MAX_EVENT)
            except ParseError as exc:
                exc.reason = f"event {number}: {exc.reason}"
                yield exc

    # -- one event ------------------------------------------------------------------------
    def _event(self, event: Element) -> list[Parsed]:
        def bad(reason: str) -> ParseError:
            return self.fail(reason, element_bytes(event))

        uid = clean_text(event.get("uid"), 10_000)
        cot_type = clean_text(event.get("type"), MAX_ID)
        if not uid or not cot_type:
            raise bad("event without uid or type")
        at = _time(event.get("time"))
        if at is None:
            raise bad(f"uid {uid[:40]!r}: time {str(event.get('time'))[:40]!r} is not a UTC date-time")
        version = max(1, int(round(at * 1000)))
        stale = _time(event.get("stale"))
        detail = _child(event, "detail")
        if cot_type == "t-x-d-d":
            link = _child(detail, "link")
            target = clean_text(link.get("uid") if link is not None else None, 10_000) or uid
            return self._deletions(target, version)
        if cot_type == "b-a-o-can":
            return self._deletions(uid, version)
        if cot_type.startswith("t-x-c-t"):
            return []
        position = _position(_child(event, "point"))
        callsign = _callsign(detail)
        if cot_type.startswith("a-f-G") and not _placed(detail):
            if position is None:
                raise bad(f"unit {callsign or uid[:40]!r}: no position fix")
            unit_id = stable_id(callsign or uid)
            self._remember(uid, unit_id)
            return [Unit(id=unit_id, version=version, reported_at=at, status=UnitStatus.AVAILABLE,
                         lat=position[0], lon=position[1], heading=_heading(detail),
                         source=self.source)]
        remarks = _child(detail, "remarks")
        remark = clean_text(remarks.text if remarks is not None else "")
        if cot_type.startswith("b-t-f"):
            chat = _child(detail, "__chat")
            sender = (chat.get("senderCallsign") if chat is not None else "") or callsign
            room = chat.get("chatroom") if chat is not None else ""
            category, event_name = "chat", clean_text(f"chat to {room}" if room else "chat")
            headline = clean_text(f"{sender}: {remark}" if sender else remark)
        else:
            category, event_name = "cot", type_name(cot_type)
            headline = clean_text(" — ".join(p for p in (callsign, remark) if p))
        return [Advisory(
            id=stable_id(uid), version=version, issued_at=at, category=category,
            event=event_name, headline=headline,
            severity="extreme" if cot_type.startswith("b-a-o") else "unknown",
            expires_at=stale if stale is not None and stale >= at else None,
            lat=position[0] if position else None, lon=position[1] if position else None,
            source=self.source,
        )]

    def _deletions(self, uid: str, version: int) -> list[Parsed]:
        out: list[Parsed] = [Deletion(Kind.ADVISORY, stable_id(uid), version)]
        if uid in self._unit_ids:
            out.append(Deletion(Kind.UNIT, self._unit_ids.pop(uid), version))
        return out

    def _remember(self, uid: str, unit_id: str) -> None:
        self._unit_ids.pop(uid, None)
        self._unit_ids[uid] = unit_id
        while len(self._unit_ids) > MAX_KNOWN_UNITS:
            self._unit_ids.pop(next(iter(self._unit_ids)))


def type_name(cot_type: str) -> str:
    """A CoT type as words for the wall: "a-h-G" -> "hostile ground"; unknown -> "other"."""
    parts = cot_type.split("-")
    if parts[0] == "a" and len(parts) >= 3 and parts[1] in _AFFILIATION:
        name = f"{_AFFILIATION[parts[1]]} {_DIMENSION.get(parts[2], 'other')}"
        function = _FUNCTION.get("-".join(parts[3:5])) or _FUNCTION.get("-".join(parts[3:4]))
        return f"{name} ({function})" if function else name
    for prefix, name in _BITS:
        if cot_type == prefix or cot_type.startswith(prefix + "-"):
            return name
    return "other"


def _child(element: Element | None, name: str) -> Element | None:
    return element.find(name) if element is not None else None


def _time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        epoch = iso_to_epoch(value)
    except (ValueError, OverflowError):
        return None
    return epoch if 946684800.0 <= epoch <= 4102444800.0 else None


def _position(point: Element | None) -> tuple[float, float] | None:
    """Valid lat/lon, or None: missing, unreadable, out of range, or the no-fix spot near (0, 0)."""
    if point is None:
        return None
    try:
        lat, lon = float(point.get("lat", "")), float(point.get("lon", ""))
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if abs(lat) < NO_FIX and abs(lon) < NO_FIX:
        return None
    return lat, lon


def _callsign(detail: Element | None) -> str:
    contact = _child(detail, "contact")
    return clean_text(contact.get("callsign") if contact is not None else "", 200)


def _placed(detail: Element | None) -> bool:
    """A marker someone put on the map carries a parent-producer link to who placed it."""
    if detail is None:
        return False
    return any((link.get("relation") or "").startswith("p-p") for link in detail.findall("link"))


def _heading(detail: Element | None) -> float | None:
    track = _child(detail, "track")
    try:
        course = float(track.get("course", "")) if track is not None else math.nan
    except ValueError:
        return None
    return course % 360.0 if math.isfinite(course) and -360 <= course <= 720 else None
