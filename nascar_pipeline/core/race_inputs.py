"""Join normalized tables into one race's inputs. Pure pandas; the single definition of
"a race's history" (results of races strictly before its date, joined with their races,
entries and driver names), used by every source, the snapshot and the season backtest."""

from __future__ import annotations

import pandas as pd

from nascar_pipeline.core.snapshot import hash_slate_text, slate_text
from nascar_pipeline.core.tables import HISTORY_RACE_FIELDS, OntologyTables, RaceInputs


class UnknownRaceError(LookupError):
    """The race key names no race in the source."""


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

# A race's own results joined with its entries (see `race_results_from_tables`).
RACE_RESULTS_COLUMNS = [
    "race_key",
    "driver_id",
    "driver_name",
    "start_position",
    "finish_position",
    "laps_completed",
    "laps_led",
    "fastest_laps",
    "status",
    "salary",
    "dk_own_pct",
]


def with_driver_names(df: pd.DataFrame, drivers: pd.DataFrame) -> pd.DataFrame:
    """`df` with a `driver_name` column from the drivers table (left join on driver_id)."""
    names = (
        drivers[["driver_id", "name"]]
        .drop_duplicates("driver_id")
        .rename(columns={"name": "driver_name"})
    )
    return df.merge(names, on="driver_id", how="left")


def race_history(tables: OntologyTables, before_date: str | None = None) -> pd.DataFrame:
    """Results of the races strictly before `before_date` (every race when None), joined with
    their race fields, entry rows and driver names, in date and finishing order."""
    return _history(tables.conformed(), before_date)


def _history(t: OntologyTables, before_date: str | None) -> pd.DataFrame:
    races = t.races if before_date is None else t.races[t.races["race_date"] < before_date]
    hist = t.results.merge(races[HISTORY_RACE_FIELDS], on="race_key", how="inner")
    hist = hist.merge(t.entries[_ENTRY_FIELDS], on=["race_key", "driver_id"], how="left")
    hist = with_driver_names(hist, t.drivers)
    return hist.sort_values(["race_date", "race_key", "finish_position"]).reset_index(drop=True)


def assemble_race_inputs(tables: OntologyTables, race_key: str) -> RaceInputs:
    t = tables.conformed()
    race = t.races[t.races["race_key"] == race_key].reset_index(drop=True)
    if race.empty:
        raise UnknownRaceError(f"unknown race key {race_key!r}")
    entries = with_driver_names(t.entries[t.entries["race_key"] == race_key], t.drivers)
    entries = entries.sort_values("driver_id").reset_index(drop=True)
    contests = t.contests[t.contests["race_key"] == race_key].reset_index(drop=True)
    history = _history(t, before_date=race.loc[0, "race_date"])
    return RaceInputs(
        race=race,
        entries=entries,
        history=history,
        contests=contests,
        loop_history=loop_history(t.loop_stats, race.loc[0, "race_date"]),
    )


def loop_history(loop: pd.DataFrame, before_date) -> pd.DataFrame:
    """Loop data of starts strictly before `before_date` (none when it is missing), every
    series, in date order."""
    if pd.isna(before_date):
        return loop.head(0).reset_index(drop=True)
    rows = loop[loop["race_date"] < before_date]
    order = ["race_date", "series", "track_name", "start_of_day", "driver_id"]
    return rows.sort_values(order).reset_index(drop=True)


def race_results_from_tables(tables: OntologyTables, race_key: str) -> pd.DataFrame:
    """A race's own results (FINISHED) joined with its entries (start position, salary, actual
    DraftKings ownership) and driver names: RACE_RESULTS_COLUMNS, one row per starter."""
    t = tables.conformed()
    if not (t.races["race_key"] == race_key).any():
        raise UnknownRaceError(f"unknown race key {race_key!r}")
    res = t.results[t.results["race_key"] == race_key]
    ent = t.entries[t.entries["race_key"] == race_key][
        ["driver_id", "start_position", "salary", "dk_own_pct"]
    ]
    out = with_driver_names(res.merge(ent, on="driver_id", how="left"), t.drivers)
    return out[RACE_RESULTS_COLUMNS].sort_values("finish_position").reset_index(drop=True)


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
