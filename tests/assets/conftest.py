"""Fixtures of the asset tests."""

import pytest


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A one-season demo world on disk (seed 3: the model tests' fit converges on it):
    (folder, tables, the upcoming race's key)."""
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    tables = generate_world(seed=3, seasons=1)
    folder = tmp_path_factory.mktemp("world")
    write_world(tables, folder)
    upcoming = tables.races[tables.races["status"] == "scheduled"]["race_key"].iloc[0]
    return folder, tables, upcoming
