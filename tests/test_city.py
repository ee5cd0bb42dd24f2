"""The generated demo city: names, numbering, coverage without overlap, addresses, GeoJSON."""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from opscenter.city import BALTIMORE_BBOX, DISTRICT_NAMES, City, build_demo_city
from opscenter.geo import PolygonIndex, point_in_polygon, polygon_centroid, ring_area

EXPECTED = ["Central", "Southeastern", "Eastern", "Northeastern", "Northern", "Northwestern",
            "Western", "Southwestern", "Southern"]


@pytest.fixture(scope="module")
def city() -> City:
    return build_demo_city()


def test_nine_districts_with_exact_names_and_numbers(city: City) -> None:
    assert [d.name for d in city.districts] == EXPECTED
    assert list(DISTRICT_NAMES) == EXPECTED
    assert city.district_names() == EXPECTED
    assert [d.number for d in city.districts] == list(range(1, 10))


def test_posts_are_numbered_by_district_and_sit_inside_it(city: City) -> None:
    for d in city.districts:
        assert 4 <= len(d.posts) <= 6, d.name
        names = [p.name for p in d.posts]
        assert len(set(names)) == len(names)
        for post in d.posts:
            assert re.fullmatch(rf"{d.number}[1-9][1-9]", post.name), post.name
            assert post.district == d.name
            assert abs(ring_area(post.polygon[0])) > 0
            lon, lat = polygon_centroid(post.polygon)
            assert point_in_polygon(lon, lat, d.polygon), (d.name, post.name)


@pytest.mark.parametrize("seed", [1, 2, 3, 99])
def test_other_seeds_also_keep_post_centroids_in_their_district(seed: int) -> None:
    other = build_demo_city(seed)
    for d in other.districts:
        for post in d.posts:
            assert point_in_polygon(*polygon_centroid(post.polygon), d.polygon)


def test_random_points_are_located_and_districts_do_not_overlap(city: City) -> None:
    rng = random.Random(2024)
    districts = PolygonIndex((d.name, d.polygon) for d in city.districts)
    located = 0
    for _ in range(2000):
        lat, lon = city.random_point(rng)
        assert city.contains(lat, lon)
        where = city.locate(lat, lon)
        if where is not None:
            located += 1
            name, post = where
            assert post.startswith(str(city.district(name).number))
            assert point_in_polygon(lon, lat, next(p for p in city.district(name).posts
                                                   if p.name == post).polygon)
        assert len(districts.find_all(lon, lat)) <= 1
    assert located >= 0.99 * 2000


def test_random_point_in_a_district_stays_there(city: City) -> None:
    rng = random.Random(5)
    for name in ("Central", "Southern", "Northwestern"):
        for _ in range(50):
            lat, lon = city.random_point(rng, name)
            assert city.locate(lat, lon)[0] == name  # type: ignore[index]


def test_points_outside_the_city_are_not_located(city: City) -> None:
    assert city.locate(39.29, -76.40) is None  # out on the bay
    assert city.locate(39.45, -76.61) is None  # north of the line
    assert not city.contains(39.29, -76.40)


def test_bbox_fits_baltimore_and_outline_is_irregular(city: City) -> None:
    x0, y0, x1, y1 = city.bbox
    bx0, by0, bx1, by1 = BALTIMORE_BBOX
    assert bx0 <= x0 < x1 <= bx1 and by0 <= y0 < y1 <= by1
    assert len(city.outline) > 8  # not a rectangle
    lat, lon = city.center
    assert by0 < lat < by1 and bx0 < lon < bx1 and city.contains(lat, lon)
    central = city.district("Central")
    clon, clat = polygon_centroid(central.polygon)
    assert abs(clon - -76.615) < 0.02 and abs(clat - 39.292) < 0.02
    north = polygon_centroid(city.district("Northern").polygon)[1]
    south = polygon_centroid(city.district("Southern").polygon)[1]
    west = polygon_centroid(city.district("Western").polygon)[0]
    east = polygon_centroid(city.district("Eastern").polygon)[0]
    assert north > clat > south and west < clon < east


def test_addresses_look_like_block_addresses(city: City) -> None:
    rng = random.Random(8)
    pattern = re.compile(r"\d+00 block of [NSEW] [A-Z][a-z]+ (St|Ave|Pl|Rd|Ln)|0 block of .+")
    seen = set()
    for _ in range(300):
        address = city.address_at(*city.random_point(rng))
        assert pattern.fullmatch(address), address
        seen.add(address.split(" ", 4)[-1])
    assert len(seen) > 40  # many different streets, not one name everywhere
    assert city.address_at(39.2897, -76.6155).endswith(("Charles St", "Baltimore St"))
    north = city.address_at(39.33, -76.6155)
    assert north.startswith(tuple(f"{n}" for n in range(1, 10))) and " N " in north


def test_geojson_is_valid_looking_and_serialisable(city: City) -> None:
    gj = json.loads(json.dumps(city.to_geojson()))
    assert gj["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in gj["features"]]
    assert kinds.count("district") == 9
    assert kinds.count("post") == sum(len(d.posts) for d in city.districts)
    for f in gj["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Polygon"
        for ring in f["geometry"]["coordinates"]:
            assert len(ring) >= 4 and ring[0] == ring[-1]
            assert all(len(p) == 2 and -77 < p[0] < -76 and 39 < p[1] < 40 for p in ring)
        props = f["properties"]
        if props["kind"] == "district":
            assert props["name"] in EXPECTED
            assert props["number"] == EXPECTED.index(props["name"]) + 1
        else:
            assert props["district"] in EXPECTED and re.fullmatch(r"\d{3}", props["name"])


def test_build_is_deterministic_and_fast() -> None:
    assert build_demo_city(7).to_geojson() == build_demo_city(7).to_geojson()
    assert build_demo_city(7).to_geojson() != build_demo_city(8).to_geojson()
    best = min(_timed(build_demo_city) for _ in range(3))
    assert best < 0.3


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
