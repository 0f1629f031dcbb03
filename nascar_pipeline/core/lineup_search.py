"""The portfolio search behind lineup_portfolio, end to end on one slate, under the player's
steering (core/steering.py). Pure.

0. The steering: the run config's fields, a steering file's and the defaults merged into one
   `Steering` (`build_steering`), then checked against the slate by `check_feasible` before any
   of the heavy steps below (the asset does that, so a refusal costs nothing).
1. A field of opponents drawn from the projected ownership (core/slate.py draw_field: the
   realistic field of core/field.py).
2. Candidates, each keeping every per-lineup rule of the steering (locks, excludes, groups, salary
   floor): Metropolis-Hastings with parallel tempering toward the build's taste (expected payout,
   or the top-1 % chance, against that field on the first scenarios, blended with projection when
   taste < 1), started from the exact optimizer's best lineups by mean points, which join the pool
   too; field lineups and random steered lineups widen it so the exposure and overlap limits can
   be met; the exact optimizer's steered portfolio (every limit at once) is the greedy's reserve.
3. A greedy marginal-gain portfolio under the steering's exposures and max_shared, chosen on
   scenarios the sampler did not see (core/portfolio.py); short of n_lineups it says why.

The objective does not take the model's scenarios at their word (issue 13): a portfolio chosen to
win in the model's own scenarios leans into every error the model makes (the optimizer's curse),
so the sampler's and the greedy's scenarios are first perturbed by the model's error
(core/honest_roi.py perturb_points): each driver's points in each scenario get independent noise
N(0, `objective_error_sd`) DK points, and each driver's mean is moved a share `objective_shrink`
toward what his salary alone implies. The field is scored on the same perturbed scenarios. The
knobs are read from the run config when it has them (`objective_error_sd`,
`objective_shrink`), else OBJECTIVE_ERROR_SD and OBJECTIVE_SHRINK below; 0 and 0 trust the model
fully (the old objective).

How the default was chosen (benchmarks/bench_optimizer.py --honest). First measured on the
Sonoma 2026 slate with a Plackett-Luce stand-in for the truth: sd 6 beat trusting the model by
+5.4 (+/- 3.8) points of true ROI over 10 worlds. Re-measured on the realistic stand-in
(core/field_calibration.py, calibrated on real races) over the six real 2026 slates, 36 paired
worlds, the model off by N(0, 8) DK points per driver: sd 6 ties with 0 (-0.2 +/- 1.1 points of
true ROI), sd 10 loses 5.9 +/- 2.3, shrink 0.5 loses 11.6 +/- 3.8; with the model off by 12
points sd 6 leans worse than 0 (-4.7 +/- 3.5). So 6 is kept as the measured tie, not as a
proven gain; the next measurement on real graded races decides between 6 and 0. The optimizer's
curse itself is far larger: those portfolios claimed about +300 % in the model's own scenarios
and made about +83 % against the truth, so the simulated ROI is read with core/honest_roi.py
beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.lineups import draftkings_lineup_frame

OBJECTIVES = ("ev", "top1")
FIELD_SEARCH_MAX = 20_000  # field lineups the search plays against, at most
FIELD_CANDIDATES_MAX = 3000  # field lineups added to the candidate pool, at most
RANDOM_CANDIDATES = 3000  # random steered lineups added to the candidate pool
TASTE_PROBE = 64  # lineups the taste's spreads are measured on

# The objective's distrust of the model (see the module docstring): DK points of noise per driver
# and scenario, and the share of each driver's mean moved toward the salary baseline.
OBJECTIVE_ERROR_SD = 6.0
OBJECTIVE_SHRINK = 0.0


def objective_points(points, salaries, rng, error_sd: float, shrink: float):
    """The scenarios the portfolio objective sees: `points` perturbed by the model's error
    (core/honest_roi.perturb_points) with a generator drawn from `rng` (deterministic for its
    seed), or `points` unchanged when error_sd and shrink are both 0."""
    from nascar_pipeline.core.honest_roi import perturb_points

    if error_sd <= 0 and shrink <= 0:
        return points
    err_rng = np.random.default_rng(int(rng.integers(2**63)))
    return perturb_points(points, err_rng, error_sd=error_sd, shrink=shrink, salaries=salaries)


# Single-entry contests: a build of at most this many lineups gets a global max exposure of 1.0
# unless one is asked for. Caps are shares of the lineups returned and never raised, so the
# multi-entry default 0.6 would allow floor(0.6 * n) = 1 lineup per driver for n <= 3: two or
# three lineups with no driver in common, or, for one lineup, none at all.
SINGLE_ENTRY_MAX_LINEUPS = 3
MULTI_ENTRY_MAX_EXPOSURE = 0.6


def default_global_max_exposure(n_lineups: int) -> float:
    """The global max exposure when none is asked for: 1.0 for single-entry builds (n <= 3),
    else 0.6."""
    return 1.0 if n_lineups <= SINGLE_ENTRY_MAX_LINEUPS else MULTI_ENTRY_MAX_EXPOSURE


def build_steering(defaults: Mapping, given: Mapping, file_steering=None):
    """The build's Steering from the run config's steering fields (`given`), a steering file's
    (`file_steering`, a Steering from core.steering.parse_steering, or None) and the config's
    defaults (`defaults`), by these rules:

    - a field the file sets replaces the default; a run-config field set away from its default
      replaces the file's (the run config is the last word, as CLI flags over a file);
    - global_max_exposure None (neither asks for one): default_global_max_exposure(n_lineups).

    Raises pydantic's ValidationError on a bad value (the asset names the source)."""
    from nascar_pipeline.core.steering import Steering

    keys = list(Steering.model_fields)
    data = {k: defaults[k] for k in keys}
    if file_steering is not None:
        data.update(file_steering.model_dump(exclude_unset=True))
    data.update({k: given[k] for k in keys if given[k] != defaults[k]})
    if data.get("global_max_exposure") is None:
        data["global_max_exposure"] = default_global_max_exposure(int(data["n_lineups"]))
    return Steering.model_validate(data)


def steering_key(steering) -> str:
    """What the exact optimizer's lineups depend on in a SteeringArrays, as a dict key."""
    return repr(
        (
            steering.salaries.tobytes(),
            steering.roster_size,
            steering.salary_cap,
            steering.salary_floor,
            steering.n_lineups,
            steering.locks.tobytes(),
            steering.banned.tobytes(),
            tuple((g.members.tobytes(), g.at_least, g.at_most) for g in steering.groups),
            steering.min_exposure.tobytes(),
            steering.max_exposure.tobytes(),
            steering.max_shared,
        )
    )


@dataclass
class PortfolioSearch:
    lineups: pd.DataFrame  # the portfolio as a lineup frame with the search's columns
    sampler: object  # core.portfolio.MCMCResult
    candidates: int
    field_size: int
    payout_table: object  # core.contest.PayoutTable
    expected_payout_capped: float
    n_asked: int = 0
    shortfall_reason: str = ""  # why fewer lineups than asked ("" when none short)
    stages: dict = field(default_factory=dict)  # candidates per source, for the run log
    field_warnings: list[str] = field(default_factory=list)  # the field's adjustments


def search_portfolio(
    slate: pd.DataFrame,
    points: np.ndarray,
    own: np.ndarray,
    table,
    field_size: int,
    params,
    rng: np.random.Generator,
    steering,
    log=None,
    shared: dict | None = None,
) -> PortfolioSearch:
    """The DraftKings portfolio for a slate (core/slate.py) and its (S, D) points under a
    SteeringArrays (core/steering.check_feasible's result: n_lineups, exposures, max_shared,
    salary floor, locks, excludes, groups, taste).

    params: the asset's PortfolioConfig (field_min_salary, objective, objective_scenarios,
    selection_scenarios, prize_cap_fees, mh_steps, mh_chains, mh_temps, exact_candidates). The
    first objective_scenarios scenarios drive the sampler, the next selection_scenarios the greedy
    choice. log: a callable (line, warning: bool) for the run log, one line per stage, or
    None. shared: a dict kept across a race's contests: the exact optimizer's lineups, which
    depend on the slate and the steering only, are solved once for contests that share them."""
    from nascar_pipeline.core.highs_banner import SOLVER_LOCK, silence_banner
    from nascar_pipeline.core.optimize import InfeasibleError, optimize_lineups, optimize_steered
    from nascar_pipeline.core.portfolio import (
        FieldObjective,
        greedy_portfolio,
        mh_sample,
        random_steered_lineups,
        taste_objective,
    )
    from nascar_pipeline.core.slate import draw_field

    silence_banner()  # the exact optimizer's HiGHS: no banner on the player's console

    def say(line: str, warning: bool = False) -> None:
        if log is not None:
            log(line, warning)

    if params.objective not in OBJECTIVES:
        raise ValueError(f"run config objective {params.objective!r}: use 'ev' or 'top1'")
    site = rules.DRAFTKINGS
    sal = slate["salary"].to_numpy(float)
    proj = slate["projection"].to_numpy(float)
    S = points.shape[0]
    n_obj = min(params.objective_scenarios, max(S // 2, 1))
    n_sel = min(params.selection_scenarios, max(S - n_obj, 1))
    error_sd = float(getattr(params, "objective_error_sd", OBJECTIVE_ERROR_SD))
    shrink = float(getattr(params, "objective_shrink", OBJECTIVE_SHRINK))
    pts = objective_points(points[: n_obj + n_sel], sal, rng, error_sd, shrink)
    pts_obj = pts[:n_obj]
    pts_sel = pts[n_obj : n_obj + n_sel] if S > n_obj else pts[:n_obj]
    N = steering.n_lineups
    floor = steering.salary_floor
    drawn = draw_field(
        own,
        sal,
        field_size,
        params.field_min_salary,
        rng,
        setting="lineup_portfolio run config field_min_salary",
        names=slate["driver_name"].astype(str).to_numpy(),
    )
    field_lineups = drawn.lineups
    say(f"field: {field_size} lineups drawn from the projected ownership")
    if error_sd > 0 or shrink > 0:
        say(
            f"objective: scenarios perturbed by the model's error (noise sd {error_sd:g} DK "
            f"points per driver, shrink {shrink:g} toward salary)"
        )
    for w in drawn.warnings:
        say(f"field: {w}", warning=True)
    prize_cap = params.prize_cap_fees * table.entry_fee
    # the sampler asks its objective once per step: read from the payout table, not ranked
    obj_mh = FieldObjective.build(
        pts_obj, field_lineups, table, n_ours=N, prize_cap=prize_cap, by_lookup=True
    )
    fee = max(table.entry_fee, 1e-9)
    memo = {} if shared is None else shared
    # contests searched in threads share the memo: one solves, the others wait and re-use
    # (under HiGHS' one-solve-at-a-time lock)
    solving = SOLVER_LOCK
    none = np.empty((0, site.roster_size), dtype=np.int64)
    key = (proj.tobytes(), steering_key(steering))

    def steered():
        try:
            return optimize_steered(proj, steering).lineups, ""
        except InfeasibleError as exc:  # the greedy can still do without a reserve
            return none, str(exc)

    with solving:
        if ("steered", key) not in memo:
            memo["steered", key] = steered()
    reserve, why_none = memo["steered", key]
    if why_none:
        say(f"exact steered portfolio: none ({why_none})")

    def best_by_mean():
        try:
            return optimize_lineups(
                proj,
                sal,
                site.roster_size,
                site.salary_cap,
                k=params.exact_candidates,
                min_salary=floor,
                locks=steering.locks,
                excludes=steering.banned,
                groups=steering.groups,
            ).lineups
        except InfeasibleError:  # check_feasible proved one lineup exists: should not happen
            return none

    exact = none
    if params.exact_candidates:
        with solving:
            if ("exact", key, params.exact_candidates) not in memo:
                memo["exact", key, params.exact_candidates] = best_by_mean()
        exact = memo["exact", key, params.exact_candidates]
    say(f"exact optimizer: {len(exact)} best lineups by mean points, {len(reserve)} reserve")
    per_fee = fee if params.objective == "ev" else 1.0
    # the probe (random lineups) only when taste < 1, so a default build's draws are unchanged
    probe = (
        random_steered_lineups(TASTE_PROBE, steering, rng)
        if steering.taste < 1.0
        else np.empty((0, site.roster_size), dtype=np.int64)
    )
    mh = mh_sample(
        taste_objective(obj_mh, proj, steering.taste, probe, params.objective, per_fee),
        sal,
        site.roster_size,
        site.salary_cap,
        min_salary=floor,
        n_chains=params.mh_chains,
        n_temps=params.mh_temps,
        steps=params.mh_steps,
        init=exact[: params.mh_chains] if len(exact) else None,
        rng=rng,
        steering=steering,
    )
    say(
        f"MCMC: {params.mh_chains} chains x {params.mh_temps} temperatures x {params.mh_steps} "
        f"steps, {int(mh.info.get('distinct', len(mh.lineups)))} distinct lineups"
    )
    fc = np.unique(np.sort(field_lineups, axis=1), axis=0)
    fc = fc[steering.lineup_ok(fc) & (sal[fc].sum(axis=1) >= floor - 1e-9)]
    fc = fc[:FIELD_CANDIDATES_MAX]
    rand = random_steered_lineups(RANDOM_CANDIDATES, steering, rng)
    cands = np.vstack([mh.lineups, exact, fc, rand])
    stages = {
        "mcmc": int(len(mh.lineups)),
        "exact": int(len(exact)),
        "field": int(len(fc)),
        "random": int(len(rand)),
        "reserve": int(len(reserve)),
    }
    say(f"candidates: {len(cands)} ({', '.join(f'{k} {v}' for k, v in stages.items())})")
    obj_sel = FieldObjective.build(pts_sel, field_lineups, table, n_ours=N, prize_cap=prize_cap)
    port = greedy_portfolio(
        obj_sel,
        cands,
        N,
        steering=steering,
        projection=proj,
        reserve=reserve if len(reserve) else None,
    )
    L = port.lineups
    say(
        f"chosen: {len(L)} of {N} lineups"
        + (f" ({port.shortfall_reason})" if port.shortfall_reason else "")
    )
    df = draftkings_lineup_frame(L, slate)
    df["standalone_ev"] = port.standalone
    df["marginal_gain"] = port.gains
    df["set_ev"] = port.set_value
    df["from_exact_optimizer"] = [
        bool((exact == r).all(axis=1).any()) if len(exact) else False for r in L
    ]
    df["n_objective_scenarios"] = n_obj
    df["n_scenarios_used"] = n_obj + n_sel if S > n_obj else n_obj
    return PortfolioSearch(
        lineups=df,
        sampler=mh,
        candidates=int(len(cands)),
        field_size=field_size,
        payout_table=table,
        expected_payout_capped=float(port.set_value[-1]) if len(port.set_value) else 0.0,
        n_asked=N,
        shortfall_reason=port.shortfall_reason,
        stages=stages,
        field_warnings=drawn.warnings,
    )
