"""Knox near-repeat test: are events close in space also close in time, beyond chance?

Pairs of events are counted by distance band and time band. Under the null hypothesis that
where and when are independent, shuffling the times among the events leaves the spatial
pattern and the overall timing intact; the Monte Carlo p-value of a band is the share of
shuffles with at least as many pairs as observed, (1 + #{sim >= obs}) / (1 + n).

Bands are half-open, [lower, upper): a pair exactly 100 m apart falls in the band that starts
at 100 m, never in two bands, and the last edge is excluded. Only pairs within the largest
distance edge are ever formed, so the cost grows with close pairs, not with n squared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from opscenter.forecast.data import EventSet
from opscenter.forecast.grid import Projection


def band_index(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Band of each value for half-open bands [e0, e1), [e1, e2), ...; -1 outside."""
    edges = np.asarray(edges, dtype=float)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("band edges must be at least two increasing values")
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[(values < edges[0]) | (values >= edges[-1])] = -1
    return idx


def close_pairs(x: np.ndarray, y: np.ndarray, max_distance: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) for every pair i < j closer than `max_distance` (sweep along x)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    hi = np.searchsorted(xs, xs + max_distance, side="left")
    count = np.maximum(hi - np.arange(xs.size) - 1, 0)
    a = np.repeat(np.arange(xs.size), count)
    b = a + 1 + (np.arange(a.size) - np.repeat(np.cumsum(count) - count, count))
    i, j = order[a], order[b]
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    keep = d < max_distance
    i, j, d = i[keep], j[keep], d[keep]
    swap = i > j
    i[swap], j[swap] = j[swap], i[swap]
    return i, j, d


@dataclass(frozen=True)
class KnoxResult:
    """Observed and expected pair counts per (distance band, time band), with p-values."""

    distance_edges: tuple[float, ...]
    time_edges: tuple[float, ...]
    observed: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    simulations: int

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / self.expected, np.nan)

    def rows(self) -> list[dict]:
        """One dict per band pair, for tables and the briefing."""
        out = []
        for a in range(len(self.distance_edges) - 1):
            for b in range(len(self.time_edges) - 1):
                out.append({
                    "distance": (self.distance_edges[a], self.distance_edges[a + 1]),
                    "time": (self.time_edges[b], self.time_edges[b + 1]),
                    "observed": int(self.observed[a, b]),
                    "expected": float(self.expected[a, b]),
                    "ratio": float(self.ratio[a, b]),
                    "p_value": float(self.p_value[a, b]),
                })
        return out


def _count(d_band: np.ndarray, dt: np.ndarray, time_edges: Sequence[float],
           shape: tuple[int, int]) -> np.ndarray:
    t_band = band_index(dt, time_edges)
    ok = (d_band >= 0) & (t_band >= 0)
    flat = d_band[ok] * shape[1] + t_band[ok]
    return np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape)


def knox_test(x: np.ndarray, y: np.ndarray, t_days: np.ndarray,
              distance_edges: Sequence[float] = (0, 100, 200, 400),
              time_edges: Sequence[float] = (0, 7, 14, 30),
              simulations: int = 99, seed: int = 0) -> KnoxResult:
    """Knox table for events at (x, y) metres and times in days, with Monte Carlo p-values."""
    t = np.asarray(t_days, dtype=float)
    if not (len(x) == len(y) == t.size):
        raise ValueError("x, y and t must have the same length")
    if simulations < 1:
        raise ValueError("at least one simulation is needed")
    i, j, d = close_pairs(x, y, float(distance_edges[-1]))
    d_band = band_index(d, distance_edges)
    shape = (len(distance_edges) - 1, len(time_edges) - 1)
    observed = _count(d_band, np.abs(t[i] - t[j]), time_edges, shape)
    rng = np.random.default_rng(seed)
    total = np.zeros(shape)
    at_least = np.zeros(shape)
    for _ in range(simulations):
        ts = t[rng.permutation(t.size)]
        sim = _count(d_band, np.abs(ts[i] - ts[j]), time_edges, shape)
        total += sim
        at_least += sim >= observed
    return KnoxResult(tuple(float(e) for e in distance_edges),
                      tuple(float(e) for e in time_edges), observed, total / simulations,
                      (1.0 + at_least) / (1.0 + simulations), simulations)


def knox_events(events: EventSet, projection: Projection, **kw) -> KnoxResult:
    """Knox test straight from an EventSet, projected with the forecast grid's projection."""
    x, y = projection.to_xy(events.lon, events.lat)
    return knox_test(x, y, (events.t - (events.t.min() if len(events) else 0.0)) / 86_400.0,
                     **kw)
