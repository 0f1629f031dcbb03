"""race_sensor, results_sensor and pre_lock_schedule against a Postgres-backed instance.

The daemon applies a SensorResult's partition requests and run requests; here the test applies
the partition requests itself (as the daemon does) so each tick sees the previous one's state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterRunStatus,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.definitions.partitions.context import partition_loading_context

from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
from nascar_pipeline.automation.policies import PRIORITY_TAG, TAG_SLATE_HASH
from nascar_pipeline.automation.schedules import pre_lock_schedule
from nascar_pipeline.automation.sensors import race_sensor, results_sensor
from nascar_pipeline.core.tables import RACES_COLUMNS, RaceInputs
from nascar_pipeline.definitions import defs

pytestmark = pytest.mark.postgres
REPO = defs.get_repository_def()


class FakeSource:
    """list_races from a table; every race's slate complete (race_inputs)."""

    def __init__(self, races: pd.DataFrame):
        self.races = races

    def list_races(self) -> pd.DataFrame:
        return self.races.copy()

    def race_inputs(self, race_key: str) -> RaceInputs:
        entries = pd.DataFrame(
            {"driver_id": [1, 2], "salary": [9000, 8000], "start_position": [1, 2]}
        )
        return RaceInputs(
            race=pd.DataFrame(),
            entries=entries,
            history=pd.DataFrame(),
            contests=pd.DataFrame({"contest_id": ["c1"]}),
        )


class FakeRaceSource:
    """Stands in for the race_source resource: `.source()` like both real resources."""

    def __init__(self, races: pd.DataFrame):
        self._source = FakeSource(races)
        self.calls = 0

    def source(self):
        self.calls += 1
        return self._source


def make_races(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in RACES_COLUMNS:
        if c not in df:
            df[c] = pd.NA
    df["has_results"] = df["has_results"].astype(bool)
    return df


def world_rows(now: datetime) -> list[dict]:
    return [
        {
            "race_key": "2026-daytona-daytona-500",
            "season": 2026,
            "race_date": "2026-02-15",
            "lock_time": "2026-02-15T19:30:00+00:00",
            "status": "final",
            "content_hash": "aaaa",
            "has_results": True,
        },
        {
            "race_key": "2026-atlanta-ambetter-400",
            "season": 2026,
            "race_date": "2026-02-22",
            "lock_time": "2026-02-22T19:30:00+00:00",
            "status": "final",
            "content_hash": "bbbb",
            "has_results": True,
        },
        {
            "race_key": "2027-daytona-daytona-500",
            "season": 2027,
            "race_date": "2027-02-14",
            "lock_time": (now + timedelta(hours=2)).isoformat(),
            "status": "scheduled",
            "content_hash": "c0c0",
            "has_results": False,
        },
    ]


def postgres_overrides(server, db: str) -> dict:
    return {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "hostname": server.host,
                    "port": server.port,
                    "username": server.user,
                    "password": "",
                    "db_name": db,
                    "scheme": "postgresql+psycopg2",
                }
            }
        },
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
        },
    }


@pytest.fixture
def pg_instance(postgres_server):
    db = postgres_server.create_database(f"sensors_{uuid.uuid4().hex[:8]}")
    with instance_for_test(overrides=postgres_overrides(postgres_server, db)) as instance:
        yield instance


def evaluate(definition, ctx, instance):
    """The daemon's evaluation path (evaluate_tick), with partitions loaded from `instance`."""
    with partition_loading_context(dynamic_partitions_store=instance):
        return definition.evaluate_tick(ctx)


def tick(instance, source, cursor=None):
    """One race_sensor tick, with the partition requests applied as the daemon applies them."""
    ctx = build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),
        cursor=cursor,
        repository_def=REPO,
        resources={"race_source": source},
    )
    result = evaluate(race_sensor, ctx, instance)
    for req in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
    return result


def test_instance_is_postgres(pg_instance):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    assert isinstance(pg_instance.event_log_storage, PostgresEventLogStorage)


def test_race_sensor_new_identical_changed(pg_instance):
    now = datetime.now(UTC)
    races = make_races(world_rows(now))
    source = FakeRaceSource(races)

    first = tick(pg_instance, source)
    added = [k for r in first.dynamic_partitions_requests for k in r.partition_keys]
    assert sorted(added) == sorted(races["race_key"])
    assert set(pg_instance.get_dynamic_partitions(RACES_PARTITIONS_NAME)) == set(added)
    # Only the upcoming race runs; the finished ones are partitions for backfills.
    assert [(r.partition_key, r.run_key) for r in first.run_requests] == [
        ("2027-daytona-daytona-500", "2027-daytona-daytona-500@c0c0")
    ]
    assert first.run_requests[0].tags[TAG_SLATE_HASH] == "c0c0"
    assert first.run_requests[0].tags[PRIORITY_TAG] == "0"

    second = tick(pg_instance, source, first.cursor)
    assert not second.run_requests and not second.dynamic_partitions_requests
    assert second.skip_message

    # Qualifying is ingested: the upcoming race's slate hash changes -> exactly one new run.
    changed = races.copy()
    changed.loc[changed["race_key"] == "2027-daytona-daytona-500", "content_hash"] = "d1d1"
    third = tick(pg_instance, FakeRaceSource(changed), second.cursor)
    assert [(r.partition_key, r.run_key) for r in third.run_requests] == [
        ("2027-daytona-daytona-500", "2027-daytona-daytona-500@d1d1")
    ]
    assert not third.dynamic_partitions_requests

    fourth = tick(pg_instance, FakeRaceSource(changed), third.cursor)
    assert not fourth.run_requests

    # A new race appears: one partition and one run in the same tick.
    more = make_races(
        [
            *changed.to_dict("records"),
            {
                "race_key": "2027-atlanta-ambetter-400",
                "season": 2027,
                "race_date": "2027-02-21",
                "status": "scheduled",
                "content_hash": "e2e2",
                "has_results": False,
            },
        ]
    )
    fifth = tick(pg_instance, FakeRaceSource(more), fourth.cursor)
    assert [k for r in fifth.dynamic_partitions_requests for k in r.partition_keys] == [
        "2027-atlanta-ambetter-400"
    ]
    assert [r.partition_key for r in fifth.run_requests] == ["2027-atlanta-ambetter-400"]


def test_race_sensor_lost_cursor_keeps_run_keys(pg_instance):
    """With the cursor lost, the same run keys come back (the daemon drops used run keys)."""
    races = make_races(world_rows(datetime.now(UTC)))
    a = tick(pg_instance, FakeRaceSource(races))
    b = tick(pg_instance, FakeRaceSource(races), None)
    assert [r.run_key for r in a.run_requests] == [r.run_key for r in b.run_requests]
    assert not b.dynamic_partitions_requests  # partitions already exist


def _schedule(instance, races, now):
    ctx = build_schedule_context(
        instance=instance,
        scheduled_execution_time=now,
        repository_def=REPO,
        resources={"race_source": FakeRaceSource(races)},
    )
    return evaluate(pre_lock_schedule, ctx, instance)


def test_pre_lock_schedule(pg_instance):
    now = datetime.now(UTC).replace(microsecond=0)
    races = make_races(world_rows(now))
    key = "2027-daytona-daytona-500"

    reqs = _schedule(pg_instance, races, now).run_requests
    assert [r.partition_key for r in reqs] == [key]  # the finished races are never due
    assert reqs[0].tags[TAG_SLATE_HASH] == "c0c0"
    assert key in pg_instance.get_dynamic_partitions(RACES_PARTITIONS_NAME)

    # Outside the window: nothing.
    assert _schedule(pg_instance, races, now - timedelta(days=30)).skip_message

    # A run in progress for the race: not requested twice.
    from dagster._core.test_utils import create_run_for_test

    running = create_run_for_test(
        pg_instance,
        job_name="race_job",
        status=DagsterRunStatus.STARTED,
        tags={"dagster/partition": key, TAG_SLATE_HASH: "c0c0"},
    )
    assert _schedule(pg_instance, races, now).skip_message
    pg_instance.report_run_failed(running)

    # The snapshot of the current slate alone is not enough: the rest of the race is due.
    pg_instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key="race_snapshot", partition=key, tags={"dagster/data_version": "c0c0"}
        )
    )
    job_keys = REPO.get_job("race_job").asset_layer.selected_asset_keys
    if len(job_keys) > 1:
        assert _schedule(pg_instance, races, now).run_requests
    # Every race-job asset written after that snapshot: not due. A changed slate: due again.
    for asset_key in job_keys - {AssetKey("race_snapshot")}:
        pg_instance.report_runless_asset_event(
            AssetMaterialization(asset_key=asset_key, partition=key)
        )
    assert _schedule(pg_instance, races, now).skip_message
    changed = races.copy()
    changed.loc[changed["race_key"] == key, "content_hash"] = "d1d1"
    reqs = _schedule(pg_instance, changed, now).run_requests
    assert [r.tags[TAG_SLATE_HASH] for r in reqs] == ["d1d1"]


class UnpricedSource(FakeSource):
    """Every race's slate before DraftKings prices it: entries and grid, no salary."""

    def race_inputs(self, race_key: str) -> RaceInputs:
        inputs = super().race_inputs(race_key)
        inputs.entries["salary"] = pd.NA
        return inputs


class PartlyPricedSource(FakeSource):
    def race_inputs(self, race_key: str) -> RaceInputs:
        inputs = super().race_inputs(race_key)
        inputs.entries["salary"] = pd.array([9000, None], dtype="Int64")
        return inputs


def test_pre_lock_schedule_waits_for_salaries_once_the_model_is_current(pg_instance):
    now = datetime.now(UTC).replace(microsecond=0)
    races = make_races(world_rows(now))
    key = "2027-daytona-daytona-500"
    unpriced = FakeRaceSource(races)
    unpriced._source = UnpricedSource(races)

    def schedule(source):
        ctx = build_schedule_context(
            instance=pg_instance,
            scheduled_execution_time=now,
            repository_def=REPO,
            resources={"race_source": source},
        )
        return evaluate(pre_lock_schedule, ctx, pg_instance)

    assert [r.partition_key for r in schedule(unpriced).run_requests] == [key]  # nothing yet
    for name in ("race_snapshot", "race_model_fit", "race_scenarios", "driver_projections"):
        pg_instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=name,
                partition=key,
                tags={"dagster/data_version": "c0c0"} if name == "race_snapshot" else {},
            )
        )
    skipped = schedule(unpriced)
    assert not skipped.run_requests and f"waiting for DraftKings salaries: {key}" in (
        skipped.skip_message or ""
    )
    # priced (the same slate hash here): ownership and lineups are due
    assert [r.partition_key for r in schedule(FakeRaceSource(races)).run_requests] == [key]
    # priced in part: the snapshot's check blocks it, so it is not waiting: it is run
    partly = FakeRaceSource(races)
    partly._source = PartlyPricedSource(races)
    assert [r.partition_key for r in schedule(partly).run_requests] == [key]


def test_results_sensor_requests_backtest_once_per_materialization(pg_instance):
    races = make_races(world_rows(datetime.now(UTC)))
    key = "2026-daytona-daytona-500"
    pg_instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, list(races["race_key"]))

    def run(cursor=None):
        ctx = build_sensor_context(
            instance=pg_instance,
            cursor=cursor,
            repository_def=REPO,
            resources={"race_source": FakeRaceSource(races)},
        )
        return evaluate(results_sensor, ctx, pg_instance)

    job_keys = sorted(
        REPO.get_job("race_job").asset_layer.selected_asset_keys, key=lambda k: k.to_user_string()
    )

    def materialize(keys):
        for asset_key in keys:
            pg_instance.report_runless_asset_event(
                AssetMaterialization(asset_key=asset_key, partition=key)
            )

    first = run()
    assert first.skip_message and not first.run_requests  # nothing materialized yet
    if len(job_keys) > 1:  # part of the race: not yet
        materialize(job_keys[:1])
        assert not run().run_requests
    materialize(job_keys)
    second = run()
    assert [r.partition_key for r in second.run_requests] == [key]
    third = run(second.cursor)
    assert third.skip_message and not third.run_requests
    # Re-materialized (a backfill with a new model): backtested again, once.
    pg_instance.report_runless_asset_event(
        AssetMaterialization(asset_key=AssetKey("race_snapshot"), partition=key)
    )
    fourth = run(second.cursor)
    assert [r.partition_key for r in fourth.run_requests] == [key]


def test_sensors_and_schedule_take_the_race_source_as_a_typed_resource():
    """Declared by a typed parameter (race_source: RaceSourceResource), not by a resource key."""
    from nascar_pipeline.automation.schedules import pre_lock_schedule
    from nascar_pipeline.automation.sensors import race_sensor, results_sensor

    for definition in (race_sensor, results_sensor, pre_lock_schedule):
        assert definition.required_resource_keys == {"race_source"}, definition.name
