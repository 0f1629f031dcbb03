"""Summaries read off stored assets (no model is run): per-driver quantiles from the projections
or from the scenario matrix, and the contest simulation's metrics and best lineups."""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_QUANTILE_NAMES = ("p10", "p25", "median", "p75", "p90")
_PROJ_COLS = [
    "driver_id",
    "driver_name",
    "salary",
    "start_position",
    "dk_mean",
    "dk_sd",
    "dk_p10",
    "dk_p25",
    "dk_median",
    "dk_p75",
    "dk_p90",
    "fd_mean",
    "win_pct",
    "top5_pct",
    "top10_pct",
    "dnf_pct",
    "exp_laps_led",
    "exp_fastest_laps",
]
_ID_COLS = {"lineup_id", "driver_id", "dk_id", "contest_id", "scenario"}


def summary_from_projections(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in _PROJ_COLS if c in df.columns]
    out = df[cols]
    if "dk_mean" in out.columns:
        out = out.sort_values("dk_mean", ascending=False, kind="stable")
    return out.reset_index(drop=True)


def summary_from_scenarios(sc: pd.DataFrame, entries: pd.DataFrame | None) -> pd.DataFrame:
    """Per-driver quantiles of the stored scenario matrix, named from the race's entry list."""
    g = sc.groupby("driver_id", sort=True)
    out = pd.DataFrame({"scenarios": g.size()})
    for site in ("dk", "fd"):
        col = f"{site}_points"
        if col not in sc.columns:
            continue
        out[f"{site}_mean"] = g[col].mean()
        out[f"{site}_sd"] = g[col].std(ddof=0)
        qs = g[col].quantile(list(QUANTILES)).unstack()
        for qv, name in zip(QUANTILES, _QUANTILE_NAMES):
            out[f"{site}_{name}"] = qs[qv]
    if "finish_position" in sc.columns:
        fp = sc["finish_position"].to_numpy()
        for name, k in (("win_pct", 1), ("top5_pct", 5), ("top10_pct", 10)):
            out[name] = pd.Series(fp <= k, index=sc.index).groupby(sc["driver_id"]).mean() * 100.0
        out["mean_finish"] = g["finish_position"].mean()
    if "dnf" in sc.columns:
        out["dnf_pct"] = g["dnf"].mean() * 100.0
    for src, dst in (("laps_led", "exp_laps_led"), ("fastest_laps", "exp_fastest_laps")):
        if src in sc.columns:
            out[dst] = g[src].mean()
    out = out.reset_index()
    names = _driver_names(entries)
    if names is not None and not names.empty:
        out = names.merge(out, on="driver_id", how="right")
    if "dk_mean" in out.columns:
        out = out.sort_values("dk_mean", ascending=False, kind="stable")
    return out.reset_index(drop=True).replace([np.inf, -np.inf], np.nan)


def _driver_names(entries: pd.DataFrame | None) -> pd.DataFrame | None:
    if entries is None:
        return None
    cols = [
        c for c in ("driver_id", "driver_name", "salary", "start_position") if c in entries.columns
    ]
    if "driver_id" not in cols:
        return None
    return entries[cols].drop_duplicates("driver_id").astype({"driver_id": "int64"})


def contest_summary(df: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Mean/min/median/max of every numeric metric column, and the ten best lineups."""
    metrics: dict[str, dict[str, float | None]] = {}
    for col in df.columns:
        if (
            col in _ID_COLS
            or not pd.api.types.is_numeric_dtype(df[col])
            or pd.api.types.is_bool_dtype(df[col])
        ):
            continue
        s = pd.to_numeric(df[col], errors="coerce").astype("float64")
        s = s[np.isfinite(s)]
        if s.empty:
            metrics[col] = {"mean": None, "min": None, "median": None, "max": None}
            continue
        metrics[col] = {
            "mean": float(s.mean()),
            "min": float(s.min()),
            "median": float(s.median()),
            "max": float(s.max()),
        }
    best = df
    for key in ("roi", "mean_payout", "cash_pct"):
        if key in df.columns:
            best = df.sort_values(key, ascending=False, kind="stable")
            break
    return metrics, best.head(10)
