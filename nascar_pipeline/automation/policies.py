"""Run tags, priorities, retry policies and intervals shared by sensors, schedules and the
backfill command. Values that operators tune come from the environment."""

from __future__ import annotations

import os

from dagster import Backoff, Jitter, RetryPolicy

RACE_JOB_NAME = "race_job"
BACKTEST_JOB_NAME = "race_backtest_job"
SEASON_REPORT_JOB_NAME = "season_report_job"

# Run tags (nascar/* are ours; dagster/* are Dagster's).
TAG_RACE = "nascar/race"
TAG_SLATE_HASH = "nascar/slate_hash"
TAG_TRIGGER = "nascar/trigger"  # sensor | schedule | backfill | results
TAG_BACKFILL = "nascar/backfill"
PRIORITY_TAG = "dagster/priority"
PARTITION_TAG = "dagster/partition"

# Live races jump the queue; backfills wait behind them (QueuedRunCoordinator orders by priority).
PRIORITY_LIVE = 0
PRIORITY_PRE_LOCK = 1
PRIORITY_BACKFILL = -1

# Transient I/O (Neo4j socket reset, S3 5xx): retry with exponential backoff and jitter.
IO_RETRY_POLICY = RetryPolicy(
    max_retries=3, delay=2.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ValueError(f"environment variable {name}={value} must be >= {minimum}")
    return value


def sensor_interval_seconds() -> int:
    """How often race_sensor and results_sensor poll the source (NASCAR_SENSOR_INTERVAL_SECONDS)."""
    return _env_int("NASCAR_SENSOR_INTERVAL_SECONDS", 60, minimum=5)


def lock_window_hours() -> int:
    """pre_lock_schedule looks at races locking within this many hours (NASCAR_LOCK_WINDOW_HOURS)."""
    return _env_int("NASCAR_LOCK_WINDOW_HOURS", 72)


def pre_lock_cron() -> str:
    return os.environ.get("NASCAR_PRE_LOCK_CRON", "*/15 * * * *")


def race_run_config() -> dict:
    """Run config for every race_job run the automation requests: the YAML file named by
    NASCAR_RACE_RUN_CONFIG (e.g. `ops: {race_model_fit: {config: {draws: 400}}}`), else {}.
    Read at each tick, so operators retune without a redeploy."""
    path = os.environ.get("NASCAR_RACE_RUN_CONFIG")
    if not path:
        return {}
    import yaml

    with open(path) as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"NASCAR_RACE_RUN_CONFIG={path}: run config must be a mapping")
    return data


def race_run_key(race_key: str, content_hash: str) -> str:
    """One run per (race, slate): an unchanged race is never re-run by the sensor."""
    return f"{race_key}@{content_hash}"


def race_run_tags(race_key: str, content_hash: str, trigger: str, priority: int) -> dict[str, str]:
    return {
        TAG_RACE: race_key,
        TAG_SLATE_HASH: content_hash,
        TAG_TRIGGER: trigger,
        PRIORITY_TAG: str(priority),
    }
