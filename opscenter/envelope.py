"""The project's own JSON event envelope: encode records for the wire and decode them strictly.

Every field from a feed is validated here: type, range and length. A bad message raises
`ParseError` naming the source and the reason, so the caller can quarantine it and carry on.

Wire form (one JSON object per message):
    {"seq": 17, "sent_at": 1733300000.5, "kind": "shot", "op": "upsert",
     "record": {"id": "S-1", "version": 1, ...}}
`op` is "upsert" (default) or "delete" (the record then needs only id and version).
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import asdict
from typing import Any, Callable

from .domain import (
    Advisory,
    AlertType,
    CrimeReport,
    Origin,
    CallForService,
    CallStatus,
    Deletion,
    FeedEvent,
    Incident,
    IncidentStatus,
    Kind,
    Priority,
    Record,
    ShotAlert,
    Unit,
    UnitStatus,
)
from .errors import ParseError

MAX_TEXT = 400
MAX_ID = 80
MAX_LIST = 200
MAX_POLYGONS = 50
MAX_RING = 5000
# Wide enough for any city on earth; narrower checks (inside the coverage area) belong to the feed config.
_LAT = (-90.0, 90.0)
_LON = (-180.0, 180.0)
# Plausible epoch range: 2000-01-01 .. 2100-01-01.
_TIME = (946684800.0, 4102444800.0)


class _Fields:
    """Reads typed fields out of a dict, raising ParseError with the field's name."""

    def __init__(self, data: Any, source: str, where: str) -> None:
        if not isinstance(data, dict):
            raise ParseError(source, f"{where} is not an object")
        self.data = data
        self.source = source
        self.where = where

    def _fail(self, name: str, why: str) -> ParseError:
        return ParseError(self.source, f"{self.where}.{name}: {why}")

    def text(self, name: str, required: bool = False, limit: int = MAX_TEXT) -> str:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._fail(name, "missing")
            return ""
        if not isinstance(value, str):
            raise self._fail(name, "not a string")
        if len(value) > limit:
            raise self._fail(name, f"longer than {limit} characters")
        if any(ord(c) < 32 and c not in "\t" for c in value):
            raise self._fail(name, "contains control characters")
        if required and not value.strip():
            raise self._fail(name, "empty")
        return value

    def ident(self, name: str = "id") -> str:
        return self.text(name, required=True, limit=MAX_ID)

    def optional_ident(self, name: str) -> str | None:
        return self.text(name, limit=MAX_ID) or None

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int:
        value = self.data.get(name, default)
        if value is None:
            raise self._fail(name, "missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, "not an integer")
        if not low <= value <= high:
            raise self._fail(name, f"{value} outside {low}..{high}")
        return value

    def number(self, name: str, bounds: tuple[float, float], required: bool = True) -> float | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._fail(name, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(name, "not a number")
        value = float(value)
        if not math.isfinite(value) or not bounds[0] <= value <= bounds[1]:
            raise self._fail(name, f"{value} outside {bounds[0]}..{bounds[1]}")
        return value

    def time(self, name: str) -> float:
        return self.number(name, _TIME)  # type: ignore[return-value]

    def enum(self, name: str, enum_type: type, default: Any = None) -> Any:
        value = self.data.get(name)
        if value is None:
            if default is not None:
                return default
            raise self._fail(name, "missing")
        if not isinstance(value, str):
            raise self._fail(name, "not a string")
        try:
            return enum_type(value)
        except ValueError:
            other = getattr(enum_type, "OTHER", None)
            if other is not None:
                return other
            raise self._fail(name, f"unknown value {value[:40]!r}") from None

    def optional_position(self) -> tuple[float | None, float | None]:
        """lat and lon, both or neither (some records have no place)."""
        lat = self.number("lat", _LAT, required=False)
        lon = self.number("lon", _LON, required=False)
        if (lat is None) != (lon is None):
            raise self._fail("lat", "lat and lon go together")
        return lat, lon

    def optional_time(self, name: str) -> float | None:
        return self.number(name, _TIME, required=False)

    def polygons(self, name: str = "polygons") -> tuple[tuple[tuple[float, float], ...], ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or len(value) > MAX_POLYGONS:
            raise self._fail(name, f"not a list of at most {MAX_POLYGONS} rings")
        rings = []
        for ring in value:
            if not isinstance(ring, list) or not 3 <= len(ring) <= MAX_RING:
                raise self._fail(name, f"a ring needs 3..{MAX_RING} points")
            rings.append(tuple(self._point(name, p) for p in ring))
        return tuple(rings)

    def circles(self, name: str = "circles") -> tuple[tuple[float, float, float], ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or len(value) > MAX_POLYGONS:
            raise self._fail(name, f"not a list of at most {MAX_POLYGONS} circles")
        out = []
        for item in value:
            if not isinstance(item, list) or len(item) != 3:
                raise self._fail(name, "a circle is [lat, lon, radius_m]")
            lat, lon = self._point(name, item[:2])
            radius = item[2]
            if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not 0 <= radius <= 5e6:
                raise self._fail(name, "radius outside 0..5,000 km")
            out.append((lat, lon, float(radius)))
        return tuple(out)

    def _point(self, name: str, point: Any) -> tuple[float, float]:
        if (not isinstance(point, list) or len(point) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in point)):
            raise self._fail(name, "a point is [lat, lon]")
        lat, lon = float(point[0]), float(point[1])
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise self._fail(name, f"point {lat}, {lon} outside the globe")
        return lat, lon

    def id_list(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise self._fail(name, f"not a list of at most {MAX_LIST} ids")
        out = []
        for item in value:
            if not isinstance(item, str) or not item or len(item) > MAX_ID:
                raise self._fail(name, "contains an invalid id")
            out.append(item)
        return tuple(out)


def _shot(f: _Fields) -> ShotAlert:
    return ShotAlert(
        id=f.ident(), version=f.integer("version", 1, 2**62),
        detected_at=f.time("detected_at"),
        lat=f.number("lat", _LAT), lon=f.number("lon", _LON),  # type: ignore[arg-type]
        alert_type=f.enum("alert_type", AlertType),
        rounds=f.integer("rounds", 0, 1000, default=0),
        address=f.text("address"), district=f.text("district", limit=MAX_ID),
        post=f.text("post", limit=MAX_ID), source=f.source,
    )


def _call(f: _Fields) -> CallForService:
    return CallForService(
        id=f.ident(), version=f.integer("version", 1, 2**62),
        received_at=f.time("received_at"),
        priority=f.enum("priority", Priority),
        category=f.text("category", limit=MAX_ID), description=f.text("description"),
        lat=f.number("lat", _LAT), lon=f.number("lon", _LON),  # type: ignore[arg-type]
        address=f.text("address"), district=f.text("district", limit=MAX_ID),
        post=f.text("post", limit=MAX_ID),
        status=f.enum("status", CallStatus, default=CallStatus.PENDING),
        shot_id=f.optional_ident("shot_id"), source=f.source,
    )


def _unit(f: _Fields) -> Unit:
    return Unit(
        id=f.ident(), version=f.integer("version", 1, 2**62),
        reported_at=f.time("reported_at"),
        status=f.enum("status", UnitStatus),
        lat=f.number("lat", _LAT), lon=f.number("lon", _LON),  # type: ignore[arg-type]
        district=f.text("district", limit=MAX_ID),
        heading=f.number("heading", (0.0, 360.0), required=False),
        assignment=f.optional_ident("assignment"), source=f.source,
    )


def _incident(f: _Fields) -> Incident:
    return Incident(
        id=f.ident(), version=f.integer("version", 1, 2**62),
        opened_at=f.time("opened_at"),
        status=f.enum("status", IncidentStatus, default=IncidentStatus.OPEN),
        district=f.text("district", limit=MAX_ID),
        shot_ids=f.id_list("shot_ids"), call_ids=f.id_list("call_ids"),
        unit_ids=f.id_list("unit_ids"), summary=f.text("summary"), source=f.source,
    )


def _advisory(f: _Fields) -> Advisory:
    lat, lon = f.optional_position()
    return Advisory(
        id=f.ident(), version=f.integer("version", 1, 2**62), issued_at=f.time("issued_at"),
        category=f.text("category", limit=MAX_ID), event=f.text("event"),
        headline=f.text("headline"), severity=f.text("severity", limit=MAX_ID) or "unknown",
        status=f.text("status", limit=MAX_ID) or "actual",
        msg_type=f.text("msg_type", limit=MAX_ID) or "alert",
        expires_at=f.optional_time("expires_at"), lat=lat, lon=lon,
        polygons=f.polygons(), circles=f.circles(),
        cancelled=bool(f.data.get("cancelled", False) is True), source=f.source,
    )


def _report(f: _Fields) -> CrimeReport:
    lat, lon = f.optional_position()
    return CrimeReport(
        id=f.ident(), version=f.integer("version", 1, 2**62), occurred_at=f.time("occurred_at"),
        category=f.text("category", limit=MAX_ID), origin=f.enum("origin", Origin),
        description=f.text("description"), lat=lat, lon=lon,
        district=f.text("district", limit=MAX_ID), post=f.text("post", limit=MAX_ID),
        weapon=f.text("weapon", limit=MAX_ID), address=f.text("address"), source=f.source,
    )


_DECODERS: dict[Kind, Callable[[_Fields], Record]] = {
    Kind.SHOT: _shot, Kind.CALL: _call, Kind.UNIT: _unit, Kind.INCIDENT: _incident,
    Kind.ADVISORY: _advisory, Kind.REPORT: _report,
}


def record_from_dict(kind: Kind, data: Any, source: str) -> Record:
    """Validate one record body; raises ParseError naming `source` and the bad field."""
    return _DECODERS[kind](_Fields(data, source, kind.value))


def decode_event(raw: bytes | str, source: str) -> FeedEvent:
    """Decode one wire message into a FeedEvent, or raise ParseError."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(source, f"not UTF-8 ({exc.reason})", raw) from None
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(source, f"not JSON ({exc})", raw) from None
    try:
        env = _Fields(obj, source, "event")
        seq = env.integer("seq", 0, 2**62)
        sent_at = env.time("sent_at")
        kind = env.enum("kind", Kind)
        op = env.text("op") or "upsert"
        body = obj.get("record")
        if op == "delete":
            f = _Fields(body, source, kind.value)
            payload: Record | Deletion = Deletion(kind, f.ident(), f.integer("version", 1, 2**62))
        elif op == "upsert":
            payload = record_from_dict(kind, body, source)
        else:
            raise ParseError(source, f"event.op: unknown operation {op[:20]!r}")
    except ParseError as exc:
        exc.raw = raw.encode("utf-8", "replace")
        raise
    return FeedEvent(seq=seq, sent_at=sent_at, payload=payload, source=source)


def record_to_dict(record: Record) -> dict[str, Any]:
    """Plain-JSON form of a record (enums as their values, `source` left out)."""
    out = asdict(record)
    out.pop("source", None)
    for key, value in out.items():
        if isinstance(value, enum.Enum):
            out[key] = value.value
        elif isinstance(value, tuple):
            out[key] = _lists(value)
    return out


def _lists(value: Any) -> Any:
    """Nested tuples (polygons, circles) as nested lists for JSON."""
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def encode_event(seq: int, sent_at: float, payload: Record | Deletion) -> str:
    """Wire form of one event (compact JSON, one line)."""
    if isinstance(payload, Deletion):
        body: dict[str, Any] = {"id": payload.id, "version": payload.version}
        kind, op = payload.kind, "delete"
    else:
        body = record_to_dict(payload)
        kind, op = payload.kind, "upsert"
    return json.dumps(
        {"seq": seq, "sent_at": sent_at, "kind": kind.value, "op": op, "record": body},
        separators=(",", ":"),
    )
