"""Scenarios -> driver_projections (one row per driver).

Columns (contract): driver_id, driver_name, salary, dk_id, start_position, dk_mean, dk_median,
dk_sd, dk_p10, dk_p25, dk_p75, dk_p90, fd_mean, win_pct, top5_pct, top10_pct, dnf_pct,
exp_laps_led, exp_fastest_laps, pts_per_1k (DK mean per $1,000 of salary; null without salary).
Sorted by dk_mean descending. Percentages are 0-100.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core.simulate import ScenarioSet

PROJECTION_COLUMNS = {
    "driver_id": "int64",
    "driver_name": "string",
    "salary": "Int64",
    "dk_id": "Int64",
    "start_position": "int16",
    "dk_mean": "float64",
    "dk_median": "float64",
    "dk_sd": "float64",
    "dk_p10": "float64",
    "dk_p25": "float64",
    "dk_p75": "float64",
    "dk_p90": "float64",
    "fd_mean": "float64",
    "win_pct": "float64",
    "top5_pct": "float64",
    "top10_pct": "float64",
    "dnf_pct": "float64",
    "exp_laps_led": "float64",
    "exp_fastest_laps": "float64",
    "pts_per_1k": "Float64",
}


def driver_projections(sc: ScenarioSet, entries: pd.DataFrame) -> pd.DataFrame:
    dk = sc.dk_points.astype(np.float64)
    q = np.percentile(dk, [10, 25, 50, 75, 90], axis=0)
    fin = sc.finish_position
    df = pd.DataFrame(
        {
            "driver_id": sc.driver_ids.astype(np.int64),
            "start_position": sc.start_position.astype(np.int16),
            "dk_mean": dk.mean(axis=0),
            "dk_median": q[2],
            "dk_sd": dk.std(axis=0, ddof=1) if dk.shape[0] > 1 else np.zeros(dk.shape[1]),
            "dk_p10": q[0],
            "dk_p25": q[1],
            "dk_p75": q[3],
            "dk_p90": q[4],
            "fd_mean": sc.fd_points.astype(np.float64).mean(axis=0),
            "win_pct": 100.0 * (fin == 1).mean(axis=0),
            "top5_pct": 100.0 * (fin <= 5).mean(axis=0),
            "top10_pct": 100.0 * (fin <= 10).mean(axis=0),
            "dnf_pct": 100.0 * sc.dnf.mean(axis=0),
            "exp_laps_led": sc.laps_led.astype(np.float64).mean(axis=0),
            "exp_fastest_laps": sc.fastest_laps.astype(np.float64).mean(axis=0),
        }
    )
    e = entries.drop_duplicates("driver_id").copy()
    e["driver_id"] = pd.to_numeric(e["driver_id"]).astype(np.int64)
    for c in ("driver_name", "salary", "dk_id"):
        if c not in e.columns:
            e[c] = pd.NA
    df = df.merge(e[["driver_id", "driver_name", "salary", "dk_id"]], on="driver_id", how="left")
    sal = pd.to_numeric(df["salary"], errors="coerce").astype("Float64")
    df["pts_per_1k"] = (df["dk_mean"] / (sal / 1000.0)).where(sal > 0)
    df = df[list(PROJECTION_COLUMNS)].astype(PROJECTION_COLUMNS)
    return df.sort_values(["dk_mean", "driver_id"], ascending=[False, True]).reset_index(drop=True)
