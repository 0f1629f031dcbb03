"""History CSVs (races.csv + results.csv, see ../shared/data/README.md) -> OntologyTables.

races.csv: race_id, season, race_date (YYYY-MM-DD), race_name, track_name, laps
  [, track_type, track_length_miles]. Blank track type/length are filled from parsers/tracks.py.
results.csv: race_id, driver_id, driver_name, car_number, start_position, finish_position,
  laps_completed, laps_led, status [, team, manufacturer, fastest_laps].
Every race in races.csv is `final` (laps = laps run; scheduled_laps unknown, left null).
Checks: types and ranges of every cell, unique race ids, one row per (race, driver), each
race's finishing positions exactly 1..N, results only for races in races.csv, one name per
driver id, known track types.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import TRACK_TYPES, OntologyTables, conform
from nascar_pipeline.ontology.parsers._common import (
    Problems,
    assign_race_keys,
    check_permutation,
    parse_date,
    parse_float,
    parse_int,
    parse_text,
    read_csv_table,
)
from nascar_pipeline.ontology.parsers.tracks import track_fields

RACES_REQUIRED = ["race_id", "season", "race_date", "race_name", "track_name", "laps"]
RESULTS_REQUIRED = [
    "race_id",
    "driver_id",
    "driver_name",
    "car_number",
    "start_position",
    "finish_position",
    "laps_completed",
    "laps_led",
    "status",
]


def parse_races_csv(path: str | Path) -> pd.DataFrame:
    raw = read_csv_table(path, RACES_REQUIRED)
    probs = Problems(path)
    rows = []
    seen: dict[int, int] = {}
    for rec in raw.to_dict("records"):
        w = f"line {rec['_line']}"
        rid = parse_int(rec["race_id"], probs, w, "race_id", minimum=1)
        if rid is not None:
            if rid in seen:
                probs.add(f"{w}, field race_id", f"race {rid} repeats line {seen[rid]}")
            seen.setdefault(rid, rec["_line"])
        season = parse_int(rec["season"], probs, w, "season", minimum=1900, maximum=2200)
        date = parse_date(rec["race_date"], probs, w, "race_date")
        if date and season and int(date[:4]) != season:
            probs.add(f"{w}, field season", f"season {season} but race_date {date}")
        name = parse_text(rec["race_name"], probs, w, "race_name")
        track = parse_text(rec["track_name"], probs, w, "track_name")
        laps = parse_int(rec["laps"], probs, w, "laps", minimum=1)
        ttype = (rec.get("track_type") or "").strip().lower() or None
        if ttype is not None and ttype not in TRACK_TYPES:
            probs.add(f"{w}, field track_type", f"{ttype!r} is not one of {', '.join(TRACK_TYPES)}")
        length = parse_float(
            rec.get("track_length_miles"),
            probs,
            w,
            "track_length_miles",
            required=False,
            minimum=0.1,
            maximum=10,
        )
        rows.append(
            {
                "race_id": rid,
                "season": season,
                "race_date": date,
                "race_name": name,
                **track_fields(track, ttype, length),
                "laps": laps,
                "status": "final",
                "_line": rec["_line"],
            }
        )
    probs.raise_if_any()
    races = pd.DataFrame(rows)
    if races.empty:
        probs.fail("line 2", "no races")
    races["race_key"] = assign_race_keys(races)
    return races


def parse_history(races_csv: str | Path, results_csv: str | Path) -> OntologyTables:
    races = parse_races_csv(races_csv)
    key_of = dict(zip(races["race_id"], races["race_key"]))
    raw = read_csv_table(results_csv, RESULTS_REQUIRED)
    probs = Problems(results_csv)
    rows = []
    first_line: dict[tuple[int, int], int] = {}
    names: dict[int, tuple[str, int]] = {}
    for rec in raw.to_dict("records"):
        line = rec["_line"]
        w = f"line {line}"
        rid = parse_int(rec["race_id"], probs, w, "race_id", minimum=1)
        if rid is not None and rid not in key_of:
            probs.add(f"{w}, field race_id", f"race {rid} is not in {Path(races_csv).name}")
        did = parse_int(rec["driver_id"], probs, w, "driver_id", minimum=1)
        if rid is not None and did is not None:
            if (rid, did) in first_line:
                probs.add(
                    f"{w}, field driver_id",
                    f"duplicate driver {did} in race {rid} (also line {first_line[(rid, did)]})",
                )
            first_line.setdefault((rid, did), line)
        name = parse_text(rec["driver_name"], probs, w, "driver_name")
        if did is not None and name:
            prev = names.setdefault(did, (name, line))
            if prev[0] != name:
                probs.add(
                    f"{w}, field driver_name",
                    f"driver {did} is {name!r} here but {prev[0]!r} on line {prev[1]}",
                )
        rows.append(
            {
                "race_id": rid,
                "race_key": key_of.get(rid),
                "driver_id": did,
                "driver_name": name,
                "car_number": parse_text(rec["car_number"], probs, w, "car_number"),
                "team": (rec.get("team") or "").strip() or None,
                "manufacturer": (rec.get("manufacturer") or "").strip() or None,
                "start_position": parse_int(
                    rec["start_position"], probs, w, "start_position", minimum=1
                ),
                "finish_position": parse_int(
                    rec["finish_position"], probs, w, "finish_position", minimum=1
                ),
                "laps_completed": parse_int(
                    rec["laps_completed"], probs, w, "laps_completed", minimum=0
                ),
                "laps_led": parse_int(rec["laps_led"], probs, w, "laps_led", minimum=0),
                "fastest_laps": parse_int(
                    rec.get("fastest_laps"), probs, w, "fastest_laps", required=False, minimum=0
                ),
                "status": (parse_text(rec["status"], probs, w, "status") or "").lower() or None,
                "_line": line,
            }
        )
    res = pd.DataFrame(rows)
    if res.empty:
        probs.fail("line 2", "no results")
    for rid, grp in res.groupby("race_id", sort=True):
        check_permutation(
            list(zip(grp["_line"], grp["finish_position"])),
            probs,
            f"race {rid} (lines {grp['_line'].min()}-{grp['_line'].max()})",
            "finish_position",
        )
    probs.raise_if_any()
    drivers = res.drop_duplicates("driver_id")[["driver_id", "driver_name"]].rename(
        columns={"driver_name": "name"}
    )
    return OntologyTables(
        races=conform("races", races),
        drivers=conform("drivers", drivers),
        entries=conform("entries", res),
        results=conform("results", res),
    )
