"""Calibrating the simulated field against real contests. Pure NumPy; no I/O.

A simple scenario generator that needs no model fit (finishing orders from a Plackett-Luce on a
vendor's projections, laps led and fastest laps given to the front of each order, DraftKings
points from core.rules), and the contest facts a field implies per scenario: the winning score and
the 80th-percentile score. A real contest is matched when its real winning and 80th-percentile
scores fall inside the simulated 5-95 % band of each (issue 13's done-when).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nascar_pipeline.core import rules


def plackett_luce_orders(strength, n_scenarios: int, rng) -> np.ndarray:
    """(S, D) finishing positions (1-based): a Plackett-Luce draw with log-weights `strength`
    (sorting strength + Gumbel noise is an exact Plackett-Luce sample)."""
    s = np.asarray(strength, dtype=np.float64)
    g = s[None, :] + rng.gumbel(size=(n_scenarios, s.size))
    order = np.argsort(-g, axis=1)
    finish = np.empty_like(order)
    finish[np.arange(n_scenarios)[:, None], order] = np.arange(1, s.size + 1)[None, :]
    return finish


def _front_shares(finish, decay: float, concentration: float, rng) -> np.ndarray:
    """Per scenario, shares summing to 1 that favour the front of the order (exp(-(pos-1)/decay))
    with gamma noise of the given concentration."""
    w = np.exp(-(finish - 1) / decay) * rng.gamma(concentration, 1.0, size=finish.shape)
    return w / w.sum(axis=1, keepdims=True)


def dk_points_scenarios(
    projection,
    start,
    laps: int,
    n_scenarios: int,
    rng,
    *,
    temperature: float = 10.0,
    lead_decay: float = 1.5,
    fastest_decay: float = 5.0,
    fastest_share: float = 0.8,
) -> np.ndarray:
    """(S, D) DraftKings points: a Plackett-Luce finishing order on projection / temperature, the
    laps led (most to the front finishers: the leader of most laps leads about half) and the
    fastest laps (fastest_share of the laps, spread wider), scored with rules.draftkings_points."""
    proj = np.asarray(projection, dtype=np.float64)
    finish = plackett_luce_orders(proj / temperature, n_scenarios, rng)
    led = np.round(_front_shares(finish, lead_decay, 0.7, rng) * laps)
    fast = np.round(_front_shares(finish, fastest_decay, 1.0, rng) * laps * fastest_share)
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), finish.shape)
    pts = rules.draftkings_points(start, finish, led, fast)
    return (np.round(pts * 20) / 20).astype(np.float32)


def fit_temperature(projection, start, laps: int, rng, grid=(3, 4, 5, 6, 8, 10, 13, 17, 22, 30)):
    """The Plackett-Luce temperature whose mean DK points per driver best match the projection
    (least squares over drivers, 300 scenarios per candidate)."""
    proj = np.asarray(projection, dtype=np.float64)
    best, best_err = grid[0], np.inf
    for t in grid:
        m = dk_points_scenarios(proj, start, laps, 300, rng, temperature=t).mean(axis=0)
        err = float(((m - proj) ** 2).mean())
        if err < best_err:
            best, best_err = t, err
    return float(best)


@dataclass
class ContestBand:
    win: np.ndarray  # (S,) winning score per scenario
    p80: np.ndarray  # (S,) 80th-percentile score per scenario

    def band(self, q=(0.05, 0.95)) -> dict:
        return {
            "win_lo": float(np.quantile(self.win, q[0])),
            "win_hi": float(np.quantile(self.win, q[1])),
            "p80_lo": float(np.quantile(self.p80, q[0])),
            "p80_hi": float(np.quantile(self.p80, q[1])),
        }

    def inside(self, real_win: float, real_p80: float, q=(0.05, 0.95)) -> dict:
        b = self.band(q)
        return {
            **b,
            "win_inside": bool(b["win_lo"] <= real_win <= b["win_hi"]),
            "p80_inside": bool(b["p80_lo"] <= real_p80 <= b["p80_hi"]),
        }


def contest_band(points, field, chunk: int = 64) -> ContestBand:
    """Winning and 80th-percentile field scores in every scenario (points (S, D), field (F, R))."""
    P = np.asarray(points, dtype=np.float64)
    L = np.asarray(field, dtype=np.int64)
    win = np.empty(P.shape[0])
    p80 = np.empty(P.shape[0])
    for a in range(0, P.shape[0], chunk):
        sc = P[a : a + chunk][:, L].sum(axis=2)  # (c, F)
        win[a : a + chunk] = sc.max(axis=1)
        p80[a : a + chunk] = np.quantile(sc, 0.8, axis=1)
    return ContestBand(win=win, p80=p80)
