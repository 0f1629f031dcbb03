"""Dagster resource for the Neo4j ontology: one driver per run (per process), closed after.

    Neo4jResource(uri=EnvVar("NEO4J_URI"), user=EnvVar("NEO4J_USER"),
                  password=EnvVar("NEO4J_PASSWORD"), database=None)

A `RaceSourceResource` (resources/race_source.py): `source()` returns a `Neo4jRaceSource` on the
run's driver, `race_results()` one race's results from the graph. The password is never logged: log lines name the URI, user and database only.
"""

from __future__ import annotations

import pandas as pd
from dagster import InitResourceContext
from pydantic import Field, PrivateAttr

from nascar_pipeline.resources.race_source import RaceSourceResource


class Neo4jResource(RaceSourceResource):
    uri: str = Field(description="Bolt URI, e.g. bolt://127.0.0.1:7687 (NEO4J_URI)")
    user: str = Field(default="neo4j", description="User name (NEO4J_USER)")
    password: str = Field(description="Password (NEO4J_PASSWORD); never logged", repr=False)
    database: str | None = Field(
        default=None, description="Database name (NEO4J_DATABASE); default db if unset"
    )

    _driver = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._driver = None  # opened lazily, once, on first use in this run/process

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def get_driver(self):
        if self._driver is None:
            from neo4j import GraphDatabase

            self._driver = GraphDatabase.driver(self.uri, auth=(self.user, self.password))
        return self._driver

    def source(self):
        from nascar_pipeline.sources.neo4j_source import Neo4jRaceSource

        return Neo4jRaceSource(self.get_driver(), database=self.database or None)

    def race_results(self, race_key: str) -> pd.DataFrame:
        return self.source().race_results(race_key)

    def describe(self) -> str:
        """Where this resource points, without the password."""
        return f"{self.uri} as {self.user}" + (
            f", database {self.database}" if self.database else ""
        )
