"""StorageResource: one root for the IO manager and the assets' own files; the files kept beside
an asset (written atomically, removed when a run no longer produces them); the fit cache."""

import numpy as np
import pandas as pd
from dagster import DagsterInstance, materialize

from nascar_pipeline.assets.race_asset import IO_MANAGER_KEY, race_asset
from nascar_pipeline.resources.storage import StorageResource, storage_resources
from nascar_pipeline.storage.layout import StorageLayout

RACE = "2026-test-speedway-400"


def test_one_root_reaches_the_io_manager_and_the_asset(tmp_path):
    @race_asset(group="test")
    def tiny(storage: StorageResource) -> pd.DataFrame:
        """A race asset that keeps a file beside itself."""
        storage.write_beside("tiny", RACE, {"note.txt": b"beside"})
        return pd.DataFrame({"x": [1, 2]})

    resources = storage_resources(str(tmp_path))
    assert set(resources) == {"storage", IO_MANAGER_KEY, "jax_runtime"}
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [RACE])
    result = materialize([tiny], partition_key=RACE, instance=instance, resources=resources)
    assert result.success
    layout = StorageLayout(tmp_path)
    assert layout.read_asset("tiny", RACE)["x"].tolist() == [1, 2]
    # the manifest lists the file kept beside the asset
    entry = layout.read_manifest(RACE)["tiny"]
    assert entry.extra_files == {"note.txt": f"tiny/{RACE}.note.txt"}
    assert entry.code_version == tiny.code_versions_by_key[tiny.key]  # the asset's, not 0.1.0
    assert tiny.descriptions_by_key[tiny.key] == "A race asset that keeps a file beside itself."
    assert tiny.partitions_def.name == "races"


def test_write_beside_writes_and_removes(tmp_path):
    storage = StorageResource(root=str(tmp_path))
    storage.write_beside("lineup_portfolio", RACE, {"a.csv": b"1", "b.csv": b"2"})
    assert storage.read_beside("lineup_portfolio", RACE, "a.csv") == b"1"
    storage.write_beside("lineup_portfolio", RACE, {"a.csv": b"3", "b.csv": None})
    assert storage.read_beside("lineup_portfolio", RACE, "a.csv") == b"3"
    assert storage.read_beside("lineup_portfolio", RACE, "b.csv") is None
    storage.write_beside("lineup_portfolio", RACE, {"never-written.csv": None})  # no error
    assert sorted(p.name for p in (tmp_path / "lineup_portfolio").iterdir()) == [f"{RACE}.a.csv"]


def test_fit_cache_round_trip(tmp_path):
    cache = StorageResource(root=str(tmp_path)).fit_cache()
    assert cache.load("abc") is None
    post = {"skill": np.arange(12.0).reshape(2, 3, 2)}
    cache.save("abc", post, {"chains": 2, "draws_per_chain": 3})
    loaded, meta = cache.load("abc")
    np.testing.assert_array_equal(loaded["skill"], post["skill"])
    assert meta == {"chains": 2, "draws_per_chain": 3}
    assert [p.name for p in (tmp_path / "_fit_cache").iterdir()] == ["abc.npz"]  # no temp file


def test_io_manager_follows_the_storage_resource(tmp_path):
    storage = StorageResource(root=str(tmp_path / "a"))
    assert storage.io_manager().storage is storage


def test_storage_key_is_required_by_assets_that_touch_storage():
    from nascar_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    needs = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if "storage" in defs.get_assets_def(k).required_resource_keys
    }
    assert needs == {
        "race_model_fit",
        "race_scenarios",
        "lineup_portfolio",
        "exposure_report",
        "contest_simulation",  # reads the stored season report's measured cash rates
        "race_backtest",
        "season_report",
        "model_season_backtest",  # its season tables beside the race files
    }
