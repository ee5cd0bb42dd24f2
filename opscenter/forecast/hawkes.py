"""Grid self-exciting point process (Mohler 2015, grid form), fitted by EM.

In each cell n the rate of gunfire is

    lambda_n(t) = mu_n + sum over earlier events i in n of  theta * omega * exp(-omega (t - t_i))

mu_n is the cell's background rate, theta the branching ratio (expected follow-on events per
event) and 1/omega the mean delay of a follow-on. EM alternates between the probability that
each event is background or was triggered by each earlier event in its cell (E-step) and the
parameters those probabilities imply (M-step).

Detections often share a timestamp (several sensors, one volley); a pair with zero delay has
no defined order, so duplicate times are jittered backwards by up to `jitter_s` seconds
(seeded, and never past the forecast start) before fitting. Parent candidates are limited to
`max_lag_days` before each event to keep the pair list small; with the short delays gunfire
shows (minutes to hours) this loses nothing.
"""

from __future__ import annotations

import numpy as np

from opscenter.forecast.grid import Grid
from opscenter.forecast.methods import DAY_S, GridForecaster


def jitter_duplicates(t: np.ndarray, jitter_s: float, seed: int = 0) -> np.ndarray:
    """Times with exact duplicates moved back by U(0, jitter_s) seconds; others unchanged."""
    t = np.asarray(t, dtype=float)
    if jitter_s <= 0 or t.size < 2:
        return t.copy()
    _, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    dup = counts[inverse] > 1
    out = t.copy()
    rng = np.random.default_rng(seed)
    out[dup] -= rng.uniform(0.0, jitter_s, int(dup.sum()))
    return out


def cell_pairs(cell: np.ndarray, t_days: np.ndarray, max_lag_days: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """(parent, child) index pairs: same cell, parent strictly earlier, within the lag."""
    order = np.lexsort((t_days, cell))
    c, t = cell[order], t_days[order]
    span = float(t.max() - t.min()) + 2 * max_lag_days + 1.0 if t.size else 1.0
    key = (c - c.min() if c.size else c) * span + (t - (t.min() if t.size else 0.0))
    lo = np.searchsorted(key, key - max_lag_days, side="left")
    first_tie = np.searchsorted(key, key, side="left")  # parents must be strictly earlier
    n_par = np.maximum(first_tie - lo, 0)
    child = np.repeat(np.arange(t.size), n_par)
    start = np.repeat(lo, n_par)
    offset = np.arange(child.size) - np.repeat(np.cumsum(n_par) - n_par, n_par)
    parent = start + offset
    return order[parent], order[child]


class GridHawkes(GridForecaster):
    """Background per cell plus exponential triggering within the cell, fitted by EM.

    Refitting from scratch is costly, so by default the EM restarts from the last parameters
    and converges in a few steps; `refit_days` forces a cold start that often.
    """

    name = "hawkes"

    def __init__(self, grid: Grid, theta: float = 0.5, omega_per_day: float = 10.0,
                 iterations: int = 200, tol: float = 1e-6, max_lag_days: float = 30.0,
                 jitter_s: float = 60.0, refit_days: float = 7.0, warm_iterations: int = 10,
                 seed: int = 0, **kw) -> None:
        super().__init__(grid, **kw)
        self.theta0, self.omega0 = theta, omega_per_day
        self.iterations, self.tol = iterations, tol
        self.max_lag_days, self.jitter_s = max_lag_days, jitter_s
        self.refit_days, self.warm_iterations = refit_days, warm_iterations
        self.seed = seed
        self.theta, self.omega = theta, omega_per_day
        self.mu = np.zeros(grid.n_cells)
        self._cold_fit_at: float | None = None
        self._last_until: float | None = None
        self.iterations_run = 0

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self) -> None:
        keep = np.flatnonzero(self.cell >= 0)
        self._keep = keep
        t = jitter_duplicates(self.events.t[keep], self.jitter_s, self.seed)
        self._t_days = (t - self.until) / DAY_S  # <= 0: days before the forecast start
        self._w = self.events.weight[keep]
        self._span = float(-self._t_days.min()) if keep.size else 1.0
        self._span = max(self._span, 1e-9)
        since = None if self._cold_fit_at is None else self.until - self._cold_fit_at
        # a warm start from a fit on later days would leak them: going back starts cold
        back = self._last_until is not None and self.until < self._last_until
        cold = since is None or back or since >= self.refit_days * DAY_S - 1e-6
        self._last_until = self.until
        if cold:
            self.theta, self.omega = self.theta0, self.omega0
            self.mu = np.zeros(self.grid.n_cells)
            self._cold_fit_at = self.until
        self._em(self.iterations if cold else self.warm_iterations)

    def _em(self, iterations: int) -> None:
        cell = self.cell[self._keep]
        n_cells = self.grid.n_cells
        parent, child = cell_pairs(cell, self._t_days, self.max_lag_days)
        lag = self._t_days[child] - self._t_days[parent]
        w = self._w
        if not np.any(self.mu > 0):
            self.mu = np.bincount(cell, weights=w, minlength=n_cells) / self._span * 0.5
        theta, omega, mu = self.theta, self.omega, self.mu
        tail = -self._t_days  # time left after each event until the forecast start
        for it in range(iterations):
            trig = w[parent] * theta * omega * np.exp(-omega * lag)
            lam = mu[cell] + np.bincount(child, weights=trig, minlength=cell.size)
            lam = np.maximum(lam, 1e-300)
            p_bg = mu[cell] / lam
            p_pair = trig / lam[child]
            new_mu = np.bincount(cell, weights=w * p_bg, minlength=n_cells) / self._span
            triggered = float(np.sum(w[child] * p_pair))
            exposure = float(np.sum(w * (1.0 - np.exp(-omega * np.minimum(tail,
                                                                          self.max_lag_days)))))
            new_theta = triggered / exposure if exposure > 0 else 0.0
            delay = float(np.sum(w[child] * p_pair * lag))
            new_omega = triggered / delay if delay > 0 else omega
            change = max(abs(new_theta - theta), abs(new_omega - omega) / max(omega, 1e-12),
                         float(np.abs(new_mu - mu).sum() / max(mu.sum(), 1e-12)))
            theta, omega, mu = new_theta, new_omega, new_mu
            self.iterations_run = it + 1
            if change < self.tol:
                break
        self.theta, self.omega, self.mu = theta, max(omega, 1e-9), mu
        trig = w[parent] * theta * self.omega * np.exp(-self.omega * lag)
        lam = np.maximum(mu[cell] + np.bincount(child, weights=trig, minlength=cell.size),
                         1e-300)
        self._p_background = mu[cell] / lam

    # -- forecasting ------------------------------------------------------------------------
    def _trigger_mass(self) -> np.ndarray:
        """Expected follow-on events in the forecast day from each (kept) event."""
        a = -self._t_days
        h = self.horizon_days
        return self._w * self.theta * (np.exp(-self.omega * a) - np.exp(-self.omega * (a + h)))

    def _background_mass(self) -> np.ndarray:
        """Each event's share of its cell's background, times the forecast horizon."""
        return self._w * self._p_background / self._span * self.horizon_days

    def predict(self) -> np.ndarray:
        """Expected events per cell over the next `horizon_days`."""
        cell = self.cell[self._keep]
        n = self.grid.n_cells
        return (np.bincount(cell, weights=self._background_mass(), minlength=n)
                + np.bincount(cell, weights=self._trigger_mass(), minlength=n)).astype(float)

    def _contributions(self, cell: int):
        sel = np.flatnonzero(self.cell[self._keep] == cell)
        idx = self._keep[sel]
        bg, tr = self._background_mass()[sel], self._trigger_mass()[sel]
        return (np.concatenate([idx, idx]), np.concatenate([bg, tr]),
                ["background"] * idx.size + ["triggering"] * idx.size)

    def parameters(self) -> dict[str, float]:
        """Fitted branching ratio, mean trigger delay and total background rate."""
        return {"theta": float(self.theta), "omega_per_day": float(self.omega),
                "mean_delay_minutes": float(1440.0 / self.omega),
                "background_per_day": float(self.mu.sum())}


def simulate_grid_hawkes(mu: np.ndarray, theta: float, omega_per_day: float, days: float,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(cell, time in days) of a simulated grid Hawkes process, by branching: background
    events per cell, then each event begets Poisson(theta) children Exp(omega) later.
    Used to check that EM gets back the parameters it was given."""
    rng = np.random.default_rng(seed)
    mu = np.asarray(mu, dtype=float)
    n_bg = rng.poisson(mu * days)
    cells = [np.repeat(np.arange(mu.size), n_bg)]
    times = [rng.uniform(0.0, days, int(n_bg.sum()))]
    parents_c, parents_t = cells[0], times[0]
    while parents_t.size:
        kids = rng.poisson(theta, parents_t.size)
        c = np.repeat(parents_c, kids)
        t = np.repeat(parents_t, kids) + rng.exponential(1.0 / omega_per_day, int(kids.sum()))
        keep = t < days
        parents_c, parents_t = c[keep], t[keep]
        cells.append(parents_c)
        times.append(parents_t)
    cell, t = np.concatenate(cells), np.concatenate(times)
    order = np.argsort(t)
    return cell[order], t[order]
