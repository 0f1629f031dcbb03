"""The ownership model's inputs from a race snapshot: each slate driver's recent finishes and DK
points, his price and ownership at his last race, the model's odds; and the past races with real
%Drafted as training races for `ownership_fit.fit_field_model`. Pure: DataFrames in and out.

History rows are the snapshot's `role == "history"` rows (results of the races before this one,
with `salary` and `dk_own_pct` where the slate and the standings were ingested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.ownership_fit import TrainingRace
from nascar_pipeline.core.slate import history_rows

RECENT_RACES = 5  # recent form and finishes: a driver's last five races


def _scored_history(snapshot: pd.DataFrame) -> pd.DataFrame:
    h = history_rows(snapshot).copy()
    for col in ("salary", "dk_own_pct", "laps_led", "fastest_laps"):
        if col not in h:
            h[col] = np.nan
    h = h.sort_values(["race_date", "race_key"], kind="stable")
    ok = h["start_position"].notna() & h["finish_position"].notna()
    h["dk_pts"] = np.nan
    if ok.any():
        g = h.loc[ok]
        h.loc[ok, "dk_pts"] = rules.draftkings_points(
            g["start_position"].astype(int),
            g["finish_position"].astype(int),
            g["laps_led"].fillna(0).astype(int),
            g["fastest_laps"].fillna(0).astype(int),
        )
    h["finish"] = pd.to_numeric(h["finish_position"], errors="coerce").astype(float)
    return h


def _recent(h: pd.DataFrame, driver_ids, last: int) -> pd.DataFrame:
    """Per driver (in driver_ids order): recent_dk_points, recent_finish, prev_salary,
    prev_own_pct from the rows of h (already in date order)."""
    ids = pd.Series(list(driver_ids), dtype="int64")
    if h.empty:
        cols = ["recent_dk_points", "recent_finish", "prev_salary", "prev_own_pct"]
        return pd.DataFrame({c: np.full(len(ids), np.nan) for c in cols})
    hh = h.assign(did=h["driver_id"].astype("int64"))
    tail = hh.groupby("did").tail(last).groupby("did")
    last_row = hh.groupby("did").tail(1).set_index("did")
    return pd.DataFrame(
        {
            "recent_dk_points": ids.map(tail["dk_pts"].mean()).to_numpy(float),
            "recent_finish": ids.map(tail["finish"].mean()).to_numpy(float),
            # price and ownership at his last race (NaN when that slate was not ingested)
            "prev_salary": ids.map(pd.to_numeric(last_row["salary"], errors="coerce")).to_numpy(
                float
            ),
            "prev_own_pct": ids.map(
                pd.to_numeric(last_row["dk_own_pct"], errors="coerce")
            ).to_numpy(float),
        }
    )


def recent_driver_stats(snapshot: pd.DataFrame, driver_ids, last: int = RECENT_RACES):
    """recent_dk_points, recent_finish, prev_salary, prev_own_pct per driver (driver_ids order)."""
    return _recent(_scored_history(snapshot), driver_ids, last)


def ownership_slate(
    slate: pd.DataFrame,
    snapshot: pd.DataFrame,
    projections: pd.DataFrame | None = None,
    vendor_own_pct=None,
) -> pd.DataFrame:
    """The ownership model's slate frame for this race.

    slate: driver_id, driver_name, salary, projection, start_position (core.slate.slate_arrays).
    projections: driver_projections (win_pct, top5_pct in %), optional. vendor_own_pct: a
    vendor's or the user's ownership per slate driver (slate order), optional."""
    out = slate[["driver_id", "driver_name", "salary", "projection"]].reset_index(drop=True).copy()
    out["start_position"] = (
        slate["start_position"].to_numpy() if "start_position" in slate else np.nan
    )
    stats = recent_driver_stats(snapshot, out["driver_id"])
    out = pd.concat([out, stats], axis=1)
    if projections is not None and len(projections):
        p = projections.set_index(projections["driver_id"].astype("int64"))
        for src, dst in (("win_pct", "win_prob"), ("top5_pct", "top5_prob")):
            if src in p:
                out[dst] = out["driver_id"].astype("int64").map(p[src] / 100.0).astype(float)
    if vendor_own_pct is not None:
        out["vendor_own_pct"] = np.asarray(vendor_own_pct, dtype=float)
    return out


def training_races(snapshot: pd.DataFrame, min_drivers: int = 10) -> list[TrainingRace]:
    """Past races with real %Drafted (dk_own_pct) and salaries, as (slate, %Drafted) pairs.

    Each past slate's features are what was known before that race (history strictly before
    it). The projection that slate was priced with is not stored, so each driver's mean DK
    points over his previous five races stands in for it."""
    h = _scored_history(snapshot)
    if h.empty:
        return []
    out: list[TrainingRace] = []
    keys = h["race_key"].drop_duplicates().tolist()
    for k, key in enumerate(keys):
        g = h[(h["race_key"] == key) & h["dk_own_pct"].notna() & h["salary"].notna()]
        if len(g) < min_drivers:
            continue
        before = h[h["race_key"].isin(keys[:k])]
        stats = _recent(before, g["driver_id"], RECENT_RACES)
        slate = pd.DataFrame(
            {
                "driver_id": g["driver_id"].astype("int64").to_numpy(),
                "driver_name": g["driver_name"].astype(str).to_numpy(),
                "salary": pd.to_numeric(g["salary"], errors="coerce").to_numpy(float),
                "start_position": pd.to_numeric(g["start_position"], errors="coerce").to_numpy(
                    float
                ),
            }
        )
        slate = pd.concat([slate, stats], axis=1)
        form = slate["recent_dk_points"]
        slate["projection"] = form.fillna(form.mean()).fillna(0.0)
        out.append((slate, pd.to_numeric(g["dk_own_pct"], errors="coerce").to_numpy(float)))
    return out
