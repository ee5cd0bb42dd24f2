"""Risk areas on synthetic shootings with a planted cluster: flagged, and explained by it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from opscenter.domain import AlertType, CrimeReport, Origin, ShotAlert
from opscenter.forecast.data import day_start
from opscenter.forecast.methods import component_shares
from opscenter.risk import MIN_EVENTS, compute_risk

DAY = 86_400.0
T0 = day_start("2024-01-01")
UNTIL = T0 + 120 * DAY
HOT = (39.2950, -76.6150)  # lat, lon of the planted cluster
FAST = {"train_days": 60}


def shot(id_: str, t: float, lat: float, lon: float) -> ShotAlert:
    return ShotAlert(id=id_, version=1, detected_at=t, lat=lat, lon=lon,
                     alert_type=AlertType.SINGLE, rounds=1)


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance: independent of the forecast's own projection."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def background(n: int = 400, seed: int = 5) -> list[ShotAlert]:
    """Shootings spread evenly over about 3 x 3 km and 120 days."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(39.28, 39.307, n)
    lon = rng.uniform(-76.635, -76.600, n)
    t = T0 + rng.uniform(0, 120 * DAY, n)
    return [shot(f"B-{i}", float(t[i]), float(lat[i]), float(lon[i])) for i in range(n)]


def planted(n: int = 40, seed: int = 9) -> list[ShotAlert | CrimeReport]:
    """A tight cluster (within ~25 m of HOT) over the last 40 days, one of them a victim report."""
    rng = np.random.default_rng(seed)
    out: list[ShotAlert | CrimeReport] = []
    for i in range(n):
        lat = HOT[0] + rng.uniform(-0.0002, 0.0002)
        lon = HOT[1] + rng.uniform(-0.0002, 0.0002)
        t = UNTIL - rng.uniform(0.5, 40) * DAY
        out.append(shot(f"P-{i}", t, lat, lon))
    out.append(CrimeReport(id="P-victim", version=1, occurred_at=UNTIL - 0.25 * DAY,
                           category="SHOOTING", origin=Origin.VICTIM_REPORTED,
                           lat=HOT[0], lon=HOT[1]))
    return out


@pytest.fixture(scope="module")
def records():
    return background() + planted()


@pytest.fixture(scope="module")
def surface(records):
    return compute_risk(records, UNTIL, params=FAST)


def contains(polygon: list[list[float]], lat: float, lon: float) -> bool:
    lats = [p[0] for p in polygon]
    lons = [p[1] for p in polygon]
    return min(lats) <= lat <= max(lats) and min(lons) <= lon <= max(lons)


def test_planted_cluster_is_the_top_risk_area(surface) -> None:
    assert surface.reason == "" and not surface.empty
    top = surface.cells[0]
    assert top["rank"] == 1 and top["id"].startswith("cell-")
    assert contains(top["polygon"], *HOT)
    assert [c["rank"] for c in surface.cells] == list(range(1, len(surface.cells) + 1))
    scores = [c["score"] for c in surface.cells]
    assert scores == sorted(scores, reverse=True)
    # one percent of the cells, rounded up
    assert 1 <= len(surface.cells) <= math.ceil(0.01 * surface.n_cells)


def test_cells_are_json_safe_150_m_squares(surface) -> None:
    text = json.dumps(surface.cells, allow_nan=False)
    cell = json.loads(text)[0]
    assert set(cell) == {"id", "polygon", "score", "rank", "share_background", "share_trigger"}
    assert len(cell["polygon"]) == 4
    (a_lat, a_lon), (b_lat, b_lon), (c_lat, c_lon) = cell["polygon"][:3]
    assert metres(a_lat, a_lon, b_lat, b_lon) == pytest.approx(150, rel=0.01)
    assert metres(b_lat, b_lon, c_lat, c_lon) == pytest.approx(150, rel=0.01)
    for c in surface.cells:
        assert c["share_background"] + c["share_trigger"] == pytest.approx(1.0, abs=1e-3)
        assert 0 <= c["share_trigger"] <= 1


def test_explanation_names_the_planted_shootings_with_distance_and_age(surface, records) -> None:
    top = surface.cells[0]
    why = surface.explain(top["id"], limit=10)
    assert len(why) == 10
    assert all(e["id"].startswith("P-") for e in why), [e["id"] for e in why]
    weights = [e["weight"] for e in why]
    assert weights == sorted(weights, reverse=True) and weights[-1] > 0
    centre_lat = sum(p[0] for p in top["polygon"]) / 4
    centre_lon = sum(p[1] for p in top["polygon"]) / 4
    by_id = {r.id: r for r in records}
    for e in why:
        rec = by_id[e["id"]]
        when = rec.detected_at if isinstance(rec, ShotAlert) else rec.occurred_at
        assert e["time"] == pytest.approx(when)
        assert e["age_days"] == pytest.approx((UNTIL - when) / DAY, abs=1e-3)
        assert e["distance_m"] == pytest.approx(metres(centre_lat, centre_lon, rec.lat, rec.lon), abs=1.5)
        assert e["distance_m"] < 110  # inside the 150 m cell
    kinds = {e["id"]: e["kind"] for e in surface.explain(top["id"], limit=100)}
    assert kinds["P-victim"] == "victim report"
    assert {kinds[i] for i in kinds if i != "P-victim"} == {"gunfire detection"}
    assert len(kinds) == len(set(kinds))  # one row per event, its terms summed
    assert surface.explain("cell-999999") == [] and surface.explain("nonsense") == []


def test_shares_split_recent_terms_from_long_run_background(surface) -> None:
    """Triggering = the model's short-memory terms (weeks, months nearby); background = the
    year-long and long-run terms plus the floor. The planted cluster is recent: mostly triggering."""
    model = surface._model
    for cell in surface.cells:
        shares = component_shares(model.explain(int(cell["id"].split("-")[1])))
        assert set(shares) <= {"floor", "last weeks", "last months, nearby", "last year",
                               "last year, nearby", "long run"}
        expected = shares.get("last weeks", 0.0) + shares.get("last months, nearby", 0.0)
        assert cell["share_trigger"] == pytest.approx(expected, abs=1e-4)
    assert surface.cells[0]["share_trigger"] > 0.5


def test_too_little_data_is_an_empty_surface_with_a_reason() -> None:
    few = background(n=MIN_EVENTS - 1)
    surface = compute_risk(few, UNTIL)
    assert surface.empty and surface.cells == []
    assert f"{MIN_EVENTS - 1} shootings" in surface.reason
    assert surface.explain("cell-0") == []
    assert compute_risk([], UNTIL).reason.startswith("0 shootings")


def test_only_the_past_is_used_and_police_records_are_left_out(records) -> None:
    later = [shot(f"L-{i}", UNTIL + 3600 + i, 39.2810, -76.6340) for i in range(60)]
    police = [CrimeReport(id=f"A-{i}", version=1, occurred_at=UNTIL - DAY, category="ARREST",
                          origin=Origin.POLICE_INITIATED, lat=39.2810, lon=-76.6340) for i in range(60)]
    surface = compute_risk(records + later + police, UNTIL, params=FAST)
    assert surface.skipped == 60  # the police-initiated records; no exception
    assert surface.n_events == len(records)
    assert contains(surface.cells[0]["polygon"], *HOT)
    assert not any(contains(c["polygon"], 39.2810, -76.6340) for c in surface.cells[:1])
    assert all(not e["id"].startswith(("L-", "A-")) for c in surface.cells for e in surface.explain(c["id"]))


def test_unknown_method_is_a_reason_not_an_exception(records) -> None:
    surface = compute_risk(records, UNTIL, method="oracle")
    assert surface.empty and "oracle" in surface.reason
