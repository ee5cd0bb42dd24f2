"""Geometry helpers: containment, distance, clipping and projection on shapes with known answers."""

from __future__ import annotations

import math
import random

import pytest

from opscenter.geo import (
    EARTH_RADIUS_M,
    LocalProjection,
    PolygonIndex,
    RingMask,
    bbox,
    clip_closer_to,
    clip_half_plane,
    contains,
    haversine_m,
    point_in_multipolygon,
    point_in_polygon,
    point_in_ring,
    polygon_centroid,
    ring_area,
    voronoi_cells,
)

SQUARE = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
HOLE = [(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)]
# An L shape: the square minus its top-right quarter (concave at (5, 5)).
L_SHAPE = [(0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (5.0, 5.0), (5.0, 10.0), (0.0, 10.0)]


def test_point_in_ring_inside_outside_and_concave() -> None:
    assert point_in_ring(5, 5, SQUARE)
    assert not point_in_ring(11, 5, SQUARE)
    assert not point_in_ring(-0.1, 5, SQUARE)
    assert point_in_ring(2, 8, L_SHAPE)
    assert not point_in_ring(8, 8, L_SHAPE)  # the notch
    closed = SQUARE + [SQUARE[0]]
    assert point_in_ring(5, 5, closed) and not point_in_ring(15, 5, closed)


def test_point_in_polygon_respects_holes() -> None:
    donut = [SQUARE, HOLE]
    assert point_in_polygon(2, 2, donut)
    assert not point_in_polygon(5, 5, donut)  # in the hole
    assert not point_in_polygon(20, 20, donut)
    reversed_hole = [SQUARE, list(reversed(HOLE))]  # orientation must not matter
    assert not point_in_polygon(5, 5, reversed_hole)


def test_multipolygon_and_generic_contains() -> None:
    far = [(20.0, 0.0), (30.0, 0.0), (30.0, 10.0), (20.0, 10.0)]
    multi = [[SQUARE, HOLE], [far]]
    assert point_in_multipolygon(25, 5, multi)
    assert point_in_multipolygon(1, 1, multi)
    assert not point_in_multipolygon(5, 5, multi)
    assert not point_in_multipolygon(15, 5, multi)
    assert contains(SQUARE, 1, 1) and contains([SQUARE, HOLE], 1, 1) and contains(multi, 25, 5)
    assert not contains([SQUARE, HOLE], 5, 5)


def test_haversine_known_distances() -> None:
    one_degree = math.pi * EARTH_RADIUS_M / 180
    assert haversine_m(39.0, -76.6, 40.0, -76.6) == pytest.approx(one_degree, rel=1e-9)
    assert haversine_m(0, 0, 90, 0) == pytest.approx(math.pi * EARTH_RADIUS_M / 2, rel=1e-9)
    # London -> Paris is about 343.5 km.
    assert haversine_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_500, rel=0.005)
    assert haversine_m(39.29, -76.61, 39.29, -76.61) == 0.0


def test_area_centroid_and_bbox() -> None:
    assert ring_area(SQUARE) == pytest.approx(100.0)
    assert ring_area(list(reversed(SQUARE))) == pytest.approx(-100.0)
    assert polygon_centroid([SQUARE]) == pytest.approx((5.0, 5.0))
    # Holes pull the centroid away from them.
    off_hole = [(6.0, 1.0), (9.0, 1.0), (9.0, 4.0), (6.0, 4.0)]
    cx, cy = polygon_centroid([SQUARE, off_hole])
    assert cx < 5.0 and cy > 5.0
    assert polygon_centroid([L_SHAPE]) == pytest.approx((25 / 6 + 0.0, 25 / 6), rel=1e-6)
    assert bbox([[SQUARE, HOLE], [[(20.0, -1.0), (21.0, 3.0), (20.5, 4.0)]]]) == (0, -1, 21, 10)


def test_clip_half_plane_square_and_concave() -> None:
    left = clip_half_plane(SQUARE, 1.0, 0.0, 4.0)  # x <= 4
    assert abs(ring_area(left)) == pytest.approx(40.0)
    assert max(x for x, _ in left) == pytest.approx(4.0)
    assert clip_half_plane(SQUARE, 1.0, 0.0, -1.0) == []  # nothing left
    assert abs(ring_area(clip_half_plane(SQUARE, 1.0, 0.0, 99.0))) == pytest.approx(100.0)
    # Cutting the L at y <= 7 keeps 75 - 15 = 60 square units.
    assert abs(ring_area(clip_half_plane(L_SHAPE, 0.0, 1.0, 7.0))) == pytest.approx(60.0)
    # A diagonal cut: x + y <= 10 keeps half the square.
    assert abs(ring_area(clip_half_plane(SQUARE, 1.0, 1.0, 10.0))) == pytest.approx(50.0)


def test_clip_closer_to_and_voronoi_partition() -> None:
    nearer_a = clip_closer_to(SQUARE, (2.0, 5.0), (8.0, 5.0))
    assert abs(ring_area(nearer_a)) == pytest.approx(50.0)
    assert all(x <= 5.0 + 1e-9 for x, _ in nearer_a)
    seeds = [(2.0, 2.0), (8.0, 3.0), (5.0, 8.0), (1.0, 9.0)]
    cells = voronoi_cells(seeds, L_SHAPE)
    assert sum(abs(ring_area(c)) for c in cells if c) == pytest.approx(abs(ring_area(L_SHAPE)))
    rng = random.Random(4)
    for _ in range(300):
        x, y = rng.uniform(0, 10), rng.uniform(0, 10)
        if not point_in_ring(x, y, L_SHAPE):
            continue
        nearest = min(range(len(seeds)), key=lambda i: math.dist(seeds[i], (x, y)))
        owners = [i for i, c in enumerate(cells) if c and point_in_ring(x, y, c)]
        assert owners == [nearest]


def test_local_projection_round_trip_and_scale() -> None:
    proj = LocalProjection(39.29, -76.61)
    x, y = proj.to_xy(-76.55, 39.33)
    lon, lat = proj.to_lonlat(x, y)
    assert (lon, lat) == pytest.approx((-76.55, 39.33), abs=1e-12)
    planar = math.hypot(x, y)
    assert planar == pytest.approx(haversine_m(39.29, -76.61, 39.33, -76.55), rel=0.003)
    assert proj.to_xy(-76.61, 39.29) == (0.0, 0.0)


def test_polygon_index_finds_owner_with_bbox_prefilter() -> None:
    index = PolygonIndex([
        ("donut", [SQUARE, HOLE]),
        ("inner", [HOLE]),
        ("far", [[(20.0, 0.0), (30.0, 0.0), (25.0, 10.0)]]),
    ])
    assert len(index) == 3 and index.names == ["donut", "inner", "far"]
    assert index.find(1, 1) == "donut"
    assert index.find(5, 5) == "inner"
    assert index.find(25, 2) == "far"
    assert index.find(15, 5) is None
    assert index.find_all(5, 5) == ["inner"]


def test_ring_mask_agrees_with_ray_casting() -> None:
    rng = random.Random(9)
    ring = [(math.cos(a) * (1 + 0.4 * math.sin(5 * a)), math.sin(a) * (1 + 0.4 * math.sin(5 * a)))
            for a in (i * 2 * math.pi / 90 for i in range(90))]
    mask = RingMask(ring, cells=16)
    for _ in range(3000):
        x, y = rng.uniform(-1.6, 1.6), rng.uniform(-1.6, 1.6)
        assert mask.contains(x, y) == point_in_ring(x, y, ring)
