"""Grid forecasters: each ranks cells for the day after `until`, and says why.

Every forecaster is fitted on events strictly before `until` (anything later raises
`LookAheadError`), predicts one score per cell (higher = more expected gunfire next day), and
explains any cell as a list of event contributions that add up to the cell's score. The
simple methods and the multi-scale model live here; the grid Hawkes model is in `hawkes.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opscenter.forecast.data import EventSet, LookAheadError
from opscenter.forecast.grid import Grid

DAY_S = 86_400.0


@dataclass(frozen=True)
class Contribution:
    """One reason a cell scores what it does: an event (or the uniform floor) and its weight."""

    event_id: str | None
    when: float | None
    lon: float | None
    lat: float | None
    distance_m: float
    age_days: float
    weight: float
    component: str


def component_shares(contributions: list[Contribution]) -> dict[str, float]:
    """Share of the score from each component (e.g. background vs triggering); sums to 1."""
    totals: dict[str, float] = {}
    for c in contributions:
        totals[c.component] = totals.get(c.component, 0.0) + c.weight
    whole = sum(totals.values())
    return {k: (v / whole if whole > 0 else 0.0) for k, v in totals.items()}


class GridForecaster:
    """Common plumbing: look-ahead guard, projected positions, explanations."""

    name = "base"

    def __init__(self, grid: Grid, horizon_days: float = 1.0) -> None:
        self.grid = grid
        self.horizon_days = horizon_days
        self.until: float | None = None

    def fit(self, events: EventSet, until: float) -> "GridForecaster":
        """Learn from `events` to forecast from `until`; every event must be before it."""
        if len(events) and float(np.max(events.t)) >= until:
            raise LookAheadError(f"{self.name}: an event at or after the forecast start was given")
        self.events = events
        self.until = float(until)
        self.x, self.y = self.grid.projection.to_xy(events.lon, events.lat)
        self.cell = self.grid.cell_of_xy(self.x, self.y)
        self.age_days = (self.until - events.t) / DAY_S
        self._fit()
        return self

    def _fit(self) -> None:
        """Method-specific fitting; positions, cells and ages are ready."""

    def predict(self) -> np.ndarray:
        """One score per cell, in grid order."""
        raise NotImplementedError

    def _contributions(self, cell: int) -> tuple[np.ndarray, np.ndarray, list[str] | str]:
        """(event indices, weights, component per event or one for all) for one cell."""
        raise NotImplementedError

    def explain(self, cell: int, limit: int | None = None) -> list[Contribution]:
        """Events that raise `cell`, largest weight first; the weights sum to its score."""
        if self.until is None:
            raise RuntimeError(f"{self.name}: fit before explain")
        idx, weight, comp = self._contributions(int(cell))
        cx, cy = (a[int(cell)] for a in self.grid.centres())
        comps = [comp] * len(idx) if isinstance(comp, str) else comp
        out = []
        for i, w, k in zip(np.asarray(idx, dtype=np.int64), weight, comps):
            if i < 0:  # not an event: the uniform floor every cell gets
                out.append(Contribution(None, None, None, None, float("nan"), float("nan"),
                                        float(w), k))
                continue
            out.append(Contribution(
                event_id=str(self.events.ids[i]), when=float(self.events.t[i]),
                lon=float(self.events.lon[i]), lat=float(self.events.lat[i]),
                distance_m=float(math.hypot(self.x[i] - cx, self.y[i] - cy)),
                age_days=float(self.age_days[i]), weight=float(w), component=k))
        out.sort(key=lambda c: -c.weight)
        return out[:limit] if limit else out


class NaiveCounts(GridForecaster):
    """Events per cell in the last `window_days`: the baseline every method must beat."""

    name = "naive"

    def __init__(self, grid: Grid, window_days: float = 365.0, **kw) -> None:
        super().__init__(grid, **kw)
        self.window_days = window_days

    def _recent(self) -> np.ndarray:
        return (self.age_days <= self.window_days) & (self.cell >= 0)

    def predict(self) -> np.ndarray:
        keep = self._recent()
        return np.bincount(self.cell[keep], weights=self.events.weight[keep],
                           minlength=self.grid.n_cells).astype(float)

    def _contributions(self, cell: int):
        idx = np.flatnonzero(self._recent() & (self.cell == cell))
        return idx, self.events.weight[idx], "count"


class KernelDensity(GridForecaster):
    """Gaussian kernel density of the last `window_days`, evaluated at cell centres.

    The kernel is separable, so the whole surface is two small matrix products.
    """

    name = "kde"

    def __init__(self, grid: Grid, bandwidth_m: float = 200.0, window_days: float = 365.0,
                 **kw) -> None:
        super().__init__(grid, **kw)
        self.bandwidth_m = bandwidth_m
        self.window_days = window_days

    def _kernel_axes(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, h = self.grid, self.bandwidth_m
        xs = g.x0 + (np.arange(g.nx) + 0.5) * g.cell
        ys = g.y0 + (np.arange(g.ny) + 0.5) * g.cell
        kx = np.exp(-0.5 * ((xs[None, :] - self.x[idx, None]) / h) ** 2)
        ky = np.exp(-0.5 * ((ys[None, :] - self.y[idx, None]) / h) ** 2)
        return kx, ky

    def _window(self) -> np.ndarray:
        return np.flatnonzero(self.age_days <= self.window_days)

    def predict(self) -> np.ndarray:
        idx = self._window()
        kx, ky = self._kernel_axes(idx)
        rect = (ky * self.events.weight[idx, None]).T @ kx
        return self.grid.from_rect(rect)

    def _contributions(self, cell: int):
        idx = self._window()
        cx, cy = (a[cell] for a in self.grid.centres())
        d2 = (self.x[idx] - cx) ** 2 + (self.y[idx] - cy) ** 2
        w = self.events.weight[idx] * np.exp(-0.5 * d2 / self.bandwidth_m ** 2)
        keep = w > 0
        return idx[keep], w[keep], "kernel"


class ProspectiveHotspot(GridForecaster):
    """Bowers, Johnson & Pease (2004): near-repeat weights 1/((1+d)(1+t)).

    d is the distance between cell centres in cells, t the age in whole weeks; events farther
    than `bandwidth_m` or older than `weeks` count nothing.
    """

    name = "prospective"

    def __init__(self, grid: Grid, bandwidth_m: float = 400.0, weeks: int = 8, **kw) -> None:
        super().__init__(grid, **kw)
        self.bandwidth_m = bandwidth_m
        self.weeks = weeks

    def _stencil(self) -> list[tuple[int, int, float]]:
        reach = int(self.bandwidth_m // self.grid.cell)
        out = []
        for dr in range(-reach, reach + 1):
            for dc in range(-reach, reach + 1):
                d = math.hypot(dr, dc)
                if d * self.grid.cell <= self.bandwidth_m + 1e-9:
                    out.append((dr, dc, 1.0 / (1.0 + d)))
        return out

    def _time_weight(self) -> np.ndarray:
        weeks = np.floor(self.age_days / 7.0)
        w = 1.0 / (1.0 + weeks)
        w[(weeks >= self.weeks) | (self.cell < 0)] = 0.0
        return w * self.events.weight

    def predict(self) -> np.ndarray:
        g = self.grid
        tw = self._time_weight()
        base = g.to_rect(np.bincount(self.cell[tw > 0], weights=tw[tw > 0],
                                     minlength=g.n_cells))
        reach = int(self.bandwidth_m // g.cell)
        pad = np.pad(base, reach)
        rect = np.zeros_like(base)
        for dr, dc, w in self._stencil():
            rect += w * pad[reach - dr:reach - dr + g.ny, reach - dc:reach - dc + g.nx]
        return g.from_rect(rect)

    def _contributions(self, cell: int):
        g = self.grid
        tw = self._time_weight()
        row, col = g.cell_rc()
        idx = np.flatnonzero(tw > 0)
        d = np.hypot(row[self.cell[idx]] - row[cell], col[self.cell[idx]] - col[cell])
        near = d * g.cell <= self.bandwidth_m + 1e-9
        idx, d = idx[near], d[near]
        return idx, tw[idx] / (1.0 + d), "near-repeat"


@dataclass(frozen=True)
class Term:
    """One ingredient of the multi-scale model: decayed counts at a time scale and a ring
    of cells (0 = the cell itself, r = the cells r steps away, diagonals included)."""

    name: str
    tau_days: float
    ring: int = 0
    declustered: bool = True


DEFAULT_TERMS = (
    Term("last weeks", 14.0, 0),
    Term("last months, nearby", 60.0, 1),
    Term("last year", 365.0, 0),
    Term("last year, nearby", 365.0, 1),
    Term("long run", 1500.0, 0),
)


def decluster_weights(cell: np.ndarray, t: np.ndarray, gap_s: float) -> np.ndarray:
    """1 for the first detection of a burst in a cell, 0 for repeats within `gap_s` of the
    previous detection there: several sensors and volleys of one incident count once."""
    order = np.lexsort((t, cell))
    c, ts = cell[order], t[order]
    repeat = np.r_[False, (c[1:] == c[:-1]) & (np.diff(ts) < gap_s)]
    out = np.empty(t.size)
    out[order] = np.where(repeat, 0.0, 1.0)
    return out


def ring_sum(rect: np.ndarray, ring: int) -> np.ndarray:
    """Sum over the cells exactly `ring` steps away (Chebyshev distance) of each cell."""
    if ring == 0:
        return rect
    ny, nx = rect.shape
    pad = np.pad(rect, ring)
    out = np.zeros_like(rect)
    for dr in range(-ring, ring + 1):
        for dc in range(-ring, ring + 1):
            if max(abs(dr), abs(dc)) == ring:
                out += pad[ring + dr:ring + dr + ny, ring + dc:ring + dc + nx]
    return out


class MultiScale(GridForecaster):
    """Declustered counts at several time scales and ring distances, mixed by EM.

    score = floor + sum_k beta_k * F_k, where F_k sums e^(-age/tau_k) over the events of term
    k's ring. The betas maximise the Poisson likelihood of the next day's new incidents
    (declustered counts: repeat detections of one burst would otherwise dominate the fit)
    over the previous `train_days` days; multiplicative EM keeps them non-negative. They are
    refitted every `refit_days`. Every term is a sum over events, so every score splits
    exactly into events.
    """

    name = "multiscale"

    def __init__(self, grid: Grid, terms: tuple[Term, ...] = DEFAULT_TERMS,
                 train_days: int = 365, refit_days: float = 28.0, decluster_hours: float = 24.0,
                 iterations: int = 400, **kw) -> None:
        super().__init__(grid, **kw)
        self.terms, self.train_days, self.refit_days = terms, train_days, refit_days
        self.decluster_s, self.iterations = decluster_hours * 3600.0, iterations
        self.coef: np.ndarray | None = None
        self.floor = 0.0
        self._fitted_at: float | None = None

    def _term_weights(self) -> list[np.ndarray]:
        return [self._w_dec if term.declustered else self._w_raw for term in self.terms]

    def _fit(self) -> None:
        inside = self.cell >= 0
        self._w_raw = np.where(inside, self.events.weight, 0.0)
        dec = decluster_weights(self.cell, self.events.t, self.decluster_s)
        self._w_dec = self._w_raw * dec
        since = None if self._fitted_at is None else self.until - self._fitted_at
        # going back in time must refit too: older coefficients may have seen later days
        if since is None or since < 0 or since >= self.refit_days * DAY_S - 1:
            self._fit_coefficients()
            self._fitted_at = self.until

    def _features(self, bases: list[np.ndarray]) -> np.ndarray:
        """(K, n_cells) term values from per-cell decayed sums."""
        g = self.grid
        return np.stack([g.from_rect(ring_sum(g.to_rect(b), term.ring))
                         for b, term in zip(bases, self.terms)])

    def _fit_coefficients(self) -> None:
        n = self.grid.n_cells
        cell = np.maximum(self.cell, 0)
        t = self.events.t
        weights = self._term_weights()
        starts = self.until - DAY_S * np.arange(self.train_days, 0, -1)
        first = int(np.searchsorted(t, starts[0]))
        bases = [np.bincount(cell[:first], weights=w[:first] * np.exp(
            -(starts[0] - t[:first]) / (DAY_S * term.tau_days)), minlength=n)
            for w, term in zip(weights, self.terms)]
        rows, targets = [], []
        col_sum = np.zeros(len(self.terms) + 1)
        lo = first
        for s in starts:
            hi = int(np.searchsorted(t, s + DAY_S))
            y = np.bincount(cell[lo:hi], weights=self._w_dec[lo:hi], minlength=n)
            feats = self._features(bases)
            col_sum[:-1] += feats.sum(axis=1)
            col_sum[-1] += n
            hit = np.flatnonzero(y > 0)
            rows.append(np.vstack([feats[:, hit], np.ones(hit.size)]).T)
            targets.append(y[hit])
            for k, (w, term) in enumerate(zip(weights, self.terms)):
                decay = np.exp(-1.0 / term.tau_days)
                bases[k] = bases[k] * decay + np.bincount(cell[lo:hi], weights=w[lo:hi] * np.exp(
                    -(s + DAY_S - t[lo:hi]) / (DAY_S * term.tau_days)), minlength=n)
            lo = hi
        x, y = np.vstack(rows), np.concatenate(targets)
        beta = np.full(x.shape[1], y.sum() / max(col_sum.sum(), 1e-12))
        for _ in range(self.iterations):
            lam = np.maximum(x @ beta, 1e-300)
            beta = beta * (x * (y / lam)[:, None]).sum(axis=0) / np.maximum(col_sum, 1e-300)
        self.coef, self.floor = beta[:-1], float(beta[-1])

    def _decays(self) -> np.ndarray:
        """(K, n_events): each term's weight for each event at the forecast start."""
        return np.stack([w * np.exp(-self.age_days / term.tau_days)
                         for w, term in zip(self._term_weights(), self.terms)])

    def predict(self) -> np.ndarray:
        n = self.grid.n_cells
        cell = np.maximum(self.cell, 0)
        bases = [np.bincount(cell, weights=d, minlength=n) for d in self._decays()]
        return self.floor + self.coef @ self._features(bases)

    def _contributions(self, cell: int):
        row, col = self.grid.cell_rc()
        ok = self.cell >= 0
        steps = np.full(self.cell.size, -1)
        steps[ok] = np.maximum(np.abs(row[self.cell[ok]] - row[cell]),
                               np.abs(col[self.cell[ok]] - col[cell]))
        idx, weight, comp = [-1], [self.floor], ["floor"]
        for k, (term, decay) in enumerate(zip(self.terms, self._decays())):
            sel = np.flatnonzero((steps == term.ring) & (decay > 0))
            idx.extend(sel.tolist())
            weight.extend((self.coef[k] * decay[sel]).tolist())
            comp.extend([term.name] * sel.size)
        return np.asarray(idx), np.asarray(weight), comp
