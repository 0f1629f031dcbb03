"""The normalized tables and the track types: the one shape every producer and consumer
agrees on.

Parsers (history CSV, NASCAR feeds, DraftKings salaries, contest files) turn input files
into these tables; the Neo4j writer MERGEs them; the Neo4j reader and the embedded demo
world both hand them back for a race; `build_snapshot` turns them into `race_snapshot`.
They live in core (the bottom layer) so that core, ontology and sources all share them
without importing upwards.

Every table is a pandas DataFrame with exactly the columns below (nullable where noted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# The track types, in the order the model indexes them (skill by track type, DNF rates, ...).
TRACK_TYPES = ("superspeedway", "intermediate", "short", "road")
DEFAULT_TRACK_TYPE = "intermediate"


def track_type_index(track_type) -> int:
    """Index of a track type in TRACK_TYPES; unknown or missing types count as intermediate."""
    t = (
        str(track_type).strip().lower()
        if track_type is not None and not pd.isna(track_type)
        else ""
    )
    return TRACK_TYPES.index(t) if t in TRACK_TYPES else TRACK_TYPES.index(DEFAULT_TRACK_TYPE)


# One row per race. `race_key` is the slug of nascar_pipeline.core.slugs.
RACES_COLUMNS = {
    "race_key": "string",
    "race_id": "Int64",  # NASCAR's race id (nullable for synthetic/unknown)
    "season": "Int64",
    "race_date": "string",  # YYYY-MM-DD
    "race_name": "string",
    "track_id": "string",  # slug of the track name
    "track_name": "string",
    "track_type": "string",  # superspeedway | intermediate | short | road
    "track_length_miles": "Float64",
    "scheduled_laps": "Int64",
    "laps": "Int64",  # laps actually run (null until the race is run)
    "lock_time": "string",  # ISO-8601 UTC, e.g. 2026-06-28T19:30:00+00:00 (nullable)
    "status": "string",  # scheduled | final
}

# One row per driver (NASCAR driver id).
DRIVERS_COLUMNS = {
    "driver_id": "Int64",
    "name": "string",
}

# One row per (driver, race): the entry list of a race. Salary fields null until a slate is ingested.
ENTRIES_COLUMNS = {
    "race_key": "string",
    "driver_id": "Int64",
    "car_number": "string",
    "team": "string",  # nullable
    "manufacturer": "string",  # nullable
    "salary": "Int64",  # DraftKings salary in whole dollars (nullable)
    "dk_id": "Int64",  # DraftKings player id (nullable)
    "start_position": "Int64",  # nullable until qualifying
    "dk_own_pct": "Float64",  # actual DraftKings ownership in % (contest standings), nullable
    "fd_salary": "Int64",  # FanDuel salary in whole dollars (nullable)
    "fd_id": "string",  # FanDuel player id, e.g. 123456-78901 (nullable)
    # the player's own numbers (`ingest projections`), nullable: DK points mean, floor, ceiling,
    # and their projected ownership in %
    "user_proj_points": "Float64",
    "user_proj_floor": "Float64",
    "user_proj_ceiling": "Float64",
    "user_own_pct": "Float64",
}

# One row per (driver, race) that was run: the FINISHED relationship.
RESULTS_COLUMNS = {
    "race_key": "string",
    "driver_id": "Int64",
    "finish_position": "Int64",
    "laps_completed": "Int64",
    "laps_led": "Int64",
    "fastest_laps": "Int64",  # nullable where loop data is missing
    "status": "string",  # lower case: running, accident, engine, ...; != running is a DNF
}

# One row per contest. `payouts` is JSON: [{"min_place": 1, "max_place": 1, "prize": 1000.0}, ...]
CONTESTS_COLUMNS = {
    "contest_id": "string",
    "race_key": "string",
    "site": "string",  # draftkings | fanduel
    "name": "string",
    "entry_fee": "Float64",
    "field_size": "Int64",
    "max_entries": "Int64",
    "payouts": "string",
    # after the race (contest file or DK contest standings), nullable: the winning score and the
    # cash line (the lowest paid score; the 80th-percentile score where the payouts are unknown)
    "winning_score": "Float64",
    "cash_line": "Float64",
}
# Contest facts known only after the race: not part of the slate (its hash) nor the snapshot.
CONTEST_RESULT_COLUMNS = ("winning_score", "cash_line")

# Race fields every history row carries (and, with lock_time, every snapshot row).
HISTORY_RACE_FIELDS = [
    "race_key",
    "race_id",
    "season",
    "race_date",
    "race_name",
    "track_name",
    "track_type",
    "track_length_miles",
    "scheduled_laps",
    "laps",
]

TABLE_COLUMNS = {
    "races": RACES_COLUMNS,
    "drivers": DRIVERS_COLUMNS,
    "entries": ENTRIES_COLUMNS,
    "results": RESULTS_COLUMNS,
    "contests": CONTESTS_COLUMNS,
}


# One row per start with NASCAR loop data (`ingest loopdata`): Cup starts of races in the
# ontology carry race_key; lower-series starts (and unmatched Cup ones, e.g. exhibitions) carry
# series, race_date, track_name only. Not in TABLE_COLUMNS: the synthetic demo world has no
# loop data (sources hand back an empty table); an embedded world built from real history
# (`seed-demo --from-history`) stores it beside its tables (sources/embedded.py LOOP_FILE).
LOOP_STATS_COLUMNS = {
    "series": "string",  # cup | xfinity | truck
    "race_key": "string",  # nullable: a Cup race in the ontology
    "race_id": "Int64",  # nullable: NASCAR's Cup race id
    "race_date": "string",  # YYYY-MM-DD
    "track_name": "string",
    "driver_id": "Int64",
    "start_of_day": "Int64",  # the driver's n-th start that day (doubleheaders, heat races)
    "status": "string",  # nullable (the feed layout has none)
    "start_position": "Int64",
    "mid_race_position": "Int64",
    "finish_position": "Int64",
    "best_position": "Int64",
    "worst_position": "Int64",
    "avg_running_position": "Float64",
    "green_flag_passing_diff": "Int64",
    "green_flag_passes": "Int64",
    "green_flag_times_passed": "Int64",
    "quality_passes": "Int64",
    "pct_quality_passes": "Float64",  # null when there were no green-flag passes
    "fastest_laps": "Int64",
    "laps_in_top15": "Int64",
    "pct_laps_in_top15": "Float64",
    "laps_led": "Int64",
    "pct_laps_led": "Float64",
    "laps_completed": "Int64",
    "driver_rating": "Float64",
}
ALL_COLUMNS = {**TABLE_COLUMNS, "loop_stats": LOOP_STATS_COLUMNS}


def empty_loop_stats() -> pd.DataFrame:
    return empty_table("loop_stats")


def empty_table(name: str) -> pd.DataFrame:
    cols = ALL_COLUMNS[name]
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


def conform(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` with exactly the table's columns, in order, cast to the table's dtypes.
    Missing nullable columns are added as nulls."""
    cols = ALL_COLUMNS[name]
    out = pd.DataFrame(index=range(len(df)))
    src = df.reset_index(drop=True)
    for c, t in cols.items():
        out[c] = (src[c] if c in src.columns else pd.Series([pd.NA] * len(src))).astype(t)
    return out


@dataclass
class OntologyTables:
    """A set of normalized tables: what one input file yields, or a whole world."""

    races: pd.DataFrame = field(default_factory=lambda: empty_table("races"))
    drivers: pd.DataFrame = field(default_factory=lambda: empty_table("drivers"))
    entries: pd.DataFrame = field(default_factory=lambda: empty_table("entries"))
    results: pd.DataFrame = field(default_factory=lambda: empty_table("results"))
    contests: pd.DataFrame = field(default_factory=lambda: empty_table("contests"))
    loop_stats: pd.DataFrame = field(default_factory=empty_loop_stats)

    def conformed(self) -> OntologyTables:
        return OntologyTables(
            **{n: conform(n, getattr(self, n)) for n in TABLE_COLUMNS},
            loop_stats=conform("loop_stats", self.loop_stats),
        )


@dataclass
class RaceInputs:
    """Everything the pipeline needs about one race, as read from a source.

    race: one-row races table for the target race.
    entries: its entry list joined with driver names (ENTRIES_COLUMNS + `driver_name`).
    history: results of races strictly before the target's race_date, joined with their race
      and entry rows: RESULTS_COLUMNS + driver_name, season, race_date, track_type,
      track_length_miles, scheduled_laps, laps, start_position, car_number, team, manufacturer.
    contests: the race's contests (CONTESTS_COLUMNS), possibly empty.
    loop_history: loop data of starts strictly before the target's race_date, every series
      (LOOP_STATS_COLUMNS, date order); empty where the source has none (the demo world).
    """

    race: pd.DataFrame
    entries: pd.DataFrame
    history: pd.DataFrame
    contests: pd.DataFrame
    loop_history: pd.DataFrame = field(default_factory=empty_loop_stats)
