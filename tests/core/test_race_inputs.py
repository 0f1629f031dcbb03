"""The one history join: results of races strictly before a date, with race, entry and name
fields; every source, the snapshot and the season backtest use it."""

from __future__ import annotations

import pandas as pd
import pytest

from nascar_pipeline.core.backtest import history_from_tables
from nascar_pipeline.core.race_inputs import (
    UnknownRaceError,
    assemble_race_inputs,
    race_history,
)
from nascar_pipeline.core.tables import HISTORY_RACE_FIELDS
from nascar_pipeline.sources.demo_world import generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=3, seasons=1, upcoming=True)


def test_history_is_strictly_before_the_race(world):
    races = world.races.sort_values("race_date").reset_index(drop=True)
    race = races.iloc[10]
    inputs = assemble_race_inputs(world, race["race_key"])
    hist = inputs.history
    assert (hist["race_date"] < race["race_date"]).all()
    assert hist["race_key"].nunique() == 10
    pd.testing.assert_frame_equal(hist, race_history(world, before_date=race["race_date"]))
    assert set(HISTORY_RACE_FIELDS) | {"driver_name", "start_position", "salary"} <= set(hist)
    assert hist["driver_name"].notna().all()


def test_the_backtest_history_is_the_same_join_without_a_cutoff(world):
    whole = history_from_tables(world)
    pd.testing.assert_frame_equal(whole, race_history(world))
    assert len(whole) == len(world.results)


def test_unknown_race(world):
    with pytest.raises(UnknownRaceError):
        assemble_race_inputs(world, "2026-nowhere-500")
