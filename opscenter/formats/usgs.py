"""USGS earthquake GeoJSON summary feed to Advisory, with deletions found by comparing snapshots.

Mapping, per feature: id = feature id; version = properties.updated (epoch ms); issued_at =
properties.time / 1000; category "geo"; event = properties.type ("earthquake", "quarry blast");
headline = properties.title; status = properties.status lower-cased ("automatic", "reviewed");
lat/lon from geometry.coordinates, which GeoJSON writes **[lon, lat, depth]**. A feature whose
status is "deleted" becomes a Deletion.

Severity (CAP words): the higher of the PAGER alert level (red extreme, orange severe, yellow
moderate, green minor) and the magnitude (>= 7.0 extreme, >= 6.0 severe, >= 4.5 moderate, any
smaller quake minor; no magnitude and no alert: unknown). The higher, because a strong quake
far from people has a green PAGER level and still deserves a glance from the wall.

Snapshots: a summary feed is the complete list of events for its window ("past day", "past
week", ...) and magnitude class ("all", "2.5", "significant", ...), both read from
metadata.url, ending at metadata.generated. The parser remembers the events of the snapshots it
has read; an event it knows that falls inside the new snapshot's window and class but is missing
from it was deleted upstream: Deletion(version = its last version + 1). Events outside the
window merely aged out (a day feed says nothing about last week) and are kept in memory, not
deleted. The oldest ten minutes of a window are left out of the comparison, so an event that
aged out between the feed's cut and its generated stamp is not taken for deleted. An older
snapshot than one already read, or a feed whose window is unknown, deletes nothing. The memory
changes once a snapshot has been read to its end.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..domain import Advisory, Deletion, Kind, Record
from ..envelope import MAX_ID, record_from_dict, record_to_dict
from ..errors import ParseError
from .base import FormatParser, Parsed, clean_ident, clean_text, coordinate, strip_bom

_FEED_URL = re.compile(r"/summary/(all|significant|\d+(?:\.\d+)?)_(hour|day|week|month)\.geojson")
_WINDOW_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}
EDGE_MARGIN_MS = 10 * 60_000
SIGNIFICANT = 600  # USGS "significant" feeds list events with sig >= 600
MEMORY_MS = 31 * 86_400_000  # longest window (month) plus a day
MAX_MEMORY = 200_000
_ALERT_SEVERITY = {"green": "minor", "yellow": "moderate", "orange": "severe", "red": "extreme"}
_SEVERITY_RANK = {"unknown": 0, "minor": 1, "moderate": 2, "severe": 3, "extreme": 4}
_MAGNITUDE_SEVERITY = ((7.0, "extreme"), (6.0, "severe"), (4.5, "moderate"))


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the diff needs to know about an event from an earlier snapshot."""

    version: int
    time_ms: float | None
    mag: float | None
    sig: float | None


@dataclass(frozen=True, slots=True)
class _Scope:
    """The events a snapshot speaks for: a time window and a magnitude class."""

    start_ms: float
    end_ms: float
    min_mag: float | None = None
    min_sig: float | None = None

    def covers(self, seen: _Seen) -> bool:
        if seen.time_ms is None or not self.start_ms + EDGE_MARGIN_MS <= seen.time_ms <= self.end_ms:
            return False
        if self.min_mag is not None and (seen.mag is None or seen.mag < self.min_mag):
            return False
        return self.min_sig is None or (seen.sig is not None and seen.sig >= self.min_sig)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def feed_scope(metadata: Any) -> _Scope | None:
    """The window and class of a summary feed, from its metadata; None when unknown."""
    if not isinstance(metadata, dict):
        return None
    generated = _number(metadata.get("generated"))
    url = metadata.get("url")
    match = _FEED_URL.search(url) if isinstance(url, str) else None
    if generated is None or generated <= 0 or match is None:
        return None
    klass, period = match.groups()
    return _Scope(start_ms=generated - _WINDOW_MS[period], end_ms=generated,
                  min_mag=None if klass in ("all", "significant") else float(klass),
                  min_sig=SIGNIFICANT if klass == "significant" else None)


def severity(mag: float | None, alert: Any) -> str:
    """CAP severity word from magnitude and PAGER alert level, whichever is higher."""
    by_alert = _ALERT_SEVERITY.get(alert.lower(), "unknown") if isinstance(alert, str) else "unknown"
    by_mag = "unknown"
    if mag is not None:
        by_mag = next((word for floor, word in _MAGNITUDE_SEVERITY if mag >= floor), "minor")
    return max(by_alert, by_mag, key=_SEVERITY_RANK.__getitem__)


class UsgsGeoJsonParser(FormatParser):
    name = "usgs-geojson"
    description = "USGS earthquake GeoJSON summary feed; events missing from a later snapshot are deleted"

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self._known: dict[str, _Seen] = {}
        self._generated = 0.0  # metadata.generated of the newest snapshot read

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> float:
        text = strip_bom(head).lstrip()[:65536].lower()
        if not text.startswith(b"{") or b'"featurecollection"' not in text:
            return 0.0
        if b'"metadata"' in text and b"earthquake" in text:
            return 0.95
        if b'"features"' in text and b'"mag"' in text:
            return 0.7
        return 0.0

    def parse(self, data: bytes) -> Iterator[Parsed]:
        doc = self._load(data)
        metadata = doc.get("metadata")
        scope = feed_scope(metadata)
        present: dict[str, _Seen] = {}
        for number, feature in enumerate(doc["features"], start=1):
            seen_id, seen = _presence(feature)
            if seen_id:
                present[seen_id] = seen  # even a feature we cannot use proves the event exists
            try:
                yield self._item(feature)
            except ParseError as exc:
                label = f" {seen_id}" if seen_id else ""
                yield self.fail(f"feature {number}{label}: {exc.reason}", _excerpt(feature))
        yield from self._vanished(scope, present)
        self._remember(scope, present)

    def _load(self, data: bytes) -> dict:
        doc = self.load_json(data)
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise self.fail("not a GeoJSON FeatureCollection", data[:4096])
        if not isinstance(doc.get("features"), list):
            raise self.fail("FeatureCollection without a features list", data[:4096])
        return doc

    def _item(self, feature: Any) -> Record | Deletion:
        if not isinstance(feature, dict):
            raise self.fail("not an object")
        fid = feature.get("id")
        if not isinstance(fid, str) or not clean_ident(fid):
            raise self.fail("no id")
        fid = clean_ident(fid)
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise self.fail("no properties")
        updated, time_ms = _number(props.get("updated")), _number(props.get("time"))
        if updated is None or not 1 <= updated < 2**62:
            raise self.fail("properties.updated is not a positive epoch in milliseconds")
        status = clean_text(props.get("status"), MAX_ID).lower()
        if status == "deleted":
            return Deletion(Kind.ADVISORY, fid, int(updated))
        if time_ms is None:
            raise self.fail("properties.time is not an epoch in milliseconds")
        point = _point(feature.get("geometry"))
        if point is None:
            raise self.fail("geometry is not a Point [lon, lat(, depth)] on the globe")
        mag = _number(props.get("mag"))
        advisory = Advisory(
            id=fid, version=int(updated), issued_at=time_ms / 1000.0, category="geo",
            event=clean_text(props.get("type")).replace("_", " ") or "earthquake",
            headline=clean_text(props.get("title")) or clean_text(props.get("place")),
            severity=severity(mag, props.get("alert")), status=status or "actual",
            lat=point[0], lon=point[1], source=self.source,
        )
        return record_from_dict(Kind.ADVISORY, record_to_dict(advisory), self.source)

    def _vanished(self, scope: _Scope | None, present: dict[str, _Seen]) -> Iterator[Deletion]:
        if scope is None or scope.end_ms < self._generated:
            return
        for fid, seen in list(self._known.items()):
            if fid not in present and scope.covers(seen):
                del self._known[fid]
                yield Deletion(Kind.ADVISORY, fid, seen.version + 1)

    def _remember(self, scope: _Scope | None, present: dict[str, _Seen]) -> None:
        if scope is not None and scope.end_ms < self._generated:
            for fid, seen in present.items():  # an old snapshot: learn new ids, keep newer versions
                held = self._known.get(fid)
                if held is None or held.version < seen.version:
                    self._known[fid] = seen
            return
        self._known.update(present)
        if scope is not None:
            self._generated = scope.end_ms
        horizon = self._generated - MEMORY_MS
        stale = [f for f, s in self._known.items() if s.time_ms is not None and s.time_ms < horizon]
        for fid in stale:
            del self._known[fid]
        while len(self._known) > MAX_MEMORY:
            del self._known[next(iter(self._known))]


def _presence(feature: Any) -> tuple[str, _Seen]:
    """The id and what is readable of a feature, however broken the rest of it is."""
    if not isinstance(feature, dict) or not isinstance(feature.get("id"), str):
        return "", _Seen(0, None, None, None)
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    updated = _number(props.get("updated"))
    version = int(updated) if updated is not None and 1 <= updated < 2**62 else 0
    return clean_ident(feature["id"]), _Seen(version, _number(props.get("time")),
                                             _number(props.get("mag")), _number(props.get("sig")))


def _point(geometry: Any) -> tuple[float, float] | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return None
    lon, lat = _number(coords[0]), _number(coords[1])
    return None if lon is None or lat is None else coordinate(lat, lon)


def _excerpt(feature: Any) -> str:
    try:
        return json.dumps(feature)[:4096]
    except (TypeError, ValueError, RecursionError):
        return ""
