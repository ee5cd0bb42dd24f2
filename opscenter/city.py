"""The demo city: a made-up Baltimore-shaped city with nine districts, posts and streets.

Generated entirely by this module, so the demo and the tests never depend on boundary files.
Districts are Voronoi cells of seeds placed where Baltimore's districts roughly lie, clipped to
an irregular outline; posts are Voronoi cells inside each district, numbered the Baltimore way
(district digit, sector digit, post digit: "111", "112", ...). A fixed seed makes it repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from .geo import (
    LocalProjection,
    Point,
    PolygonIndex,
    RingMask,
    bbox,
    point_in_polygon,
    point_in_ring,
    polygon_centroid,
    ring_area,
    voronoi_cells,
)

Ring = tuple[Point, ...]
PolygonRings = tuple[Ring, ...]

DISTRICT_NAMES = (
    "Central", "Southeastern", "Eastern", "Northeastern", "Northern",
    "Northwestern", "Western", "Southwestern", "Southern",
)
# Where each district's seed sits (lon, lat); the number is the position in DISTRICT_NAMES + 1.
_DISTRICT_SEEDS: dict[str, Point] = {
    "Central": (-76.615, 39.292),
    "Southeastern": (-76.563, 39.281),
    "Eastern": (-76.588, 39.306),
    "Northeastern": (-76.566, 39.342),
    "Northern": (-76.625, 39.347),
    "Northwestern": (-76.681, 39.340),
    "Western": (-76.652, 39.300),
    "Southwestern": (-76.683, 39.278),
    "Southern": (-76.618, 39.247),
}
# Coverage box the demo city must fit in: (min_lon, min_lat, max_lon, max_lat).
BALTIMORE_BBOX = (-76.711, 39.197, -76.529, 39.372)
# Outline corners in counter-clockwise order around _HUB; every one is seen from the hub, so
# the outline is star-shaped about it (the simulator relies on that to keep units inside).
_OUTLINE_CORNERS: tuple[Point, ...] = (
    (-76.7105, 39.3715), (-76.7105, 39.3300), (-76.7100, 39.2775), (-76.6900, 39.2620),
    (-76.6680, 39.2420), (-76.6420, 39.2290), (-76.6280, 39.2090), (-76.6000, 39.1975),
    (-76.5780, 39.2050), (-76.5600, 39.2140), (-76.5475, 39.2125), (-76.5295, 39.2330),
    (-76.5295, 39.3000), (-76.5295, 39.3715), (-76.6000, 39.3715), (-76.6600, 39.3715),
)
_HUB: Point = (-76.620, 39.285)
_STREET_ORIGIN = (39.2895, -76.6155)  # (lat, lon) where the N/S and E/W prefixes switch
_STREET_NAMES = (
    "Ashby", "Belmont", "Calloway", "Dunmore", "Ellery", "Fairmount", "Garrison", "Halsey",
    "Ingram", "Jessup", "Kenwood", "Lanvale", "Merriman", "Norwood", "Oakhurst", "Pemberton",
    "Quarry", "Rosedale", "Sumner", "Tolley", "Upland", "Vickers", "Warrick", "Yardley",
    "Abbott", "Brantley", "Carey", "Delano", "Edgecombe", "Fenwick", "Glenhaven", "Harlow",
    "Irvington", "Jarrett", "Kittering", "Lakeview", "Montclair", "Newhall", "Orchard",
    "Presley", "Radnor", "Shipley", "Thornton", "Upshur", "Vernon", "Whitlock", "Yates",
    "Alder", "Birchwood", "Cedarcroft", "Dorsey", "Elmley", "Fulton", "Greenmount", "Hollins",
    "Ivanhoe", "Juniper", "Kirkwood", "Lombardy", "Mosher", "Oliver", "Preston", "Rutland",
    "Sinclair", "Tilden", "Woodbine", "Wilkens", "Chestnut", "Brookfield", "Ridgely",
    "Linden", "Hanover",
)


@dataclass(frozen=True)
class Post:
    name: str
    district: str
    polygon: PolygonRings


@dataclass(frozen=True)
class District:
    name: str
    number: int
    polygon: PolygonRings
    posts: tuple[Post, ...]


class StreetGrid:
    """A regular grid of named streets, so every point gets a believable block address."""

    def __init__(self, rng: random.Random, spacing_m: float = 200.0) -> None:
        names = list(_STREET_NAMES)
        rng.shuffle(names)
        half = len(names) // 2
        self._ns = tuple(names[:half])
        self._ew = tuple(names[half:])
        self.spacing_m = spacing_m
        self._proj = LocalProjection(*_STREET_ORIGIN)

    def ns_street(self, column: int) -> str:
        if column == 0:
            return "Charles St"
        base = self._ns[column % len(self._ns)]
        return f"{base} {('St', 'Ave', 'Pl')[(column // len(self._ns)) % 3]}"

    def ew_street(self, row: int) -> str:
        if row == 0:
            return "Baltimore St"
        base = self._ew[row % len(self._ew)]
        return f"{base} {('St', 'Rd', 'Ln')[(row // len(self._ew)) % 3]}"

    def address_at(self, lat: float, lon: float) -> str:
        """Block address on whichever street of the grid is nearest."""
        x, y = self._proj.to_xy(lon, lat)
        s = self.spacing_m
        col, row = round(x / s), round(y / s)
        if abs(x - col * s) <= abs(y - row * s):
            block = int(abs(y) // s) * 100
            return f"{block} block of {'N' if y >= 0 else 'S'} {self.ns_street(col)}"
        block = int(abs(x) // s) * 100
        return f"{block} block of {'E' if x >= 0 else 'W'} {self.ew_street(row)}"


class City:
    """Outline, districts, posts and streets, with point lookup and sampling."""

    def __init__(
        self,
        outline: Sequence[Point],
        districts: Sequence[District],
        streets: StreetGrid,
        center: tuple[float, float],
    ) -> None:
        self.outline: Ring = tuple(outline)
        self.districts: tuple[District, ...] = tuple(districts)
        self.streets = streets
        self.center = center  # (lat, lon); the outline is star-shaped about it
        self.bbox = bbox(self.outline)  # (min_lon, min_lat, max_lon, max_lat)
        self.projection = LocalProjection(*center)
        self._mask = RingMask(self.outline)
        self._by_name = {d.name: d for d in self.districts}
        self._district_index = PolygonIndex((d.name, d.polygon) for d in self.districts)
        self._post_index = {
            d.name: PolygonIndex((p.name, p.polygon) for p in d.posts) for d in self.districts
        }
        self._post_centroids = {
            d.name: [(p.name, polygon_centroid(p.polygon)) for p in d.posts]
            for d in self.districts
        }

    def district(self, name: str) -> District:
        return self._by_name[name]

    def district_names(self) -> list[str]:
        return [d.name for d in self.districts]

    def contains(self, lat: float, lon: float) -> bool:
        """Inside the city outline (fast: a grid answers most points)."""
        return self._mask.contains(lon, lat)

    def locate(self, lat: float, lon: float) -> tuple[str, str] | None:
        """(district name, post name) for a point, or None outside every district."""
        name = self._district_index.find(lon, lat)
        if name is None:
            return None
        post = self._post_index[name].find(lon, lat)
        if post is None:  # a rounding seam between posts: take the nearest post centre
            post = min(
                self._post_centroids[name],
                key=lambda item: (item[1][0] - lon) ** 2 + (item[1][1] - lat) ** 2,
            )[0]
        return name, post

    def random_point(self, rng: random.Random, district: str | None = None) -> tuple[float, float]:
        """A uniform (lat, lon) inside the city, or inside one district."""
        if district is None:
            x0, y0, x1, y1 = self.bbox
            test = self._mask.contains
        else:
            polygon = self._by_name[district].polygon
            x0, y0, x1, y1 = bbox(polygon)

            def test(x: float, y: float) -> bool:
                return point_in_polygon(x, y, polygon)

        for _ in range(10_000):
            lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if test(lon, lat):
                return lat, lon
        raise RuntimeError(f"could not sample a point in {district or 'the city'}")

    def address_at(self, lat: float, lon: float) -> str:
        return self.streets.address_at(lat, lon)

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection: districts (kind "district") then posts (kind "post")."""
        features = []
        for d in self.districts:
            features.append(_feature(d.polygon, {"kind": "district", "name": d.name,
                                                  "number": d.number}))
        for d in self.districts:
            for p in d.posts:
                features.append(_feature(p.polygon, {"kind": "post", "name": p.name,
                                                      "district": d.name}))
        return {"type": "FeatureCollection", "features": features}


def _feature(polygon: PolygonRings, properties: dict[str, Any]) -> dict[str, Any]:
    rings = []
    for ring in polygon:
        coords = [[round(lon, 6), round(lat, 6)] for lon, lat in ring]
        coords.append(coords[0])
        rings.append(coords)
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": rings}}


# -- building ----------------------------------------------------------------------------
def _tidy(ring: Sequence[Point]) -> list[Point]:
    """Drop repeated consecutive vertices left behind by clipping."""
    def same(a: Point, b: Point) -> bool:
        return abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9

    out: list[Point] = []
    for p in ring:
        if not out or not same(p, out[-1]):
            out.append(p)
    while len(out) > 1 and same(out[0], out[-1]):
        out.pop()
    return out


def _outline_xy(proj: LocalProjection, rng: random.Random) -> list[Point]:
    """Corners, with edges broken every ~1.2 km and pulled inward a little at random."""
    corners = proj.ring_to_xy(_OUTLINE_CORNERS)
    out: list[Point] = []
    for i, (ax, ay) in enumerate(corners):
        bx, by = corners[(i + 1) % len(corners)]
        out.append((ax, ay))
        pieces = max(1, int(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 // 1200))
        for k in range(1, pieces):
            f = k / pieces
            shrink = 1.0 - rng.uniform(0.0, 0.035)  # radially toward the hub keeps it star-shaped
            out.append(((ax + f * (bx - ax)) * shrink, (ay + f * (by - ay)) * shrink))
    return out


def _spread_seeds(ring: list[Point], count: int, rng: random.Random) -> list[Point]:
    """Well-spread points inside `ring`: a few rounds of k-means over random samples."""
    x0, y0, x1, y1 = bbox(ring)
    samples: list[Point] = []
    while len(samples) < 24 * count:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if point_in_ring(x, y, ring):
            samples.append((x, y))
    seeds = samples[:count]
    for _ in range(8):
        groups: list[list[Point]] = [[] for _ in seeds]
        for x, y in samples:
            best = min(range(len(seeds)),
                       key=lambda i: (seeds[i][0] - x) ** 2 + (seeds[i][1] - y) ** 2)
            groups[best].append((x, y))
        seeds = [
            (sum(p[0] for p in g) / len(g), sum(p[1] for p in g) / len(g)) if g else seeds[i]
            for i, g in enumerate(groups)
        ]
    return seeds


def _build_posts(
    name: str, number: int, ring: list[Point], proj: LocalProjection, rng: random.Random
) -> tuple[Post, ...]:
    seeds = _spread_seeds(ring, rng.randint(4, 6), rng)
    cells = voronoi_cells(seeds, ring)
    order = sorted(range(len(seeds)), key=lambda i: (-seeds[i][1], seeds[i][0]))  # north first
    posts = []
    for rank, i in enumerate(order):
        cell = _tidy(cells[i])
        if len(cell) < 3 or abs(ring_area(cell)) < 1.0:
            continue
        post_name = f"{number}{rank // 3 + 1}{rank % 3 + 1}"
        posts.append(Post(post_name, name, (tuple(proj.ring_to_lonlat(cell)),)))
    return tuple(posts)


def build_demo_city(seed: int = 7) -> City:
    """The demo city; the same seed always yields the same city."""
    rng = random.Random(seed)
    proj = LocalProjection(_HUB[1], _HUB[0])
    outline = _outline_xy(proj, rng)
    seeds = []
    for name in DISTRICT_NAMES:
        x, y = proj.to_xy(*_DISTRICT_SEEDS[name])
        seeds.append((x + rng.uniform(-250, 250), y + rng.uniform(-250, 250)))
    districts = []
    for number, (name, cell) in enumerate(zip(DISTRICT_NAMES, voronoi_cells(seeds, outline)), 1):
        ring = _tidy(cell)
        posts = _build_posts(name, number, ring, proj, rng)
        districts.append(District(name, number, (tuple(proj.ring_to_lonlat(ring)),), posts))
    return City(proj.ring_to_lonlat(outline), districts, StreetGrid(rng), (_HUB[1], _HUB[0]))
