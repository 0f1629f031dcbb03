"""The contest field built the way real players build, and never failing. Pure NumPy; no I/O.

Real DraftKings NASCAR fields spend most of the $50,000 cap (median lineup about $49,300), follow the
projected ownership, and duplicate popular lineups because many entrants press "optimize". The
field here is three things:

1. A pool of valid lineups (drawn slot by slot from flattened ownership, between the salary floor
   `field_min_salary` and the cap).
2. Weights on the pool fitted by iterative proportional fitting (raking) so that the weighted pool
   matches two sets of margins at once: each driver's projected ownership, and a salary-usage
   distribution (the dollars left under the cap follow a gamma law with median
   `FieldParams.salary_left_median`). Entrants who build by hand are drawn from these weights.
3. A share `optimizer_share` of the entries taken from the `optimizer_pool` best lineups by
   projection, rank k drawn with probability proportional to k^-optimizer_decay: the source of
   realistic duplication. The hand-built part is fitted to the ownership left over after them, so
   the whole field still matches the target.

It never fails: a floor no pool lineup reaches is lowered in steps of `floor_step`, and an ownership
that cannot coexist with salary usage near the cap (e.g. most weight on minimum-priced drivers) is
tempered toward a salary-feasible ownership (straight to the mix whose mean salary the usage law
allows, then step by step) until the fit holds. Each adjustment is returned as a warning string
for the run log and metadata.

Speed: everything but the final draw (pool, optimizer lineups, fitted weights, warnings) is a
`FieldModel`, a pure function of the slate, the ownership, the floor and the params (its pool
drawn with a generator seeded from them), cached per process (`field_model`); the raking is one
sparse product each way per L-BFGS step with a small ridge. A 10,000-entry field costs about
0.5 s of CPU cold, a 200,000-entry one about the same plus the draw, a cached slate milliseconds
(benchmarks/bench_field.py).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import gammainc, gammaincinv

SALARY_BIN_EDGES = (0, 300, 600, 1000, 1500, 2000, 3000, 4000, 6000, 10_000, math.inf)
OPTIMIZER_ROOM = 0.9  # most of a driver's target ownership the optimizer users may supply


@dataclass(frozen=True)
class FieldParams:
    """Free parameters of the field, calibrated on the real DraftKings contests of
    shared/data/draftkings/contests_2026.csv that have a slate: the three Sonoma 2026 contests
    (490, 980 and 3,567 entries; Pocono has no slate). benchmarks/bench_field.py part 2, ten
    scenario seeds, on the stand-in calibrated to real road races (field_calibration.fit_stand_in):
    the real winning score sits at the simulated 41-84 % quantile and the real 80th-percentile
    score at 84-92 %, all 60 checks inside the 5-95 % band: three contests of one race, ten
    seeds, and in sample (these contests set the parameters), so not 60 independent checks. The
    real race was a good one for the chalk: its favourite, 66 % owned, scored at his 90 %
    quantile; the field's mean lineup under the real result sat at the stand-in's 77 % quantile
    without fastest laps (a lower bound) and 95 % with the mean fastest-lap share (one seed).
    Scored with the real 2026
    result, the field's 80th-percentile lineup is within about 6 points of the real one. The
    optimizer share and its flatter rank law are what moved the winning score most (real fields
    copy popular optimizer lineups a lot); they were set on the first stand-in, which ran hot,
    and still hold on the calibrated one (share 0.3 or a pool of 150 changes no check)."""

    salary_left_median: float = 700.0  # dollars under the cap left by the median lineup
    salary_left_shape: float = 1.2  # gamma shape of the dollars left (1 = exponential)
    optimizer_share: float = 0.50  # share of entries copied from the optimizer pool
    optimizer_pool: int = 50  # best lineups by projection that optimizer users end up with
    optimizer_decay: float = 0.5  # P(rank k) ~ k^-decay within the optimizer pool
    pool_size: int = 30_000  # candidate lineups the hand-built entries are drawn from
    near_cap: float = 1_500.0  # dollars under the cap where most of the pool is drawn
    near_cap_share: float = 0.8
    min_mean_left: float = 500.0  # fewest dollars an average field lineup leaves under the cap
    usage_slack: float = 1.5  # most the dollars left may grow to meet a cheap-leaning ownership
    pool_flatten: float = 0.0  # proposal ~ (ownership + 1)^flatten; 0: uniform, covers all
    ipf_iters: int = 300
    # pulls the raking's dual toward 0: where ownership and salary usage conflict slightly the
    # fit settles on a compromise in ~40 iterations instead of chasing it for hundreds (1e-3
    # costs at most ~0.5 points of ownership on the real slates)
    rake_ridge: float = 1e-3
    ownership_tol: float = 3.0  # percentage points: most any driver may miss its target
    floor_step: float = 500.0  # dollars the floor is lowered by when nothing reaches it
    temper_steps: int = 4  # tempering of an infeasible ownership in 1/temper_steps steps


@dataclass
class FieldBuild:
    lineups: np.ndarray  # (n, R) int64 driver indices, ascending per row, duplicates kept
    warnings: list[str]
    floor_used: float  # the salary floor the field was drawn with (field_min_salary or lower)
    target_ownership: np.ndarray  # (D,) % the field was fitted to (after capping / tempering)
    realized_ownership: np.ndarray  # (D,) % in the drawn field
    n_optimizer: int = 0  # entries copied from the optimizer pool
    diagnostics: dict = field(default_factory=dict)

    def stats(self, salaries, input_ownership=None) -> dict:
        return field_stats(self.lineups, salaries, self.realized_ownership, input_ownership)


def field_stats(lineups, salaries, realized=None, target=None) -> dict:
    """Salary usage, duplication and (given a target in %) ownership error of a field."""
    L = np.asarray(lineups, dtype=np.int64)
    sal = np.asarray(salaries, dtype=np.float64)
    D = sal.size
    s = sal[L].sum(axis=1)
    from nascar_pipeline.core.contest import lineup_keys

    _, inv, counts = np.unique(lineup_keys(L), return_inverse=True, return_counts=True)
    out = {
        "entries": int(len(L)),
        "salary_mean": float(s.mean()),
        "salary_median": float(np.median(s)),
        "salary_p10": float(np.quantile(s, 0.10)),
        "share_below_47k": float((s < 47_000).mean()),
        "unique_share": float(counts.size / max(len(L), 1)),
        "duplicated_share": float((counts[inv] > 1).mean()),  # entries sharing their lineup
        "max_copies": int(counts.max()) if counts.size else 0,
    }
    if realized is None:
        realized = np.bincount(L.ravel(), minlength=D) / max(len(L), 1) * 100.0
    if target is not None:
        t = _as_pct(target, L.shape[1])
        out["own_mae"] = float(np.abs(realized - t).mean())
        out["own_max_err"] = float(np.abs(realized - t).max())
    return out


def _as_pct(own, roster_size: int) -> np.ndarray:
    """Ownership rescaled to sum to roster_size * 100 % (each lineup holds roster_size drivers)."""
    o = np.maximum(np.asarray(own, dtype=np.float64), 0.0)
    tot = o.sum()
    if tot <= 0:
        return np.full(o.size, roster_size * 100.0 / o.size)
    return o / tot * roster_size * 100.0


def _cap_at_100(t: np.ndarray) -> np.ndarray:
    """No driver above 100 %: the excess goes to the others in proportion (a few passes)."""
    t = t.copy()
    total = t.sum()
    for _ in range(20):
        over = t > 100.0
        if not over.any():
            break
        t[over] = 100.0
        free = ~over & (t < 100.0)
        t[free] *= (total - t[~free].sum()) / max(t[free].sum(), 1e-12)
    return t


# ----------------------------------------------------------------------------- the pool


def sample_pool(w, sal, R: int, cap: float, floor: float, n: int, rng, max_rounds: int = 8):
    """Up to n valid lineups (salary in [floor, cap]), drawn slot by slot with weights w; each slot
    keeps the lineup completable: under the cap with the cheapest drivers left, over the floor with
    the dearest. Duplicates dropped. Returns (m, R) int64, ascending per row (m may be < n)."""
    D = w.size
    asc = np.sort(sal)
    low = np.concatenate([[0.0], np.cumsum(asc)])  # least k drivers can cost
    high = np.concatenate([[0.0], np.cumsum(asc[::-1])])  # most k drivers can cost
    from nascar_pipeline.core.contest import lineup_keys

    found: list[np.ndarray] = []
    have = 0
    for _ in range(max_rounds):
        m = int(min(max(n - have, 1) * 1.3 + 64, 200_000))
        avail = np.ones((m, D), dtype=bool)
        spent = np.zeros(m)
        picks = np.empty((m, R), dtype=np.int64)
        dead = np.zeros(m, dtype=bool)
        for slot in range(R):
            left = R - slot - 1
            ok = (
                avail
                & (sal[None, :] <= (cap - spent - low[left])[:, None] + 1e-9)
                & (sal[None, :] >= (floor - spent - high[left])[:, None] - 1e-9)
            )
            p = np.where(ok, w[None, :], 0.0)
            tot = p.sum(axis=1)
            dead |= tot <= 0
            cdf = np.cumsum(p, axis=1)
            u = rng.random(m) * np.where(tot > 0, tot, 1.0)
            pick = np.minimum((cdf < u[:, None]).sum(axis=1), D - 1)
            picks[:, slot] = pick
            avail[np.arange(m), pick] = False
            spent += sal[pick]
        good = ~dead & (spent >= floor - 1e-9) & (spent <= cap + 1e-9)
        found.append(np.sort(picks[good], axis=1))
        allp = np.concatenate(found)
        _, first = np.unique(lineup_keys(allp), return_index=True)
        found = [allp[np.sort(first)]]
        have = len(found[0])
        if have >= n:
            break
    return found[0][:n]


def _near_cap_pool(prop, sal, R, cap, floor, params: FieldParams, rng) -> np.ndarray:
    """The pool, most of it drawn within params.near_cap dollars of the cap (where real fields
    are), the rest anywhere over the floor: dense where the weight is, so few pool lineups carry
    much weight alone (which would duplicate them beyond what real fields do)."""
    n_near = int(params.pool_size * params.near_cap_share) if cap - params.near_cap > floor else 0
    near = sample_pool(prop, sal, R, cap, cap - params.near_cap, n_near, rng) if n_near else None
    rest = sample_pool(prop, sal, R, cap, floor, params.pool_size - n_near, rng)
    if near is None or len(near) == 0:
        return rest
    from nascar_pipeline.core.contest import lineup_keys

    both = np.concatenate([near, rest])
    _, first = np.unique(lineup_keys(both), return_index=True)
    return both[np.sort(first)]


def _usage_for(target_pct, sal, cap: float, params: FieldParams) -> FieldParams:
    """The salary-usage law for this ownership: where the ownership implies lineups dearer than the
    default law (mean lineup salary = sum of ownership x salary), the field spends more (down to
    `min_mean_left` dollars left on average); where it implies cheaper ones, up to `usage_slack`
    times the default median left. Beyond that the ownership is what gets tempered."""
    k = params.salary_left_shape
    ratio = k / gammaincinv(k, 0.5)  # mean / median of a unit gamma
    implied_left = cap - float((target_pct / 100.0 * sal).sum())
    default_mean = params.salary_left_median * ratio
    # the field's mean salary IS sum(ownership x salary): follow it within realistic bounds
    mean = min(max(implied_left, params.min_mean_left), default_mean * params.usage_slack)
    return replace(params, salary_left_median=mean / ratio)


def _law_mean_salary(cap: float, usage: FieldParams) -> float:
    """Mean lineup salary under a usage law (untruncated gamma of the dollars left)."""
    k = usage.salary_left_shape
    return cap - usage.salary_left_median * k / gammaincinv(k, 0.5)


def _salary_feasible_pct(pool, bins, bin_target, share, opt_count, R, D) -> np.ndarray:
    """The whole field's ownership (%) when the hand-built entries follow the salary law alone
    (each bin's mass spread evenly over its pool lineups) and the optimizer users as fitted."""
    per_bin = np.bincount(bins, minlength=bin_target.size)
    w_bin = np.where(per_bin > 0, bin_target / np.maximum(per_bin, 1), 0.0)[bins]
    feasible = np.bincount(pool.ravel(), weights=np.repeat(w_bin, R), minlength=D)
    feasible = feasible / feasible.sum() * R
    return (share * opt_count + (1 - share) * feasible) * 100.0


# ----------------------------------------------------------------------------- raking


def salary_usage_target(edges, cap: float, floor: float, params: FieldParams) -> np.ndarray:
    """Probability of each bin of dollars left under the cap, gamma law truncated at cap - floor."""
    k = params.salary_left_shape
    scale = params.salary_left_median / gammaincinv(k, 0.5)
    e = np.minimum(np.asarray(edges, dtype=np.float64), max(cap - floor, 0.0) + 1.0)
    cdf = gammainc(k, np.maximum(e, 0.0) / scale)
    p = np.diff(cdf)
    return p / max(p.sum(), 1e-12)


def _rake(pool, bins, target_count, bin_target, iters: int, tol_count: float, ridge, x0=None):
    """rake (below), also returning the dual solution x (a warm start for a nearby fit)."""
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    P, R = pool.shape
    D = target_count.size
    nb = bin_target.size
    present = np.bincount(bins, minlength=nb) > 0
    bt = np.where(present, bin_target, 0.0)
    bt = bt / max(bt.sum(), 1e-12)
    # one sparse row per pool lineup: its R drivers and its salary bin; z = M @ x is the log
    # weight, M.T @ pi the realized margins (one sparse product each way per evaluation)
    cols = np.concatenate([pool, D + bins[:, None]], axis=1).ravel()
    M = csr_matrix(
        (np.ones(cols.size), cols, np.arange(0, cols.size + 1, R + 1)), shape=(P, D + nb)
    )
    MT = M.T.tocsr()
    goal = np.concatenate([target_count, bt])

    def weights(x):
        z = M @ x
        zmax = z.max()
        e = np.exp(z - zmax)
        tot = e.sum()
        return e / tot, zmax + math.log(tot)

    def dual(x):
        pi, lse = weights(x)
        f = lse - x @ goal + 0.5 * ridge * (x @ x)
        return f, MT @ pi - goal + ridge * x

    res = minimize(
        dual,
        np.zeros(D + nb) if x0 is None else x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": iters, "gtol": tol_count * 0.1},
    )
    pi, _ = weights(res.x)
    margins = MT @ pi
    return pi, margins[:D], margins[D:], res.x


def rake(pool, bins, target_count, bin_target, iters: int, tol_count: float, ridge: float = 1e-6):
    """Pool weights pi ~ exp(sum of theta over the lineup's drivers + phi[bin]) matching each
    driver's expected count per lineup (target_count, sums to R) and the bin masses: the maximum-
    entropy reweighting of the pool, i.e. the fixed point of iterative proportional fitting, found
    by L-BFGS on its convex dual (a small ridge keeps it bounded when the margins conflict, giving
    the closest compromise). Returns (pi, realized counts, realized bin masses)."""
    pi, real, bm, _ = _rake(pool, bins, target_count, bin_target, iters, tol_count, ridge)
    return pi, real, bm


# ----------------------------------------------------------------------------- the field model


@dataclass(frozen=True)
class FieldModel:
    """Everything about a slate's field but the draw: a pure function of the slate, the ownership,
    the floor and the params (fitted once per process and slate, see `field_model`)."""

    pool: np.ndarray  # (P, R) candidate hand-built lineups
    pool_weights: np.ndarray  # (P,) probability of each, fitted by raking
    optimizer_lineups: np.ndarray  # (K, R) the optimizer users' lineups
    optimizer_weights: np.ndarray  # (K,) probability of each (rank^-decay)
    optimizer_share: float  # share of the entries copied from optimizer_lineups
    floor: float
    target: np.ndarray  # (D,) % the field is fitted to (after capping / tempering)
    warnings: tuple[str, ...]
    diagnostics: dict


_MODEL_CACHE: OrderedDict[bytes, FieldModel] = OrderedDict()
_MODEL_LOCK = threading.Lock()  # the cache is shared by threads (a fit outside the lock)
_FITTING: dict[bytes, threading.Lock] = {}  # a lock per slate being fitted now
MODEL_CACHE_SIZE = 16


def _model_key(*parts) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(
            np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray) else repr(p).encode()
        )
        h.update(b"|")
    return h.digest()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # the model is cached and shared: nobody may change it in place
    return a


def field_model(
    ownership_pct,
    salaries,
    roster_size: int,
    salary_cap: float,
    *,
    field_min_salary: float = 46_000.0,
    projections=None,
    names=None,
    params: FieldParams | None = None,
) -> FieldModel:
    """The slate's FieldModel, from a per-process cache when the same inputs were fitted before.
    Deterministic: the pool is drawn with a generator seeded from the inputs, so the model does not
    depend on the caller's generator or on what the cache holds."""
    params = params or FieldParams()
    sal = np.asarray(salaries, dtype=np.float64)
    D, R = sal.size, int(roster_size)
    if D < R:
        raise ValueError(f"{D} drivers on the slate: a lineup needs {R}")
    names = [f"driver {i}" for i in range(D)] if names is None else [str(x) for x in names]
    raw = np.nan_to_num(np.asarray(ownership_pct, dtype=np.float64), nan=0.0)
    proj = None if projections is None else np.nan_to_num(np.asarray(projections, dtype=float))
    key = _model_key(raw, sal, R, float(salary_cap), float(field_min_salary), proj, names, params)
    with _MODEL_LOCK:
        hit = _cached(key)
        if hit is not None:
            return hit
        fitting = _FITTING.setdefault(key, threading.Lock())
    # one fit per slate: threads that miss together wait for the first one's model (the fit is
    # outside _MODEL_LOCK, so other slates' look-ups and fits go on meanwhile)
    with fitting:
        with _MODEL_LOCK:
            hit = _cached(key)
        if hit is not None:
            return hit
        try:
            seed = int.from_bytes(key[:8], "little")
            model = _fit_model(
                raw, sal, R, float(salary_cap), float(field_min_salary), proj, names, params, seed
            )
            with _MODEL_LOCK:
                _MODEL_CACHE[key] = model
                while len(_MODEL_CACHE) > MODEL_CACHE_SIZE:
                    _MODEL_CACHE.popitem(last=False)
        finally:
            with _MODEL_LOCK:
                _FITTING.pop(key, None)
    return model


def _cached(key: bytes) -> FieldModel | None:
    """The cached model (now the most recent), or None; the caller holds _MODEL_LOCK."""
    hit = _MODEL_CACHE.get(key)
    if hit is not None:
        _MODEL_CACHE.move_to_end(key)
    return hit


def _fit_model(raw, sal, R, cap, field_min_salary, proj, names, params, seed) -> FieldModel:
    rng = np.random.default_rng(seed)
    D = sal.size
    warns: list[str] = []
    if np.any(raw < 0):
        warns.append("negative projected ownership set to 0")
    target = _cap_at_100(_as_pct(raw, R))
    if abs(np.maximum(raw, 0).sum() - R * 100.0) > R * 100.0 * 0.05:
        warns.append(
            f"projected ownership sums to {np.maximum(raw, 0).sum():.0f} %, "
            f"rescaled to {R * 100} % ({R} drivers per lineup)"
        )

    # the floor: lowered stepwise until enough distinct lineups reach it (straight to the first
    # step the dearest lineup reaches, the steps before it cannot hold any lineup)
    floor = float(min(field_min_salary, cap))
    dearest = float(np.sort(sal)[-R:].sum())
    if floor > dearest:
        floor = max(
            0.0, floor - math.ceil((floor - dearest) / params.floor_step) * params.floor_step
        )
    prop = (target + 1.0) ** params.pool_flatten
    pool = _near_cap_pool(prop, sal, R, cap, floor, params, rng)
    need = min(200, params.pool_size)
    while len(pool) < need and floor > 0:
        floor = max(0.0, floor - params.floor_step)
        pool = _near_cap_pool(prop, sal, R, cap, floor, params, rng)
    if floor < field_min_salary:
        warns.append(
            f"field_min_salary ${field_min_salary:,.0f}: too few lineups reach it on this slate; "
            f"the field was drawn with a floor of ${floor:,.0f}"
        )

    # optimizer users: the best lineups by projection, popular ranks copied most
    opt = np.empty((0, R), dtype=np.int64)
    p_opt = np.empty(0)
    if params.optimizer_share > 0 and params.optimizer_pool > 0:
        from nascar_pipeline.core.optimize import InfeasibleError, optimize_lineups

        obj = target if proj is None else proj
        try:
            opt = optimize_lineups(
                obj, sal, R, cap, k=params.optimizer_pool, min_salary=floor
            ).lineups
        except InfeasibleError:  # the pool reached the floor, so this should not happen
            opt = np.empty((0, R), dtype=np.int64)
        if len(opt):
            p_opt = np.arange(1, len(opt) + 1, dtype=np.float64) ** -params.optimizer_decay
            p_opt /= p_opt.sum()
    opt_count = (
        np.bincount(opt.ravel(), weights=np.repeat(p_opt, R), minlength=D) if len(opt) else 0.0
    )
    share = params.optimizer_share if len(opt) else 0.0
    if len(opt):
        # the optimizer users may not own a driver beyond OPTIMIZER_ROOM of his target: the
        # hand-built entries must still be able to bring every driver to his ownership
        room = np.where(opt_count > 0, OPTIMIZER_ROOM * target / 100.0, np.inf)
        share = min(share, float((room / np.maximum(opt_count, 1e-12)).min()))

    left = cap - sal[pool].sum(axis=1)
    edges = np.asarray(SALARY_BIN_EDGES, dtype=np.float64)
    bins = np.clip(np.searchsorted(edges, left, side="right") - 1, 0, edges.size - 2)
    usage = _usage_for(target, sal, cap, params)
    bin_target = salary_usage_target(edges, cap, floor, usage)
    tol = 0.25 * params.ownership_tol / 100

    def fit(tgt_pct):
        hand = (tgt_pct / 100.0 - share * opt_count) / max(1.0 - share, 1e-9)
        hand = np.maximum(hand, 1e-4)
        hand = hand / hand.sum() * R
        pi, real, bm, _ = _rake(
            pool, bins, hand, bin_target, params.ipf_iters, tol, params.rake_ridge
        )
        whole = (share * opt_count + (1 - share) * real) * 100.0
        return pi, whole, bm

    # Ownership and salary usage near the cap cannot both hold when the ownership's own mean
    # lineup salary (sum of ownership x salary) is beyond what the usage law follows: temper the
    # ownership toward the one the salary margin alone implies (`feasible_pct`), straight to the
    # mixing weight lam0 whose mean salary the law allows (mean salary is linear in lam), then in
    # steps toward 1 until the fit holds. The untempered fit always comes first.
    implied_left = cap - float((target / 100.0 * sal).sum())
    law_left = cap - _law_mean_salary(cap, usage)
    feasible_pct = _salary_feasible_pct(pool, bins, bin_target, share, opt_count, R, D)
    lam0 = 0.0
    if abs(implied_left - law_left) > 1.0:
        gap = cap - float((feasible_pct / 100.0 * sal).sum()) - implied_left
        lam0 = float(np.clip((law_left - implied_left) / gap, 0.0, 1.0)) if abs(gap) > 1.0 else 1.0
    steps = params.temper_steps
    tail = [lam0 + (1.0 - lam0) * k / steps for k in range(0 if lam0 else 1, steps + 1)]
    best = None
    for lam in dict.fromkeys([0.0, *tail]):
        t_lam = _cap_at_100((1 - lam) * target + lam * feasible_pct) if lam > 0 else target
        # the untempered fit first: a real ownership just past the law often still fits
        pi_l, whole_l, bm_l = fit(t_lam)
        e_l = float(np.abs(whole_l - t_lam).max())
        if best is None or e_l < best[0]:
            best = (e_l, lam, pi_l, whole_l, t_lam, bm_l)
        if e_l <= params.ownership_tol:
            break
    e_l, lam, pi, whole, t_new, bm = best
    if lam > 0:
        order = np.argsort(-np.abs(t_new - target))[:4]
        moved = ", ".join(f"{names[i]} {target[i]:.0f}%->{t_new[i]:.0f}%" for i in order)
        warns.append(
            f"projected ownership implies an average lineup salary of "
            f"${(target / 100 * sal).sum():,.0f}, far from how real fields spend the cap: "
            f"tempered {lam:.0%} toward a salary-feasible ownership ({moved})"
        )
    target = t_new
    if e_l > params.ownership_tol:
        warns.append(
            f"the field misses its ownership target by up to {e_l:.1f} points "
            f"(tolerance {params.ownership_tol:.1f})"
        )
    return FieldModel(
        pool=_frozen(pool),
        pool_weights=_frozen(pi),
        optimizer_lineups=_frozen(opt),
        optimizer_weights=_frozen(p_opt),
        optimizer_share=float(share),
        floor=floor,
        target=_frozen(target),
        warnings=tuple(warns),
        diagnostics={
            "pool": int(len(pool)),
            "optimizer_share": float(share),
            "salary_left_median": float(usage.salary_left_median),
            "expected_own_max_err": float(np.abs(whole - target).max()),
            "salary_bins_target": bin_target.round(4).tolist(),
            "salary_bins_fitted": bm.round(4).tolist(),
        },
    )


# ----------------------------------------------------------------------------- the field


def build_field(
    ownership_pct,
    salaries,
    roster_size: int,
    salary_cap: float,
    n_lineups: int,
    *,
    field_min_salary: float = 46_000.0,
    projections=None,
    names=None,
    rng: np.random.Generator | None = None,
    params: FieldParams | None = None,
) -> FieldBuild:
    """A realistic contest field of n_lineups (see the module docstring); never raises on a slate
    with at least roster_size drivers: adjustments come back in FieldBuild.warnings.

    ownership_pct: (D,) projected ownership in % (rescaled to sum to roster_size * 100).
    projections: (D,) projected points the optimizer users build from (default: the ownership).
    names: (D,) driver names for the warnings (default: "driver <i>").
    The slate's FieldModel is fitted once per process (`field_model`); rng only draws the entries.
    """
    rng = rng or np.random.default_rng()
    m = field_model(
        ownership_pct,
        salaries,
        roster_size,
        salary_cap,
        field_min_salary=field_min_salary,
        projections=projections,
        names=names,
        params=params,
    )
    R = int(roster_size)
    D = np.asarray(salaries).size
    n_opt = int(round(m.optimizer_share * n_lineups)) if len(m.optimizer_lineups) else 0
    n_hand = n_lineups - n_opt
    parts = [m.pool[rng.choice(len(m.pool), size=n_hand, p=m.pool_weights)]] if n_hand else []
    if n_opt:
        pick = rng.choice(len(m.optimizer_lineups), size=n_opt, p=m.optimizer_weights)
        parts.append(m.optimizer_lineups[pick])
    lineups = np.sort(np.concatenate(parts), axis=1) if parts else np.empty((0, R), np.int64)
    lineups = lineups.astype(np.int64)[rng.permutation(len(lineups))]
    realized = np.bincount(lineups.ravel(), minlength=D) / max(len(lineups), 1) * 100.0
    return FieldBuild(
        lineups=lineups,
        warnings=list(m.warnings),
        floor_used=m.floor,
        target_ownership=np.array(m.target),
        realized_ownership=realized,
        n_optimizer=n_opt,
        diagnostics=dict(m.diagnostics),
    )
