"""Response times per district, from detection to the unit on scene.

Five intervals, each as median and 90th percentile per district (and the city):

* detection → alert shown on the wall (sensor and review delay before anyone can act);
* detection → first 911 call (`compstat.detection_to_call`: what the sensors add over 911);
* alert shown → acknowledged, → dispatched, → on scene (the center's own work).

The last three come from the alert workflow table kept in the same SQLite file as the archive,
joined to the archived detections by alert id. Detections that never reached the workflow
(imported history, alerts from before the workflow existed) are left out of the workflow
intervals rather than counted as slow; an alert that was shown but never acknowledged,
dispatched or attended is counted apart as "without end", never hidden.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .compstat import CITY, UNASSIGNED, Timing, interval_stats
from .domain import CallForService, ShotAlert

SHOWN = "detection → alert shown"
FIRST_CALL = "detection → first 911 call"
ACKNOWLEDGED = "alert → acknowledged"
DISPATCHED = "alert → dispatched"
ON_SCENE = "alert → on scene"
STAGES = (SHOWN, FIRST_CALL, ACKNOWLEDGED, DISPATCHED, ON_SCENE)
_ALERT_ENDS = {ACKNOWLEDGED: "acknowledged_at", DISPATCHED: "dispatched_at", ON_SCENE: "on_scene_at"}

Pair = tuple[str, float, float | None]


def load_workflow(path: str | Path) -> list[dict]:
    """Every row of the `alert_workflow` table as a dict; [] when the file or the table does not
    exist (an archive filled only by imports has no workflow yet). Opened read-only so a
    briefing never changes the wall's database."""
    path = Path(path)
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alert_workflow'").fetchone()
        if not found:
            return []
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM alert_workflow")]
    finally:
        db.close()


def dispositions(workflow: Iterable[Mapping]) -> dict[str, str]:
    """alert id -> disposition for closed alerts, the input of `compstat.alert_outcomes`
    (alerts with a NULL disposition are still open and left out, so they count as open).
    An unknown word is passed on: `alert_outcomes` refuses it rather than guessing."""
    return {str(row["alert_id"]): str(row["disposition"]) for row in workflow
            if row.get("disposition") is not None}


def _area(shot: ShotAlert, by: str) -> str:
    return getattr(shot, by) or UNASSIGNED


def _time(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def stage_pairs(shots: Sequence[ShotAlert], calls: Sequence[CallForService],
                workflow: Iterable[Mapping], by: str = "district") -> dict[str, list[Pair]]:
    """(area, start, end or None) per stage, for the given detections only."""
    rows = {str(r["alert_id"]): r for r in workflow}
    first_call: dict[str, float] = {}
    for c in calls:
        if c.shot_id and (c.shot_id not in first_call or c.received_at < first_call[c.shot_id]):
            first_call[c.shot_id] = c.received_at
    out: dict[str, list[Pair]] = {stage: [] for stage in STAGES}
    for shot in shots:
        area = _area(shot, by)
        out[FIRST_CALL].append((area, shot.detected_at, first_call.get(shot.id)))
        row = rows.get(shot.id)
        if row is None:
            continue
        shown = _time(row.get("shown_at"))
        out[SHOWN].append((area, shot.detected_at, shown))
        if shown is None:
            continue
        for stage, column in _ALERT_ENDS.items():
            out[stage].append((area, shown, _time(row.get(column))))
    return out


def response_table(shots: Sequence[ShotAlert], calls: Sequence[CallForService],
                   workflow: Iterable[Mapping], by: str = "district") -> dict[str, list[Timing]]:
    """Median / p90 / count / without end per area (then the city) for every stage."""
    pairs = stage_pairs(shots, calls, list(workflow), by)
    return {stage: interval_stats(pairs[stage]) if pairs[stage] else [] for stage in STAGES}


def stage_seconds(pairs: Mapping[str, Sequence[Pair]], area: str | None = None) -> dict[str, list[float]]:
    """The intervals in seconds per stage (for distribution charts), city-wide or one area;
    intervals without an end are not durations and are left out."""
    return {stage: [end - start for a, start, end in items
                    if end is not None and (area is None or area == CITY or a == area)]
            for stage, items in pairs.items()}


def restrict(table: Mapping[str, Sequence[Timing]], area: str) -> dict[str, list[Timing]]:
    """Only one area's rows and the city total of each stage."""
    return {stage: [t for t in rows if t.area in (area, CITY)] for stage, rows in table.items()}


def table_rows(table: Mapping[str, Sequence[Timing]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (stage, area, count, median s, p90 s, without end) for CSV and PDF."""
    header = ["stage", "area", "count", "median seconds", "p90 seconds", "without end"]
    rows = []
    for stage, timings in table.items():
        for t in timings:
            rows.append([stage, t.area, str(t.count),
                         "" if t.median is None else f"{t.median:.0f}",
                         "" if t.p90 is None else f"{t.p90:.0f}", str(t.without_end)])
    return header, rows

