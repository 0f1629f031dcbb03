"""race_snapshot through Dagster on the embedded world: local folder and moto S3 agree, the
manifest records provenance, and the blocking checks catch a bad slate."""

import pandas as pd

from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
from nascar_pipeline.resources.race_source import EmbeddedWorldResource
from nascar_pipeline.resources.storage import storage_resources
from nascar_pipeline.sources.demo_world import generate_world
from nascar_pipeline.sources.embedded import write_world
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.races import check_results, materialize_race


def _materialize(world_dir, root, race_key, other_races=()):
    resources = {
        "race_source": EmbeddedWorldResource(world_dir=str(world_dir)),
        **storage_resources(str(root)),
    }
    return materialize_race(
        [race_snapshot, *snapshot_checks], race_key, resources, other_races=other_races
    )


def test_snapshot_local_and_s3_give_equal_frames(world, tmp_path, s3_bucket):
    folder, tables, race_key = world
    local = _materialize(folder, tmp_path / "store", race_key)
    s3 = _materialize(folder, f"s3://{s3_bucket}/pipeline", race_key)
    assert local.success and s3.success
    assert all(check_results(local).values()) and len(check_results(local)) == 3
    df_local = StorageLayout(tmp_path / "store").read_asset("race_snapshot", race_key)
    df_s3 = StorageLayout(f"s3://{s3_bucket}/pipeline").read_asset("race_snapshot", race_key)
    pd.testing.assert_frame_equal(df_local, df_s3)
    entries = df_local[df_local["role"] == "entry"]
    expected = tables.entries[tables.entries["race_key"] == race_key]
    assert len(entries) == len(expected)
    assert set(entries["driver_id"]) == set(expected["driver_id"].astype(int))
    assert (
        df_local[df_local["role"] == "history"]["race_date"] < entries["race_date"].iloc[0]
    ).all()
    entry = StorageLayout(tmp_path / "store").read_manifest(race_key)["race_snapshot"]
    assert entry.run_id == local.run_id and entry.rows == len(df_local)


def test_bad_slate_fails_the_blocking_check(world, tmp_path):
    folder, tables, race_key = world
    bad = generate_world(seed=3, seasons=1)
    mask = bad.entries["race_key"] == race_key
    bad.entries.loc[bad.entries[mask].index[0], "salary"] = 60_000  # above the cap
    write_world(bad, tmp_path / "bad-world")
    result = _materialize(tmp_path / "bad-world", tmp_path / "store", race_key)
    checks = check_results(result)
    assert checks["snapshot_salaries_valid"] is False
    assert checks["snapshot_no_duplicate_drivers"] is True


def test_an_unpriced_slate_passes_and_a_partly_priced_one_blocks(world, tmp_path):
    """No salary at all (before DraftKings prices the race, or real history): the model may
    run, ownership and lineups stop at slate_arrays; some salaries missing: blocked."""
    import pytest

    from nascar_pipeline.core.slate import slate_arrays

    _, _, race_key = world
    unpriced = generate_world(seed=3, seasons=1)
    mask = unpriced.entries["race_key"] == race_key
    unpriced.entries.loc[mask, "salary"] = pd.NA
    write_world(unpriced, tmp_path / "unpriced")
    result = _materialize(tmp_path / "unpriced", tmp_path / "store", race_key)
    assert check_results(result)["snapshot_salaries_valid"] is True
    snap = StorageLayout(tmp_path / "store").read_asset("race_snapshot", race_key)
    with pytest.raises(ValueError, match="no entry has a salary.*ingest salaries"):
        slate_arrays(snap, pd.DataFrame({"scenario": [], "driver_id": [], "dk_points": []}))

    partly = generate_world(seed=3, seasons=1)
    partly.entries.loc[partly.entries[mask].index[0], "salary"] = pd.NA
    write_world(partly, tmp_path / "partly")
    result = _materialize(tmp_path / "partly", tmp_path / "store2", race_key)
    assert check_results(result)["snapshot_salaries_valid"] is False


def test_unknown_race_fails_with_its_name(world, tmp_path):
    folder, _, _ = world
    result = _materialize(folder, tmp_path / "store", "1999-nowhere-500")
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "unknown race key '1999-nowhere-500'" in failure.step_failure_data.error.to_string()


def test_asset_and_storage_spans_are_recorded(world, tmp_path):
    from nascar_pipeline.telemetry import install_in_memory_exporter

    exporter = install_in_memory_exporter()
    folder, _, race_key = world
    assert _materialize(folder, tmp_path / "store", race_key).success
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["asset race_snapshot"].attributes["nascar.race_key"] == race_key
    assert spans["storage.write"].attributes["dagster.asset"] == "race_snapshot"
    assert "storage.read" in spans  # the blocking checks load the snapshot back


def test_slate_hash_follows_every_slate_field(world):
    from nascar_pipeline.core.snapshot import slate_hash

    _, tables, race_key = world
    entries = tables.entries[tables.entries["race_key"] == race_key].copy()
    base = slate_hash(entries)
    assert slate_hash(entries.sample(frac=1.0, random_state=1)) == base  # row order is not content
    for col, value in [
        ("salary", 4_600),
        ("fd_salary", 3_100),
        ("start_position", 40),
        ("dk_id", 1),
        ("fd_id", "1-1"),
    ]:
        changed = entries.copy()
        changed.loc[changed.index[0], col] = value
        assert slate_hash(changed) != base, col


def test_checks_read_the_runs_own_partition(world, tmp_path):
    """With several races registered, the blocking checks judge this run's race (a check
    without the partitions definition would load the first registered race)."""
    folder, tables, race_key = world
    bad = generate_world(seed=3, seasons=1)
    mask = bad.entries["race_key"] == race_key
    bad.entries.loc[bad.entries[mask].index[0], "salary"] = 60_000
    write_world(bad, tmp_path / "bad-world")
    first = tables.races.sort_values("race_date")["race_key"].iloc[-2]  # a good, earlier race
    store = tmp_path / "store"
    assert _materialize(tmp_path / "bad-world", store, first).success
    checks = check_results(
        _materialize(tmp_path / "bad-world", store, race_key, other_races=[first])
    )
    assert checks["snapshot_salaries_valid"] is False
