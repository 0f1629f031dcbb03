"""The player's own projections, blended with the model's and moved into the scenarios. Pure.

A scenario is a whole simulated race (finishing order a permutation, laps led summing to the
laps run, fastest laps, DraftKings/FanDuel points by the rules). Editing one driver's points
would break that, so the scenarios are moved by REWEIGHTING whole races (exponential tilting),
then resampling them:

1. Targets. The player's mean DK points u_d are first put on the scale a race allows: the DK
   points of one race sum to an almost fixed total (finishing points are fixed, place
   differential sums to zero, 0.25 a lap led and 0.45 a fastest lap), so means for a field must
   sum to that total. Vendor projections do not (the six 2026 vendor slates in ../shared/data
   sum 13-33 % above it at each track's usual laps; on Sonoma 2026 the real DK points, fastest
   laps missing, regress on the vendor's with slope 0.80 and intercept -1.3: a scale, not a
   shift), so u is multiplied by one factor c making it
   sum, over the drivers given, to the model's mean total for them (`rescale`). The target of a
   driver with a number is (1 - w) m_d + w c u_d (w: the blend weight, m_d: the model's mean);
   a driver without one keeps the model's mean.
2. Tilting. Weights w_s proportional to exp(sum_d lambda_d pts_sd), with lambda the minimizer of
   the convex dual log mean_s exp(lambda . (pts_s - target)) (damped Newton): the weighted mean
   of every driver is his target, and of all reweightings that achieve it this one is the
   closest to the model's (least Kullback-Leibler divergence): the model's correlations
   (teammates, who leads when whom finishes well) decide how the rest of the race adapts.
3. Effective sample size. ESS = 1 / sum w_s^2 (normalized weights) says how many scenarios the
   moved set is worth. When the targets are too far for the scenarios (ESS under
   `min_ess_fraction` of S, or a target outside what any mix of the scenarios reaches), the
   scenarios are moved the largest fraction `reached` of the way from the model's means to the
   targets that keeps the ESS at the floor (bisection), and the result says so.
4. Resampling. S scenarios are drawn from the weights (systematic resampling over the races in
   a random order): every scenario is one the simulator produced, so every scenario stays a
   possible race, scored exactly. The copies of one race stay next to each other, so a prefix
   (what the portfolio optimizes on) and the rest (the contest simulation's held-out
   scenarios) share at most the one race at the boundary: shuffled copies would put copies of
   about half the portfolio's races into the held-out set and flatter its ROI. Any prefix is
   still a fair sample (a random set of races, reweighted), worth its share of the ESS.

Weight 0 or no numbers: the scenarios are returned untouched (bit-identical).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

DEFAULT_MIN_ESS_FRACTION = 0.10  # of the scenarios: the moved set is worth at least this many
# Blend weight of the player's projections when they exist and the run config sets none: half.
# Issue 13's three graded 2026 race weeks put a vendor's projections ahead of ours (14 cashing
# lineups against 5), and an even average of two informative forecasts whose errors are not
# the same beats either alone; at 1.0 a typical vendor-model disagreement (8-12 points a driver)
# often hits the ESS floor (benchmarks/bench_user_numbers.py), at 0.5 it rarely does.
DEFAULT_USER_WEIGHT = 0.5


@dataclass
class UserTilt:
    """The outcome of moving scenarios to blended means (per-driver arrays in column order).

    indices: (S,) rows of the input scenarios forming the moved set (None: untouched).
    weights: (S_in,) normalized tilt weights. ess: their effective sample size. reached: the
    fraction of the way from the model's means to the targets (1.0: all of it). scale: the
    factor the user's numbers were multiplied by. model_mean, user_mean (NaN where none given),
    target (the blended means asked for), achieved (the weighted means reached), moved_mean
    (the means of the resampled set)."""

    indices: np.ndarray | None
    weights: np.ndarray
    ess: float
    reached: float
    scale: float
    model_mean: np.ndarray
    user_mean: np.ndarray
    target: np.ndarray
    achieved: np.ndarray
    moved_mean: np.ndarray
    message: str

    @property
    def moved(self) -> bool:
        return self.indices is not None


def blended_targets(
    model_mean: np.ndarray, user_mean: np.ndarray, weight: float, rescale: bool = True
) -> tuple[np.ndarray, float]:
    """(target means, the factor the user's numbers were scaled by): see step 1 above."""
    m = np.asarray(model_mean, float)
    u = np.asarray(user_mean, float)
    given = np.isfinite(u)
    scale = 1.0
    if rescale and given.any() and u[given].sum() > 0:
        scale = float(m[given].sum() / u[given].sum())
    target = m.copy()
    target[given] = (1.0 - weight) * m[given] + weight * scale * u[given]
    return target, scale


def _dual(X: np.ndarray, lam: np.ndarray) -> tuple[float, np.ndarray]:
    """(log mean_s exp(X_s . lam), normalized weights)."""
    z = X @ lam
    top = z.max()
    e = np.exp(z - top)
    total = e.sum()
    return float(top + np.log(total / len(z))), e / total


def tilt_weights(
    points: np.ndarray,
    target: np.ndarray,
    lam0: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(weights, lambda, converged): the exponential tilt of the rows of `points` (S x D) whose
    weighted column means equal `target` (damped Newton on the convex dual). Not converged:
    the target is outside what the scenarios reach (the last iterate is returned)."""
    P = np.asarray(points, np.float64)
    t = np.asarray(target, np.float64)
    sd = P.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    X = (P - t) / sd  # standardized: one step size suits every driver
    lam = np.zeros(P.shape[1]) if lam0 is None else np.asarray(lam0, float) * sd
    f, w = _dual(X, lam)
    for _ in range(max_iter):
        g = w @ X
        if np.max(np.abs(g)) < tol:
            return w, lam / sd, True
        Xc = X - g
        H = (Xc * w[:, None]).T @ Xc
        ridge = 1e-10 * max(float(np.trace(H)), 1e-12)
        step = np.linalg.solve(H + ridge * np.eye(len(g)), -g)
        a = 1.0
        while a > 1e-8:  # backtracking (Armijo) on the dual
            f_new, w_new = _dual(X, lam + a * step)
            if f_new <= f + 1e-4 * a * float(g @ step):
                break
            a *= 0.5
        else:
            break
        lam, f, w = lam + a * step, f_new, w_new
    return w, lam / sd, bool(np.max(np.abs(w @ X)) < tol)


def effective_sample_size(weights: np.ndarray) -> float:
    w = np.asarray(weights, float)
    return float(1.0 / np.sum(w * w)) if w.sum() > 0 else 0.0


def systematic_resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n row indices drawn from `weights` (systematic: each row appears floor or ceil of n w_s
    times), the rows visited in a random order and each row's copies next to each other."""
    w = np.asarray(weights, float)
    order = rng.permutation(len(w))
    c = np.cumsum(w[order])
    c /= c[-1]
    u = (rng.random() + np.arange(n)) / n
    return order[np.minimum(np.searchsorted(c, u, side="right"), len(c) - 1)]


def move_to_targets(
    points: np.ndarray,
    user_mean: np.ndarray,
    weight: float,
    *,
    min_ess_fraction: float = DEFAULT_MIN_ESS_FRACTION,
    rescale: bool = True,
    seed: int = 0,
    n_out: int | None = None,
) -> UserTilt:
    """Move the scenarios' DK points (S x D, columns = drivers) toward the blend of the model's
    means and `user_mean` (NaN: no number for that driver) with `weight` (0 model, 1 user).
    rescale=False only for numbers already on a race's scale: a set of means whose total
    differs from the race's is out of every scenario mix's reach (nothing moves)."""
    P = np.asarray(points, np.float64)
    S, D = P.shape
    u = np.asarray(user_mean, float)
    m = P.mean(axis=0)
    uniform = np.full(S, 1.0 / S)
    if not (0.0 <= weight <= 1.0):
        raise ValueError(f"blend weight {weight} is outside 0..1")
    if weight == 0.0 or not np.isfinite(u).any():
        why = "blend weight 0" if np.isfinite(u).any() else "no user projections"
        return UserTilt(None, uniform, float(S), 0.0, 1.0, m, u, m, m, m, f"untouched ({why})")
    target, scale = blended_targets(m, u, weight, rescale)
    floor = min_ess_fraction * S
    w, lam, ok = tilt_weights(P, target)
    ess = effective_sample_size(w)
    reached = 1.0
    if not (ok and ess >= floor):
        reached, w, ess = _as_far_as_allowed(P, m, target, floor)
    if reached <= 0.0:
        msg = (
            "untouched: no part of the way to the blended means keeps "
            f"{floor:,.0f} effective scenarios (min_ess_fraction {min_ess_fraction:g})"
        )
        return UserTilt(None, uniform, float(S), 0.0, scale, m, u, target, m, m, msg)
    achieved = w @ P
    rng = np.random.default_rng(seed)
    idx = systematic_resample(w, n_out or S, rng)
    moved_mean = P[idx].mean(axis=0)
    if reached >= 1.0:
        msg = f"moved to the blended means (ESS {ess:,.0f} of {S:,} scenarios)"
    else:
        msg = (
            f"moved {100 * reached:.0f} % of the way to the blended means: further would leave "
            f"fewer than {floor:,.0f} effective scenarios (min_ess_fraction "
            f"{min_ess_fraction:g} of {S:,}) or ask for means no mix of the scenarios has; "
            f"ESS {ess:,.0f}"
        )
    return UserTilt(idx, w, ess, reached, scale, m, u, target, achieved, moved_mean, msg)


def _as_far_as_allowed(P, m, target, floor, steps: int = 10):
    """(fraction of the way, weights, ESS) of the largest fraction of the way from m to target
    whose tilt converges with an ESS of at least `floor` (bisection, warm-started)."""
    S = P.shape[0]
    lo, w_lo, lam_lo = 0.0, np.full(S, 1.0 / S), np.zeros(P.shape[1])
    hi = 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        w, lam, ok = tilt_weights(P, m + mid * (target - m), lam0=lam_lo)
        if ok and effective_sample_size(w) >= floor:
            lo, w_lo, lam_lo = mid, w, lam
        else:
            hi = mid
    return lo, w_lo, effective_sample_size(w_lo)


def resample_scenario_set(sc, indices: np.ndarray):
    """A ScenarioSet (core/simulate.py) of the rows `indices` of `sc`: every (S, D) array and
    the per-scenario dnf_penalty (S,) taken row by row, so each scenario is one of `sc`'s whole
    races."""
    rows = {
        f.name: getattr(sc, f.name)[indices]
        for f in dataclasses.fields(sc)
        if isinstance(getattr(sc, f.name), np.ndarray)
        and (getattr(sc, f.name).ndim == 2 or f.name == "dnf_penalty")
    }
    return dataclasses.replace(sc, **rows)


def blend_table(tilt: UserTilt, driver_ids, names=None) -> list[dict]:
    """Per driver: model mean, user mean (scaled and as given), target, moved mean; drivers
    with a user number first, by moved mean."""
    out = []
    for j, did in enumerate(np.asarray(driver_ids)):
        given = bool(np.isfinite(tilt.user_mean[j]))
        out.append(
            {
                "driver_id": int(did),
                "driver_name": None if names is None else str(names[j]),
                "model_mean": round(float(tilt.model_mean[j]), 2),
                "user_mean": round(float(tilt.user_mean[j]), 2) if given else None,
                "user_mean_scaled": round(float(tilt.scale * tilt.user_mean[j]), 2)
                if given
                else None,
                "target_mean": round(float(tilt.target[j]), 2),
                "blended_mean": round(float(tilt.moved_mean[j]), 2),
            }
        )
    out.sort(key=lambda r: (r["user_mean"] is None, -r["blended_mean"]))
    return out
