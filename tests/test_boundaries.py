"""Boundary loading and lookup on Baltimore's real district files, shapefiles and bad input."""

from __future__ import annotations

import csv
import json
import random
import struct
import time
from pathlib import Path

import pytest

from opscenter.boundaries import Assigner, BoundarySet, load_boundaries, make_area
from opscenter.city import build_demo_city
from opscenter.errors import ParseError
from opscenter.geo import PolygonIndex, point_in_multipolygon, point_in_polygon
from tests.conftest import SHARED_DATA

BALTIMORE = SHARED_DATA / "baltimore"
DISTRICT_FILES = ("bpd_police_districts_1959-2022.geojson", "bpd_police_districts_2023.geojson")
DISTRICT_NAMES = {"Central", "Southeastern", "Eastern", "Northeastern", "Northern",
                  "Northwestern", "Western", "Southwestern", "Southern"}


# -- real Baltimore data -------------------------------------------------------------------
@pytest.fixture(scope="module")
def baltimore() -> dict[str, BoundarySet]:
    """Both district files, loaded once (the 2023 one with its abbreviations as labels)."""
    return {DISTRICT_FILES[0]: load_boundaries(BALTIMORE / DISTRICT_FILES[0]),
            DISTRICT_FILES[1]: load_boundaries(BALTIMORE / DISTRICT_FILES[1],
                                               label_field="name_abb")}


@pytest.mark.parametrize("filename", DISTRICT_FILES)
def test_baltimore_district_files_load(baltimore, filename):
    districts = baltimore[filename]
    assert len(districts.areas) == 9
    assert set(districts.names) == DISTRICT_NAMES
    for area in districts.areas:
        x0, y0, x1, y1 = area.bbox
        assert -76.72 <= x0 < x1 <= -76.52 and 39.19 <= y0 < y1 <= 39.38, area.name
        assert area.layer == "district"
        assert point_in_multipolygon(*area.label_at, area.polygon), area.name
        assert districts.locate(area.label_at[1], area.label_at[0]) == area.name


def test_2023_file_label_field_and_geojson_for_the_map(baltimore):
    districts = baltimore[DISTRICT_FILES[1]]
    assert districts.area("Southeastern").label == "SED"
    collection = districts.to_geojson()
    assert len(collection["features"]) == 9
    props = collection["features"][0]["properties"]
    assert props["kind"] == "district" and props["name"] == "Central"
    json.dumps(collection)  # plain data, ready for the map page


def _arrest_district(raw: str) -> str:
    """The arrests file writes 'Northeast' where the boundaries say 'Northeastern'."""
    name = raw.strip().title()
    return name + "ern" if name.endswith(("east", "west")) else name


def test_geocoded_2017_arrests_fall_in_their_district(baltimore):
    districts = baltimore[DISTRICT_FILES[0]]
    rows = []
    with open(BALTIMORE / "bpd_arrests_2017-2018_openbaltimore.csv", newline="",
              encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["ArrestDate"].endswith("/2017") and row["District"].strip() \
                    and row["Latitude"].strip() and row["Longitude"].strip():
                rows.append((_arrest_district(row["District"]),
                             float(row["Latitude"]), float(row["Longitude"])))
    assert {name for name, _, _ in rows} == DISTRICT_NAMES
    sample = random.Random(2017).sample(rows, 3000)
    inside = sum(districts.contains(name, lat, lon) for name, lat, lon in sample)
    located = sum(districts.locate(lat, lon) == name for name, lat, lon in sample)
    print(f"\n2017 arrests: {inside}/3000 inside their district, {located}/3000 located there")
    assert inside >= 0.98 * 3000
    assert located >= 0.98 * 3000


@pytest.mark.parametrize("filename", DISTRICT_FILES)
def test_index_agrees_with_exact_test_on_real_districts(baltimore, filename):
    districts = baltimore[filename]
    rng = random.Random(5)
    for _ in range(250):
        lon, lat = rng.uniform(-76.72, -76.52), rng.uniform(39.19, 39.38)
        exact = [a.name for a in districts.areas
                 if a.bbox[0] <= lon <= a.bbox[2] and a.bbox[1] <= lat <= a.bbox[3]
                 and point_in_multipolygon(lon, lat, a.polygon)]
        assert districts.locate(lat, lon) == (exact[0] if exact else None)


# -- shapefiles ----------------------------------------------------------------------------
def _write_shapefile(base: Path, records: list[tuple[str, list[list[tuple[float, float]]]]],
                     prj: str | None = None) -> Path:
    """Minimal polygon .shp/.shx/.dbf writer: one NAME field, rings as given."""
    bodies = []
    for _, rings in records:
        pts = [p for ring in rings for p in ring]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        starts = [sum(len(r) for r in rings[:i]) for i in range(len(rings))]
        body = struct.pack("<i4d2i", 5, min(xs), min(ys), max(xs), max(ys), len(rings), len(pts))
        body += struct.pack(f"<{len(starts)}i", *starts)
        body += b"".join(struct.pack("<2d", *p) for p in pts)
        bodies.append(body)

    def header(length_bytes: int) -> bytes:
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2)
                + struct.pack("<2i", 1000, 5) + struct.pack("<8d", *([0.0] * 8)))

    shp, shx, offset = b"", b"", 100
    for n, body in enumerate(bodies, start=1):
        shx += struct.pack(">2i", offset // 2, len(body) // 2)
        shp += struct.pack(">2i", n, len(body) // 2) + body
        offset += 8 + len(body)
    base.with_suffix(".shp").write_bytes(header(100 + len(shp)) + shp)
    base.with_suffix(".shx").write_bytes(header(100 + len(shx)) + shx)
    dbf = struct.pack("<4BIHH20x", 3, 124, 1, 1, len(records), 65, 21)
    dbf += struct.pack("<11sc4xBB14x", b"NAME", b"C", 20, 0) + b"\r"
    dbf += b"".join(b" " + name.encode().ljust(20) for name, _ in records) + b"\x1a"
    base.with_suffix(".dbf").write_bytes(dbf)
    if prj is not None:
        base.with_suffix(".prj").write_text(prj)
    return base.with_suffix(".shp")


def _square(x0: float, y0: float, size: float, clockwise: bool) -> list[tuple[float, float]]:
    ring = [(x0, y0), (x0, y0 + size), (x0 + size, y0 + size), (x0 + size, y0), (x0, y0)]
    return ring if clockwise else ring[::-1]


SHAPE_RECORDS = [
    ("Donut", [_square(-76.70, 39.20, 0.10, True), _square(-76.67, 39.23, 0.04, False)]),
    ("Islands", [_square(-76.55, 39.20, 0.02, True), _square(-76.55, 39.30, 0.02, True)]),
]


def test_shapefile_round_trip(tmp_path):
    path = _write_shapefile(tmp_path / "beats", SHAPE_RECORDS,
                            prj='GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]')
    beats = load_boundaries(path, layer="beat")
    assert beats.names == ["Donut", "Islands"]
    donut, islands = beats.areas
    assert len(donut.polygon) == 1 and len(donut.polygon[0]) == 2  # one outer ring, one hole
    assert len(islands.polygon) == 2
    assert donut.bbox == pytest.approx((-76.70, 39.20, -76.60, 39.30))
    assert beats.locate(39.21, -76.69) == "Donut"
    assert beats.locate(39.25, -76.65) is None  # in the hole
    assert beats.locate(39.31, -76.54) == "Islands"
    assert beats.locate(39.25, -76.54) is None  # between the islands
    assert point_in_polygon(*donut.label_at, donut.polygon[0])


def test_shapefile_with_projected_crs_is_refused(tmp_path):
    path = _write_shapefile(tmp_path / "beats", SHAPE_RECORDS,
                            prj='PROJCS["NAD_1983_StatePlane_Maryland_FIPS_1900",GEOGCS[]]')
    with pytest.raises(ParseError, match="reprojection") as info:
        load_boundaries(path)
    assert info.value.source.endswith("beats.prj")


def test_broken_shapefiles_are_parse_errors(tmp_path):
    path = _write_shapefile(tmp_path / "beats", SHAPE_RECORDS)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 40])
    with pytest.raises(ParseError, match="beats.shp"):
        load_boundaries(path)
    path.write_bytes(b"not a shapefile at all" * 10)
    with pytest.raises(ParseError, match="beats.shp"):
        load_boundaries(path)
    path.write_bytes(data)
    path.with_suffix(".dbf").unlink()
    with pytest.raises(ParseError, match="beats.dbf"):
        load_boundaries(path)


# -- geometry ------------------------------------------------------------------------------
def _write_json(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _feature(name: str, kind: str, coords) -> dict:
    return {"type": "Feature", "properties": {"DIST_NAME": name},
            "geometry": {"type": kind, "coordinates": coords}}


def test_holes_and_multipolygons(tmp_path):
    outer = [[0, 0], [10, 0], [10, 10], [0, 10]]  # left open on purpose: the loader closes it
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    path = _write_json(tmp_path / "b.geojson", [
        _feature("Ring", "Polygon", [outer, hole]),
        _feature("Pair", "MultiPolygon", [[[[20, 0], [22, 0], [22, 2], [20, 0]]],
                                          [[[30, 0], [32, 0], [32, 2], [30, 2], [30, 0]]]]),
    ])
    shapes = load_boundaries(path, layer="post")
    assert shapes.area("Ring").polygon[0][0][-1] == (0.0, 0.0)
    assert shapes.locate(1, 1) == "Ring"
    assert shapes.locate(5, 5) is None
    assert shapes.locate(0.5, 21.5) == "Pair" and shapes.locate(1, 31) == "Pair"
    assert shapes.locate(1, 25) is None and shapes.locate(1.5, 20.2) is None
    assert {f["properties"]["kind"] for f in shapes.to_geojson()["features"]} == {"post"}
    assert not point_in_multipolygon(*shapes.area("Ring").label_at, [[hole]])


def test_label_inside_c_shape():
    c_shape = ((((0.0, 0.0), (10.0, 0.0), (10.0, 3.0), (3.0, 3.0), (3.0, 7.0), (10.0, 7.0),
                 (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)),),)
    area = make_area("C", "district", c_shape)
    assert point_in_multipolygon(*area.label_at, c_shape)
    assert not point_in_polygon(4.42, 5.0, c_shape[0])  # where the centroid lies


@pytest.mark.parametrize("content, reason", [
    ("", "empty"),
    ("hello, not json", "not JSON"),
    ('{"type": "Point", "coordinates": [1, 2]}', "FeatureCollection"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature("x", "Polygon", [[[1, 1], [2, 2]]])]}), "at least 4"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature("x", "Polygon", [[[1, 1], [2, 95], [3, 1], [1, 1]]])]}), "range"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature("x", "Polygon", [[[200, 1], [2, 5], [3, 1], [200, 1]]])]}), "range"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature("x", "LineString", [[1, 1], [2, 2]])]}), "not a polygon"),
])
def test_bad_input_is_a_parse_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad_districts.geojson"
    path.write_text(content)
    with pytest.raises(ParseError, match=reason) as info:
        load_boundaries(path)
    assert info.value.source == str(path)
    assert "bad_districts.geojson" in str(info.value)


def test_missing_name_field_is_reported(tmp_path):
    path = _write_json(tmp_path / "n.geojson", [
        {"type": "Feature", "properties": {"code": 1},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}])
    with pytest.raises(ParseError, match="name_field"):
        load_boundaries(path)
    assert load_boundaries(path, name_field="code").names == ["1"]


# -- the demo city adapter -----------------------------------------------------------------
def test_from_city_assigns_like_the_city():
    city = build_demo_city()
    assigner = Assigner(BoundarySet.from_city(city), BoundarySet.from_city(city, "post"))
    rng = random.Random(3)
    for _ in range(500):
        lat, lon = city.random_point(rng)
        assert assigner.assign(lat, lon) == city.locate(lat, lon)
    assert assigner.assign(0.0, 0.0) == (None, None)
    assert Assigner(BoundarySet.from_city(city)).assign(*city.center)[1] is None


# -- speed ---------------------------------------------------------------------------------
def test_grid_index_beats_a_linear_scan():
    size, cols, rows = 0.004, 50, 40  # 2,000 beats of about 350 m
    beats = []
    for i in range(cols):
        for j in range(rows):
            x, y = -76.72 + i * size, 39.19 + j * size
            ring = ((x, y), (x + size, y), (x + size, y + size / 2), (x + size / 2, y + size),
                    (x, y + size), (x, y))
            beats.append(make_area(f"{i:02d}{j:02d}", "beat", ((ring,),)))
    started = time.perf_counter()
    indexed = BoundarySet(beats, "beat")
    build_s = time.perf_counter() - started
    linear = PolygonIndex((a.name, a.polygon) for a in beats)
    rng = random.Random(11)
    points = [(rng.uniform(39.18, 39.36), rng.uniform(-76.73, -76.51)) for _ in range(10_000)]

    started = time.perf_counter()
    found_linear = [linear.find(lon, lat) for lat, lon in points]
    linear_s = time.perf_counter() - started
    started = time.perf_counter()
    found_indexed = [indexed.locate(lat, lon) for lat, lon in points]
    indexed_s = time.perf_counter() - started

    assert found_indexed == found_linear
    assert sum(name is not None for name in found_indexed) > 5000
    print(f"\n2,000 beats, 10,000 points: linear scan {linear_s * 1000:.0f} ms, "
          f"grid index {indexed_s * 1000:.0f} ms ({linear_s / indexed_s:.0f}x), "
          f"index built in {build_s * 1000:.0f} ms")
    assert linear_s >= 5 * indexed_s
