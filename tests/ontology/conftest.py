"""Fixtures of the ontology tests."""

import pytest

from tests.support.services.neo4j_server import clear_database, neo4j_env


@pytest.fixture
def driver(neo4j_server):
    """A driver on an empty graph, with the NEO4J_* variables pointing at the test server."""
    with neo4j_env(neo4j_server), neo4j_server.driver() as d:
        clear_database(d)
        yield d
