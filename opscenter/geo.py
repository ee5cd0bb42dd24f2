"""Plain-Python geometry for the demo city and for placing records on it.

City-scale work (tens of polygons, a few hundred vertices) needs nothing heavier, and the core
stays dependency-light and Qt-free. Planar functions take coordinates in GeoJSON order, (x, y)
= (lon, lat); only `haversine_m` takes latitude first, like the records do.

Shapes: a ring is a sequence of points (a closing point is optional); a polygon is a sequence
of rings, outer first, then holes; a multipolygon is a sequence of polygons.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

Point = tuple[float, float]
Ring = Sequence[Point]
Polygon = Sequence[Ring]
MultiPolygon = Sequence[Polygon]
BBox = tuple[float, float, float, float]

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two (lat, lon) positions."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# -- containment -------------------------------------------------------------------------
def point_in_ring(x: float, y: float, ring: Ring) -> bool:
    """Ray casting (even-odd); points exactly on an edge may go either way."""
    inside = False
    n = len(ring)
    if n < 3:
        return False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
        x1, y1 = x2, y2
    return inside


def point_in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    """Inside the outer ring and in none of the holes."""
    if not polygon or not point_in_ring(x, y, polygon[0]):
        return False
    return not any(point_in_ring(x, y, hole) for hole in polygon[1:])


def point_in_multipolygon(x: float, y: float, multi: MultiPolygon) -> bool:
    return any(point_in_polygon(x, y, polygon) for polygon in multi)


def _depth(geometry: Sequence) -> int:
    """1 for a ring, 2 for a polygon, 3 for a multipolygon (0 for a bare point)."""
    depth, item = 0, geometry
    while isinstance(item, (list, tuple)) and item:
        item = item[0]
        depth += 1
    return depth - 1


def contains(geometry: Sequence, x: float, y: float) -> bool:
    """Containment for a ring, polygon or multipolygon, whichever nesting is given."""
    depth = _depth(geometry)
    if depth == 1:
        return point_in_ring(x, y, geometry)  # type: ignore[arg-type]
    if depth == 2:
        return point_in_polygon(x, y, geometry)  # type: ignore[arg-type]
    if depth == 3:
        return point_in_multipolygon(x, y, geometry)  # type: ignore[arg-type]
    return False


def _points(geometry: Sequence) -> Iterable[Point]:
    if _depth(geometry) <= 1:
        yield from geometry  # type: ignore[misc]
    else:
        for part in geometry:
            yield from _points(part)


def bbox(geometry: Sequence) -> BBox:
    """(min_x, min_y, max_x, max_y) of any ring, polygon or multipolygon."""
    xs, ys = zip(*_points(geometry))
    return min(xs), min(ys), max(xs), max(ys)


# -- area and centroid -------------------------------------------------------------------
def ring_area(ring: Ring) -> float:
    """Signed shoelace area: positive when counter-clockwise."""
    total = 0.0
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        total += x1 * y2 - x2 * y1
        x1, y1 = x2, y2
    return total / 2.0


def _ring_moments(ring: Ring) -> tuple[float, float, float]:
    """(signed area, area * cx, area * cy); shifted to the first vertex for precision."""
    ox, oy = ring[0]
    a = mx = my = 0.0
    x1, y1 = ring[-1][0] - ox, ring[-1][1] - oy
    for px, py in ring:
        x2, y2 = px - ox, py - oy
        cross = x1 * y2 - x2 * y1
        a += cross
        mx += (x1 + x2) * cross
        my += (y1 + y2) * cross
        x1, y1 = x2, y2
    a /= 2.0
    return a, mx / 6.0 + a * ox, my / 6.0 + a * oy


def polygon_centroid(polygon: Polygon) -> Point:
    """Area-weighted centroid with holes subtracted; falls back to the vertex mean."""
    area = mx = my = 0.0
    for i, ring in enumerate(polygon):
        a, ax, ay = _ring_moments(ring)
        # Orientation-free: each ring counts by its absolute area, holes negatively.
        sign = (1.0 if a >= 0 else -1.0) * (1.0 if i == 0 else -1.0)
        area += sign * a
        mx += sign * ax
        my += sign * ay
    if abs(area) < 1e-18:
        xs, ys = zip(*polygon[0])
        return sum(xs) / len(xs), sum(ys) / len(ys)
    return mx / area, my / area


# -- clipping and Voronoi ----------------------------------------------------------------
def clip_half_plane(ring: Ring, a: float, b: float, c: float) -> list[Point]:
    """Sutherland–Hodgman: the part of `ring` where a*x + b*y <= c.

    Works for non-convex rings too; a concave ring cut into pieces comes back as one ring
    joined by zero-width seams along the cut line, which containment and area ignore.
    """
    out: list[Point] = []
    if not ring:
        return out
    px, py = ring[-1]
    p_in = a * px + b * py <= c
    for qx, qy in ring:
        q_in = a * qx + b * qy <= c
        if q_in != p_in:
            dp, dq = a * px + b * py - c, a * qx + b * qy - c
            s = dp / (dp - dq)
            out.append((px + s * (qx - px), py + s * (qy - py)))
        if q_in:
            out.append((qx, qy))
        px, py, p_in = qx, qy, q_in
    return out


def clip_closer_to(ring: Ring, p: Point, q: Point) -> list[Point]:
    """The part of `ring` nearer to p than to q (one Voronoi half-plane)."""
    a, b = 2.0 * (q[0] - p[0]), 2.0 * (q[1] - p[1])
    c = (q[0] ** 2 + q[1] ** 2) - (p[0] ** 2 + p[1] ** 2)
    return clip_half_plane(ring, a, b, c)


def voronoi_cells(seeds: Sequence[Point], boundary: Ring) -> list[list[Point]]:
    """Voronoi cell of each seed inside `boundary` (planar coordinates, e.g. metres)."""
    cells = []
    for i, p in enumerate(seeds):
        cell: list[Point] = list(boundary)
        for j, q in enumerate(seeds):
            if i != j and cell:
                cell = clip_closer_to(cell, p, q)
        cells.append(cell)
    return cells


# -- projection --------------------------------------------------------------------------
class LocalProjection:
    """Equirectangular lon/lat <-> metres around a reference point; fine at city scale."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self.m_per_deg_lon = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        self.m_per_deg_lat = math.radians(1.0) * EARTH_RADIUS_M

    def to_xy(self, lon: float, lat: float) -> Point:
        return (lon - self.lon0) * self.m_per_deg_lon, (lat - self.lat0) * self.m_per_deg_lat

    def to_lonlat(self, x: float, y: float) -> Point:
        return self.lon0 + x / self.m_per_deg_lon, self.lat0 + y / self.m_per_deg_lat

    def ring_to_xy(self, ring: Ring) -> list[Point]:
        return [self.to_xy(lon, lat) for lon, lat in ring]

    def ring_to_lonlat(self, ring: Ring) -> list[Point]:
        return [self.to_lonlat(x, y) for x, y in ring]


# -- lookup ------------------------------------------------------------------------------
class PolygonIndex:
    """Finds which named polygon holds a point; a bbox prefilter keeps it cheap."""

    def __init__(self, items: Iterable[tuple[str, Sequence]]) -> None:
        self._entries = [(name, bbox(geom), geom) for name, geom in items]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._entries]

    def find(self, x: float, y: float) -> str | None:
        """Name of the first polygon containing (x, y) = (lon, lat), or None."""
        for name, (x0, y0, x1, y1), geom in self._entries:
            if x0 <= x <= x1 and y0 <= y <= y1 and contains(geom, x, y):
                return name
        return None

    def find_all(self, x: float, y: float) -> list[str]:
        """Every polygon containing the point; more than one means the shapes overlap."""
        return [
            name for name, (x0, y0, x1, y1), geom in self._entries
            if x0 <= x <= x1 and y0 <= y <= y1 and contains(geom, x, y)
        ]


class RingMask:
    """Fast containment for one ring: a coarse grid answers most points without ray casting.

    Cells touched by an edge's bounding box are 'edge' cells and fall back to the exact test;
    every other cell is wholly inside or outside, decided once by its centre.
    """

    def __init__(self, ring: Ring, cells: int = 48) -> None:
        self.ring = list(ring)
        x0, y0, x1, y1 = bbox(self.ring)
        self._box = (x0, y0, x1, y1)
        self._n = cells
        self._dx = (x1 - x0) / cells or 1.0
        self._dy = (y1 - y0) / cells or 1.0
        state = [[0] * cells for _ in range(cells)]  # 0 unknown, 1 inside, 2 outside, 3 edge
        px, py = self.ring[-1]
        for qx, qy in self.ring:
            i0, i1 = sorted((self._col(px), self._col(qx)))
            j0, j1 = sorted((self._row(py), self._row(qy)))
            for i in range(i0, i1 + 1):
                for j in range(j0, j1 + 1):
                    state[i][j] = 3
            px, py = qx, qy
        for i in range(cells):
            for j in range(cells):
                if state[i][j] == 0:
                    cx, cy = x0 + (i + 0.5) * self._dx, y0 + (j + 0.5) * self._dy
                    state[i][j] = 1 if point_in_ring(cx, cy, self.ring) else 2
        self._state = state

    def _col(self, x: float) -> int:
        return min(self._n - 1, max(0, int((x - self._box[0]) / self._dx)))

    def _row(self, y: float) -> int:
        return min(self._n - 1, max(0, int((y - self._box[1]) / self._dy)))

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self._box
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        n = self._n - 1
        i, j = int((x - x0) / self._dx), int((y - y0) / self._dy)  # both >= 0 here
        state = self._state[i if i < n else n][j if j < n else n]
        if state == 3:
            return point_in_ring(x, y, self.ring)
        return state == 1
