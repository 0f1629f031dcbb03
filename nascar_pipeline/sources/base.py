"""Where race data comes from: a real Neo4j ontology or the embedded demo world.

Assets depend on this protocol only; the environment chooses the implementation.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

# The protocol's vocabulary, defined with the history join in core and re-exported here.
from nascar_pipeline.core.race_inputs import (  # noqa: F401
    RACE_RESULTS_COLUMNS,
    UnknownRaceError,
    race_results_from_tables,
)
from nascar_pipeline.core.tables import RaceInputs


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


class RaceResultsSource(Protocol):
    def race_results(self, race_key: str) -> pd.DataFrame: ...
