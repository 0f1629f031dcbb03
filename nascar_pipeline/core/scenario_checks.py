"""Sanity of a race_scenarios table on its own (the long Parquet layout, not the in-memory
ScenarioSet that core/simulate.py checks while simulating). Pure."""

from __future__ import annotations

import pandas as pd

from nascar_pipeline.core import rules


def scenario_frame_sanity(df: pd.DataFrame) -> tuple[bool, dict]:
    """Sanity of a race_scenarios table on its own: each scenario's finishing positions are a
    permutation of 1..D, laps led sum to the laps run (= the winner's laps completed), fastest
    laps total within [15 %, 96 %] of laps, per-car lap caps, points within the rules' bounds."""
    g = df.groupby("scenario")
    D = int(g.size().iloc[0]) if len(df) else 0
    sizes_ok = bool((g.size() == D).all())
    fin_sum = g["finish_position"].agg(lambda s: tuple(sorted(s)) == tuple(range(1, D + 1)))
    laps = g["laps_completed"].max()
    led_ok = bool((g["laps_led"].sum() == laps).all())
    fast = g["fastest_laps"].sum()
    fast_ok = bool(((fast >= 0.15 * laps) & (fast <= 0.96 * laps)).all())
    cap_ok = bool(
        (df["laps_led"] <= df["laps_completed"]).all()
        and (df["fastest_laps"] <= df["laps_completed"]).all()
    )
    L = int(laps.max()) if len(laps) else 0
    pts_ok = bool(
        df["dk_points"]
        .between(
            rules.min_points_bound("draftkings", D) - 1e-3,
            rules.max_points_bound("draftkings", D, L) + 1e-3,
        )
        .all()
        and df["fd_points"]
        .between(
            rules.min_points_bound("fanduel", D) - 1e-3,
            rules.max_points_bound("fanduel", D, L) + 1e-3,
        )
        .all()
    )
    details = {
        "scenarios": int(g.ngroups),
        "drivers": D,
        "same_field": sizes_ok,
        "permutations": bool(fin_sum.all()),
        "laps_led_sum": led_ok,
        "fastest_laps_total": fast_ok,
        "lap_caps": cap_ok,
        "points_in_bounds": pts_ok,
    }
    ok = len(df) > 0 and all(v for k, v in details.items() if isinstance(v, bool))
    return ok, details
