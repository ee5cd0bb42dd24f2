"""Real district and post boundaries: loading, validation, fast point lookup and labels.

Feeds often omit an event's district or post, so the wall places it from coordinates.
Boundaries come as GeoJSON or an ESRI polygon shapefile, read in pure Python so the core needs
no GIS stack. A uniform grid keeps lookup cheap for thousands of areas or huge outlines.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import ParseError
from .geo import Point, point_in_polygon, polygon_centroid, ring_area

Ring = tuple[Point, ...]
Polygon = tuple[Ring, ...]
Shape = tuple[Polygon, ...]
BBox = tuple[float, float, float, float]
Edge = tuple[float, float, float, float]

NAME_FIELDS = ("name", "NAME", "Name", "DIST_NAME", "district", "DISTRICT",
               "beat", "BEAT", "post", "POST")
_POLYGON_SHAPE_TYPES = (5, 15, 25)  # Polygon, PolygonZ, PolygonM: x/y come first in all
_GEOGRAPHIC_DATUMS = ("WGS_1984", "WGS84", "WGS 84", "NORTH_AMERICAN_1983", "NAD83")


@dataclass(frozen=True)
class Area:
    """One named region; `label_at` is (lon, lat) and always lies inside `polygon`."""

    name: str
    layer: str
    polygon: Shape
    bbox: BBox
    label_at: Point
    label: str = ""
    properties: dict[str, Any] = field(default_factory=dict, compare=False)


# -- the set and its index -----------------------------------------------------------------
class BoundarySet:
    """Named areas of one layer (districts, posts, beats) with indexed point lookup."""

    def __init__(self, areas: Iterable[Area], layer: str = "district") -> None:
        self.layer = layer
        self.areas: list[Area] = list(areas)
        self._by_name = {a.name: i for i, a in enumerate(self.areas)}
        self._index = GridIndex([a.polygon for a in self.areas])

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.areas]

    def area(self, name: str) -> Area:
        return self.areas[self._by_name[name]]

    def locate(self, lat: float, lon: float) -> str | None:
        """Name of the area holding the point (the first, if areas overlap), or None."""
        k = self._index.find(lon, lat)
        return None if k is None else self.areas[k].name

    def contains(self, name: str, lat: float, lon: float) -> bool:
        """Whether the named area holds the point, through the same index as `locate`."""
        return self._index.inside(self._by_name[name], lon, lat)

    def to_geojson(self, kind: str | None = None) -> dict[str, Any]:
        """FeatureCollection for the map page: kind, name and label_at as [lat, lon]."""
        features = []
        for a in self.areas:
            props = {"kind": kind or a.layer, "name": a.name,
                     "label_at": [a.label_at[1], a.label_at[0]]}
            if a.label and a.label != a.name:
                props["label"] = a.label
            coords = [[[list(p) for p in ring] for ring in poly] for poly in a.polygon]
            features.append({"type": "Feature", "properties": props,
                             "geometry": {"type": "MultiPolygon", "coordinates": coords}})
        return {"type": "FeatureCollection", "features": features}

    @classmethod
    def from_city(cls, city: Any, layer: str = "district") -> "BoundarySet":
        """The demo City's districts or posts, so the app has one code path for both."""
        if layer not in ("district", "post"):
            raise ValueError(f"the demo city has no layer {layer!r}")
        items = [(d.name, d.polygon) for d in city.districts] if layer == "district" else \
            [(p.name, p.polygon) for d in city.districts for p in d.posts]
        return cls([make_area(name, layer, (tuple(_closed(r) for r in poly),))
                    for name, poly in items], layer)


class GridIndex:
    """Uniform grid over shapes, even-odd over all their rings so holes just work.

    A cell no edge of a shape crosses is wholly in or out of it, decided once by its centre;
    elsewhere a point tests only the shape's edges in its grid row (a horizontal slab)."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        edges = [_edges(s) for s in shapes]
        total = sum(len(e) for e in edges)
        boxes = [_bbox_of(s) for s in shapes]
        x0, y0, x1, y1 = zip(*boxes) if boxes else ((0.0,),) * 4
        self._x0, self._y0, self._x1, self._y1 = min(x0), min(y0), max(x1), max(y1)
        w, h = (self._x1 - self._x0) or 1e-9, (self._y1 - self._y0) or 1e-9
        cells = min(250_000, max(16, 4 * len(shapes), total // 8))
        self._nx = max(1, min(2000, round(math.sqrt(cells * w / h))))
        self._ny = max(1, min(2000, round(cells / self._nx)))
        self._dx, self._dy = w / self._nx, h / self._ny
        self._cells: list[list[tuple[int, bool]]] = [[] for _ in range(self._nx * self._ny)]
        self._slabs = [self._add(k, e, boxes[k]) for k, e in enumerate(edges)]

    def _col(self, x: float) -> int:
        return min(self._nx - 1, max(0, int((x - self._x0) / self._dx)))

    def _row(self, y: float) -> int:
        return min(self._ny - 1, max(0, int((y - self._y0) / self._dy)))

    def _add(self, k: int, edges: list[Edge], box: BBox) -> dict[int, list[Edge]]:
        slabs: dict[int, list[Edge]] = {}
        crossed: set[int] = set()
        for e in edges:
            c0, c1 = sorted((self._col(e[0]), self._col(e[2])))
            r0, r1 = sorted((self._row(e[1]), self._row(e[3])))
            for r in range(r0, r1 + 1):
                slabs.setdefault(r, []).append(e)
                crossed.update(range(r * self._nx + c0, r * self._nx + c1 + 1))
        for r in range(self._row(box[1]), self._row(box[3]) + 1):
            cy = self._y0 + (r + 0.5) * self._dy
            for c in range(self._col(box[0]), self._col(box[2]) + 1):
                cell = r * self._nx + c
                if cell in crossed:
                    self._cells[cell].append((k, False))
                elif _crossings(slabs.get(r, ()), self._x0 + (c + 0.5) * self._dx, cy):
                    self._cells[cell].append((k, True))
        return slabs

    def find(self, x: float, y: float) -> int | None:
        """Index of the first shape holding (x, y) = (lon, lat), or None."""
        if not (self._x0 <= x <= self._x1 and self._y0 <= y <= self._y1):
            return None
        r = self._row(y)
        for k, whole in self._cells[r * self._nx + self._col(x)]:
            if whole or _crossings(self._slabs[k].get(r, ()), x, y):
                return k
        return None

    def inside(self, k: int, x: float, y: float) -> bool:
        """Whether shape k holds (x, y), using only the edges in the point's row."""
        if not (self._x0 <= x <= self._x1 and self._y0 <= y <= self._y1):
            return False
        return _crossings(self._slabs[k].get(self._row(y), ()), x, y)


def _crossings(edges: Iterable[Edge], x: float, y: float) -> bool:
    """Even-odd ray cast to the right over the given edges."""
    inside = False
    for x1, y1, x2, y2 in edges:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _edges(shape: Shape) -> list[Edge]:
    out: list[Edge] = []
    for poly in shape:
        for ring in poly:
            out.extend((*ring[i - 1], *ring[i]) for i in range(1, len(ring))
                       if ring[i - 1] != ring[i])
    return out


def _bbox_of(shape: Shape) -> BBox:
    xs = [p[0] for poly in shape for p in poly[0]]
    ys = [p[1] for poly in shape for p in poly[0]]
    return min(xs), min(ys), max(xs), max(ys)


# -- areas and labels ----------------------------------------------------------------------
def make_area(name: str, layer: str, shape: Shape, label: str = "",
              properties: dict[str, Any] | None = None) -> Area:
    """An Area with its bbox and an inside label point computed once."""
    return Area(name, layer, shape, _bbox_of(shape), label_point(shape), label or name,
                dict(properties or {}))


def label_point(shape: Shape) -> Point:
    """Inside the largest part: its centroid if inside, else the middle of the widest
    scanline run between two crossings, which is inside even for C shapes and holes."""
    poly = max(shape, key=lambda p: abs(ring_area(p[0])))
    cx, cy = polygon_centroid(poly)
    if point_in_polygon(cx, cy, poly):
        return cx, cy
    _, y0, _, y1 = _bbox_of((poly,))
    edges = _edges((poly,))
    best: tuple[float, Point] = (-1.0, poly[0][0])
    for y in [cy] + [y0 + (y1 - y0) * (k + 0.5) / 16 for k in range(16)]:
        xs = sorted(ax + (y - ay) * (bx - ax) / (by - ay) for ax, ay, bx, by in edges
                    if (ay > y) != (by > y))
        for a, b in zip(xs[::2], xs[1::2]):
            if b - a > best[0]:
                best = (b - a, ((a + b) / 2, y))
    return best[1]


def _closed(ring: Sequence[Point]) -> Ring:
    pts = tuple((float(x), float(y)) for x, y in ring)
    return pts if pts and pts[0] == pts[-1] else pts + pts[:1]


# -- loading -------------------------------------------------------------------------------
def load_boundaries(path: Path, layer: str = "district", name_field: str | None = None,
                    label_field: str | None = None) -> BoundarySet:
    """Areas from a GeoJSON FeatureCollection or an ESRI polygon shapefile (.shp + .dbf);
    features sharing a name become one area. Raises ParseError naming the file."""
    path = Path(path)
    records = read_shapefile(path) if path.suffix.lower() == ".shp" else _read_geojson(path)
    if not records:
        raise ParseError(str(path), "no polygon features")
    field_name = name_field or next(
        (f for f in NAME_FIELDS if all(f in props for props, _ in records)), None)
    if field_name is None:
        keys = sorted(records[0][0])
        raise ParseError(str(path), f"no name field among {keys}; pass name_field")
    merged: dict[str, tuple[list[Polygon], dict[str, Any]]] = {}
    for props, shape in records:
        value = props.get(field_name)
        if value is None or str(value).strip() == "":
            raise ParseError(str(path), f"a feature has no {field_name!r}")
        name = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        merged.setdefault(name.strip(), ([], props))[0].extend(shape)
    return BoundarySet([make_area(name, layer, tuple(polys),
                                  str(props.get(label_field, name)) if label_field else name,
                                  props) for name, (polys, props) in merged.items()], layer)


def _read_geojson(path: Path) -> list[tuple[dict[str, Any], Shape]]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        doc = json.loads(text) if text.strip() else None
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, or not JSON
        raise ParseError(source, f"not JSON: {exc}") from None
    if not text.strip():
        raise ParseError(source, "empty file")
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise ParseError(source, "not a GeoJSON FeatureCollection")
    out = []
    for n, feat in enumerate(doc["features"]):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        kind = geom.get("type") if isinstance(geom, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, list):
            raise ParseError(source, f"feature {n}: geometry is {kind}, not a polygon")
        polys = [coords] if kind == "Polygon" else coords
        if not polys or not all(isinstance(p, list) and p for p in polys):
            raise ParseError(source, f"feature {n}: a polygon has no rings")
        shape = tuple(tuple(_ring(r, source, f"feature {n}") for r in p) for p in polys)
        props = feat.get("properties")
        out.append((props if isinstance(props, dict) else {}, shape))
    return out


def _ring(points: Any, source: str, where: str) -> Ring:
    """A closed ring of at least 4 points, every one a valid (lon, lat)."""
    try:
        ring = _closed([(p[0], p[1]) for p in points])
    except (TypeError, IndexError, ValueError):
        raise ParseError(source, f"{where}: malformed ring coordinates") from None
    if len(ring) < 4:
        raise ParseError(source, f"{where}: a ring has {len(ring)} points, needs at least 4")
    for lon, lat in ring:
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # NaN fails too
            raise ParseError(source, f"{where}: coordinate ({lon}, {lat}) is not lon/lat "
                                     "in range (projected data is not supported)")
    return ring


# -- shapefiles ----------------------------------------------------------------------------
def read_shapefile(path: Path) -> list[tuple[dict[str, Any], Shape]]:
    """(attributes, shape) per non-null record of a polygon .shp with its .dbf."""
    prj = path.with_suffix(".prj")
    if prj.exists():
        wkt = prj.read_text(errors="replace").upper()
        if "PROJCS" in wkt or not any(d in wkt for d in _GEOGRAPHIC_DATUMS):
            raise ParseError(str(prj), "coordinates are in a projected or non-WGS84 system; "
                                       "reprojection isn't supported, export as WGS84 lon/lat")
    shapes = _read_shp(path)
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        raise ParseError(str(dbf), "missing .dbf attribute file")
    rows = read_dbf(dbf)
    if len(rows) != len(shapes):
        raise ParseError(str(dbf), f"{len(rows)} records but the .shp has {len(shapes)}")
    return [(r, s) for r, s in zip(rows, shapes) if r is not None and s is not None]


def _read_shp(path: Path) -> list[Shape | None]:
    source = str(path)
    data = path.read_bytes() if path.is_file() else b""
    if len(data) < 100 or struct.unpack(">i", data[:4])[0] != 9994:
        raise ParseError(source, "missing, or not an ESRI shapefile (bad header)")
    end = min(len(data), struct.unpack(">i", data[24:28])[0] * 2)
    if struct.unpack("<i", data[32:36])[0] not in _POLYGON_SHAPE_TYPES:
        raise ParseError(source, "not a polygon shapefile")
    out: list[Shape | None] = []
    pos = 100
    try:
        while pos + 8 <= end:
            number, words = struct.unpack(">ii", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + words * 2]
            if len(body) != words * 2 or len(body) < 4:
                raise ParseError(source, f"record {number} is truncated")
            out.append(_shp_polygon(body, source, f"record {number}"))
            pos += 8 + words * 2
    except struct.error:
        raise ParseError(source, "truncated record") from None
    return out


def _shp_polygon(body: bytes, source: str, where: str) -> Shape | None:
    kind = struct.unpack("<i", body[:4])[0]
    if kind == 0:
        return None
    if kind not in _POLYGON_SHAPE_TYPES:
        raise ParseError(source, f"{where}: shape type {kind} is not a polygon")
    n_parts, n_points = struct.unpack("<ii", body[36:44])
    at = 44 + 4 * n_parts
    starts = list(struct.unpack(f"<{n_parts}i", body[44:at])) + [n_points]
    flat = struct.unpack(f"<{2 * n_points}d", body[at:at + 16 * n_points])
    pts = list(zip(flat[::2], flat[1::2]))
    rings = [_ring(pts[a:b], source, where) for a, b in zip(starts, starts[1:])]
    # Outer rings run clockwise in a shapefile, holes counter-clockwise.
    outers = [[r] for r in rings if ring_area(r) <= 0]
    for hole in (r for r in rings if ring_area(r) > 0):
        owner = next((o for o in outers if point_in_polygon(*hole[0], o[:1])), None)
        if owner is None:
            outers.append([hole])
        else:
            owner.append(hole)
    return tuple(tuple(p) for p in outers)


def read_dbf(path: Path) -> list[dict[str, Any] | None]:
    """Attribute rows of a dBASE III file; None for records marked deleted."""
    data = path.read_bytes()
    count, header_len, record_len = struct.unpack("<IHH", data[4:12]) if len(data) >= 32 \
        else (0, 1 << 30, 0)
    if header_len + count * record_len > len(data):
        raise ParseError(str(path), "not a dBASE file, or truncated")
    cpg = path.with_suffix(".cpg")
    encoding = cpg.read_text().strip() if cpg.exists() else "utf-8"
    fields, pos = [], 32
    while pos + 32 <= header_len and data[pos] != 0x0D:
        name = data[pos:pos + 11].split(b"\0")[0].decode("ascii", "replace")
        fields.append((name, chr(data[pos + 11]), data[pos + 16]))
        pos += 32
    rows: list[dict[str, Any] | None] = []
    for i in range(count):
        at, row = header_len + i * record_len, {}
        deleted = data[at:at + 1] == b"*"
        for name, kind, size in fields:
            row[name] = _dbf_value(data[at + 1:at + 1 + size], kind, encoding)
            at += size
        rows.append(None if deleted else row)
    return rows


def _dbf_value(raw: bytes, kind: str, encoding: str) -> Any:
    """Text as text; numbers as int or float (None when blank); logicals as bool."""
    try:
        text = raw.decode(encoding).strip()
    except (UnicodeDecodeError, LookupError):
        text = raw.decode("latin-1").strip()
    if kind in "NF":
        try:
            return float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            return None
    if kind == "L":
        return None if text in ("", "?") else text[:1].upper() in ("T", "Y")
    return text


class Assigner:
    """District and post for events whose feed omits them: a lookup in each set."""

    def __init__(self, districts: BoundarySet, posts: BoundarySet | None = None) -> None:
        self.districts = districts
        self.posts = posts

    def assign(self, lat: float, lon: float) -> tuple[str | None, str | None]:
        """(district, post); either is None where no area holds the point."""
        post = self.posts.locate(lat, lon) if self.posts is not None else None
        return self.districts.locate(lat, lon), post
