"""OASIS Common Alerting Protocol (CAP 1.2 and 1.1) as advisories on the wall.

Accepted documents: one `<alert>`; any wrapper holding several (an EDXL-DE distribution, SMHI's
`<alerts>` list), one record per alert, a bad alert giving a ParseError while the others still
come; and Atom index feeds, one advisory per entry from what the entry itself holds.

Mapping decisions:
* id is `sender/identifier` (CAP identifiers are unique per sender only), via `stable_id` so
  a long one is clipped with a digest and references to it compute the same id; version 1,
  because CAP never re-issues an identifier: a change is a new message referencing the old.
* Update: the new advisory, plus a Deletion of every referenced alert (superseded). Cancel:
  only the Deletions, nothing on the wall for the cancel itself. Deletions carry the highest
  version, because a superseded or cancelled message never comes back. Ack and Error messages
  are traffic between systems and yield nothing.
* Text comes from the first `<info>` (the first language); areas from every `<info>`, without
  duplicates. Polygons are "lat,lon lat,lon ..." (latitude first); a bad polygon or circle is
  left out but the alert kept. lat/lon is the centroid of the largest polygon, else the first
  circle's centre.
* Required elements and code values are checked as the standard states them, so a malformed
  alert is refused with the reason rather than shown half-read.
* Atom entries: category "index"; status and msgType from cap: extension elements or Atom
  categories written "key=value" (Pelmorex), else "actual"/"alert"; version follows `updated`.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Iterator, TypeVar
from xml.etree.ElementTree import Element

from ..domain import Advisory, Deletion, Kind
from ..errors import ParseError
from .base import FormatParser, Parsed, iso_to_epoch, strip_bom
from ..envelope import MAX_ID
from .base import clean_ident as stable_id
from .base import clean_text
from .xml_safety import child_text, children, descendants, element_bytes, load_xml, namespace_of, split_tag

CAP_12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_11 = "urn:oasis:names:tc:emergency:cap:1.1"
CAP_NAMESPACES = (CAP_12, CAP_11)
EDXL_DE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"
FINAL_VERSION = 2**62  # deletions for superseded/cancelled alerts: nothing can outrank them
MAX_RINGS = 50
MAX_POINTS = 5000

_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope")
_STATUS = ("Actual", "Exercise", "System", "Test", "Draft")
_MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
_SCOPES = ("Public", "Restricted", "Private")
_CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
               "Transport", "Infra", "CBRNE", "Other")
_URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
_SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
_CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely")
_BAD_ID = re.compile(r"[\s,<&]")

Ring = tuple[tuple[float, float], ...]
Circle = tuple[float, float, float]
Fail = Callable[[str], ParseError]
T = TypeVar("T")


class CapParser(FormatParser):
    name = "cap"
    description = "OASIS CAP 1.2/1.1 alerts, EDXL-DE distributions and Atom/CAP index feeds"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        head = strip_bom(head)
        xmlish = head.lstrip()[:1].startswith(b"<")
        cap = b"urn:oasis:names:tc:emergency:cap:1." in head
        if xmlish and cap and (b"alert" in head or b"<feed" in head):
            return 0.95
        if xmlish and b"urn:oasis:names:tc:emergency:EDXL:DE" in head:
            return 0.9
        if xmlish and b"http://www.w3.org/2005/Atom" in head:
            return 0.9 if b"application/cap+xml" in head else 0.5
        if xmlish and filename.lower().endswith(".cap"):
            return 0.7
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        root = load_xml(data, self.source)
        ns, local = split_tag(root.tag)
        if ns == ATOM and local == "feed":
            yield from self._atom(root)
            return
        alerts = _find_alerts(root)
        if not alerts:
            if local == "alert":
                why = f"namespace {ns!r} is not CAP 1.2 or 1.1" if ns else "it has no CAP namespace"
                raise self.fail(f"not a CAP alert: {why}", data[:4096])
            raise self.fail(f"no CAP alert in the document (root element <{local[:40]}>)", data[:4096])
        for alert in alerts:
            try:
                items = self._alert(alert)
            except ParseError as exc:
                yield exc
                continue
            yield from items

    # -- one alert ------------------------------------------------------------------------
    def _alert(self, alert: Element) -> list[Advisory | Deletion]:
        ns = namespace_of(alert)
        identifier = child_text(alert, ns, "identifier")
        where = f"CAP alert {clean_text(identifier, 60)!r}" if identifier else "CAP alert"

        def bad(reason: str) -> ParseError:
            return self.fail(f"{where}: {reason}", element_bytes(alert))

        missing = [name for name in _REQUIRED if not child_text(alert, ns, name)]
        if missing:
            raise bad(f"missing required element {', '.join(missing)}")
        sender = child_text(alert, ns, "sender")
        for name, value in (("identifier", identifier), ("sender", sender)):
            if _BAD_ID.search(value):
                raise bad(f"{name} {value[:40]!r} contains spaces, commas, '<' or '&'")
        status = _code(child_text(alert, ns, "status"), _STATUS, "status", bad)
        msg_type = _code(child_text(alert, ns, "msgType"), _MSG_TYPES, "msgType", bad)
        _code(child_text(alert, ns, "scope"), _SCOPES, "scope", bad)
        sent = _time(child_text(alert, ns, "sent"), "sent", bad)
        references = _references(alert, ns, bad)
        if msg_type in ("update", "cancel") and not references:
            raise bad(f"msgType {msg_type.capitalize()} without <references> to what it replaces")
        infos = children(alert, ns, "info")
        expires = [_check_info(info, ns, n, bad) for n, info in enumerate(infos, start=1)]
        own_id = stable_id(f"{sender}/{identifier}")
        deletions: list[Advisory | Deletion] = [
            Deletion(Kind.ADVISORY, ref, FINAL_VERSION) for ref in references if ref != own_id]
        if msg_type == "cancel":
            return deletions
        if msg_type in ("ack", "error"):
            return []
        first = infos[0] if infos else None
        polygons, circles = _areas(infos, ns)
        position = _position(polygons, circles)
        advisory = Advisory(
            id=own_id, version=1, issued_at=sent,
            category=clean_text(child_text(first, ns, "category"), MAX_ID) if first is not None else "",
            event=clean_text(child_text(first, ns, "event")) if first is not None else "",
            headline=_headline(first, ns),
            severity=(child_text(first, ns, "severity").lower()[:MAX_ID] if first is not None
                      else "") or "unknown",
            status=status, msg_type=msg_type,
            expires_at=min((e for e in expires if e is not None), default=None),
            lat=position[0] if position else None, lon=position[1] if position else None,
            polygons=polygons, circles=circles, source=self.source,
        )
        return [*deletions, advisory]

    # -- Atom index feeds -----------------------------------------------------------------
    def _atom(self, feed: Element) -> Iterator[Parsed]:
        for number, entry in enumerate(children(feed, ATOM, "entry"), start=1):
            try:
                yield self._entry(entry)
            except ParseError as exc:
                exc.reason = f"Atom entry {number}: {exc.reason}"
                yield exc

    def _entry(self, entry: Element) -> Advisory:
        key = child_text(entry, ATOM, "id")
        if not clean_text(key):
            raise self.fail("no <id>", element_bytes(entry))
        terms = _category_terms(entry)

        def cap(name: str) -> str:
            found = [e for e in descendants(entry, CAP_NAMESPACES, name) if (e.text or "").strip()]
            return found[0].text.strip() if found and found[0].text else terms.get(name.lower(), "")

        updated = _entry_time(child_text(entry, ATOM, "updated"))
        issued = _entry_time(child_text(entry, ATOM, "published")) or updated
        issued = issued or _entry_time(cap("sent"))
        if issued is None:
            raise self.fail("no readable <published> or <updated> time", element_bytes(entry))
        polygons = [r for r in (_ring(e.text or "") for e in descendants(entry, CAP_NAMESPACES, "polygon"))
                    if r]
        polygons += [r for r in (_georss_ring(e.text or "") for e in children(entry, GEORSS, "polygon"))
                     if r]
        circles = [c for c in (_circle(e.text or "") for e in descendants(entry, CAP_NAMESPACES, "circle"))
                   if c]
        rings, discs = _dedupe(polygons)[:MAX_RINGS], _dedupe(circles)[:MAX_RINGS]
        position = _position(rings, discs) or _georss_point(child_text(entry, GEORSS, "point"))
        return Advisory(
            id=stable_id(key), version=max(1, int(updated or issued)), issued_at=issued,
            category="index", event=clean_text(cap("event")),
            headline=clean_text(child_text(entry, ATOM, "title")),
            severity=clean_text(cap("severity"), MAX_ID).lower() or "unknown",
            status=clean_text(cap("status"), MAX_ID).lower() or "actual",
            msg_type=clean_text(cap("msgType"), MAX_ID).lower() or "alert",
            expires_at=_entry_time(cap("expires")),
            lat=position[0] if position else None, lon=position[1] if position else None,
            polygons=tuple(rings), circles=tuple(discs), source=self.source,
        )


# -- validation helpers ---------------------------------------------------------------------------

def _find_alerts(root: Element) -> list[Element]:
    """CAP alerts in document order, wherever they sit (root, EDXL-DE, a list wrapper)."""
    found, stack = [], [root]
    while stack:
        element = stack.pop()
        ns, local = split_tag(element.tag)
        if local == "alert" and ns in CAP_NAMESPACES:
            found.append(element)
            continue
        stack.extend(reversed(list(element)))
    return found


def _code(value: str, allowed: tuple[str, ...], name: str, bad: Fail) -> str:
    """A CAP code value, lowercased; refuses anything the standard does not list."""
    for option in allowed:
        if value.strip().lower() == option.lower():
            return option.lower()
    shown = f"{value[:30]!r}" if value.strip() else "empty"
    raise bad(f"{name} is {shown}, not one of {', '.join(allowed)}")


def _time(value: str, name: str, bad: Fail) -> float:
    try:
        epoch = iso_to_epoch(value)
    except (ValueError, OverflowError):
        raise bad(f"{name} {value[:40]!r} is not a date-time with a zone") from None
    if not 946684800.0 <= epoch <= 4102444800.0:
        raise bad(f"{name} {value[:40]!r} is outside 2000..2100")
    return epoch


def _references(alert: Element, ns: str, bad: Fail) -> list[str]:
    """Ids of the referenced alerts: "sender,identifier,sent" triples separated by spaces."""
    out = []
    for element in children(alert, ns, "references"):
        for triple in (element.text or "").split():
            parts = triple.split(",")
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise bad(f"reference {triple[:60]!r} is not sender,identifier,sent")
            out.append(stable_id(f"{parts[0]}/{parts[1]}"))
    return list(dict.fromkeys(out))


def _check_info(info: Element, ns: str, number: int, bad: Fail) -> float | None:
    """Refuse an <info> block missing what CAP requires; returns its expiry time, if any."""
    def info_bad(reason: str) -> ParseError:
        return bad(f"info {number}: {reason}")

    categories = [(c.text or "").strip() for c in children(info, ns, "category")]
    if not categories:
        raise info_bad("missing required element category")
    for category in categories:
        _code(category, _CATEGORIES, "category", info_bad)
    if not child_text(info, ns, "event"):
        raise info_bad("missing required element event")
    _code(child_text(info, ns, "urgency"), _URGENCY, "urgency", info_bad)
    _code(child_text(info, ns, "severity"), _SEVERITY, "severity", info_bad)
    _code(child_text(info, ns, "certainty"), _CERTAINTY, "certainty", info_bad)
    for name in ("effective", "onset"):
        if child_text(info, ns, name):
            _time(child_text(info, ns, name), name, info_bad)
    expires = child_text(info, ns, "expires")
    return _time(expires, "expires", info_bad) if expires else None


def _headline(info: Element | None, ns: str) -> str:
    """The headline, else the event and the first area's description, so no line is blank."""
    if info is None:
        return ""
    headline = clean_text(child_text(info, ns, "headline"))
    if headline:
        return headline
    areas = children(info, ns, "area")
    place = child_text(areas[0], ns, "areaDesc") if areas else ""
    event = child_text(info, ns, "event")
    return clean_text(f"{event} — {place}" if place else event)


def _category_terms(entry: Element) -> dict[str, str]:
    """Atom categories written as "key=value" (Pelmorex puts CAP fields there)."""
    terms = {}
    for category in children(entry, ATOM, "category"):
        key, sep, value = (category.get("term") or "").partition("=")
        if sep and key.strip():
            terms.setdefault(key.strip().lower(), value.strip())
    return terms


def _entry_time(value: str) -> float | None:
    try:
        epoch = iso_to_epoch(value) if value else None
    except (ValueError, OverflowError):
        return None
    return epoch if epoch is not None and 946684800.0 <= epoch <= 4102444800.0 else None


# -- geometry -------------------------------------------------------------------------------------

def _areas(infos: list[Element], ns: str) -> tuple[tuple[Ring, ...], tuple[Circle, ...]]:
    polygons: list[Ring] = []
    circles: list[Circle] = []
    for info in infos:
        for area in children(info, ns, "area"):
            polygons += [r for r in (_ring(p.text or "") for p in children(area, ns, "polygon")) if r]
            circles += [c for c in (_circle(c.text or "") for c in children(area, ns, "circle")) if c]
    return tuple(_dedupe(polygons)[:MAX_RINGS]), tuple(_dedupe(circles)[:MAX_RINGS])


def _dedupe(items: list[T]) -> list[T]:
    return list(dict.fromkeys(items))


def _point(lat: str, lon: str) -> tuple[float, float] | None:
    try:
        la, lo = float(lat), float(lon)
    except ValueError:
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo


def _ring(text: str) -> Ring | None:
    """A CAP polygon ("lat,lon lat,lon ..."): closed, at most 5000 points; None if unusable."""
    points = []
    for token in text.split():
        parts = [p for p in token.split(",") if p]
        point = _point(*parts) if len(parts) == 2 else None
        if point is None:
            return None
        points.append(point)
    return _closed(points)


def _georss_ring(text: str) -> Ring | None:
    """A GeoRSS polygon: "lat lon lat lon ..."."""
    values = text.split()
    if len(values) % 2:
        return None
    points = [_point(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    valid = [p for p in points if p is not None]
    return _closed(valid) if len(valid) == len(points) else None


def _closed(points: list[tuple[float, float]]) -> Ring | None:
    if len(set(points)) < 3:
        return None
    if points[0] != points[-1]:
        points.append(points[0])
    if len(points) > MAX_POINTS:
        step = math.ceil((len(points) - 1) / (MAX_POINTS - 1))
        points = points[:-1:step] + [points[0]]
    if abs(_signed_area(points)) < 1e-12:
        return None  # all points on one line: no area to draw
    return tuple(points)


def _signed_area(ring: list[tuple[float, float]] | Ring) -> float:
    return sum(a[1] * b[0] - b[1] * a[0] for a, b in zip(ring, ring[1:])) / 2


def _circle(text: str) -> Circle | None:
    """A CAP circle ("lat,lon radius_km") as (lat, lon, radius in metres)."""
    parts = text.split()
    if len(parts) != 2:
        return None
    coords = [p for p in parts[0].split(",") if p]
    centre = _point(*coords) if len(coords) == 2 else None
    try:
        radius_m = float(parts[1]) * 1000.0
    except ValueError:
        return None
    if centre is None or not (math.isfinite(radius_m) and 0 <= radius_m <= 5e6):
        return None
    return centre[0], centre[1], radius_m


def _position(polygons: tuple[Ring, ...] | list[Ring],
              circles: tuple[Circle, ...] | list[Circle]) -> tuple[float, float] | None:
    """Where to put the marker: the largest polygon's area centroid (NWS lists slivers first),
    else the first circle's centre."""
    if polygons:
        ring = max(polygons, key=lambda r: abs(_signed_area(r)))
        area = _signed_area(ring)
        lat = sum((a[0] + b[0]) * (a[1] * b[0] - b[1] * a[0]) for a, b in zip(ring, ring[1:]))
        lon = sum((a[1] + b[1]) * (a[1] * b[0] - b[1] * a[0]) for a, b in zip(ring, ring[1:]))
        centre = lat / (6 * area), lon / (6 * area)
        lats, lons = [p[0] for p in ring], [p[1] for p in ring]
        if min(lats) <= centre[0] <= max(lats) and min(lons) <= centre[1] <= max(lons):
            return centre
        return sum(lats[:-1]) / (len(ring) - 1), sum(lons[:-1]) / (len(ring) - 1)  # self-crossing
    if circles:
        return circles[0][0], circles[0][1]
    return None


def _georss_point(text: str) -> tuple[float, float] | None:
    values = text.split()
    return _point(values[0], values[1]) if len(values) == 2 else None
