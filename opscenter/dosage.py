"""Patrol dosage: how long units actually spent inside each mission box, from AVL fixes.

Time between two consecutive fixes of a unit is credited to a box only when both fixes are
inside it and the gap is at most `max_gap_s`: a longer gap means the unit may have been stale
or gone, and guessing would inflate the figure commanders judge the plan by. Fixes older than
the unit's last one are ignored (AVL feeds reorder). Credit goes to the mission the unit is
assigned to, or to every box it is in when `any_unit` is set (e.g. to count all presence).

Target: `target_min_per_hour` minutes per hour of the mission window; 15 follows Koper (1995),
whose stops of 10-15 minutes gave the longest residual deterrence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .domain import Unit
from .geo import point_in_ring

LatLon = tuple[float, float]
DEFAULT_MAX_GAP_S = 300.0
DEFAULT_TARGET_MIN_PER_HOUR = 15.0


@dataclass(frozen=True)
class DosageBox:
    """A mission's area, its units and its window (start/end None: no clipping)."""

    mission_id: str
    polygon: tuple[LatLon, ...]
    units: frozenset[str] = frozenset()
    start: float | None = None
    end: float | None = None

    @classmethod
    def from_mission(cls, mission: object) -> "DosageBox":
        """From a `missions.Mission` (or anything with the same fields)."""
        return cls(mission.id, tuple(mission.polygon), frozenset(mission.units),  # type: ignore[attr-defined]
                   mission.shift_start, mission.shift_end)  # type: ignore[attr-defined]


@dataclass
class MissionDosage:
    """Minutes in the box so far, per unit, number of visits, and against the target."""

    mission_id: str
    minutes: float = 0.0
    unit_minutes: dict[str, float] = field(default_factory=dict)
    visits: int = 0
    target_min: float = 0.0

    @property
    def percent(self) -> float:
        return 100.0 * self.minutes / self.target_min if self.target_min > 0 else 0.0

    def to_dict(self) -> dict:
        return {"mission_id": self.mission_id, "minutes": round(self.minutes, 2),
                "unit_minutes": {k: round(v, 2) for k, v in sorted(self.unit_minutes.items())},
                "visits": self.visits, "target_min": round(self.target_min, 2),
                "percent": round(self.percent, 1)}


class _Area:
    """A box with its bounding box, so most fixes are rejected by four comparisons."""

    __slots__ = ("box", "ring", "south", "north", "west", "east")

    def __init__(self, box: DosageBox) -> None:
        if len(box.polygon) < 3:
            raise ValueError(f"mission {box.mission_id}: a box needs at least 3 points")
        self.box = box
        self.ring = list(box.polygon)
        lats = [p[0] for p in self.ring]
        lons = [p[1] for p in self.ring]
        self.south, self.north, self.west, self.east = min(lats), max(lats), min(lons), max(lons)

    def contains(self, lat: float, lon: float) -> bool:
        if not (self.south <= lat <= self.north and self.west <= lon <= self.east):
            return False
        return point_in_ring(lat, lon, self.ring)  # ray casting does not care which axis is which


class DosageTracker:
    """Feed it unit fixes in any order; read per-mission dosage at any time."""

    def __init__(self, boxes: Iterable[DosageBox], *, max_gap_s: float = DEFAULT_MAX_GAP_S,
                 any_unit: bool = False,
                 target_min_per_hour: float = DEFAULT_TARGET_MIN_PER_HOUR) -> None:
        if not max_gap_s > 0 or not math.isfinite(max_gap_s):
            raise ValueError("max_gap_s must be a positive number of seconds")
        self.max_gap_s = float(max_gap_s)
        self.any_unit = any_unit
        self._areas = [_Area(b) for b in boxes]
        self._last: dict[str, tuple[float, frozenset[int]]] = {}
        self._results = {}
        for a in self._areas:
            hours = (a.box.end - a.box.start) / 3600.0 if a.box.start is not None and a.box.end is not None else 0.0
            self._results[a.box.mission_id] = MissionDosage(a.box.mission_id,
                                                            target_min=max(0.0, hours) * target_min_per_hour)
        self.ignored = 0  # out-of-order or duplicate fixes

    def _eligible(self, unit_id: str, area: _Area) -> bool:
        return self.any_unit or unit_id in area.box.units

    def add(self, unit: Unit) -> None:
        """One AVL fix. Older than (or as old as) the unit's last fix: ignored."""
        t, lat, lon = unit.reported_at, unit.lat, unit.lon
        if not (math.isfinite(t) and math.isfinite(lat) and math.isfinite(lon)):
            self.ignored += 1
            return
        previous = self._last.get(unit.id)
        if previous is not None and t <= previous[0]:
            self.ignored += 1
            return
        now_in = frozenset(i for i, a in enumerate(self._areas)
                           if self._eligible(unit.id, a) and a.contains(lat, lon))
        self._last[unit.id] = (t, now_in)
        for i in now_in:
            area = self._areas[i]
            result = self._results[area.box.mission_id]
            gap_ok = previous is not None and t - previous[0] <= self.max_gap_s
            if gap_ok and i in previous[1]:
                seconds = _clip(previous[0], t, area.box.start, area.box.end)
                if seconds > 0:
                    result.minutes += seconds / 60.0
                    result.unit_minutes[unit.id] = result.unit_minutes.get(unit.id, 0.0) + seconds / 60.0
            else:
                result.visits += 1  # entered, or back after a gap too long to vouch for

    def extend(self, units: Iterable[Unit]) -> None:
        for unit in units:
            self.add(unit)

    def report(self) -> dict[str, MissionDosage]:
        """Dosage per mission id (live objects; copy before keeping)."""
        return self._results


def dosage_for(boxes: Sequence[DosageBox], fixes: Iterable[Unit], **options: object) -> dict[str, MissionDosage]:
    """One-shot: dosage of `boxes` from a finished track (fixes sorted here by time)."""
    tracker = DosageTracker(boxes, **options)  # type: ignore[arg-type]
    tracker.extend(sorted(fixes, key=lambda u: u.reported_at))
    return tracker.report()


def _clip(t0: float, t1: float, start: float | None, end: float | None) -> float:
    lo = t0 if start is None else max(t0, start)
    hi = t1 if end is None else min(t1, end)
    return max(0.0, hi - lo)
