"""How good is a ranking of cells: hit rate, PAI and PEI at a share of the area.

A forecast flags the top `n = floor(N * fraction)` of the N cells. Then, for the events of the
day being forecast:

* hit rate = events in flagged cells / all events of the day;
* PAI (Chainey's predictive accuracy index) = hit rate / area share (n / N): 1 is chance;
* PEI (Hunt's predictive efficiency index) = hits / the most hits any n cells could have had
  that day: 1 is a perfect forecast for that area.

Ties matter: smooth models rarely tie, but count models tie in thousands of cells, and how the
last places are filled can move a hit rate by points. Three rules are offered: `grid` (first
cells in grid order, as the published reference figures use), `random` (a seeded shuffle) and
`expected` (the mean over all random tie-breaks, computed exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np

TieBreak = Literal["grid", "random", "expected"]


def cells_flagged(fraction: float, n_cells: int) -> int:
    """How many cells a coverage fraction flags (rounded down, at least 0)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("coverage fraction must be within [0, 1]")
    return min(n_cells, max(0, int(math.floor(n_cells * fraction + 1e-9))))


def top_cells(scores: np.ndarray, n: int, tie_break: TieBreak = "grid",
              rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the `n` highest-scoring cells, ties broken by `tie_break`.

    `expected` has no single selection; it falls back to grid order here (use `day_score`).
    """
    scores = np.asarray(scores, dtype=float)
    if tie_break == "random":
        rng = rng or np.random.default_rng(0)
        perm = rng.permutation(scores.size)
        return perm[np.argsort(-scores[perm], kind="stable")[:n]]
    return np.argsort(-scores, kind="stable")[:n]


@dataclass(frozen=True)
class DayScore:
    """One day's outcome at one coverage fraction."""

    events: int
    hits: float
    flagged: int
    n_cells: int
    best_hits: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.events if self.events else float("nan")

    @property
    def pai(self) -> float:
        share = self.flagged / self.n_cells if self.n_cells else 0.0
        return self.hit_rate / share if share > 0 else float("nan")

    @property
    def pei(self) -> float:
        return self.hits / self.best_hits if self.best_hits else float("nan")


def event_counts(event_cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Events per cell; events outside the study area (cell -1) are not in any cell."""
    cells = np.asarray(event_cells, dtype=np.int64)
    return np.bincount(cells[cells >= 0], minlength=n_cells).astype(float)


def day_score(scores: np.ndarray, event_cells: np.ndarray, fraction: float,
              tie_break: TieBreak = "grid", rng: np.random.Generator | None = None) -> DayScore:
    """Score one forecast against one day's events (`event_cells` from `Grid.cell_of`).

    Events outside the study area stay in the denominator: a forecast cannot hit them, and
    dropping them would flatter every method equally but silently.
    """
    scores = np.asarray(scores, dtype=float)
    n_cells = scores.size
    n = cells_flagged(fraction, n_cells)
    counts = event_counts(event_cells, n_cells)
    total = int(np.asarray(event_cells).size)
    best = int(np.sort(counts)[::-1][:n].sum()) if n else 0
    if n == 0:
        return DayScore(total, 0.0, 0, n_cells, best)
    if tie_break == "expected":
        order = np.sort(scores)[::-1]
        edge = order[n - 1]
        above = scores > edge
        tied = scores == edge
        k = n - int(above.sum())
        hits = counts[above].sum() + (k / tied.sum()) * counts[tied].sum()
    else:
        hits = counts[top_cells(scores, n, tie_break, rng)].sum()
    return DayScore(total, float(hits), n, n_cells, best)


@dataclass(frozen=True)
class Spread:
    """Mean and spread of a per-day figure over the days that had events."""

    mean: float
    std: float
    p10: float
    median: float
    p90: float
    days: int

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        v = np.asarray([x for x in values if not math.isnan(x)], dtype=float)
        if v.size == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, nan, 0)
        p10, med, p90 = np.percentile(v, [10, 50, 90])
        return cls(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0,
                   float(p10), float(med), float(p90), int(v.size))

    @property
    def sem(self) -> float:
        """Standard error of the mean, for telling methods apart honestly."""
        return self.std / math.sqrt(self.days) if self.days > 1 else float("nan")


def summarise(days: list[DayScore]) -> dict[str, Spread]:
    """Hit rate, PAI and PEI over the days with events, plus the pooled hit rate."""
    with_events = [d for d in days if d.events > 0]
    out = {
        "hit_rate": Spread.of(d.hit_rate for d in with_events),
        "pai": Spread.of(d.pai for d in with_events),
        "pei": Spread.of(d.pei for d in with_events),
    }
    hits = sum(d.hits for d in with_events)
    total = sum(d.events for d in with_events)
    pooled = hits / total if total else float("nan")
    out["pooled_hit_rate"] = Spread(pooled, 0.0, pooled, pooled, pooled, len(with_events))
    return out
