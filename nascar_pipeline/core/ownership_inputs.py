"""What the ownership model reads from a race snapshot: each driver's recent form, the past
slates with actual DraftKings ownership (the model's training data), and the operator's
overrides resolved to slate positions. Pure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.slate import float_array, history_rows

FORM_RACES = 5  # a driver's form: mean DraftKings points of his last five races


def _dk_points(h: pd.DataFrame) -> pd.Series:
    return rules.draftkings_points(
        h["start_position"].astype(int),
        h["finish_position"].astype(int),
        h["laps_led"].fillna(0).astype(int),
        h["fastest_laps"].fillna(0).astype(int),
    )


def recent_form(snapshot: pd.DataFrame, driver_ids, last: int = FORM_RACES) -> np.ndarray:
    """Mean DraftKings points of each driver's last `last` history races (NaN without any)."""
    h = history_rows(snapshot)
    h = h[h["finish_position"].notna() & h["start_position"].notna()].copy()
    if h.empty:
        return np.full(len(driver_ids), np.nan)
    h["pts"] = _dk_points(h)
    h = h.sort_values(["race_date", "race_key"])
    form = h.groupby("driver_id")["pts"].apply(lambda s: s.tail(last).mean())
    return pd.Series(list(driver_ids)).map(form).to_numpy(dtype=float)


def historical_ownership_slates(snapshot: pd.DataFrame, min_drivers: int = 10):
    """Past races with actual DraftKings ownership, as (features, ownership) pairs for the fit.

    The projection a past slate was priced with is not stored, so each driver's mean DraftKings
    points over his previous five races stands in for it (and for form)."""
    from nascar_pipeline.core.ownership import feature_matrix

    site = rules.DRAFTKINGS
    h = history_rows(snapshot).copy()
    need = ["dk_own_pct", "salary", "start_position", "finish_position"]
    if h.empty or any(c not in h for c in need):
        return []
    h = h.sort_values(["race_date", "race_key"])
    ok = h["start_position"].notna() & h["finish_position"].notna()
    h["pts"] = np.nan
    h.loc[ok, "pts"] = _dk_points(h.loc[ok])
    h["prior_form"] = h.groupby("driver_id")["pts"].transform(
        lambda s: s.shift(1).rolling(FORM_RACES, min_periods=1).mean()
    )
    out = []
    for _, g in h.groupby("race_key", sort=False):
        g = g[g["dk_own_pct"].notna() & g["salary"].notna()]
        if len(g) < min_drivers:
            continue
        proj = g["prior_form"].fillna(g["prior_form"].mean()).fillna(0).to_numpy(float)
        X = feature_matrix(float_array(g["salary"]), proj, float_array(g["start_position"]), proj)
        y = float_array(g["dk_own_pct"])
        y = y / y.sum() * 100.0 * site.roster_size if y.sum() > 0 else y
        out.append((X, y))
    return out


def resolve_overrides(overrides: dict[str, float], slate: pd.DataFrame) -> dict[int, float]:
    """Ownership overrides keyed by driver_id (as text) or driver name -> slate index -> pct.
    Raises ValueError naming an override that matches no driver on the slate."""
    by_id = {str(int(d)): i for i, d in enumerate(slate["driver_id"])}
    by_name = {str(n).strip().lower(): i for i, n in enumerate(slate["driver_name"])}
    out: dict[int, float] = {}
    for key, pct in (overrides or {}).items():
        k = str(key).strip()
        i = by_id.get(k, by_name.get(k.lower()))
        if i is None:
            raise ValueError(f"run config ownership override {key!r}: no such driver on the slate")
        out[i] = float(pct)
    return out
