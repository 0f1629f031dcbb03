"""The backfill and dev commands without a daemon: the embedded default instance, the plan,
idempotence bookkeeping and user errors. (Submitting and cancelling a native backfill through
the webserver and the daemon: tests/automation/test_native_backfill.py.)"""

from __future__ import annotations

import pytest
import yaml

from nascar_pipeline.cli import main


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    write_world(generate_world(seed=4, seasons=1), tmp_path / "world")
    monkeypatch.setenv("NASCAR_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("NASCAR_WORLD_DIR", str(tmp_path / "world"))
    monkeypatch.setenv("STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("NEO4J_URI", raising=False)
    return tmp_path


def test_local_dagster_home_is_queued_with_pools(embedded, monkeypatch):
    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    from nascar_pipeline.automation.pools import apply_pool_limits, pool_limits
    from nascar_pipeline.commands.dev import prepare_local_dagster_home

    home = prepare_local_dagster_home()
    assert home == embedded / "dagster"
    cfg = yaml.safe_load((home / "dagster.yaml").read_text())
    assert "storage" not in cfg  # Dagster's local storage
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
        apply_pool_limits(instance)
        for pool, limit in pool_limits().items():
            assert instance.event_log_storage.get_concurrency_info(pool).slot_count == limit


def test_pool_limits_from_env(monkeypatch):
    from nascar_pipeline.automation.pools import pool_limits

    monkeypatch.setenv("NASCAR_POOL_LIMITS", "mcmc=2, neo4j=1")
    assert pool_limits() == {"neo4j": 1, "mcmc": 2}
    monkeypatch.setenv("NASCAR_POOL_LIMITS", "mcmc")
    with pytest.raises(ValueError):
        pool_limits()


def test_backfill_dry_run_and_user_errors(embedded, capsys):
    rc = main(["backfill", "--season", "2026", "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.count("would queue ") == 36 and "36 to queue, 0 skipped" in out

    assert main(["backfill", "--races", "2026-nowhere-500"]) == 2
    assert "unknown race key(s): 2026-nowhere-500" in capsys.readouterr().err
    assert main(["backfill", "--season", "1999"]) == 2
    assert "no races" in capsys.readouterr().err
    assert main(["backfill", "--season", "2026", "--select", "no_such_asset", "--dry-run"]) == 2
    assert "not race_job assets" in capsys.readouterr().err


def test_backfill_plan_skips_current_and_in_flight(embedded, monkeypatch):
    from dagster import AssetMaterialization, DagsterRunStatus, instance_for_test
    from dagster._core.test_utils import create_run_for_test

    from nascar_pipeline.automation.backfills import plan_backfill
    from nascar_pipeline.automation.state import SNAPSHOT_KEY
    from nascar_pipeline.commands.backfill import select_races
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource

    races = EmbeddedWorldSource(embedded / "world").list_races()
    keys = races["race_key"].tolist()[1:4]
    chosen = select_races(races, None, ",".join(keys))
    with instance_for_test() as instance:
        plan = plan_backfill(instance, chosen, {SNAPSHOT_KEY})
        assert list(plan.submit) == keys and not plan.skipped
        h = dict(zip(races["race_key"], races["content_hash"]))
        instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=SNAPSHOT_KEY, partition=keys[0], tags={"dagster/data_version": h[keys[0]]}
            )
        )
        create_run_for_test(
            instance,
            job_name="race_job",
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": keys[1]},
        )
        plan = plan_backfill(instance, chosen, {SNAPSHOT_KEY})
        assert list(plan.submit) == [keys[2]]
        assert plan.skipped == {
            keys[0]: "current slate already materialized",
            keys[1]: "queued or running",
        }
        assert list(plan_backfill(instance, chosen, {SNAPSHOT_KEY}, force=True).submit) == keys


def test_fresh_race_written_by_older_code_is_submitted(embedded):
    """A race whose slate is materialized is fresh only if each asset's latest materialization
    was made by the asset's current code version."""
    from dagster import AssetMaterialization, instance_for_test

    from nascar_pipeline.automation.backfills import plan_backfill
    from nascar_pipeline.automation.state import SNAPSHOT_KEY
    from nascar_pipeline.commands.backfill import select_races
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource

    races = EmbeddedWorldSource(embedded / "world").list_races()
    keys = races["race_key"].tolist()[1:3]
    chosen = select_races(races, None, ",".join(keys))
    h = dict(zip(races["race_key"], races["content_hash"]))
    with instance_for_test() as instance:
        for k, version in zip(keys, ["v2", "v1"]):
            instance.report_runless_asset_event(
                AssetMaterialization(
                    asset_key=SNAPSHOT_KEY,
                    partition=k,
                    tags={"dagster/data_version": h[k], "dagster/code_version": version},
                )
            )
        plan = plan_backfill(instance, chosen, {SNAPSHOT_KEY}, code_versions={SNAPSHOT_KEY: "v2"})
        assert list(plan.submit) == [keys[1]]
        assert plan.skipped == {keys[0]: "current slate already materialized"}
        assert plan.code_changed == {keys[1]: "code changed since written: race_snapshot"}


def test_backfill_without_webserver_says_where_it_submits(embedded, capsys):
    from tests.support.services.postgres import free_port

    url = f"http://127.0.0.1:{free_port()}"
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource

    races = ["--races", EmbeddedWorldSource(embedded / "world").list_races()["race_key"].iloc[2]]
    assert main(["backfill", *races, "--dagster-url", url]) == 2
    err = capsys.readouterr().err
    assert f"no Dagster webserver at {url}" in err and "GraphQL" in err
    assert main(["backfill", "--cancel", "abc", "--dagster-url", url]) == 2
    assert f"no Dagster webserver at {url}" in capsys.readouterr().err
