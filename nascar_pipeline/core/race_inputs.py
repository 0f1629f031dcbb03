"""Join normalized tables into one race's inputs. Pure pandas; the single definition of
"a race's history" (results of races strictly before its date) used by every source."""

from __future__ import annotations

import pandas as pd

from nascar_pipeline.core.snapshot import hash_slate_text, slate_text
from nascar_pipeline.ontology.tables import OntologyTables, RaceInputs

_HISTORY_RACE_FIELDS = [
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
_ENTRY_FIELDS = [
    "race_key",
    "driver_id",
    "car_number",
    "team",
    "manufacturer",
    "start_position",
    "salary",
    "dk_id",
    "dk_own_pct",
    "fd_salary",
    "fd_id",
]


def _with_names(df: pd.DataFrame, drivers: pd.DataFrame) -> pd.DataFrame:
    names = (
        drivers[["driver_id", "name"]]
        .drop_duplicates("driver_id")
        .rename(columns={"name": "driver_name"})
    )
    return df.merge(names, on="driver_id", how="left")


def assemble_race_inputs(tables: OntologyTables, race_key: str) -> RaceInputs:
    from nascar_pipeline.sources.base import UnknownRaceError

    t = tables.conformed()
    race = t.races[t.races["race_key"] == race_key].reset_index(drop=True)
    if race.empty:
        raise UnknownRaceError(f"unknown race key {race_key!r}")
    race_date = race.loc[0, "race_date"]

    entries = _with_names(t.entries[t.entries["race_key"] == race_key], t.drivers)
    entries = entries.sort_values("driver_id").reset_index(drop=True)

    prior = t.races[t.races["race_date"] < race_date][_HISTORY_RACE_FIELDS]
    hist = t.results.merge(prior, on="race_key", how="inner")
    hist = hist.merge(t.entries[_ENTRY_FIELDS], on=["race_key", "driver_id"], how="left")
    hist = _with_names(hist, t.drivers)
    hist = hist.sort_values(["race_date", "race_key", "finish_position"]).reset_index(drop=True)

    contests = t.contests[t.contests["race_key"] == race_key].reset_index(drop=True)
    return RaceInputs(race=race, entries=entries, history=hist, contests=contests)


def list_races(tables: OntologyTables) -> pd.DataFrame:
    """RACES_COLUMNS + content_hash (slate hash) + has_results, sorted by date.

    Entries and contests are grouped once, so a sensor tick over 1,000 races stays linear."""
    t = tables.conformed()
    races = t.races.copy()
    entry_text, contest_text = slate_text(t.entries, t.contests)
    entries_by_race = dict(tuple(entry_text.groupby(t.entries["race_key"], sort=False)))
    contests_by_race = dict(tuple(contest_text.groupby(t.contests["race_key"], sort=False)))
    empty_entries, empty_contests = entry_text.head(0), contest_text.head(0)
    races["content_hash"] = [
        hash_slate_text(
            entries_by_race.get(key, empty_entries), contests_by_race.get(key, empty_contests)
        )
        for key in races["race_key"]
    ]
    races["has_results"] = races["race_key"].isin(set(t.results["race_key"].dropna()))
    return races.sort_values(["race_date", "race_key"]).reset_index(drop=True)
