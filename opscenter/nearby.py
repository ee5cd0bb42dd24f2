"""What is around an alert: calls, units and earlier shots within a radius, with distance and time.

The question an operator asks first about a new detection: was there gunfire here before, has
anyone called it in, who is closest. Pure functions over the store, so the wall, the details
panel and the tests ask the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .domain import Advisory, CallForService, Kind, Record, ShotAlert, Unit, UnitStatus
from .geo import haversine_m
from .store import LiveStore, event_time


@dataclass(frozen=True, slots=True)
class Nearby:
    kind: Kind
    id: str
    label: str
    distance_m: float
    seconds: float  # the thing's time minus the centre's time: negative is before


def nearby(
    store: LiveStore,
    lat: float,
    lon: float,
    at: float,
    radius_m: float = 500.0,
    window_s: float = 24 * 3600.0,
    exclude: str | None = None,
) -> list[Nearby]:
    """Calls and earlier shots within `radius_m` and `window_s` of (lat, lon, at), and units
    within the radius now; nearest first."""
    out: list[Nearby] = []
    for shot in store.shots():
        if shot.id == exclude or shot.detected_at > at or at - shot.detected_at > window_s:
            continue
        d = haversine_m(lat, lon, shot.lat, shot.lon)
        if d <= radius_m:
            out.append(Nearby(Kind.SHOT, shot.id, f"{shot.alert_type.label}, {shot.rounds} rds",
                              d, shot.detected_at - at))
    for call in store.calls():
        if abs(call.received_at - at) > window_s:
            continue
        d = haversine_m(lat, lon, call.lat, call.lon)
        if d <= radius_m:
            out.append(Nearby(Kind.CALL, call.id, f"{call.priority.label} · {call.category}", d,
                              call.received_at - at))
    for unit in store.units():
        if unit.status is UnitStatus.OUT_OF_SERVICE:
            continue
        d = haversine_m(lat, lon, unit.lat, unit.lon)
        if d <= radius_m:
            out.append(Nearby(Kind.UNIT, unit.id, unit.status.label, d, unit.reported_at - at))
    out.sort(key=lambda n: n.distance_m)
    return out


def nearest_available(store: LiveStore, lat: float, lon: float, count: int = 3) -> list[tuple[Unit, float]]:
    """The closest available units, for the operator deciding whom to send."""
    ranked = sorted(
        ((u, haversine_m(lat, lon, u.lat, u.lon)) for u in store.units() if u.status is UnitStatus.AVAILABLE),
        key=lambda pair: pair[1],
    )
    return ranked[:count]


def describe(record: Record) -> list[tuple[str, str]]:
    """Field names and values for a details panel, as plain text."""
    rows: list[tuple[str, Any]] = [("Id", record.id), ("Version", record.version)]
    if isinstance(record, ShotAlert):
        rows += [("Type", record.alert_type.label), ("Rounds", record.rounds), ("Address", record.address),
                 ("District / post", " / ".join(p for p in (record.district, record.post) if p))]
    elif isinstance(record, CallForService):
        rows += [("Priority", record.priority.label), ("Category", record.category),
                 ("Description", record.description), ("Address", record.address),
                 ("District / post", " / ".join(p for p in (record.district, record.post) if p)),
                 ("Status", record.status.value), ("Linked alert", record.shot_id or "—")]
    elif isinstance(record, Unit):
        rows += [("Status", record.status.label), ("District", record.district),
                 ("Assignment", record.assignment or "—"),
                 ("Heading", "—" if record.heading is None else f"{record.heading:.0f}°")]
    elif isinstance(record, Advisory):
        rows += [("Event", record.event), ("Headline", record.headline), ("Severity", record.severity),
                 ("Category", record.category), ("Message", record.msg_type)]
    rows.append(("Source", record.source or "—"))
    rows.append(("Time", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event_time(record)))))
    return [(name, str(value)) for name, value in rows]
