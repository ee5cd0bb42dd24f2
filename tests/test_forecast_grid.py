"""Projection, convex hull and grid cells; and the forecast package stays free of Qt."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from opscenter.forecast.grid import Projection, convex_hull, grid_offsets, grid_over_hull
from opscenter.geo import haversine_m


def test_projection_round_trips_and_keeps_city_distances() -> None:
    proj = Projection(38.9, -77.0)
    lon, lat = np.array([-77.047, -76.91]), np.array([38.81, 38.968])
    x, y = proj.to_xy(lon, lat)
    back_lon, back_lat = proj.to_lonlat(x, y)
    assert np.allclose(back_lon, lon, atol=1e-12) and np.allclose(back_lat, lat, atol=1e-12)
    planar = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    assert planar == pytest.approx(haversine_m(lat[0], lon[0], lat[1], lon[1]), rel=2e-3)


def test_convex_hull_drops_inner_and_collinear_points() -> None:
    x = np.array([0, 2, 2, 0, 1, 1, 2])
    y = np.array([0, 0, 2, 2, 1, 0, 1])
    hull = convex_hull(x, y)
    assert sorted(map(tuple, hull.tolist())) == [(0, 0), (0, 2), (2, 0), (2, 2)]


def test_cells_touching_a_triangle() -> None:
    proj = Projection(0.0, 0.0)
    # right triangle with legs of 3 cells: cells on or under the hypotenuse are kept
    lon, lat = proj.to_lonlat(np.array([0.0, 449.0, 0.0]), np.array([0.0, 0.0, 449.0]))
    g = grid_over_hull(lon, lat, 150.0, projection=proj)
    assert (g.nx, g.ny) == (3, 3)
    assert g.mask.tolist() == [[True, True, True], [True, True, False], [True, False, False]]
    assert g.n_cells == 6 and g.area_m2 == 6 * 150.0 ** 2
    # grid order: rows south to north, west to east
    assert g.cell_of_xy(np.array([10.0, 160.0, 10.0, 400.0]),
                        np.array([10.0, 10.0, 160.0, 400.0])).tolist() == [0, 1, 3, -1]
    assert len(g.cell_polygon_lonlat(0)) == 4


def test_offsets_shift_the_grid_and_keep_every_point() -> None:
    rng = np.random.default_rng(0)
    proj = Projection(38.9, -77.0)
    lon, lat = proj.to_lonlat(rng.uniform(0, 3000, 500), rng.uniform(0, 2000, 500))
    offs = grid_offsets(8)
    assert offs[0] == (0.0, 0.0) and len(set(offs)) == 8 and len(grid_offsets(11)) == 11
    origins = set()
    for off in offs:
        g = grid_over_hull(lon, lat, 150.0, off, projection=proj)
        assert np.all(g.cell_of(lon, lat) >= 0)
        origins.add((round(g.x0, 6), round(g.y0, 6)))
    assert len(origins) == 8
    with pytest.raises(ValueError):
        grid_over_hull(lon, lat, 0.0)


def test_forecast_package_imports_no_qt() -> None:
    code = ("import sys, importlib\n"
            "for m in ('data', 'grid', 'methods', 'hawkes', 'evaluate', 'backtest', 'knox',"
            " 'fairness'): importlib.import_module('opscenter.forecast.' + m)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'qasync', 'pyqtgraph')]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
