"""Where races come from, as one resource type: `RaceSourceResource`.

Assets, sensors and schedules take `race_source: RaceSourceResource`; definitions.py binds the
embedded demo world (`EmbeddedWorldResource`, below) or Neo4j (`resources/neo4j.py`), so they
never know which one they read. Both hand out a `RaceSource` (sources/base.py) through
`source()` and a race's actual results through `race_results()`.
"""

from __future__ import annotations

import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from nascar_pipeline.sources.base import RaceSource


class RaceSourceResource(ConfigurableResource):
    """The base of every race-source resource: subclasses say where races are read from."""

    def source(self) -> RaceSource:
        """The RaceSource of this run (list_races, race_inputs)."""
        raise NotImplementedError(f"{type(self).__name__} must implement source()")

    def race_results(self, race_key: str) -> pd.DataFrame:
        """A race's actual results (RACE_RESULTS_COLUMNS), empty before they are ingested."""
        raise NotImplementedError(f"{type(self).__name__} must implement race_results()")


class EmbeddedWorldResource(RaceSourceResource):
    """Reads the demo world written by `nascar-pipeline seed-demo` from a local folder."""

    world_dir: str

    _source: RaceSource | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._source = None

    def source(self) -> RaceSource:
        if self._source is None:
            from nascar_pipeline.sources.embedded import EmbeddedWorldSource

            self._source = EmbeddedWorldSource(self.world_dir)
        return self._source

    def race_results(self, race_key: str) -> pd.DataFrame:
        from nascar_pipeline.sources.base import race_results_from_tables

        return race_results_from_tables(self.source().tables, race_key)
