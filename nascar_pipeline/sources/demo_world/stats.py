"""Summary statistics of run races, comparable between the demo world and real history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core.rules import draftkings_points
from nascar_pipeline.core.tables import TRACK_TYPES


def world_statistics(
    races: pd.DataFrame, results: pd.DataFrame, entries: pd.DataFrame | None = None
) -> dict[str, float]:
    """Summary statistics of run races, comparable between the demo world and real history.

    races: race_key, track_type, laps. results: race_key, driver_id, finish_position,
    laps_led, fastest_laps, status and start_position (or `entries` holding start_position).
    """
    r = races[races["laps"].notna()][["race_key", "track_type", "laps"]]
    d = results.merge(r, on="race_key", how="inner")
    if "start_position" not in d.columns:
        d = d.merge(
            entries[["race_key", "driver_id", "start_position"]],
            on=["race_key", "driver_id"],
            how="left",
        )
    d = d.astype(
        {
            "laps": float,
            "laps_led": float,
            "fastest_laps": float,
            "finish_position": float,
            "start_position": float,
        }
    )
    g = d.groupby("race_key")
    laps = g["laps"].first()
    ttype = g["track_type"].first()
    out: dict[str, float] = {
        "races": float(len(laps)),
        "starts": float(len(d)),
        "cars_per_race": float(g.size().mean()),
    }
    dnf = d["status"].astype(str) != "running"
    for t in TRACK_TYPES:
        m = (d["track_type"] == t).to_numpy()
        out[f"dnf_rate_{t}"] = float(dnf[m].mean()) if m.any() else float("nan")
        lead = (g["laps_led"].max() / laps)[ttype == t]
        out[f"top_leader_share_{t}"] = float(lead.mean()) if len(lead) else float("nan")
    out["laps_led_per_lap"] = float((g["laps_led"].sum() / laps).mean())
    out["fastest_laps_per_lap"] = float((g["fastest_laps"].sum() / laps).mean())
    out["leaders_per_race"] = float(g["laps_led"].apply(lambda v: (v > 0).sum()).mean())
    out["start_finish_spearman"] = float(
        d[["start_position", "finish_position"]].corr(method="spearman").iloc[0, 1]
    )
    pts = draftkings_points(
        d["start_position"].to_numpy(),
        d["finish_position"].to_numpy(),
        d["laps_led"].to_numpy(),
        d["fastest_laps"].fillna(0).to_numpy(),
    )
    out["dk_points_mean"] = float(pts.mean())
    out["dk_points_sd"] = float(pts.std())
    out["dk_points_p90"] = float(np.percentile(pts, 90))
    out["dk_points_max"] = float(pts.max())
    return out
