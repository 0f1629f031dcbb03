"""After the race: a race's projections and portfolio scored against what happened. Pure.

- actual DraftKings points of each result row;
- each driver's projected points distribution (scenario samples) against his actual points:
  log-likelihood (Gaussian-kernel density of the samples at the actual value, Silverman
  bandwidth), CRPS, PIT, hits of the central 50 % and 80 % intervals;
- the portfolio's lineups scored with the actual points and ranked against a field drawn from the
  projected ownership, paid by the contest's payout table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.ownership_model import DEFAULT_MIN_FIELD_SALARY

FIELD_SEED = 104_729


def actual_points(results: pd.DataFrame) -> np.ndarray:
    """DraftKings points of each result row (no start position: no place differential)."""
    finish = results["finish_position"].astype("Int64").to_numpy(dtype=np.int64, na_value=0)
    start = results["start_position"].astype("Int64")
    start = start.fillna(results["finish_position"].astype("Int64")).to_numpy(np.int64)
    led = results["laps_led"].astype("Int64").fillna(0).to_numpy(np.int64)
    fast = results["fastest_laps"].astype("Int64").fillna(0).to_numpy(np.int64)
    return np.asarray(rules.draftkings_points(start, finish, led, fast), dtype=np.float64)


def kde_loglik(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log density at y[d] of a Gaussian KDE of samples[:, d] (Silverman's bandwidth)."""
    x = np.asarray(samples, np.float64)
    S = x.shape[0]
    sd = x.std(axis=0, ddof=1)
    iqr = np.subtract(*np.quantile(x, [0.75, 0.25], axis=0))
    h = 0.9 * np.minimum(sd, iqr / 1.34) * S ** (-0.2)
    h = np.maximum(np.where(h > 0, h, sd * S ** (-0.2)), 0.5)  # points move in 0.05 steps
    z = (x - y[None]) / h[None]
    m = (-0.5 * z**2).max(axis=0)
    log_mean = m + np.log(np.mean(np.exp(-0.5 * z**2 - m[None]), axis=0))
    return log_mean - np.log(h * np.sqrt(2 * np.pi))


def driver_scores(samples: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    from nascar_pipeline.core.backtest import coverage, crps_samples

    q = np.quantile(samples, [0.10, 0.25, 0.50, 0.75, 0.90], axis=0)
    return {
        "proj_mean": samples.mean(axis=0),
        "proj_p10": q[0],
        "proj_p50": q[2],
        "proj_p90": q[4],
        "log_lik": kde_loglik(samples, y),
        "crps": crps_samples(samples, y),
        "pit": (samples <= y[None]).mean(axis=0),
        "in_50": coverage(samples, y, 0.5),
        "in_80": coverage(samples, y, 0.8),
    }


def score_portfolio(
    lineups: pd.DataFrame,
    points_by_driver: dict[int, float],
    own_by_driver: dict[int, float],
    slate: pd.DataFrame,
    table,
    field_size: int,
    seed: int = FIELD_SEED,
    field_min_salary: float = DEFAULT_MIN_FIELD_SALARY,
) -> pd.DataFrame:
    """Each lineup's actual score, and where it would have placed (and been paid) against a field
    drawn from the projected ownership (core/slate.py draw_field, the default realistic field),
    scored with the actual points."""
    from nascar_pipeline.core.contest import simulate_contest
    from nascar_pipeline.core.lineups import slate_indices
    from nascar_pipeline.core.slate import draw_field

    site = rules.DRAFTKINGS
    if "site" in lineups:  # the DraftKings portfolio is what is scored
        lineups = lineups[lineups["site"].astype(str) == site.name]
    ids = slate["driver_id"].astype("int64").to_numpy()
    pts = np.array([[points_by_driver.get(int(d), 0.0) for d in ids]], dtype=np.float64)
    ours = slate_indices(lineups, slate)
    own = np.array([own_by_driver.get(int(d), 0.0) for d in ids], dtype=np.float64)
    field = draw_field(
        own,
        slate["salary"].to_numpy(float),
        field_size,
        field_min_salary,
        np.random.default_rng(seed),
        setting="backtest field_min_salary",
        names=slate["driver_name"].astype(str).to_numpy() if "driver_name" in slate else None,
    ).lineups
    res = simulate_contest(pts, ours, field, table)
    out = pd.DataFrame(
        {
            "lineup_id": lineups["lineup_id"].to_numpy(np.int64),
            "actual_points": pts[0][ours].sum(axis=1),
            "rank": res.rank[0],
            "entries": res.n_entries,
            "percentile": 100.0 * (1.0 - (res.rank[0] - 1) / max(res.n_entries - 1, 1)),
            "payout": res.payout[0],
            "entry_fee": table.entry_fee,
            "field_duplicates": res.duplicates,
        }
    )
    if "projection" in lineups:
        out["projected_points"] = lineups["projection"].to_numpy(float)
    return out


# ---------------------------------------------------------------- money (real contest facts)
def lineup_points(lineups: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K,) DraftKings points of each lineup (K, R driver indices) given each driver's points."""
    idx = np.asarray(lineups, dtype=np.int64)
    return np.asarray(points, dtype=np.float64)[idx].sum(axis=1) if idx.size else np.zeros(0)


def grade_lineups(points, cash_line: float | None, winning_score: float | None) -> dict:
    """Lineups' actual points against a contest's cash line and winning score: a lineup cashes at
    or above the cash line (DraftKings splits ties) and wins at or above the winning score. The
    rates are NaN where the fact is unknown."""
    p = np.asarray(points, dtype=np.float64)
    cash = np.nan if cash_line is None or pd.isna(cash_line) else float(cash_line)
    win = np.nan if winning_score is None or pd.isna(winning_score) else float(winning_score)
    best = float(p.max()) if p.size else np.nan
    return {
        "lineups": int(p.size),
        "best_points": best,
        "mean_points": float(p.mean()) if p.size else np.nan,
        "cash_line": cash,
        "winning_score": win,
        "cash_rate": float(np.mean(p >= cash)) if p.size and np.isfinite(cash) else np.nan,
        "beat_winner": float(np.any(p >= win)) if p.size and np.isfinite(win) else np.nan,
        "best_minus_cash": best - cash,
        "best_minus_winner": best - win,
    }
