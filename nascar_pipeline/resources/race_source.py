"""The race-source resource for the embedded default world (no services needed).

With NEO4J_URI set, definitions.py binds `race_source` to the Neo4j resource instead; both
offer `.source() -> RaceSource`, so assets never know which one they read.
"""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from nascar_pipeline.sources.base import RaceSource


class EmbeddedWorldResource(ConfigurableResource):
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
