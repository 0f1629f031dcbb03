"""Build the `race_snapshot` table from a race's inputs (pure; no I/O).

Layout: one row per driver-start. `role == "entry"` rows are the target race's entry list
(result columns null unless the race has been run); `role == "history"` rows are results of
races strictly before it. Race-level fields repeat on every row so the file stands alone.
Contest fields (JSON payouts) are set on entry rows when a contest is known: `contest_*` hold the
first contest by id (kept for readers of one contest), `contests` every contest of the race as a
JSON list of CONTESTS_COLUMNS objects (without race_key; payouts nested), sorted by contest_id.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from nascar_pipeline.core.tables import CONTEST_RESULT_COLUMNS, HISTORY_RACE_FIELDS, RaceInputs

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
    "user_proj_points": "Float64",
    "user_proj_floor": "Float64",
    "user_proj_ceiling": "Float64",
    "user_own_pct": "Float64",
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
    "contests": "string",
}

_RACE_FIELDS = [*HISTORY_RACE_FIELDS, "lock_time"]


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
        entries["contests"] = contests_json(inputs.contests)
    hist = inputs.history.copy()
    hist["role"] = "history"
    frames = [f for f in (entries, hist) if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = pd.DataFrame(index=range(len(df)))
    for col, dtype in SNAPSHOT_COLUMNS.items():
        out[col] = (df[col] if col in df.columns else pd.Series([pd.NA] * len(df))).astype(dtype)
    out = out.sort_values(
        ["role", "race_date", "race_key", "driver_id"],
        ascending=[True, True, True, True],
        kind="stable",
    ).reset_index(drop=True)
    return out


def contests_json(contests: pd.DataFrame) -> str:
    """Every contest of a race as one JSON list (sorted by contest_id; nulls as null)."""
    cols = [c for c in contests.columns if c != "race_key" and c not in CONTEST_RESULT_COLUMNS]
    rows = contests.sort_values("contest_id")[cols].astype(object)
    rows = rows.where(rows.notna(), None)
    out = []
    for rec in rows.to_dict("records"):
        rec = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        if isinstance(rec.get("payouts"), str):  # stored as JSON text: nest it, not quote it
            rec["payouts"] = json.loads(rec["payouts"])
        out.append(rec)
    return json.dumps(out, sort_keys=True)


SLATE_ENTRY_COLUMNS = [
    "driver_id",
    "car_number",
    "salary",
    "dk_id",
    "start_position",
    "fd_salary",
    "fd_id",
]
# The player's own numbers (`ingest projections`) change the build, so they are part of the
# slate, but only where set: a race without them hashes exactly as before they existed.
USER_NUMBER_COLUMNS = ["user_proj_points", "user_proj_floor", "user_proj_ceiling", "user_own_pct"]


def slate_text(entries: pd.DataFrame, contests: pd.DataFrame | None = None):
    """The slate's fields as text ("" for null), the form slate_hash hashes. Convert a whole
    world once and hash per race with `hash_slate_text` to keep many races cheap."""
    e = entries[[c for c in SLATE_ENTRY_COLUMNS + USER_NUMBER_COLUMNS if c in entries.columns]]
    e = e.astype("string").fillna("")
    if contests is not None:  # post-race facts (winning score, cash line) are not the slate
        contests = contests.drop(columns=list(CONTEST_RESULT_COLUMNS), errors="ignore")
    c = contests.astype("string").fillna("") if contests is not None else None
    return e, c


def _records(df: pd.DataFrame, sort_key: str) -> list[dict]:
    # Plain Python lists: much faster than DataFrame.to_dict on string columns.
    cols = list(df.columns)
    rows = zip(*(df[col].tolist() for col in cols))
    at = cols.index(sort_key)
    return [dict(zip(cols, row)) for row in sorted(rows, key=lambda r: r[at])]


def without_blank_user_numbers(record: dict) -> dict:
    """An entry record without the user-number fields that are blank ("")."""
    return {k: v for k, v in record.items() if v != "" or k not in USER_NUMBER_COLUMNS}


def hash_slate_text(e: pd.DataFrame, c: pd.DataFrame | None = None) -> str:
    payload = {"entries": [without_blank_user_numbers(r) for r in _records(e, "driver_id")]}
    if c is not None and len(c):
        payload["contests"] = _records(c, "contest_id")
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def slate_hash(entries: pd.DataFrame, contests: pd.DataFrame | None = None) -> str:
    """A stable hash of what makes a slate: drivers, DraftKings and FanDuel salaries and ids,
    start positions, contests, and the player's own numbers where set. Equal slates hash equal
    whatever the row order."""
    return hash_slate_text(*slate_text(entries, contests))
