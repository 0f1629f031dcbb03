"""On a real PostgreSQL instance: a race not ready H hours before lock sends one webhook alert
(and its verdict is observed on lineup_portfolio), a race that becomes ready is observed ready,
a race on a stale model alerts once, and a failed race run sends exactly one alert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    MetadataValue,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.definitions.partitions.context import partition_loading_context

from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
from nascar_pipeline.automation import readiness
from nascar_pipeline.automation.alerts import AlertLedger
from nascar_pipeline.automation.readiness import race_readiness_sensor
from nascar_pipeline.definitions import defs
from nascar_pipeline.resources.alerts import AlertsResource
from tests.automation.test_alerts import _evaluate_failure, _run, failing_race_job
from tests.automation.test_sensors import FakeRaceSource, make_races, postgres_overrides
from tests.support.webhook import Receiver

pytestmark = pytest.mark.postgres
REPO = defs.get_repository_def()
NOW = datetime(2027, 2, 14, 17, 0, tzinfo=UTC)
SOON = "2027-daytona-daytona-500"  # locks in 1 h: inside the 2 h rule
LATER = "2027-atlanta-ambetter-400"  # locks in 10 h: not yet due


@pytest.fixture
def pg_instance(postgres_server):
    db = postgres_server.create_database(f"ready_{uuid.uuid4().hex[:8]}")
    with instance_for_test(overrides=postgres_overrides(postgres_server, db)) as instance:
        instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, [SOON, LATER])
        yield instance


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(readiness, "_now", lambda: NOW)
    monkeypatch.setenv("NASCAR_READY_HOURS_BEFORE_LOCK", "2")


def races():
    return make_races(
        [
            {
                "race_key": SOON,
                "race_date": "2027-02-14",
                "lock_time": (NOW + timedelta(hours=1)).isoformat(),
                "content_hash": "c0c0",
                "has_results": False,
            },
            {
                "race_key": LATER,
                "race_date": "2027-02-14",
                "lock_time": (NOW + timedelta(hours=10)).isoformat(),
                "content_hash": "e2e2",
                "has_results": False,
            },
        ]
    )


def tick(instance, url, cursor=None):
    """One race_readiness_sensor tick; its asset events recorded as the daemon records them."""
    ctx = build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=REPO,
        resources={
            "race_source": FakeRaceSource(races()),
            "alerts": AlertsResource(webhook_url=url, timeout_s=5),
        },
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        result = race_readiness_sensor.evaluate_tick(ctx)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def observations(instance):
    records = instance.fetch_observations(AssetKey("lineup_portfolio"), limit=100).records
    return [
        (r.partition_key, r.asset_observation.metadata["ready_before_lock"].value)
        for r in reversed(records)
    ]


def make_ready(instance, key, content_hash, checks_pass=True):
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key="race_snapshot", partition=key, tags={"dagster/data_version": content_hash}
        )
    )
    for asset, check in (
        ("lineup_portfolio", "lineup_portfolio_valid"),
        ("contest_simulation", "contest_simulation_finite"),
    ):
        instance.report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=key))
        instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=AssetKey(asset), check_name=check, passed=checks_pass, partition=key
            )
        )


def test_not_ready_before_lock_alerts_once_and_is_observed(pg_instance, receiver):
    first = tick(pg_instance, receiver.url)
    assert [b["alert"]["race_key"] for b in receiver.bodies] == [SOON]
    alert = receiver.bodies[0]["alert"]
    assert alert["cause"] == "not_ready_before_lock"
    assert "not materialized" in alert["details"]["problems"]
    assert alert["details"]["hours_to_lock"] == 1.0
    assert observations(pg_instance) == [(SOON, False)]

    # Later ticks: still not ready, nothing new (no storm, no duplicate observation).
    second = tick(pg_instance, receiver.url, first.cursor)
    third = tick(pg_instance, receiver.url, second.cursor)
    assert len(receiver.bodies) == 1
    assert observations(pg_instance) == [(SOON, False)]

    # Lineups materialized and checked: observed ready, no alert.
    make_ready(pg_instance, SOON, "c0c0")
    tick(pg_instance, receiver.url, third.cursor)
    assert observations(pg_instance) == [(SOON, False), (SOON, True)]
    assert len(receiver.bodies) == 1


def test_a_failed_check_is_not_ready(pg_instance, receiver):
    make_ready(pg_instance, SOON, "c0c0", checks_pass=False)
    tick(pg_instance, receiver.url)
    assert len(receiver.bodies) == 1
    assert "contest_simulation_finite failed" in receiver.bodies[0]["alert"]["details"]["problems"]


def report_stale_fit(instance, key):
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key="race_model_fit",
            partition=key,
            metadata={
                "stale_model": True,
                "stale_from": MetadataValue.json({"race_key": "2026-phoenix-final"}),
            },
        )
    )


def test_stale_model_alerts_once_per_stale_fit(pg_instance, receiver):
    make_ready(pg_instance, SOON, "c0c0")
    report_stale_fit(pg_instance, SOON)
    # Ten hours before lock: not due for readiness, but a stale model is news at once.
    report_stale_fit(pg_instance, LATER)
    first = tick(pg_instance, receiver.url)
    assert sorted((b["alert"]["race_key"], b["alert"]["cause"]) for b in receiver.bodies) == [
        (LATER, "stale_model"),
        (SOON, "stale_model"),
    ]
    assert "2026-phoenix-final" in receiver.bodies[0]["text"]
    # The run succeeds (race_recovered_sensor resolves the race): the same stale fit stays quiet.
    AlertLedger(pg_instance).resolve(SOON)
    second = tick(pg_instance, receiver.url, first.cursor)
    assert len(receiver.bodies) == 2
    # A new stale fit of the race (the next run fell back again): one more alert.
    report_stale_fit(pg_instance, SOON)
    tick(pg_instance, receiver.url, second.cursor)
    assert len(receiver.bodies) == 3


def test_failed_run_sends_exactly_one_alert_on_postgres(pg_instance, receiver):
    for retry in (0, 1, 2):
        _evaluate_failure(
            pg_instance, _run(pg_instance, failing_race_job, retry=retry), receiver.url
        )
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["alert"]["cause"] == "run_failure:failing_race_job:fit_that_fails"


def stale_alerts_for(instance, race_key: str) -> list[tuple[str, str, str]]:
    """Two race_readiness_sensor ticks on `instance` for a race locking in 30 h (inside the lock
    window, outside the readiness rule): the alerts a local receiver got, as (race, cause,
    stale_from). For tests whose run fell back to a stale model."""
    from datetime import datetime

    receiver = Receiver()
    try:
        now = datetime.now(UTC)
        listed = make_races(
            [
                {
                    "race_key": race_key,
                    "race_date": now.date().isoformat(),
                    "lock_time": (now + timedelta(hours=30)).isoformat(),
                    "content_hash": "any",
                    "has_results": False,
                }
            ]
        )
        cursor = None
        for _ in range(2):
            ctx = build_sensor_context(
                instance=instance,
                cursor=cursor,
                repository_def=REPO,
                resources={
                    "race_source": FakeRaceSource(listed),
                    "alerts": AlertsResource(webhook_url=receiver.url, timeout_s=5),
                },
            )
            with partition_loading_context(dynamic_partitions_store=instance):
                cursor = race_readiness_sensor.evaluate_tick(ctx).cursor
        return [
            (b["alert"]["race_key"], b["alert"]["cause"], b["alert"]["details"].get("stale_from"))
            for b in receiver.bodies
        ]
    finally:
        receiver.close()
