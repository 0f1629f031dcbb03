"""The portfolio search behind lineup_portfolio, end to end on one slate. Pure.

1. A field of opponents drawn from the projected ownership (core/contest.py).
2. Candidates: Metropolis-Hastings with parallel tempering over valid DraftKings lineups toward
   the expected payout (or the top-1 % chance) against that field on the first scenarios,
   started from the exact optimizer's best lineups by mean points, which join the pool too;
   field lineups over our salary floor widen it so exposure and overlap limits can always be met.
3. A greedy marginal-gain portfolio under exposure caps and a maximum overlap, chosen on
   scenarios the sampler did not see (core/portfolio.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.lineups import draftkings_lineup_frame

OBJECTIVES = ("ev", "top1")
FIELD_SEARCH_MAX = 20_000  # field lineups the search plays against, at most
FIELD_CANDIDATES_MAX = 3000  # field lineups added to the candidate pool, at most


@dataclass
class PortfolioSearch:
    lineups: pd.DataFrame  # the portfolio as a lineup frame with the search's columns
    sampler: object  # core.portfolio.MCMCResult
    candidates: int
    field_size: int
    payout_table: object  # core.contest.PayoutTable
    expected_payout_capped: float


def search_portfolio(
    slate: pd.DataFrame,
    points: np.ndarray,
    own: np.ndarray,
    table,
    field_size: int,
    params,
    rng: np.random.Generator,
) -> PortfolioSearch:
    """The DraftKings portfolio for a slate (core/slate.py) and its (S, D) points.

    params: the asset's PortfolioConfig (n_lineups, max_exposure, max_overlap, min_salary,
    field_min_salary, objective, objective_scenarios, selection_scenarios, prize_cap_fees,
    mh_steps, mh_chains, mh_temps, exact_candidates). The first objective_scenarios scenarios
    drive the sampler, the next selection_scenarios the greedy choice."""
    from nascar_pipeline.core.contest import generate_field
    from nascar_pipeline.core.optimize import optimize_lineups
    from nascar_pipeline.core.portfolio import FieldObjective, greedy_portfolio, mh_sample

    if params.objective not in OBJECTIVES:
        raise ValueError(f"run config objective {params.objective!r}: use 'ev' or 'top1'")
    site = rules.DRAFTKINGS
    sal = slate["salary"].to_numpy(float)
    S = points.shape[0]
    n_obj = min(params.objective_scenarios, max(S // 2, 1))
    n_sel = min(params.selection_scenarios, max(S - n_obj, 1))
    pts_obj = points[:n_obj]
    pts_sel = points[n_obj : n_obj + n_sel] if S > n_obj else points[:n_obj]
    N = params.n_lineups
    field = generate_field(
        own,
        sal,
        site.roster_size,
        site.salary_cap,
        field_size,
        min_salary=params.field_min_salary,
        rng=rng,
    )
    prize_cap = params.prize_cap_fees * table.entry_fee
    obj_mh = FieldObjective.build(pts_obj, field, table, n_ours=N, prize_cap=prize_cap)
    fee = max(table.entry_fee, 1e-9)
    exact = np.empty((0, site.roster_size), dtype=np.int64)
    if params.exact_candidates:
        exact = optimize_lineups(
            slate["projection"].to_numpy(float),
            sal,
            site.roster_size,
            site.salary_cap,
            k=params.exact_candidates,
            min_salary=params.min_salary,
        ).lineups
    per_fee = fee if params.objective == "ev" else 1.0
    mh = mh_sample(
        lambda L: obj_mh.value(L, params.objective) / per_fee,
        sal,
        site.roster_size,
        site.salary_cap,
        min_salary=params.min_salary,
        n_chains=params.mh_chains,
        n_temps=params.mh_temps,
        steps=params.mh_steps,
        init=exact[: params.mh_chains] if len(exact) else None,
        rng=rng,
    )
    fc = np.unique(field, axis=0)
    fc = fc[sal[fc].sum(axis=1) >= params.min_salary][:FIELD_CANDIDATES_MAX]
    cands = np.vstack([mh.lineups, exact, fc])
    obj_sel = FieldObjective.build(pts_sel, field, table, n_ours=N, prize_cap=prize_cap)
    port = greedy_portfolio(
        obj_sel, cands, N, max_exposure=params.max_exposure, max_overlap=params.max_overlap
    )
    L = port.lineups
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
    )
