"""Exact lineup optimizer: a 0/1 MILP solved by HiGHS (highspy). Pure; no I/O.

maximize   sum_d objective[d] * x[d]
subject to sum_d x[d] == roster_size
           min_salary <= sum_d salary[d] * x[d] <= salary_cap
           x[d] == 1 for locked drivers, x[d] == 0 for excluded ones
           for every earlier lineup L:  sum_{d in L} x[d] <= max_shared
           a driver's column is closed once it reaches its exposure limit

`optimize_lineups` returns the K best lineups one after another (each solve is exact: HiGHS with
a zero MIP gap). With `max_shared = roster_size - 1` (the default) and no exposure limits the
result is exactly the K best distinct lineups (ties broken by the solver). With a smaller overlap
or exposure limits it is the sequential best, as every lineup optimizer builds a multi-entry set.
The model is built once; each further lineup only adds one row and re-solves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import numpy as np

_TOL = 1e-6


class InfeasibleError(ValueError):
    """No lineup satisfies the constraints (raised only when not even one lineup exists)."""


@dataclass
class OptimizeResult:
    lineups: np.ndarray                  # (K, roster_size) int: driver indices, ascending per row
    objective: np.ndarray                # (K,) float: objective value of each lineup
    salaries: np.ndarray                 # (K,) int: salary used
    solve_seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False          # fewer than k lineups exist under the constraints


def _exposure_counts(max_exposure, n_drivers: int, k: int) -> np.ndarray:
    """Per-driver maximum number of lineups (of k) a driver may appear in."""
    if max_exposure is None:
        return np.full(n_drivers, k, dtype=np.int64)
    e = np.broadcast_to(np.asarray(max_exposure, dtype=float), (n_drivers,))
    if np.any(e < 0) or np.any(e > 1):
        raise ValueError("max_exposure is a fraction of the lineups in [0, 1]")
    # floor with a tolerance so 0.3 * 10 == 3, not 2
    return np.floor(e * k + 1e-9).astype(np.int64)


def optimize_lineups(objective, salaries, roster_size: int, salary_cap: float, k: int = 1, *,
                     locks: Sequence[int] = (), excludes: Sequence[int] = (),
                     min_salary: float = 0.0, max_exposure=None, max_shared: int | None = None,
                     time_limit_s: float | None = None) -> OptimizeResult:
    """K lineups maximizing a per-driver objective under the roster size and the salary cap.

    objective, salaries: (D,) arrays. locks / excludes: driver indices. max_exposure: None, a
    fraction, or a (D,) array of fractions of the k lineups. max_shared: most drivers any two
    lineups may share (default roster_size - 1, i.e. distinct lineups).
    """
    import highspy

    obj = np.asarray(objective, dtype=np.float64)
    sal = np.asarray(salaries, dtype=np.float64)
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
    cap_counts = _exposure_counts(max_exposure, n, k)

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

    import time

    counts = np.zeros(n, dtype=np.int64)
    out: list[np.ndarray] = []
    times: list[float] = []
    stopped = False
    ones = np.ones(roster_size)
    for _ in range(k):
        t0 = time.perf_counter()
        h.run()
        times.append(time.perf_counter() - t0)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            stopped = True
            break
        x = np.asarray(h.getSolution().col_value)
        chosen = np.flatnonzero(x > 0.5)
        if chosen.size != roster_size:  # defensive: should never happen with an optimal status
            raise RuntimeError(f"solver returned {chosen.size} drivers, expected {roster_size}")
        out.append(chosen)
        h.addRow(-highspy.kHighsInf, float(max_shared), roster_size, chosen.astype(np.int32), ones)
        counts[chosen] += 1
        for d in chosen[counts[chosen] >= cap_counts[chosen]]:
            if d in locks:
                # a locked driver at its exposure limit makes every further lineup infeasible
                stopped = True
            h.changeColBounds(int(d), 0.0, 0.0)
        if stopped:
            break
    if not out:
        raise InfeasibleError("no lineup satisfies the roster, cap, salary floor, locks and excludes")
    lineups = np.vstack(out).astype(np.int64)
    return OptimizeResult(lineups=lineups, objective=obj[lineups].sum(axis=1),
                          salaries=sal[lineups].sum(axis=1).round().astype(np.int64),
                          solve_seconds=times, stopped_early=stopped or len(out) < k)


def brute_force_lineups(objective, salaries, roster_size: int, salary_cap: float, k: int = 1, *,
                        min_salary: float = 0.0, locks: Sequence[int] = (),
                        excludes: Sequence[int] = ()) -> OptimizeResult:
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
    combos = combos[ok]
    vals = obj[combos].sum(axis=1)
    order = np.argsort(-vals, kind="stable")[:k]
    return OptimizeResult(lineups=combos[order], objective=vals[order],
                          salaries=sal[combos[order]].sum(axis=1).round().astype(np.int64))


def validate_lineups(lineups, salaries, roster_size: int, salary_cap: float,
                     min_salary: float = 0.0) -> list[str]:
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
