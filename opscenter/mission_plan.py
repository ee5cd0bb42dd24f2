"""From forecast scores to patrol boxes: which cells, merged how, and why each box was chosen.

Pure geometry and ranking; `missions.MissionBook` decides which boxes a shift gets (repeat cap,
pins) and records the decision. Coordinates are (lat, lon); polygons are open rings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import OpsCenterError
from .forecast.grid import Grid
from .geo import polygon_centroid

LatLon = tuple[float, float]


class MissionError(OpsCenterError):
    """A mission change that is not allowed (bad input, missing reason, illegal transition)."""


def _centre(polygon: Sequence[LatLon]) -> LatLon:
    lat, lon = polygon_centroid([list(polygon)])
    return float(lat), float(lon)


@dataclass(frozen=True)
class PlanConfig:
    """How a forecast becomes boxes. 15 min per hour follows Koper's (1995) stop-length finding."""

    max_boxes: int = 5
    max_box_cells: int = 4
    merge: bool = True
    candidate_cells: int | None = None  # default: enough for twice max_boxes full boxes
    repeat_cap: int = 3
    why_events: int = 3
    target_min_per_hour: float = 15.0


@dataclass(frozen=True)
class BoxPlan:
    """A candidate box: its cells, outline and summed score."""

    cells: tuple[int, ...]
    polygon: tuple[LatLon, ...]
    centre: LatLon
    score: float


def plan_boxes(grid: Grid, scores: np.ndarray, config: PlanConfig = PlanConfig()) -> list[BoxPlan]:
    """Candidate boxes, best first: seeds in score order grow over adjacent flagged cells."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (grid.n_cells,):
        raise MissionError(f"scores must have one value per cell ({grid.n_cells})")
    size = max(1, config.max_box_cells) if config.merge else 1
    n = config.candidate_cells or 2 * config.max_boxes * size
    order = [int(c) for c in np.argsort(-scores, kind="stable")[:n] if scores[c] > 0]
    rows, cols = grid.cell_rc()
    at = {(int(rows[c]), int(cols[c])): c for c in order}
    taken: set[int] = set()
    boxes = []
    for seed in order:
        if seed in taken:
            continue
        box, frontier = [seed], set()
        taken.add(seed)
        while len(box) < size:
            r, c = int(rows[box[-1]]), int(cols[box[-1]])
            frontier |= {at[k] for k in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)) if k in at}
            frontier -= taken
            if not frontier:
                break
            best = max(frontier, key=lambda k: (scores[k], -k))
            box.append(best)
            taken.add(best)
        polygon = cells_outline(grid, box)
        boxes.append(BoxPlan(tuple(sorted(box)), polygon, _centre(polygon), float(scores[box].sum())))
    return sorted(boxes, key=lambda b: -b.score)


def cells_outline(grid: Grid, cells: Iterable[int]) -> tuple[LatLon, ...]:
    """Outer boundary of a set of cells as a (lat, lon) ring (holes filled)."""
    rows, cols = grid.cell_rc()
    edges: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for cell in cells:
        r, c = int(rows[cell]), int(cols[cell])
        corners = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]
        for a, b in zip(corners, corners[1:] + corners[:1]):
            if (b, a) in edges:
                edges.discard((b, a))  # shared with a neighbour: inside the box
            else:
                edges.add((a, b))
    nxt: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for a, b in sorted(edges):
        nxt.setdefault(a, []).append(b)
    rings = []
    while nxt:
        start = min(nxt)
        ring, v = [start], start
        while True:
            w = nxt[v].pop()
            if not nxt[v]:
                del nxt[v]
            if w == start:
                break
            ring.append(w)
            v = w
        rings.append(ring)
    ring = max(rings, key=lambda r: abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(r, r[1:] + r[:1]))))
    ring = [p for i, p in enumerate(ring)  # drop corners on a straight edge
            if (ring[i - 1][0] - p[0]) * (ring[(i + 1) % len(ring)][1] - p[1])
            != (ring[i - 1][1] - p[1]) * (ring[(i + 1) % len(ring)][0] - p[0])]
    xs = grid.x0 + np.array([p[0] for p in ring], float) * grid.cell
    ys = grid.y0 + np.array([p[1] for p in ring], float) * grid.cell
    lon, lat = grid.projection.to_lonlat(xs, ys)
    return tuple(zip(lat.tolist(), lon.tolist()))


def box_why(explain: Callable[..., list], cells: Iterable[int], limit: int = 3) -> tuple[dict, ...]:
    """The events that weigh most across a box's cells, with their share of its score."""
    weights: dict[str, float] = {}
    info: dict[str, Any] = {}
    total = 0.0
    for cell in cells:
        for c in explain(int(cell)):
            total += c.weight
            if c.event_id is None or not math.isfinite(c.weight):
                continue
            weights[c.event_id] = weights.get(c.event_id, 0.0) + c.weight
            info.setdefault(c.event_id, c)
    top = sorted(weights, key=lambda k: -weights[k])[:limit]
    return tuple({"event_id": k, "when": info[k].when, "lat": info[k].lat, "lon": info[k].lon,
                  "age_days": round(info[k].age_days, 2), "component": info[k].component,
                  "share": round(weights[k] / total, 4) if total > 0 else 0.0} for k in top)


# -- the book -------------------------------------------------------------------------------------
