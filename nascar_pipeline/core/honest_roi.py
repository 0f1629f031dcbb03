"""Honest ROI: a portfolio scored against scenarios perturbed by the model's measured error.

A portfolio chosen to maximize ROI on the model's own scenarios over-trusts them: every error of the
model (a driver projected too high) is an error the portfolio leans into, so the simulated ROI on
those same scenarios is biased upward (the optimizer's curse). The honest figure scores the same
lineups against the same field in scenarios the model could be wrong about, in two ways that can be
combined:

- noise: every scenario's points get independent per-driver noise N(0, error_sd) (DK points), the
  backtest's measured projection error (root-mean-square of projected minus actual DK points per
  driver and race, net of the scenarios' own spread), so a lineup's edge has to survive errors the
  model does not know it makes;
- shrink: each driver's scenario mean is moved a fraction `shrink` toward a salary-implied baseline
  (a least-squares line of the scenario means on salary: what the price alone says), keeping each
  scenario's deviation from the driver's mean; shrink = 0 trusts the model, 1 trusts only salary.

Pure NumPy; no I/O. The contest asset shows this beside the raw simulated ROI.
"""

from __future__ import annotations

import numpy as np

from nascar_pipeline.core.contest import ContestResult, PayoutTable, simulate_contest

# DraftKings points, per driver and race: a stated default until the backtest's measured figure is
# passed in (DK points per start have a standard deviation of about 24; a useful model explains
# part of it).
DEFAULT_ERROR_SD = 12.0

# The shrink toward salary that makes the honest figure unbiased about the optimizer's curse, with
# error_sd DEFAULT_ERROR_SD: contest_simulation's default (honest_contest's own default stays 0).
# Measured by benchmarks/bench_optimizer.py --honest --honest-worlds 6: the six real 2026 slates,
# worlds from the realistic stand-in (core/field_calibration.py fit_stand_in), a model off by
# N(0, 8) DK points per driver, 36 worlds, the default objective's portfolios. Their true ROI was
# +83 % (cash 26.6 % per lineup); the model's own scenarios said +300 % (37.1 %); honest minus
# true, mean (standard error clustered by slate): shrink 0.5 +38 % (7 %) ROI, +3.7 (0.5) cash
# points; 0.75 -2 % (5 %), +1.1 (0.2); 0.8 -9 % (6 %), +0.6 (0.1); 0.9 -22 % (6 %), -0.4 (0.2).
# The ROI is unbiased at 0.74, the cash % at 0.86: 0.8 keeps both within about one and a half
# standard errors. The unbiased shrink grows with the model's real error (0.51 ROI / 0.64 cash
# with a model off by 5 points, 0.93 / above 1 off by 12, 18 worlds each), and real contests
# paid less than any of these worlds (issue 13: 5-10 % cash against 24-28 % promised), so the
# honest figure is a ceiling, not a forecast.
DEFAULT_SHRINK = 0.8


def salary_baseline(points, salaries) -> np.ndarray:
    """(D,) the scenario means' least-squares line on salary, evaluated at each driver's salary."""
    m = np.asarray(points, dtype=np.float64).mean(axis=0)
    s = np.asarray(salaries, dtype=np.float64)
    A = np.column_stack([np.ones_like(s), s])
    coef, *_ = np.linalg.lstsq(A, m, rcond=None)
    return A @ coef


def perturb_points(
    points,
    rng: np.random.Generator,
    *,
    error_sd: float = DEFAULT_ERROR_SD,
    shrink: float = 0.0,
    salaries=None,
) -> np.ndarray:
    """(S, D) points perturbed by the model's error (see the module docstring), rounded to 0.05
    (DraftKings' step) so ties stay exact. shrink > 0 needs salaries."""
    P = np.asarray(points, dtype=np.float64)
    if not 0.0 <= shrink <= 1.0:
        raise ValueError("shrink must be in [0, 1]")
    if shrink > 0:
        if salaries is None:
            raise ValueError("shrink toward the salary baseline needs the salaries")
        mean = P.mean(axis=0)
        P = P + shrink * (salary_baseline(P, salaries) - mean)[None, :]
    if error_sd > 0:
        P = P + rng.normal(0.0, error_sd, size=P.shape)
    return (np.round(P * 20.0) / 20.0).astype(np.float32)


def honest_contest(
    points,
    ours,
    field,
    table: PayoutTable,
    rng: np.random.Generator,
    *,
    error_sd: float = DEFAULT_ERROR_SD,
    shrink: float = 0.0,
    salaries=None,
    **simulate_kwargs,
) -> ContestResult:
    """simulate_contest on perturbed points: the ROI, cash and win rates to show beside the raw
    ones (same lineups, same field, same payout table)."""
    pts = perturb_points(points, rng, error_sd=error_sd, shrink=shrink, salaries=salaries)
    return simulate_contest(pts, ours, field, table, **simulate_kwargs)


# ----------------------------------------------------------------- measured beside simulated


def measured_money(season, track_type: str | None = None, exclude_race: str | None = None) -> dict:
    """What the backtest measured for the same kind of portfolio on past races, to show beside
    a race's simulated and honest cash rates: from the season report's table (one row per
    backtested race, assets/backtest.py season_table), the races with money graded (against
    real contests, or a field simulated from real %Drafted: `real_contest_races` says how many
    were real), our lineups' mean cash rate (%, the mean over races of each race's share of
    lineups at or over its cash line), the share of races where our best lineup cashed, and the
    baselines' cash rates on the same races; then the same on the race's track type. {} without
    a graded race. exclude_race: the race being simulated (its own result is not "past")."""
    import pandas as pd

    if season is None or not len(season) or "model_cash_rate" not in season:
        return {}
    t = season[season["model_cash_rate"].notna()]
    if exclude_race is not None and "race_key" in t:
        t = t[t["race_key"].astype(str) != str(exclude_race)]

    def part(d: pd.DataFrame) -> dict:
        out = {
            "races": len(d),
            "real_contest_races": int((d.get("cash_source") == "contest").sum()),
            "cash_pct": float(100.0 * d["model_cash_rate"].mean()),
        }
        if "model_best_points" in d and "cash_line" in d:
            out["best_cashed_pct"] = float(
                100.0 * (d["model_best_points"] >= d["cash_line"]).mean()
            )
        for m in ("start_position", "trailing_avg_finish", "user_projections"):
            c = d.get(f"{m}_cash_rate")
            if c is not None and c.notna().any():
                out[f"{m}_cash_pct"] = float(100.0 * c.mean())
        return out

    if not len(t):
        return {}
    res = {"all": part(t)}
    if track_type and "track_type" in t:
        same = t[t["track_type"].astype(str) == str(track_type)]
        if len(same):
            res[str(track_type)] = part(same)
    return res
