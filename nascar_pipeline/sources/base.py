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
