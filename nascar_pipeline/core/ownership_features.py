"""What the real DraftKings field reacts to, as one feature matrix per slate. Pure; no I/O.

A slate is a DataFrame with one row per driver. Required columns: `driver_name`, `salary`,
`projection` (DK points). Optional columns (missing or NaN means "not known"; the driver then
sits at the slate's average for that feature, so it neither pushes nor pulls):

- `start_position` (1 = pole), `recent_dk_points` (mean DK points of the last races),
  `recent_finish` (mean finishing position of the last races), `prev_salary` (the driver's DK
  salary at his last race), `win_prob` and `top5_prob` (the model's odds, 0..1),
  `prev_own_pct` (the driver's ownership at his last race: popularity inertia),
  `vendor_own_pct` (a vendor's or the user's ownership; used as a blend, not a feature).

Features are within-slate standardized (z-scores) except the price change, which is in $1K
since it already means the same thing on every slate. Every feature is oriented so that a
positive value is what the field chases (a better recent finish, a price drop, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIELD_FEATURES = (
    "projection",
    "value",
    "salary",
    "recent_dk_points",
    "recent_finish",
    "start_position",
    "price_drop",
    "win_odds",
    "top5_odds",
    "previous_ownership",
)

REQUIRED_COLUMNS = ("driver_name", "salary", "projection")

# Salary tiers within a slate: the top fifth of salaries and the bottom third (punts).
TOP_TIER_QUANTILE = 0.8
BOTTOM_TIER_QUANTILE = 1.0 / 3.0


def column(slate: pd.DataFrame, name: str) -> np.ndarray:
    """A slate column as float64 (NaN where missing; all NaN when the column is absent)."""
    if name not in slate:
        return np.full(len(slate), np.nan)
    return (
        pd.to_numeric(slate[name], errors="coerce")
        .astype("Float64")
        .to_numpy(np.float64, na_value=np.nan)
    )


def zscore(x) -> np.ndarray:
    """Within-slate z-score; unknown values (NaN) become 0, the slate's average."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros_like(x)
    sd = x[ok].std()
    if sd <= 0:
        return np.zeros_like(x)
    return np.where(ok, (x - x[ok].mean()) / sd, 0.0)


def value_per_1k(slate: pd.DataFrame) -> np.ndarray:
    """Projected DK points per $1,000 of salary."""
    return column(slate, "projection") / np.maximum(column(slate, "salary"), 1.0) * 1000.0


def price_change(slate: pd.DataFrame) -> np.ndarray:
    """Salary change since the driver's last race in $ (NaN when unknown)."""
    return column(slate, "salary") - column(slate, "prev_salary")


def salary_tiers(salary) -> np.ndarray:
    """'top', 'mid' or 'bottom' per driver, by the slate's salary quantiles."""
    s = np.asarray(salary, dtype=np.float64)
    ok = np.isfinite(s)
    if not ok.any():
        return np.full(s.size, "mid", dtype=object)
    hi = np.quantile(s[ok], TOP_TIER_QUANTILE)
    lo = np.quantile(s[ok], BOTTOM_TIER_QUANTILE)
    out = np.full(s.size, "mid", dtype=object)
    out[s >= hi] = "top"
    out[s <= lo] = "bottom"
    return out


def field_features(slate: pd.DataFrame) -> np.ndarray:
    """(D, len(FIELD_FEATURES)) feature matrix in FIELD_FEATURES order."""
    missing = [c for c in REQUIRED_COLUMNS if c not in slate]
    if missing:
        raise ValueError(f"slate lacks column(s) {', '.join(missing)}")
    drop = -price_change(slate) / 1000.0
    win = column(slate, "win_prob")
    prev = column(slate, "prev_own_pct")
    cols = {
        "projection": zscore(column(slate, "projection")),
        "value": zscore(value_per_1k(slate)),
        "salary": zscore(column(slate, "salary")),
        "recent_dk_points": zscore(column(slate, "recent_dk_points")),
        # a better (lower) average finish is what the field chases
        "recent_finish": -zscore(column(slate, "recent_finish")),
        "start_position": zscore(column(slate, "start_position")),
        # in $1K, clipped: DK rarely moves a price by more than $1,500 in a week
        "price_drop": np.where(np.isfinite(drop), np.clip(drop, -3.0, 3.0), 0.0),
        # log odds: a 20 % favourite is not ten times as popular as a 2 % one
        "win_odds": zscore(np.log(np.clip(win, 1e-3, 1.0))),
        "top5_odds": zscore(column(slate, "top5_prob")),
        "previous_ownership": zscore(np.log1p(np.clip(prev, 0.0, 100.0))),
    }
    return np.column_stack([cols[f] for f in FIELD_FEATURES])
