"""Where race data comes from: a real Neo4j ontology or the embedded demo world.

Assets depend on this protocol only; the environment chooses the implementation.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from nascar_pipeline.ontology.tables import RaceInputs


class UnknownRaceError(LookupError):
    """The race key names no race in the source."""


class RaceSource(Protocol):
    def list_races(self) -> pd.DataFrame:
        """All races (RACES_COLUMNS) plus `content_hash` (str): a hash of the race's slate
        (entries, salaries, start positions, contests) so sensors can see changes, and
        `has_results` (bool)."""

    def race_inputs(self, race_key: str) -> RaceInputs:
        """The race, its entries, its prior history and contests. Raises UnknownRaceError."""

    def close(self) -> None: ...


# ---- actual results of one race (for race_backtest) ------------------------------------------
# Protocol addition (optional for now; race_backtest falls back to `race_results_from_tables`
# for sources that expose `.tables`): a source may implement
#     def race_results(self, race_key: str) -> pd.DataFrame
# returning RACE_RESULTS_COLUMNS, one row per driver who started the race, empty before results
# are ingested. Raises UnknownRaceError for an unknown key.

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


class RaceResultsSource(Protocol):
    def race_results(self, race_key: str) -> pd.DataFrame: ...


def race_results_from_tables(tables, race_key: str) -> pd.DataFrame:
    """A race's own results (FINISHED) joined with its entries (start position, salary, actual
    DraftKings ownership) and driver names, from normalized OntologyTables."""
    t = tables.conformed()
    if not (t.races["race_key"] == race_key).any():
        raise UnknownRaceError(f"unknown race key {race_key!r}")
    res = t.results[t.results["race_key"] == race_key]
    ent = t.entries[t.entries["race_key"] == race_key][
        ["driver_id", "start_position", "salary", "dk_own_pct"]
    ]
    names = (
        t.drivers[["driver_id", "name"]]
        .drop_duplicates("driver_id")
        .rename(columns={"name": "driver_name"})
    )
    out = res.merge(ent, on="driver_id", how="left").merge(names, on="driver_id", how="left")
    return out[RACE_RESULTS_COLUMNS].sort_values("finish_position").reset_index(drop=True)
