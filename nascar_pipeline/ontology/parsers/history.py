"""History CSVs (races.csv + results.csv, see docs/input-formats.md) -> SpelledTables.

races.csv: race_id, season, race_date (YYYY-MM-DD), race_name, track_name, laps
  [, track_type, track_length_miles, scheduled_laps]. Blank track type/length are filled from
  parsers/tracks.py.
results.csv: race_id, driver_id, driver_name, car_number, start_position, finish_position,
  laps_completed, laps_led, status [, team, manufacturer, fastest_laps].
Every race in races.csv is `final` (laps = laps run; scheduled_laps, the laps a forecast made
before the race may use, null where the file has none: the backtest then estimates them).
Checks: types and domain ranges of every cell (parsers/limits.py; whole numbers may be written
`2.0`, as pandas writes them), unique race ids, one row per (race, driver), each race's
finishing positions exactly 1..N, results only for races in races.csv, known track types.
A missing car number is a warning (the entry is stored without one). A driver id whose name is
spelled differently across races is one driver: the spelling of the latest race is the name,
the others are aliases (spellings.py). Both files are streamed row by row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nascar_pipeline.core.tables import TRACK_TYPES, conform
from nascar_pipeline.ontology.parsers import limits
from nascar_pipeline.ontology.parsers._common import (
    Columns,
    CsvTable,
    Problems,
    assign_race_keys,
    check_permutation,
    parse_car_number,
    parse_date,
    parse_float,
    parse_int,
    parse_text,
)
from nascar_pipeline.ontology.parsers.spellings import SpelledTables, Spellings
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
_RESULT_FIELDS = (
    "race_id",
    "race_key",
    "driver_id",
    "car_number",
    "team",
    "manufacturer",
    "start_position",
    "finish_position",
    "laps_completed",
    "laps_led",
    "fastest_laps",
    "status",
    "_line",
)


def parse_races_csv(path: str | Path) -> pd.DataFrame:
    table = CsvTable(path, RACES_REQUIRED)
    probs = table.probs
    rows = []
    seen: dict[int, int] = {}
    for rec in table.records():
        w = f"line {rec['_line']}"
        rid = parse_int(rec["race_id"], probs, w, "race_id", minimum=limits.ID[0])
        if rid is not None:
            if rid in seen:
                probs.add(f"{w}, field race_id", f"race {rid} repeats line {seen[rid]}")
            seen.setdefault(rid, rec["_line"])
        season = parse_int(rec["season"], probs, w, "season", minimum=limits.SEASON[0],
                           maximum=limits.SEASON[1])  # fmt: skip
        date = parse_date(rec["race_date"], probs, w, "race_date")
        if date and season and int(date[:4]) != season:
            probs.add(f"{w}, field season", f"season {season} but race_date {date}")
        name = parse_text(rec["race_name"], probs, w, "race_name")
        track = parse_text(rec["track_name"], probs, w, "track_name")
        laps = parse_int(rec["laps"], probs, w, "laps", minimum=limits.RACE_LAPS[0],
                         maximum=limits.RACE_LAPS[1])  # fmt: skip
        sched = parse_int(rec.get("scheduled_laps"), probs, w, "scheduled_laps", required=False,
                          minimum=limits.RACE_LAPS[0], maximum=limits.RACE_LAPS[1])  # fmt: skip
        ttype = (rec.get("track_type") or "").strip().lower() or None
        if ttype is not None and ttype not in TRACK_TYPES:
            probs.add(
                f"{w}, field track_type", f"{ttype[:40]!r} is not one of {', '.join(TRACK_TYPES)}"
            )
        length = parse_float(
            rec.get("track_length_miles"),
            probs,
            w,
            "track_length_miles",
            required=False,
            minimum=limits.TRACK_LENGTH[0],
            maximum=limits.TRACK_LENGTH[1],
        )
        rows.append(
            {
                "race_id": rid,
                "season": season,
                "race_date": date,
                "race_name": name,
                **track_fields(track, ttype, length),
                "laps": laps,
                "scheduled_laps": sched,
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


def _count(value, probs: Problems, w: str, field: str, bounds, required: bool = True):
    return parse_int(value, probs, w, field, required=required, minimum=bounds[0],
                     maximum=bounds[1])  # fmt: skip


def _check_duplicate_drivers(res: pd.DataFrame, probs: Problems) -> None:
    """One row per (race, driver): each repeat is a problem naming the first line."""
    keyed = res.dropna(subset=["race_id", "driver_id"])
    dup = keyed.duplicated(["race_id", "driver_id"], keep=False)
    if not dup.any():
        return
    first: dict[tuple, int] = {}
    for rid, did, line in keyed.loc[dup, ["race_id", "driver_id", "_line"]].itertuples(index=False):
        if (rid, did) in first:
            probs.add(
                f"line {line}, field driver_id",
                f"duplicate driver {did} in race {rid} (also line {first[(rid, did)]})",
            )
        first.setdefault((rid, did), line)


def parse_history(races_csv: str | Path, results_csv: str | Path) -> SpelledTables:
    races = parse_races_csv(races_csv)
    key_of = dict(zip(races["race_id"], races["race_key"]))
    date_of = dict(zip(races["race_id"], races["race_date"]))
    table = CsvTable(results_csv, RESULTS_REQUIRED)
    probs = table.probs
    out = Columns(*_RESULT_FIELDS, unique=("_line",))
    spellings = Spellings()
    for rec in table.records():
        line = rec["_line"]
        w = f"line {line}"
        rid = parse_int(rec["race_id"], probs, w, "race_id", minimum=limits.ID[0])
        if rid is not None and rid not in key_of:
            probs.add(f"{w}, field race_id", f"race {rid} is not in {Path(races_csv).name}")
        did = parse_int(rec["driver_id"], probs, w, "driver_id", minimum=limits.ID[0])
        name = parse_text(rec["driver_name"], probs, w, "driver_name")
        spellings.add(did, name, date_of.get(rid))
        out.add(
            race_id=rid,
            race_key=key_of.get(rid),
            driver_id=did,
            car_number=parse_car_number(rec["car_number"], probs, results_csv, w, "car_number"),
            team=(rec.get("team") or "").strip() or None,
            manufacturer=(rec.get("manufacturer") or "").strip() or None,
            start_position=_count(
                rec["start_position"], probs, w, "start_position", limits.POSITION
            ),  # fmt: skip
            finish_position=_count(
                rec["finish_position"], probs, w, "finish_position", limits.POSITION
            ),  # fmt: skip
            laps_completed=_count(rec["laps_completed"], probs, w, "laps_completed", limits.LAPS),
            laps_led=_count(rec["laps_led"], probs, w, "laps_led", limits.LAPS),
            fastest_laps=_count(
                rec.get("fastest_laps"), probs, w, "fastest_laps", limits.LAPS, required=False
            ),  # fmt: skip
            status=(parse_text(rec["status"], probs, w, "status") or "").lower() or None,
            _line=line,
        )
    if not len(out):
        probs.fail("line 2", "no results")
    res = out.frame()
    del out
    _check_duplicate_drivers(res, probs)
    for rid, grp in res.groupby("race_id", sort=True):
        check_permutation(
            list(zip(grp["_line"], grp["finish_position"])),
            probs,
            f"race {rid} (lines {grp['_line'].min()}-{grp['_line'].max()})",
            "finish_position",
        )
    probs.raise_if_any()
    return SpelledTables(
        races=conform("races", races),
        drivers=conform("drivers", spellings.drivers()),
        entries=conform("entries", res),
        results=conform("results", res),
        spellings=spellings.table(),
    )
