"""Ownership projections: a hybrid of a feature model and the simulated-optimal rate. Pure; no I/O.

Superseded for the field's ownership by ownership_model.py (a share model fitted to real
%Drafted, salary-tier bounds, reasons) and ownership_sanity.py; this module keeps the capped
normalization (`normalize_ownership`, which both use), the exact optimal-lineup DP and the
hybrid below for the callers that still use it.

(a) Feature model. A driver's share of the slate's ownership is a softmax of a linear score on
    within-slate standardized features: projection, value (points per $1k), salary, starting
    position (a later start means more place-differential upside, which the field chases) and recent
    form. Scaled to the roster total (600 % on DraftKings), each driver capped at 100 %.
    Coefficients: fitted to historical ownership when there is any (`fit_ownership_model`,
    least squares on the percentages with a ridge pull toward the defaults), else the stated
    DEFAULT_COEFS below (chosen a priori, not fitted to the validation slates).
(b) Optimal rate. The share of scenarios in which a driver is in the optimal lineup (exact: a
    dynamic program over salary per scenario, vectorized over scenarios), scaled the same way.
(c) Blend: w * model + (1 - w) * optimal rate, then re-normalized; operator overrides pin drivers
    and the rest is re-normalized around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import gcd

import numpy as np

FEATURES = ("projection", "value", "salary", "start_position", "form")

# Stated defaults: value and projection drive ownership; salary slightly negative at equal points
# (the field avoids paying up); drivers starting further back are chased for place differential;
# recent form adds a little. Temperature is folded into the coefficients.
DEFAULT_COEFS = {
    "intercept": 0.0,
    "projection": 0.85,
    "value": 0.55,
    "salary": -0.05,
    "start_position": 0.10,
    "form": 0.15,
}
DEFAULT_BLEND = 0.7  # weight of the feature model; the rest is the simulated-optimal rate


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros_like(x)
    mu = x[ok].mean()
    sd = x[ok].std()
    z = (x - mu) / sd if sd > 0 else np.zeros_like(x)
    return np.where(ok, z, 0.0)  # missing -> the slate's average


def feature_matrix(salary, projection, start_position=None, form=None) -> np.ndarray:
    """(D, 5) standardized features in FEATURES order; missing inputs are zeros."""
    sal = np.asarray(salary, dtype=np.float64)
    proj = np.asarray(projection, dtype=np.float64)
    n = sal.size
    value = proj / np.maximum(sal, 1.0) * 1000.0
    start = np.full(n, np.nan) if start_position is None else np.asarray(start_position, float)
    frm = np.full(n, np.nan) if form is None else np.asarray(form, float)
    return np.column_stack([_z(proj), _z(value), _z(sal), _z(start), _z(frm)])


def normalize_ownership(
    x, total: float, cap=100.0, fixed: Mapping[int, float] | None = None
) -> np.ndarray:
    """Scale non-negative weights to sum to `total` with every value in [0, cap].

    Values over the cap are pinned at the cap and the excess is spread over the rest in proportion
    (water-filling). `cap` is one number or one per driver (salary-tier bounds); an override may
    go up to 100 whatever the driver's cap. `fixed` pins drivers (index -> pct) and the others
    share total - sum(fixed).
    """
    w = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
    w = np.where(np.isfinite(w), w, 0.0)
    n = w.size
    caps = np.broadcast_to(np.asarray(cap, dtype=np.float64), (n,)).copy()
    out = np.zeros(n)
    free = np.ones(n, dtype=bool)
    remaining = float(total)
    # per-driver caps bound the model, not the operator: an override may go to 100
    limit = float(cap) if np.ndim(cap) == 0 else 100.0
    for i, v in (fixed or {}).items():
        if not 0.0 <= v <= limit:
            raise ValueError(f"override for driver {i}: {v} is outside [0, {limit:g}]")
        out[i] = v
        free[i] = False
        remaining -= v
    if remaining < -1e-9:
        raise ValueError(f"overrides sum to more than the total {total}")
    if caps[free].sum() < remaining - 1e-9:
        raise ValueError(
            f"{free.sum()} free drivers cannot hold {remaining:.1f} % within their caps "
            f"(together {caps[free].sum():.1f} %)"
        )
    if free.any() and w[free].sum() <= 0:
        w = np.where(free, 1.0, w)
    for _ in range(n + 1):
        idx = np.flatnonzero(free)
        if idx.size == 0:
            break
        s = w[idx].sum()
        vals = remaining * w[idx] / s if s > 0 else np.full(idx.size, remaining / idx.size)
        over = vals > caps[idx] + 1e-12
        if not over.any():
            out[idx] = vals
            break
        out[idx[over]] = caps[idx[over]]
        free[idx[over]] = False
        remaining -= caps[idx[over]].sum()
    return out


def model_ownership(
    features: np.ndarray,
    coefs: Mapping[str, float] | None = None,
    total: float = 600.0,
    cap: float = 100.0,
) -> np.ndarray:
    c = {**DEFAULT_COEFS, **(coefs or {})}
    beta = np.array([c[f] for f in FEATURES])
    eta = features @ beta + c["intercept"]
    w = np.exp(eta - eta.max())
    return normalize_ownership(w, total, cap)


def fit_ownership_model(
    slates: list[tuple[np.ndarray, np.ndarray]],
    *,
    total: float = 600.0,
    ridge: float = 0.5,
    prior: Mapping[str, float] | None = None,
) -> dict:
    """Fit the coefficients to historical ownership.

    slates: list of (features (D, 5), actual ownership pct (D,)). Minimizes the mean squared error of
    the (uncapped) softmax percentages plus ridge * ||beta - prior||^2. Returns coefficients.
    """
    from scipy.optimize import minimize

    prior_c = {**DEFAULT_COEFS, **(prior or {})}
    b0 = np.array([prior_c[f] for f in FEATURES])
    usable = [(X, y) for X, y in slates if len(y) and np.isfinite(y).all()]
    if not usable:
        return dict(prior_c)

    def loss(b):
        err = 0.0
        n = 0
        for X, y in usable:
            eta = X @ b
            w = np.exp(eta - eta.max())
            pred = total * w / w.sum()
            err += np.sum((pred - y) ** 2)
            n += y.size
        return err / n + ridge * np.sum((b - b0) ** 2)

    res = minimize(loss, b0, method="L-BFGS-B")
    out = {"intercept": 0.0}
    out.update({f: float(v) for f, v in zip(FEATURES, res.x)})
    return out


# ----------------------------------------------------------------------------- optimal-lineup rate


def optimal_lineups_dp(
    points, salaries, roster_size: int, salary_cap: float, chunk: int = 256
) -> np.ndarray:
    """Exact optimal lineup in every scenario: (S, roster_size) driver indices.

    A knapsack DP over (drivers chosen, salary units) vectorized over scenarios; salaries are
    divided by their greatest common divisor (DraftKings: $100 units, 500 for the cap).
    """
    P = np.asarray(points, dtype=np.float64)
    S, D = P.shape
    sal = np.asarray(salaries, dtype=np.int64)
    g = 0
    for v in sal.tolist() + [int(salary_cap)]:
        g = gcd(g, int(v))
    g = max(g, 1)
    su = sal // g
    C = int(salary_cap) // g
    if C > 20_000:
        raise ValueError("salary grid too fine for the DP")
    R = roster_size
    out = np.empty((S, R), dtype=np.int64)
    NEG = -1e18
    for s0 in range(0, S, chunk):
        p = P[s0 : s0 + chunk]
        c = p.shape[0]
        dp = np.full((c, R + 1, C + 1), NEG)
        dp[:, 0, :] = 0.0  # best value with k drivers and salary <= budget
        take = np.zeros((D, c, R + 1, C + 1), dtype=bool)
        for d in range(D):
            sd = int(su[d])
            if sd > C:
                continue
            cand = np.full_like(dp, NEG)
            cand[:, 1:, sd:] = dp[:, :-1, : C + 1 - sd] + p[:, d][:, None, None]
            better = cand > dp
            take[d] = better
            dp = np.where(better, cand, dp)
        # backtrack
        k = np.full(c, R)
        b = np.full(c, C)
        rows = np.arange(c)
        picks = np.full((c, R), -1, dtype=np.int64)
        n_picked = np.zeros(c, dtype=np.int64)
        for d in range(D - 1, -1, -1):
            t = take[d, rows, k, b] & (k > 0)
            picks[rows[t], n_picked[t]] = d
            n_picked[t] += 1
            b = np.where(t, b - su[d], b)
            k = np.where(t, k - 1, k)
        if np.any(n_picked != R):
            raise ValueError("no feasible lineup under the cap")
        out[s0 : s0 + c] = np.sort(picks, axis=1)
    return out


def optimal_rate(
    points, salaries, roster_size: int, salary_cap: float, max_scenarios: int = 2000
) -> np.ndarray:
    """Share (0..1) of scenarios in which each driver is in the optimal lineup."""
    P = np.asarray(points)[:max_scenarios]
    L = optimal_lineups_dp(P, salaries, roster_size, salary_cap)
    return np.bincount(L.ravel(), minlength=P.shape[1]) / L.shape[0]


@dataclass
class OwnershipProjection:
    ownership: np.ndarray  # (D,) final pct, sums to roster_size * 100
    model: np.ndarray  # (D,) feature model pct
    optimal: np.ndarray | None  # (D,) simulated-optimal pct (None without scenarios)
    coefs: dict
    blend: float


def project_ownership(
    salary,
    projection,
    roster_size: int,
    salary_cap: float,
    *,
    start_position=None,
    form=None,
    points=None,
    coefs=None,
    blend: float = DEFAULT_BLEND,
    overrides: Mapping[int, float] | None = None,
    cap: float = 100.0,
    max_scenarios: int = 2000,
) -> OwnershipProjection:
    """Hybrid projection; overrides map driver index -> pct."""
    total = 100.0 * roster_size
    X = feature_matrix(salary, projection, start_position, form)
    c = {**DEFAULT_COEFS, **(coefs or {})}
    m = model_ownership(X, c, total, cap)
    opt = None
    if points is not None and blend < 1.0:
        rate = optimal_rate(points, salary, roster_size, salary_cap, max_scenarios)
        opt = normalize_ownership(rate, total, cap)
        mixed = blend * m + (1.0 - blend) * opt
    else:
        blend = 1.0
        mixed = m
    final = normalize_ownership(mixed, total, cap, fixed=overrides)
    return OwnershipProjection(ownership=final, model=m, optimal=opt, coefs=c, blend=blend)


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)
