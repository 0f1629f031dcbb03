"""Lock times in any ISO-8601 layout count (found by benchmarks/chaos_race_week.py): a race whose
lock time has fractional seconds, beside races whose lock times have none, is seen by the
pre-lock schedule's window and by race_readiness_sensor (it was NaT, so never due, never
alerted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import build_sensor_context, instance_for_test
from dagster._core.definitions.partitions.context import partition_loading_context

from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
from nascar_pipeline.automation import readiness
from nascar_pipeline.automation.readiness import race_readiness_sensor
from nascar_pipeline.automation.schedules import races_locking_within
from nascar_pipeline.definitions import defs
from nascar_pipeline.resources.alerts import AlertsResource
from tests.automation.test_sensors import FakeRaceSource, make_races
from tests.support.webhook import Receiver

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
PAST = "2026-11-15-phoenix-final"
SOON = "2026-12-02-chaos-race"  # locks in 30 min, its lock time with microseconds
LATER = "2026-12-02-z-race"  # locks in 5 h, written with a Z


def races():
    return make_races(
        [
            {
                "race_key": PAST,
                "lock_time": "2026-11-15T19:30:00+00:00",
                "content_hash": "p",
                "has_results": True,
            },
            {
                "race_key": SOON,
                "lock_time": (NOW + timedelta(minutes=30, microseconds=123456)).isoformat(),
                "content_hash": "s",
                "has_results": False,
            },
            {
                "race_key": LATER,
                "lock_time": (NOW + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "content_hash": "l",
                "has_results": False,
            },
        ]
    )


def test_lock_times_of_mixed_iso_layouts_are_in_the_window():
    soon = races_locking_within(races(), NOW, timedelta(hours=72))
    assert soon["race_key"].tolist() == [SOON, LATER]


def test_readiness_alerts_a_race_whose_lock_time_has_fractional_seconds(monkeypatch):
    monkeypatch.setattr(readiness, "_now", lambda: NOW)
    monkeypatch.setenv("NASCAR_READY_HOURS_BEFORE_LOCK", "1")
    receiver = Receiver()
    try:
        with instance_for_test() as instance:
            instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, [SOON, LATER])
            ctx = build_sensor_context(
                instance=instance,
                repository_def=defs.get_repository_def(),
                resources={
                    "race_source": FakeRaceSource(races()),
                    "alerts": AlertsResource(webhook_url=receiver.url, timeout_s=5),
                },
            )
            with partition_loading_context(dynamic_partitions_store=instance):
                race_readiness_sensor.evaluate_tick(ctx)
        causes = [(b["alert"]["race_key"], b["alert"]["cause"]) for b in receiver.bodies]
        assert causes == [(SOON, "not_ready_before_lock")]
        assert receiver.bodies[0]["alert"]["details"]["hours_to_lock"] == 0.5
    finally:
        receiver.close()
