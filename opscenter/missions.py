"""Patrol missions: forecast hotspots turned into boxes a shift can patrol, and their life cycle.

The forecast ranks cells; officers patrol places, not cells. `plan_boxes` grows boxes from the
best cells (adjacent flagged cells merge, up to a size cap), and `MissionBook.plan_shift` keeps
at most N of them, resting a box that was patrolled in each of the last K shifts (the same
corners every night wear out a community's patience and teach the model nothing new) unless an
analyst pinned it. Analysts may add or suppress boxes by hand, always with a reason; every
change lands in the hash-chained audit trail, so who sent police where, and why, can be shown.

Coordinates are (lat, lon) like the domain records; polygons are open rings (no closing point).
States: planned -> assigned -> active -> completed, with cancelled (and, for boxes an analyst
refuses before they start, suppressed) as the other ends.
"""

from __future__ import annotations

import json
import sqlite3
import logging
import math
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .audit import AuditLog
from .forecast.grid import Grid
from .geo import point_in_ring
from .schema import connect
from .mission_plan import MissionError, BoxPlan, LatLon, PlanConfig, _centre, box_why, cells_outline, plan_boxes

logger = logging.getLogger(__name__)

STATES = ("planned", "assigned", "active", "completed", "cancelled", "suppressed")
TRANSITIONS = {
    "planned": {"assigned", "cancelled", "suppressed"},
    "assigned": {"assigned", "active", "cancelled", "suppressed"},
    "active": {"active", "completed", "cancelled"},
}
_VERBS = {"active": "start", "completed": "complete", "cancelled": "cancel", "suppressed": "suppress"}
MAX_NAME, MAX_REASON, MAX_UNITS, MAX_POINTS = 80, 400, 50, 500


@dataclass(frozen=True)
class Mission:
    id: str
    shift_start: float
    shift_end: float
    label: str
    polygon: tuple[LatLon, ...]
    centre: LatLon
    created_by: str
    reason: str
    source: str = "forecast"  # or "manual"
    district: str = ""
    state: str = "planned"
    units: tuple[str, ...] = ()
    cells: tuple[int, ...] = ()
    score: float = 0.0
    why: tuple[dict, ...] = ()
    pinned: bool = False
    dosage_min: float = 0.0
    target_min: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the hub, the map and the UI."""
        return {"id": self.id, "label": self.label, "district": self.district, "state": self.state,
                "units": list(self.units), "polygon": [list(p) for p in self.polygon],
                "centre": list(self.centre), "dosage_min": round(self.dosage_min, 2),
                "target_min": round(self.target_min, 2), "created_by": self.created_by,
                "reason": self.reason, "why": [dict(w) for w in self.why], "source": self.source,
                "pinned": self.pinned, "shift_start": self.shift_start, "shift_end": self.shift_end}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Mission":
        """Back from the stored form (`dataclasses.asdict` as JSON)."""
        return cls(**{**d, "polygon": tuple(map(tuple, d["polygon"])), "centre": tuple(d["centre"]),
                      "units": tuple(d["units"]), "cells": tuple(d["cells"]), "why": tuple(d["why"])})


# -- input checks ---------------------------------------------------------------------------------
def _text(label: str, value: object, limit: int, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise MissionError(f"{label} is required" if required else f"{label} must be text")
    if len(value) > limit:
        raise MissionError(f"{label} is longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise MissionError(f"{label} contains control characters")
    return value.strip()


def _polygon(points: object) -> tuple[LatLon, ...]:
    if not isinstance(points, (list, tuple)) or not 3 <= len(points) <= MAX_POINTS:
        raise MissionError(f"a polygon needs 3..{MAX_POINTS} [lat, lon] points")
    out = []
    for p in points:
        if (not isinstance(p, (list, tuple)) or len(p) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in p)):
            raise MissionError("a polygon point is [lat, lon]")
        lat, lon = float(p[0]), float(p[1])
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise MissionError(f"point {lat}, {lon} is outside the globe")
        out.append((lat, lon))
    if out[0] == out[-1]:
        out.pop()
    if len(set(out)) < 3:
        raise MissionError("a polygon needs 3 distinct points")
    return tuple(out)


def inside(lat: float, lon: float, polygon: Sequence[LatLon]) -> bool:
    """Point in a (lat, lon) ring."""
    return point_in_ring(lat, lon, polygon)  # symmetric in axis order


@dataclass(frozen=True)
class PlanResult:
    missions: list[Mission]
    rested: list[BoxPlan]


Listener = Callable[[str, Mission], None]


class MissionBook:
    """Missions of every shift in the app's SQLite file; each change audited and broadcast."""

    def __init__(self, path: str | Path, audit: AuditLog | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)  # the missions table comes with schema version 3
        self._own_audit = audit is None
        self.audit = audit or AuditLog(self.path)
        self._clock = clock
        self._listeners: list[Listener] = []
        self._missions = {m.id: m for m in (Mission.from_dict(json.loads(body)) for (body,) in
                                            self._db.execute("SELECT body FROM missions"))}

    def close(self) -> None:
        self._db.close()
        if self._own_audit:
            self.audit.close()

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call `callback(action, mission)` after every change; returns the unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def get(self, mission_id: str) -> Mission:
        try:
            return self._missions[mission_id]
        except KeyError:
            raise MissionError(f"no mission {str(mission_id)[:MAX_NAME]!r}") from None

    def missions(self, shift_start: float | None = None) -> list[Mission]:
        found = [m for m in self._missions.values() if shift_start is None or m.shift_start == shift_start]
        return sorted(found, key=lambda m: (m.shift_start, -m.score, m.id))

    # -- creating ---------------------------------------------------------------------------
    def plan_shift(self, shift_start: float, shift_end: float, grid: Grid, scores: np.ndarray, *,
                   actor: str, explain: Callable[..., list] | None = None,
                   district_of: Callable[[float, float], str | None] | None = None,
                   config: PlanConfig = PlanConfig(), reason: str = "forecast") -> PlanResult:
        """Turn a forecast into at most `max_boxes` planned missions for one shift."""
        actor, reason = _text("actor", actor, MAX_NAME), _text("reason", reason, MAX_REASON)
        _window(shift_start, shift_end)
        if any(m.source == "forecast" for m in self.missions(shift_start)):
            raise MissionError("this shift is already planned; suppress or add boxes by hand")
        history, pinned = self._history(shift_start, config.repeat_cap)
        chosen, rested = [], []
        for box in plan_boxes(grid, scores, config):
            if len(chosen) >= config.max_boxes:
                break
            pin = any(inside(*box.centre, m.polygon) for m in pinned)
            if not pin and history and all(_covered(grid, box.cells, shift) for shift in history):
                rested.append(box)
                continue
            chosen.append((box, pin))
        target = config.target_min_per_hour * (shift_end - shift_start) / 3600.0
        created = []
        for k, (box, pin) in enumerate(chosen, start=1):
            district = (district_of(*box.centre) if district_of else None) or ""
            why = box_why(explain, box.cells, config.why_events) if explain else ()
            created.append(Mission(
                id=_new_id(), shift_start=shift_start, shift_end=shift_end,
                label=f"{district} box {k}".strip(), polygon=box.polygon, centre=box.centre,
                created_by=actor, reason=reason, district=district[:MAX_NAME], cells=box.cells,
                score=box.score, why=why, pinned=pin, target_min=target, updated_at=self._clock()))
        for m in created:
            self._save(m)
        self.audit.append(actor, "mission.plan", f"shift@{shift_start:.0f}", {
            "reason": reason, "missions": [m.id for m in created],
            "rested_cells": [list(b.cells) for b in rested], "repeat_cap": config.repeat_cap})
        for m in created:
            self._notify("created", m)
        return PlanResult(created, rested)

    def add_manual(self, shift_start: float, shift_end: float, *, actor: str, reason: str,
                   polygon: Sequence[Sequence[float]] | None = None, cells: Sequence[int] | None = None,
                   grid: Grid | None = None, label: str = "", district: str = "",
                   target_min_per_hour: float = 15.0) -> Mission:
        """An analyst's own box, from a [lat, lon] polygon or from grid cells."""
        actor, reason = _text("actor", actor, MAX_NAME), _text("reason", reason, MAX_REASON)
        label, district = _text("label", label, MAX_NAME, False), _text("district", district, MAX_NAME, False)
        _window(shift_start, shift_end)
        if (polygon is None) == (cells is None):
            raise MissionError("give either a polygon or a list of cells")
        cell_ids: tuple[int, ...] = ()
        if cells is not None:
            if grid is None or not cells or len(cells) > MAX_POINTS or any(
                    isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < grid.n_cells
                    for c in cells):
                raise MissionError("cells must be valid cell numbers of the given grid")
            cell_ids = tuple(sorted({int(c) for c in cells}))
            ring = cells_outline(grid, cell_ids)
        else:
            ring = _polygon(polygon)
        m = Mission(id=_new_id(), shift_start=shift_start, shift_end=shift_end,
                    label=label or "manual box", polygon=ring, centre=_centre(ring), created_by=actor,
                    reason=reason, source="manual", district=district, cells=cell_ids,
                    target_min=target_min_per_hour * (shift_end - shift_start) / 3600.0,
                    updated_at=self._clock())
        self._commit("created", m, actor, "mission.add", {"reason": reason, "polygon": [list(p) for p in ring]})
        return m

    # -- changing ---------------------------------------------------------------------------
    def assign(self, mission_id: str, units: Sequence[str], *, actor: str, reason: str = "") -> Mission:
        """Give the mission to one or more units (replaces the previous list)."""
        if isinstance(units, str) or not isinstance(units, (list, tuple)) or not 1 <= len(units) <= MAX_UNITS:
            raise MissionError(f"assign to 1..{MAX_UNITS} unit ids")
        ids = tuple(dict.fromkeys(_text("unit id", u, MAX_NAME) for u in units))
        m = self.get(mission_id)
        state = "assigned" if m.state in ("planned", "assigned") else m.state
        return self._move(m, state, actor, reason, "mission.assign", units=ids)

    def transition(self, mission_id: str, state: str, *, actor: str, reason: str = "") -> Mission:
        """Move to `state` ("active", "completed", "cancelled", "suppressed"); cancelling and
        suppressing (an analyst refusing a box before it is patrolled) need a reason."""
        if state not in STATES or state in ("planned", "assigned"):
            raise MissionError(f"unknown target state {str(state)[:20]!r} (assign units with assign())")
        return self._move(self.get(mission_id), state, actor, reason, f"mission.{_VERBS[state]}",
                          need_reason=state in ("cancelled", "suppressed"))

    def suppress(self, mission_id: str, *, actor: str, reason: str) -> Mission:
        return self.transition(mission_id, "suppressed", actor=actor, reason=reason)

    def pin(self, mission_id: str, *, actor: str, reason: str, pinned: bool = True) -> Mission:
        """Pinned boxes are exempt from the repeat cap in the following shifts."""
        actor, reason = _text("actor", actor, MAX_NAME), _text("reason", reason, MAX_REASON)
        m = replace(self.get(mission_id), pinned=pinned, updated_at=self._clock())
        self._commit("pinned" if pinned else "unpinned", m, actor,
                     "mission.pin" if pinned else "mission.unpin", {"reason": reason})
        return m

    def set_dosage(self, mission_id: str, minutes: float) -> Mission:
        """Dosage so far (from `dosage.DosageTracker`); not audited, it is a measurement."""
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 <= minutes < 1e7:
            raise MissionError("dosage minutes must be a non-negative number")
        m = replace(self.get(mission_id), dosage_min=float(minutes))
        self._save(m)
        self._notify("dosage", m)
        return m

    # -- internals --------------------------------------------------------------------------
    def _move(self, m: Mission, state: str, actor: str, reason: str, action: str,
              need_reason: bool = False, units: tuple[str, ...] | None = None) -> Mission:
        actor = _text("actor", actor, MAX_NAME)
        reason = _text("reason", reason, MAX_REASON, required=need_reason)
        if state not in TRANSITIONS.get(m.state, set()):
            raise MissionError(f"mission {m.id} is {m.state}; it cannot become {state}")
        new = replace(m, state=state, units=m.units if units is None else units, updated_at=self._clock())
        self._commit(state, new, actor, action, {"reason": reason, "from": m.state, "to": state,
                                                 "units": list(new.units)})
        return new

    def _commit(self, event: str, m: Mission, actor: str, action: str, details: dict) -> None:
        self.audit.append(actor, action, m.id, details)
        self._save(m)
        self._notify(event, m)

    def _save(self, m: Mission) -> None:
        self._db.execute("INSERT OR REPLACE INTO missions VALUES (?,?,?,?,?,?)",
                         (m.id, m.shift_start, m.shift_end, m.state, json.dumps(asdict(m)), m.updated_at))
        self._missions[m.id] = m

    def _notify(self, event: str, m: Mission) -> None:
        for callback in list(self._listeners):
            try:
                callback(event, m)
            except Exception:  # one broken view must not stop the others or the change
                logger.exception("mission listener failed")

    def _history(self, shift_start: float, k: int) -> tuple[list[list[Mission]], list[Mission]]:
        """Patrolled missions of each of the last `k` shifts (empty if fewer), and pins of the last."""
        live = [m for m in self._missions.values()
                if m.shift_start < shift_start and m.state not in ("cancelled", "suppressed")]
        starts = sorted({m.shift_start for m in live}, reverse=True)[:k]
        shifts = [[m for m in live if m.shift_start == s] for s in starts]
        pinned = [m for m in shifts[0] if m.pinned] if shifts else []
        return (shifts if k > 0 and len(shifts) == k else []), pinned


def _covered(grid: Grid, cells: Sequence[int], shift: list[Mission]) -> bool:
    """Every cell centre of the box lies in one of the shift's missions."""
    lon, lat = grid.centres_lonlat()
    return all(any(inside(float(lat[c]), float(lon[c]), m.polygon) for m in shift) for c in cells)


def _window(start: float, end: float) -> None:
    for v in (start, end):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 946684800.0 <= v <= 4102444800.0:
            raise MissionError("shift times must be epoch seconds within 2000..2100")
    if not 0 < end - start <= 86400.0:
        raise MissionError("a shift ends after it starts and lasts at most 24 hours")


def _new_id() -> str:
    return "M-" + uuid.uuid4().hex[:12]


def missions_between(path: str | Path, start: float, end: float) -> list[dict[str, Any]]:
    """Missions whose shift overlaps [start, end), for briefings; read-only, [] without a table."""
    path = Path(path)
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='missions'").fetchone():
            return []
        rows = db.execute("SELECT body FROM missions WHERE shift_start < ? AND shift_end > ? ORDER BY shift_start",
                          (end, start)).fetchall()
    finally:
        db.close()
    out = []
    for (body,) in rows:
        try:
            out.append(Mission.from_dict(json.loads(body)).to_dict())
        except (MissionError, ValueError, KeyError, TypeError):
            continue  # a damaged row is left out of the page, not allowed to stop the briefing
    return out
