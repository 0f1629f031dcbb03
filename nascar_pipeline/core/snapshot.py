"""Build the `race_snapshot` table from a race's inputs (pure; no I/O).

Layout: one row per driver-start. `role == "entry"` rows are the target race's entry list
(result columns null unless the race has been run); `role == "history"` rows are results of
races strictly before it. Race-level fields repeat on every row so the file stands alone.
Contest fields (JSON payouts) are set on entry rows when a contest is known.
"""
from __future__ import annotations

import hashlib
import json

import pandas as pd

from nascar_pipeline.ontology.tables import RaceInputs

SNAPSHOT_COLUMNS = {
    "role": "string",
    "race_key": "string",
    "race_id": "Int64",
    "season": "Int64",
    "race_date": "string",
    "race_name": "string",
    "track_name": "string",
    "track_type": "string",
    "track_length_miles": "Float64",
    "scheduled_laps": "Int64",
    "laps": "Int64",
    "lock_time": "string",
    "driver_id": "Int64",
    "driver_name": "string",
    "car_number": "string",
    "team": "string",
    "manufacturer": "string",
    "salary": "Int64",
    "dk_id": "Int64",
    "start_position": "Int64",
    "dk_own_pct": "Float64",
    "fd_salary": "Int64",
    "fd_id": "string",
    "finish_position": "Int64",
    "laps_completed": "Int64",
    "laps_led": "Int64",
    "fastest_laps": "Int64",
    "status": "string",
    "contest_id": "string",
    "contest_site": "string",
    "contest_entry_fee": "Float64",
    "contest_field_size": "Int64",
    "contest_max_entries": "Int64",
    "contest_payouts": "string",
}

_RACE_FIELDS = ["race_key", "race_id", "season", "race_date", "race_name", "track_name",
                "track_type", "track_length_miles", "scheduled_laps", "laps", "lock_time"]


def build_snapshot(inputs: RaceInputs) -> pd.DataFrame:
    race = inputs.race.iloc[0]
    entries = inputs.entries.copy()
    for f in _RACE_FIELDS:
        entries[f] = race[f]
    entries["role"] = "entry"
    if len(inputs.contests):
        c = inputs.contests.sort_values("contest_id").iloc[0]
        entries["contest_id"] = c["contest_id"]
        entries["contest_site"] = c["site"]
        entries["contest_entry_fee"] = c["entry_fee"]
        entries["contest_field_size"] = c["field_size"]
        entries["contest_max_entries"] = c["max_entries"]
        entries["contest_payouts"] = c["payouts"]
    hist = inputs.history.copy()
    hist["role"] = "history"
    frames = [f for f in (entries, hist) if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = pd.DataFrame(index=range(len(df)))
    for col, dtype in SNAPSHOT_COLUMNS.items():
        out[col] = (df[col] if col in df.columns else pd.Series([pd.NA] * len(df))).astype(dtype)
    out = out.sort_values(["role", "race_date", "race_key", "driver_id"],
                          ascending=[True, True, True, True], kind="stable").reset_index(drop=True)
    return out


def slate_hash(entries: pd.DataFrame, contests: pd.DataFrame | None = None) -> str:
    """A stable hash of what makes a slate: drivers, DraftKings and FanDuel salaries and ids,
    start positions, contests.
    Equal slates hash equal whatever the row order."""
    cols = ["driver_id", "car_number", "salary", "dk_id", "start_position", "fd_salary", "fd_id"]
    e = entries[[c for c in cols if c in entries.columns]].copy()
    e = e.astype("string").fillna("").sort_values("driver_id")
    payload = {"entries": e.to_dict(orient="records")}
    if contests is not None and len(contests):
        c = contests.astype("string").fillna("").sort_values("contest_id")
        payload["contests"] = c.to_dict(orient="records")
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
