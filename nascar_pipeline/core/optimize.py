"""Exact lineup optimizer: a 0/1 MILP solved by HiGHS (highspy), or exact enumeration. Pure.

maximize   sum_d objective[d] * x[d]
subject to sum_d x[d] == roster_size
           min_salary <= sum_d salary[d] * x[d] <= salary_cap
           x[d] == 1 for locked drivers, x[d] == 0 for excluded ones
           at_least[g] <= sum_{d in group g} x[d] <= at_most[g] for every group
           for every earlier lineup L:  sum_{d in L} x[d] <= max_shared
           a driver's column is closed once it reaches its exposure limit
           min exposures (reserve rule, with r lineups still to pick and deficit[d] the lineups
           driver d still needs): x[d] == 1 when deficit[d] == r, and
           sum_{d: deficit[d] > 0} x[d] >= sum_d deficit[d] - roster_size * (r - 1)

`optimize_lineups` returns the K best lineups one after another (each solve is exact: HiGHS with
a zero MIP gap). With `max_shared = roster_size - 1` (the default) and no exposure limits the
result is exactly the K best distinct lineups (ties broken by the solver). With a smaller overlap
or exposure limits it is the sequential best, as every lineup optimizer builds a multi-entry set.
The model is built once; each further lineup only adds one row and re-solves.

For DFS-sized pools (C(D, R) up to a few million) the same sequence is found faster by listing
every valid lineup once (vectorized, pruned by the cap), sorting by objective and scanning with
64-bit driver masks (`method="enumerate"`, the default through "auto"): each pick is the first
lineup in objective order that passes every constraint so far, which is the MILP's optimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from nascar_pipeline.core.highs_banner import SOLVER_LOCK

_TOL = 1e-6


class InfeasibleError(ValueError):
    """No lineup satisfies the constraints (raised only when not even one lineup exists)."""


@dataclass
class OptimizeResult:
    lineups: np.ndarray  # (K, roster_size) int: driver indices, ascending per row
    objective: np.ndarray  # (K,) float: objective value of each lineup
    salaries: np.ndarray  # (K,) int: salary used
    solve_seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False  # fewer than k lineups exist under the constraints
    shortfall_reason: str = ""  # why, when stopped_early


def _exposure_counts(max_exposure, n_drivers: int, k: int) -> np.ndarray:
    """Per-driver maximum number of lineups (of k) a driver may appear in."""
    if max_exposure is None:
        return np.full(n_drivers, k, dtype=np.int64)
    e = np.broadcast_to(np.asarray(max_exposure, dtype=float), (n_drivers,))
    if np.any(e < 0) or np.any(e > 1):
        raise ValueError("max_exposure is a fraction of the lineups in [0, 1]")
    # floor with a tolerance so 0.3 * 10 == 3, not 2
    return np.floor(e * k + 1e-9).astype(np.int64)


def _min_counts(min_exposure, n_drivers: int, k: int) -> np.ndarray:
    """Per-driver minimum number of lineups (of k) a driver must appear in."""
    if min_exposure is None:
        return np.zeros(n_drivers, dtype=np.int64)
    e = np.broadcast_to(np.asarray(min_exposure, dtype=float), (n_drivers,))
    if np.any(e < 0) or np.any(e > 1):
        raise ValueError("min_exposure is a fraction of the lineups in [0, 1]")
    return np.ceil(e * k - 1e-9).astype(np.int64)


def _groups(groups, roster_size: int) -> list[tuple[np.ndarray, int, int, str]]:
    """Groups as (members, at_least, at_most, name): GroupRule-like objects or tuples."""
    out = []
    for i, g in enumerate(groups):
        if isinstance(g, tuple):
            members, lo, hi = g[:3]
            name = g[3] if len(g) > 3 else f"group {i}"
        else:
            members, lo, hi, name = g.members, g.at_least, g.at_most, g.name
        lo = 0 if lo is None else int(lo)
        hi = roster_size if hi is None else int(hi)
        out.append((np.asarray(members, dtype=np.int64), lo, hi, name))
    return out


def _behind_pace(min_counts, counts, done: int, k: int, forced, roster_size: int):
    """Drivers owed a min exposure who would fall behind an even pace with the next pick
    (fewer than floor(min_count * (done + 1) / k) lineups), joined to `forced`; None when there
    are none or too many for one lineup. The pace is tried first and dropped for a pick that
    cannot keep it, so owed drivers are spread over the build instead of crowding its end."""
    behind = np.flatnonzero(counts < (min_counts * (done + 1)) // max(k, 1))
    if behind.size == 0:
        return None
    both = np.union1d(forced, behind)
    return both if both.size <= roster_size else None


def _reserve_rule(min_counts, counts, left: int, roster_size: int):
    """The next pick's share of the min exposures still owed, with `left` lineups to pick:
    (forced drivers, owed drivers, need) or a reason string when they can no longer be met.
    A driver owed as many lineups as are left must be in this one, and the pick must cover
    at least what the other left - 1 lineups cannot (roster_size slots each)."""
    deficit = np.maximum(min_counts - counts, 0)
    if not deficit.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    late = np.flatnonzero(deficit > left)
    if late.size:
        return f"driver index {int(late[0])} still needs {int(deficit[late[0]])} lineups of {left}"
    forced = np.flatnonzero(deficit >= left)
    need = int(deficit.sum()) - roster_size * (left - 1)
    if forced.size > roster_size or need > roster_size:
        return f"the min exposures owe {int(deficit.sum())} driver-slots in {left} lineups"
    return forced, np.flatnonzero(deficit > 0), need


ENUMERATION_LIMIT = 6_000_000  # most lineups (C(D, R)) the exact enumeration path will list


def optimize_lineups(
    objective,
    salaries,
    roster_size: int,
    salary_cap: float,
    k: int = 1,
    *,
    locks: Sequence[int] = (),
    excludes: Sequence[int] = (),
    min_salary: float = 0.0,
    max_exposure=None,
    min_exposure=None,
    max_shared: int | None = None,
    groups: Sequence = (),
    time_limit_s: float | None = None,
    method: str = "auto",
) -> OptimizeResult:
    """K lineups maximizing a per-driver objective under the roster size and the salary cap.

    objective, salaries: (D,) arrays. locks / excludes: driver indices. max_exposure /
    min_exposure: None, a fraction, or a (D,) array of fractions of the k lineups (a driver is in
    at most floor(max * k), at least ceil(min * k) of them). max_shared: most drivers any two
    lineups may share (default roster_size - 1, i.e. distinct lineups). groups: GroupRule
    (core/steering.py) or (members, at_least, at_most[, name]) tuples, each holding in every
    lineup.

    method: "milp" (HiGHS), "enumerate" (every valid lineup listed once, sorted by objective, then
    the sequential picks are a scan with bitmask overlap tests: exact, and far faster than
    re-solving a MILP whose overlap rows make it a hard packing problem), or "auto": enumerate when
    C(D, R) <= ENUMERATION_LIMIT and D <= 64, else MILP. Both give the same sequence of objective
    values (each pick is the best lineup satisfying every constraint so far; ties in any order).
    """
    from math import comb

    n = np.asarray(objective).shape[0]
    if method == "auto":
        method = (
            "enumerate"
            if (n <= 64 and roster_size <= n and comb(n, roster_size) <= ENUMERATION_LIMIT)
            else "milp"
        )
    kw = dict(
        locks=locks,
        excludes=excludes,
        min_salary=min_salary,
        max_exposure=max_exposure,
        min_exposure=min_exposure,
        max_shared=max_shared,
        groups=groups,
    )
    if method == "enumerate":
        return _optimize_enumerate(objective, salaries, roster_size, salary_cap, k, **kw)
    if method != "milp":
        raise ValueError(f"unknown method {method!r}")
    return _optimize_milp(
        objective, salaries, roster_size, salary_cap, k, time_limit_s=time_limit_s, **kw
    )


def optimize_steered(
    objective, steering, *, method: str = "auto", k: int | None = None, max_rebuilds: int = 6
) -> OptimizeResult:
    """optimize_lineups under a SteeringArrays (core/steering.py: check_feasible's result):
    locks, excludes, groups, salary floor, per-driver min / max exposure, max_shared; k defaults
    to the steering's n_lineups. When the limits stop it at m < k lineups it is rebuilt for m, so
    the exposures hold as shares of the lineups returned; shortfall_reason says why."""
    k = steering.n_lineups if k is None else k
    D = steering.salaries.size

    def valid_prefix(L) -> int:  # longest prefix keeping the exposures as shares of its length
        m = len(L)
        while m > 0:
            cnt = np.bincount(L[:m].ravel(), minlength=D)
            if np.all(cnt <= steering.max_count(m)) and np.all(cnt >= steering.min_count(m)):
                break
            m -= 1
        return m

    first = ""
    best: OptimizeResult | None = None
    n = k
    for _ in range(max_rebuilds + 1):
        try:
            res = _steered_once(objective, steering, n, method)
        except InfeasibleError:
            if n == k:
                raise
            break  # n lineups cannot keep the exposures as shares of n (one at a 0.6 cap)
        if not res.stopped_early:  # n lineups: every exposure holds as a share of n
            if best is None or n > len(best.lineups):
                best = res
            break
        first = first or res.shortfall_reason
        m = valid_prefix(res.lineups)
        reached = len(res.lineups)
        if best is None or m > len(best.lineups):
            res.lineups, res.objective, res.salaries = (
                res.lineups[:m],
                res.objective[:m],
                res.salaries[:m],
            )
            best = res
        if reached <= len(best.lineups):
            break  # a rebuild for what was reached cannot beat what is held
        # rebuild for what was reached (the exposures are shares of what is returned), then
        # leave as much room again each time that falls short
        n = reached if n == k else max(len(best.lineups) + 1, reached - (n - reached))
    if best is None:
        R = steering.roster_size
        best = OptimizeResult(
            lineups=np.zeros((0, R), np.int64),
            objective=np.zeros(0),
            salaries=np.zeros(0, np.int64),
        )
    if first:
        best.stopped_early = True
        best.shortfall_reason = (
            f"{len(best.lineups)} of {k} lineups ({first}); fewer lineups keep each exposure "
            "as a share of the lineups returned"
        )
    return best


def _steered_once(objective, steering, n: int, method: str) -> OptimizeResult:
    return optimize_lineups(
        objective,
        steering.salaries,
        steering.roster_size,
        steering.salary_cap,
        k=n,
        locks=steering.locks,
        excludes=steering.banned,
        min_salary=steering.salary_floor,
        max_exposure=steering.max_exposure,
        min_exposure=steering.min_exposure,
        max_shared=steering.max_shared,
        groups=steering.groups,
        method=method,
    )


def _check_args(obj, sal, roster_size, max_shared, locks, excludes):
    n = obj.shape[0]
    if sal.shape != (n,):
        raise ValueError("objective and salaries must have the same length")
    if not np.all(np.isfinite(obj)):
        raise ValueError("objective has non-finite values")
    if roster_size > n:
        raise InfeasibleError(f"roster of {roster_size} from only {n} drivers")
    if max_shared is None:
        max_shared = roster_size - 1
    if not 0 <= max_shared <= roster_size - 1:
        raise ValueError("max_shared must be in [0, roster_size - 1]")
    locks = sorted(set(int(i) for i in locks))
    excludes = sorted(set(int(i) for i in excludes))
    if set(locks) & set(excludes):
        raise ValueError("a driver is both locked and excluded")
    return max_shared, locks, excludes


def enumerate_lineups(
    salaries, roster_size: int, salary_cap: float, objective=None, min_salary: float = 0.0
):
    """Every lineup under the cap (and over the floor): (masks uint64, salary, objective).

    Built position by position, vectorized: each partial lineup is extended by every larger driver
    index, pruned as soon as its salary plus the cheapest possible completion passes the cap.
    """
    sal = np.asarray(salaries, dtype=np.float64)
    D = sal.size
    R = roster_size
    obj = np.zeros(D) if objective is None else np.asarray(objective, dtype=np.float64)
    cheap = np.concatenate([[0.0], np.cumsum(np.sort(sal))])
    last = np.arange(D - R + 1, dtype=np.int64)
    ssum = sal[last].copy()
    osum = obj[last].copy()
    mask = np.left_shift(np.uint64(1), last.astype(np.uint64))
    keep = ssum + cheap[R - 1] <= salary_cap + _TOL
    last, ssum, osum, mask = last[keep], ssum[keep], osum[keep], mask[keep]
    for pos in range(1, R):
        hi = D - (R - pos)  # largest index allowed at this position
        cnt = np.maximum(hi - last, 0)
        tot = int(cnt.sum())
        rep = np.repeat(np.arange(last.size), cnt)
        starts = np.cumsum(cnt) - cnt
        v = last[rep] + 1 + (np.arange(tot) - starts[rep])
        ssum = ssum[rep] + sal[v]
        osum = osum[rep] + obj[v]
        mask = mask[rep] | np.left_shift(np.uint64(1), v.astype(np.uint64))
        last = v
        keep = ssum + cheap[R - 1 - pos] <= salary_cap + _TOL
        if not keep.all():
            last, ssum, osum, mask = last[keep], ssum[keep], osum[keep], mask[keep]
    ok = ssum >= min_salary - _TOL
    return mask[ok], ssum[ok], osum[ok]


def mask_to_lineup(mask: int, roster_size: int) -> np.ndarray:
    m = int(mask)
    out = [i for i in range(64) if (m >> i) & 1]
    assert len(out) == roster_size
    return np.array(out, dtype=np.int64)


def _optimize_enumerate(
    objective,
    salaries,
    roster_size,
    salary_cap,
    k,
    *,
    locks,
    excludes,
    min_salary,
    max_exposure,
    min_exposure,
    max_shared,
    groups,
) -> OptimizeResult:
    import time

    obj = np.asarray(objective, dtype=np.float64)
    sal = np.asarray(salaries, dtype=np.float64)
    n = obj.shape[0]
    R = roster_size
    max_shared, locks, excludes = _check_args(obj, sal, roster_size, max_shared, locks, excludes)
    cap_counts = _exposure_counts(max_exposure, n, k)
    min_counts = _min_counts(min_exposure, n, k)
    t0 = time.perf_counter()
    masks, ssum, osum = enumerate_lineups(sal, roster_size, salary_cap, obj, min_salary)
    bit = lambda d: np.uint64(1) << np.uint64(d)  # noqa: E731

    def mask_of(ds) -> np.uint64:
        m = np.uint64(0)
        for d in ds:
            m |= bit(int(d))
        return m

    lock_m = mask_of(locks)
    ban_m = mask_of(list(excludes) + [d for d in range(n) if cap_counts[d] <= 0])
    ok = ((masks & lock_m) == lock_m) & ((masks & ban_m) == 0)
    for members, lo, hi, _ in _groups(groups, R):
        c = np.bitwise_count(masks & mask_of(members))
        ok &= (c >= lo) & (c <= hi)
    masks, osum = masks[ok], osum[ok]
    if masks.size == 0:
        raise InfeasibleError(
            "no lineup satisfies the roster, cap, salary floor, locks, excludes and groups"
        )
    order = np.argsort(-osum, kind="stable")
    masks, osum = masks[order], osum[order]
    alive = np.ones(masks.size, dtype=bool)
    counts = np.zeros(n, dtype=np.int64)
    chosen: list[int] = []
    times = [time.perf_counter() - t0]
    p = 0  # every lineup before p is chosen or ruled out for good
    reason = ""
    chunk = 4096
    while len(chosen) < k:
        t1 = time.perf_counter()
        rule = _reserve_rule(min_counts, counts, k - len(chosen), R)
        if isinstance(rule, str):
            reason = rule
            break
        forced, owed, need = rule
        nxt = np.flatnonzero(alive[p : p + chunk])
        while nxt.size == 0 and p < masks.size:
            p += chunk
            nxt = np.flatnonzero(alive[p : p + chunk])
        if nxt.size == 0:
            reason = "no further lineup keeps every constraint"
            break
        p += int(nxt[0])

        paced = _behind_pace(min_counts, counts, len(chosen), k, forced, R)
        j = -1
        if paced is not None:
            j = _first_paying(masks, alive, p, mask_of(paced), mask_of(owed), need)
        if j < 0:
            j = _first_paying(masks, alive, p, mask_of(forced), mask_of(owed), need)
        if j < 0:
            reason = "no further lineup keeps every constraint and the min exposures"
            break
        chosen.append(j)
        alive[j] = False
        m = masks[j]
        tail = slice(p, masks.size)
        alive[tail] &= np.bitwise_count(masks[tail] & m) <= max_shared
        members = mask_to_lineup(m, roster_size)
        counts[members] += 1
        full = members[counts[members] >= cap_counts[members]]
        if full.size:
            if set(full.tolist()) & set(locks):
                times.append(time.perf_counter() - t1)
                if len(chosen) < k:
                    reason = "a locked driver reached his max exposure"
                break
            alive[tail] &= (masks[tail] & mask_of(full)) == 0
        times.append(time.perf_counter() - t1)
    lineups = (
        np.vstack([mask_to_lineup(masks[j], roster_size) for j in chosen])
        if chosen
        else np.empty((0, R), dtype=np.int64)
    )
    if not chosen:
        raise InfeasibleError(f"no lineup: {reason}")
    return OptimizeResult(
        lineups=lineups,
        objective=obj[lineups].sum(axis=1),
        salaries=sal[lineups].sum(axis=1).round().astype(np.int64),
        solve_seconds=times,
        stopped_early=len(chosen) < k,
        shortfall_reason=f"{len(chosen)} of {k} lineups: {reason}" if len(chosen) < k else "",
    )


def _first_paying(masks, alive, p: int, forced_mask, owed_mask, need: int) -> int:
    """The first live lineup from p on holding the forced drivers and at least `need` owed ones
    (-1: none)."""
    if forced_mask == 0 and need <= 0:
        return p
    for q in range(p, masks.size, 65536):
        m = masks[q : q + 65536]
        hit = alive[q : q + 65536] & ((m & forced_mask) == forced_mask)
        if need > 0:
            hit &= np.bitwise_count(m & owed_mask) >= need
        h = np.flatnonzero(hit)
        if h.size:
            return q + int(h[0])
    return -1


def _optimize_milp(
    objective,
    salaries,
    roster_size,
    salary_cap,
    k,
    *,
    locks,
    excludes,
    min_salary,
    max_exposure,
    min_exposure,
    max_shared,
    groups,
    time_limit_s,
) -> OptimizeResult:
    import highspy

    obj = np.asarray(objective, dtype=np.float64)
    sal = np.asarray(salaries, dtype=np.float64)
    n = obj.shape[0]
    R = roster_size
    max_shared, locks, excludes = _check_args(obj, sal, roster_size, max_shared, locks, excludes)
    cap_counts = _exposure_counts(max_exposure, n, k)
    min_counts = _min_counts(min_exposure, n, k)

    # HiGHS: one solve at a time in the process (core/highs_banner.py SOLVER_LOCK); re-entrant,
    # so callers that hold it already (the contests' search threads) go straight through
    with SOLVER_LOCK:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-9)
        h.setOptionValue("threads", 1)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(time_limit_s))

        lower = np.zeros(n)
        upper = np.ones(n)
        lower[locks] = 1.0
        upper[excludes] = 0.0
        upper[cap_counts <= 0] = 0.0

        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = 2
        lp.col_cost_ = obj
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = np.array([float(roster_size), float(min_salary)])
        lp.row_upper_ = np.array([float(roster_size), float(salary_cap)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array([0, n, 2 * n], dtype=np.int32)
        lp.a_matrix_.index_ = np.concatenate([np.arange(n), np.arange(n)]).astype(np.int32)
        lp.a_matrix_.value_ = np.concatenate([np.ones(n), sal])
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = 2
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        lp.sense_ = highspy.ObjSense.kMaximize
        h.passModel(lp)
        for members, lo, hi, _ in _groups(groups, R):
            h.addRow(
                float(lo), float(hi), members.size, members.astype(np.int32), np.ones(members.size)
            )

        import time

        counts = np.zeros(n, dtype=np.int64)
        out: list[np.ndarray] = []
        times: list[float] = []
        reason = ""
        ones = np.ones(roster_size)
        while len(out) < k:
            rule = _reserve_rule(min_counts, counts, k - len(out), R)
            if isinstance(rule, str):
                reason = rule
                break
            forced, owed, need = rule
            cover_row = None
            if need > 0:
                h.addRow(
                    float(need),
                    highspy.kHighsInf,
                    owed.size,
                    owed.astype(np.int32),
                    np.ones(owed.size),
                )
                cover_row = h.getNumRow() - 1

            def solve(forced_drivers):
                for d in forced_drivers:
                    h.changeColBounds(int(d), 1.0, float(upper[d]))
                t0 = time.perf_counter()
                h.run()
                times.append(time.perf_counter() - t0)
                ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                sol = np.asarray(h.getSolution().col_value) if ok else None
                for d in forced_drivers:
                    h.changeColBounds(int(d), float(lower[d]), float(upper[d]))
                return sol

            paced = _behind_pace(min_counts, counts, len(out), k, forced, R)
            x = solve(paced) if paced is not None else None
            if x is None:
                x = solve(forced)
            if cover_row is not None:
                h.deleteRows(1, np.array([cover_row], dtype=np.int32))
            if x is None:
                reason = (
                    "no further lineup keeps every constraint"
                    if forced.size == 0 and need <= 0
                    else "no further lineup keeps every constraint and the min exposures"
                )
                break
            chosen = np.flatnonzero(x > 0.5)
            if chosen.size != roster_size:  # defensive: should never happen with an optimal status
                raise RuntimeError(f"solver returned {chosen.size} drivers, expected {roster_size}")
            out.append(chosen)
            h.addRow(
                -highspy.kHighsInf, float(max_shared), roster_size, chosen.astype(np.int32), ones
            )
            counts[chosen] += 1
            stop = False
            for d in chosen[counts[chosen] >= cap_counts[chosen]]:
                if d in locks:
                    # a locked driver at its exposure limit makes every further lineup infeasible
                    stop = True
                upper[d] = 0.0
                h.changeColBounds(int(d), float(lower[d]) if d not in locks else 0.0, 0.0)
            if stop:
                if len(out) < k:
                    reason = "a locked driver reached his max exposure"
                break
        if not out:
            raise InfeasibleError(f"no lineup: {reason}")
        lineups = np.vstack(out).astype(np.int64)
        return OptimizeResult(
            lineups=lineups,
            objective=obj[lineups].sum(axis=1),
            salaries=sal[lineups].sum(axis=1).round().astype(np.int64),
            solve_seconds=times,
            stopped_early=len(out) < k,
            shortfall_reason=f"{len(out)} of {k} lineups: {reason}" if len(out) < k else "",
        )


def brute_force_lineups(
    objective,
    salaries,
    roster_size: int,
    salary_cap: float,
    k: int = 1,
    *,
    min_salary: float = 0.0,
    locks: Sequence[int] = (),
    excludes: Sequence[int] = (),
    groups: Sequence = (),
) -> OptimizeResult:
    """Every valid lineup enumerated; the k best by objective. For tests on small pools."""
    obj = np.asarray(objective, dtype=np.float64)
    sal = np.asarray(salaries, dtype=np.float64)
    n = obj.shape[0]
    combos = np.array(list(combinations(range(n), roster_size)), dtype=np.int64)
    tot_sal = sal[combos].sum(axis=1)
    ok = (tot_sal <= salary_cap + _TOL) & (tot_sal >= min_salary - _TOL)
    for d in locks:
        ok &= (combos == d).any(axis=1)
    for d in excludes:
        ok &= ~(combos == d).any(axis=1)
    for members, lo, hi, _ in _groups(groups, roster_size):
        c = np.isin(combos, members).sum(axis=1)
        ok &= (c >= lo) & (c <= hi)
    combos = combos[ok]
    vals = obj[combos].sum(axis=1)
    order = np.argsort(-vals, kind="stable")[:k]
    return OptimizeResult(
        lineups=combos[order],
        objective=vals[order],
        salaries=sal[combos[order]].sum(axis=1).round().astype(np.int64),
    )


def validate_lineups(
    lineups, salaries, roster_size: int, salary_cap: float, min_salary: float = 0.0
) -> list[str]:
    """Problems with a set of lineups (empty list when every lineup is valid)."""
    problems: list[str] = []
    L = np.asarray(lineups)
    sal = np.asarray(salaries, dtype=np.float64)
    if L.ndim != 2 or L.shape[1] != roster_size:
        return [f"lineups have shape {L.shape}, expected (n, {roster_size})"]
    if L.size and (L.min() < 0 or L.max() >= sal.shape[0]):
        return ["lineup refers to a driver outside the pool"]
    for i, row in enumerate(L):
        if len(set(row.tolist())) != roster_size:
            problems.append(f"lineup {i}: repeated driver")
        s = sal[row].sum()
        if s > salary_cap + _TOL:
            problems.append(f"lineup {i}: salary {s:.0f} over the cap {salary_cap:.0f}")
        if s < min_salary - _TOL:
            problems.append(f"lineup {i}: salary {s:.0f} under the floor {min_salary:.0f}")
    return problems
