"""model_season_backtest: the season backtest as a Dagster asset. On a two-season demo world
whose source carries loop rows, one race of the second season with tiny chains, loop data
both ways: three Parquet tables per season under the storage root, every method in them, a
per-track-type table, and the season table and plots in the metadata."""

import dataclasses

import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from nascar_pipeline.assets.model_backtest import ASSET, model_season_backtest, season_tables
from nascar_pipeline.core.race_inputs import list_races, race_history, race_results_from_tables
from nascar_pipeline.core.tables import OntologyTables, conform
from nascar_pipeline.resources.race_source import EmbeddedWorldResource
from nascar_pipeline.resources.storage import storage_resources
from nascar_pipeline.storage.layout import StorageLayout

SEASON = 2026  # the world's second season: its first race has a season of history
TINY = {"races": 1, "chains": 1, "warmup": 25, "draws": 25, "svi_steps": 80, "scenarios": 200}
METHODS = {"model", "model_loop", "uniform", "start_position", "trailing_avg_finish", "feature_pl"}


class _WithLoop:
    """The world's tables with loop rows (each start's finish as its average running
    position): the demo world has none."""

    def __init__(self, source):
        self._source = source
        t = source.tables
        h = race_history(t)
        loop = h.assign(series="cup", start_of_day=1, avg_running_position=h["finish_position"])
        self.tables = dataclasses.replace(t, loop_stats=conform("loop_stats", loop))

    def __getattr__(self, name):
        return getattr(self._source, name)


class LoopWorldResource(EmbeddedWorldResource):
    def source(self):
        return _WithLoop(super().source())


@pytest.fixture(scope="module")
def two_season_world(tmp_path_factory):
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    folder = tmp_path_factory.mktemp("world2")
    write_world(generate_world(seed=3, seasons=2), folder)
    return folder


@pytest.mark.slow
def test_the_season_backtest_writes_its_tables_and_plots(two_season_world, tmp_path):
    root = tmp_path / "store"
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [model_season_backtest],
        resources={
            "race_source": LoopWorldResource(world_dir=str(two_season_world)),
            **storage_resources(str(root)),
        },
        run_config={"ops": {ASSET: {"config": {"season": SEASON, "loop_data": "both", **TINY}}}},
        instance=instance,
    )
    assert result.success
    layout = StorageLayout(root)
    season = pd.read_parquet(layout.season_table_path(ASSET, SEASON, "season"))
    races = pd.read_parquet(layout.season_table_path(ASSET, SEASON, "races"))
    by_type = pd.read_parquet(layout.season_table_path(ASSET, SEASON, "track_types"))
    assert set(season["method"]) == METHODS and (season["races"] == 1).all()
    assert {"mae_dk", "rank_corr_dk", "crps_dk", "cover50_pct", "pit50_pct"} <= set(season.columns)
    assert set(races["method"]) == METHODS and races["race_key"].nunique() == 1
    (track_type,) = races["track_type"].unique()
    assert set(by_type["track_type"]) == {"all", track_type}
    assert set(by_type[by_type["track_type"] == track_type]["method"]) == METHODS
    base = by_type[by_type["method"] == "start_position"]
    assert (base["ll_vs_start_position"] == 0).all()

    (m,) = result.asset_materializations_for_node(ASSET)
    meta = {k: v.value for k, v in m.metadata.items()}
    assert meta["season"] == SEASON and meta["races"] == 1 and meta["loop_data"] == "both"
    assert "| model_loop" in meta["season_table"] and "rank_corr_dk" in meta["season_table"]
    assert track_type in meta["by_track_type"]
    for plot in ("ll_gain_by_track_type", "coverage"):
        assert meta[plot].startswith("![") and "data:image/png;base64," in meta[plot]
    assert meta["season_path"].endswith(f"{ASSET}/{SEASON}.season.parquet")
    assert "model_loop_ll_gain_vs_start" in meta

    # the run log names every race as it is scored (progress through a season of fits)
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(f"[1/1] {races['race_key'].iloc[0]}: model ll" in msg for msg in logs)


class _ByRaceSource:
    """A source without whole tables, as Neo4j: the tables of one race (results strictly
    before its date) and a race's own results through the resource."""

    def __init__(self, tables):
        self._t = tables

    def list_races(self):
        return list_races(self._t)

    def race_tables(self, race_key):
        t = self._t
        date = t.races.loc[t.races["race_key"] == race_key, "race_date"].iloc[0]
        before = t.races[t.races["race_date"] < date]["race_key"]
        return OntologyTables(
            races=t.races,
            drivers=t.drivers,
            entries=t.entries,
            results=t.results[t.results["race_key"].isin(before)],
            contests=t.contests[t.contests["race_key"] == race_key],
        )


class _ByRaceResource:
    def __init__(self, tables):
        self._tables = tables

    def source(self):
        return _ByRaceSource(self._tables)

    def race_results(self, race_key):
        return race_results_from_tables(self._tables, race_key)


def test_a_source_without_whole_tables_gives_every_result_of_the_season():
    from nascar_pipeline.sources.demo_world import generate_world

    tables = generate_world(seed=3, seasons=1).conformed()
    season = int(tables.races["season"].iloc[0])
    done = tables.races[tables.races["season"] == season]
    done = done[done["race_key"].isin(tables.results["race_key"])]
    got = season_tables(_ByRaceResource(tables), season)
    # the last race's own results come from race_results, the rest from its race tables
    assert set(got.results["race_key"]) == set(done["race_key"])
    assert len(got.results) == tables.results["race_key"].isin(done["race_key"]).sum()
    with pytest.raises(ValueError, match="no races with results in season 1999"):
        season_tables(_ByRaceResource(tables), 1999)
