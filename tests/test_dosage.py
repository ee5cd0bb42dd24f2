"""Dosage from hand-made AVL tracks: figures worked out by hand in each test."""

from __future__ import annotations

import time

import pytest

from opscenter.domain import Unit, UnitStatus
from opscenter.dosage import DosageBox, DosageTracker, dosage_for

T = 1_717_200_000.0
BOX = ((39.30, -76.62), (39.30, -76.61), (39.31, -76.61), (39.31, -76.62))
IN, OUT = (39.305, -76.615), (39.320, -76.615)
# A point inside the bounding box of an L-shaped box but outside the L itself.
L_BOX = ((39.30, -76.62), (39.30, -76.60), (39.31, -76.60), (39.31, -76.61), (39.32, -76.61), (39.32, -76.62))
NOTCH = (39.315, -76.605)


def fix(unit: str, dt: float, where: tuple[float, float], version: int = 1) -> Unit:
    return Unit(id=unit, version=version, reported_at=T + dt, status=UnitStatus.AVAILABLE,
                lat=where[0], lon=where[1])


def track() -> list[Unit]:
    """Unit A: enters at 60 s, in until 180, out at 240, back at 300, silent until 900, in at 960."""
    places = [(0, OUT), (60, IN), (120, IN), (180, IN), (240, OUT), (300, IN), (900, IN), (960, IN)]
    return [fix("A", dt, p, i + 1) for i, (dt, p) in enumerate(places)]


def test_credit_only_between_consecutive_inside_fixes_within_the_gap():
    box = DosageBox("M-1", BOX, frozenset({"A"}), start=T, end=T + 3600)
    result = dosage_for([box], track())["M-1"]
    # 60->120->180 inside: 120 s; 240 out; 300 in but 180->300 crosses an outside fix: nothing;
    # 300->900 is a 600 s gap > 300 s: nothing; 900->960: 60 s. Total 180 s = 3 min.
    assert result.minutes == pytest.approx(3.0)
    assert result.unit_minutes == {"A": pytest.approx(3.0)}
    assert result.visits == 3  # entries at 60, 300 and (after the long gap) 900
    assert result.target_min == pytest.approx(15.0)
    assert result.percent == pytest.approx(20.0)
    assert result.to_dict()["percent"] == 20.0


def test_out_of_order_fix_is_ignored():
    tracker = DosageTracker([DosageBox("M-1", BOX, frozenset({"A"}))])
    fixes = track()
    tracker.extend(fixes[:4])  # up to 180 s
    tracker.add(fix("A", 150, OUT))  # late, older than the last: must not break the run
    tracker.add(fix("A", 180, OUT))  # same time as the last: a duplicate
    tracker.extend(fixes[4:])
    assert tracker.ignored == 2
    assert tracker.report()["M-1"].minutes == pytest.approx(3.0)


def test_unassigned_units_count_only_when_configured():
    box = DosageBox("M-1", BOX, frozenset({"A"}))
    b_track = [fix("B", dt, IN, k) for k, dt in enumerate((0, 100, 200), start=1)]
    assert dosage_for([box], b_track)["M-1"].minutes == 0.0
    anyone = dosage_for([box], b_track, any_unit=True)["M-1"]
    assert anyone.minutes == pytest.approx(200 / 60) and anyone.unit_minutes == {"B": pytest.approx(200 / 60)}
    assert anyone.visits == 1


def test_max_gap_is_configurable_and_window_clips():
    box = DosageBox("M-1", BOX, frozenset({"A"}), start=T + 90, end=T + 1000)
    r = dosage_for([box], track(), max_gap_s=700)["M-1"]
    # gap 300->900 (600 s) now credited; 60->90 lies before the window: 90->180 + 300->960 = 750 s
    assert r.minutes == pytest.approx(750 / 60)
    assert r.target_min == pytest.approx(910 / 3600 * 15)
    with pytest.raises(ValueError):
        DosageTracker([box], max_gap_s=0)


def test_point_in_bbox_but_outside_polygon_is_not_inside():
    box = DosageBox("M-L", L_BOX, frozenset({"A"}))
    fixes = [fix("A", 0, NOTCH, 1), fix("A", 60, NOTCH, 2), fix("A", 120, (39.305, -76.605), 3),
             fix("A", 180, (39.315, -76.615), 4)]
    r = dosage_for([box], fixes)["M-L"]
    assert r.minutes == pytest.approx(1.0)  # 120 -> 180, both in the L
    assert r.visits == 1


def test_overlapping_boxes_each_credit_their_own_units():
    a = DosageBox("M-A", BOX, frozenset({"A"}))
    b = DosageBox("M-B", BOX, frozenset({"B"}))
    fixes = [fix("A", 0, IN, 1), fix("A", 60, IN, 2), fix("B", 0, IN, 1), fix("B", 120, IN, 2)]
    r = dosage_for([a, b], fixes)
    assert r["M-A"].minutes == pytest.approx(1.0) and r["M-B"].minutes == pytest.approx(2.0)


def test_fast_enough_for_a_shift_of_a_busy_city():
    boxes = [DosageBox(f"M-{k}", tuple((lat + k * 0.02, lon) for lat, lon in BOX), frozenset({f"U{k}"}))
             for k in range(20)]
    tracker = DosageTracker(boxes, any_unit=True)
    fixes = [Unit(id=f"U{u}", version=s + 1, reported_at=T + s * 30, status=UnitStatus.AVAILABLE,
                  lat=39.30 + (u % 25) * 0.008 + 0.001, lon=-76.615) for s in range(400) for u in range(100)]
    started = time.perf_counter()
    tracker.extend(fixes)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{len(fixes)} fixes took {elapsed:.2f} s"
    assert sum(r.minutes for r in tracker.report().values()) > 0
