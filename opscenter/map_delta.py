"""Map deltas: what changed in the store, as the small JSON the map page applies.

Built from the bridge's batch of changed ids, so the page does work proportional to the change,
never to the size of the picture. Labels are plain text; the page sets them with textContent.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .domain import Advisory, CallForService, CallStatus, Kind, ShotAlert, Unit
from .store import LiveStore

LAYER = {Kind.SHOT: "shots", Kind.CALL: "calls", Kind.UNIT: "units", Kind.ADVISORY: "advisories"}
PULSE_WINDOW_S = 300.0


def shot_item(store: LiveStore, shot: ShotAlert) -> dict[str, Any]:
    where = " / ".join(p for p in (shot.district, shot.post) if p)
    return {
        "id": shot.id, "lat": shot.lat, "lon": shot.lon, "type": shot.alert_type.value,
        "rounds": shot.rounds, "ack": store.is_acknowledged(shot.id), "t": shot.detected_at,
        "withdrawn": store.is_withdrawn(shot.id),
        "label": f"{shot.alert_type.label} · {shot.rounds} rds · {shot.address} · {where}",
    }


def call_item(call: CallForService) -> dict[str, Any]:
    return {
        "id": call.id, "lat": call.lat, "lon": call.lon, "priority": call.priority.value,
        "label": f"{call.priority.label} · {call.category} · {call.address}",
    }


UNIT_FIELDS = ("id", "lat", "lon", "status", "t", "heading", "assignment")


def unit_item(unit: Unit) -> list[Any]:
    """A unit as a short array (fields in UNIT_FIELDS order): thousands move every second, so
    the page gets positions, not prose; it builds the label itself."""
    return [unit.id, unit.lat, unit.lon, unit.status.value, unit.reported_at, unit.heading, unit.assignment]


def advisory_item(advisory: Advisory) -> dict[str, Any]:
    """Areas (CAP polygons and circles) and points (CoT markers, earthquakes) as plain data."""
    return {
        "id": advisory.id, "lat": advisory.lat, "lon": advisory.lon, "severity": advisory.severity,
        "category": advisory.category,
        "polygons": [[list(p) for p in ring] for ring in advisory.polygons],
        "circles": [list(c) for c in advisory.circles],
        "label": " · ".join(p for p in (advisory.event, advisory.headline, advisory.severity) if p),
    }


def build_delta(
    store: LiveStore,
    upserted: Mapping[Kind, Iterable[str]],
    removed: Mapping[Kind, Iterable[str]],
    new_shots: Iterable[str] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """One delta for the page: upserts and removals per layer, pulses and a focus for new alerts."""
    now = store.clock() if now is None else now
    delta: dict[str, Any] = {}
    for kind, layer in LAYER.items():
        items = []
        gone = list(removed.get(kind, ()))
        for id_ in upserted.get(kind, ()):
            record = store.get(kind, id_)
            if record is None:
                continue
            if kind is Kind.CALL and record.status is CallStatus.CLOSED:  # type: ignore[union-attr]
                gone.append(id_)  # closed calls leave the map; the record stays in the store
                continue
            if kind is Kind.SHOT:
                items.append(shot_item(store, record))  # type: ignore[arg-type]
            elif kind is Kind.CALL:
                items.append(call_item(record))  # type: ignore[arg-type]
            elif kind is Kind.UNIT:
                items.append(unit_item(record))  # type: ignore[arg-type]
            elif record.cancelled or (record.expires_at is not None and record.expires_at < now):  # type: ignore[union-attr]
                gone.append(id_)  # a cancelled or expired warning leaves the map
            else:
                items.append(advisory_item(record))  # type: ignore[arg-type]
        if items or gone:
            delta[layer] = {"upsert": items, "remove": gone}
    fresh = []
    for id_ in new_shots:
        shot = store.get(Kind.SHOT, id_)
        if shot is not None and now - shot.detected_at < PULSE_WINDOW_S and not store.is_acknowledged(id_):
            fresh.append(shot)
    if fresh:
        delta["pulse"] = [{"id": s.id, "lat": s.lat, "lon": s.lon, "seconds": 60} for s in fresh]
        newest = max(fresh, key=lambda s: s.detected_at)
        delta["focus"] = {"id": newest.id, "lat": newest.lat, "lon": newest.lon}
    return delta


def full_delta(store: LiveStore) -> dict[str, Any]:
    """Everything the store holds, for a page that has just loaded."""
    ids = {kind: [r.id for r in store.all(kind)] for kind in LAYER}
    return build_delta(store, ids, {})
