"""Run tags, priorities, retry policies and intervals shared by sensors, schedules and the
backfill command. Values that operators tune come from the environment, through
nascar_pipeline.settings (read at each call, so a tick sees the environment as it is)."""

from __future__ import annotations

from dagster import Backoff, Jitter, RetryPolicy

from nascar_pipeline.settings import get_settings

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


def sensor_interval_seconds() -> int:
    """How often race_sensor and results_sensor poll the source (NASCAR_SENSOR_INTERVAL_SECONDS)."""
    return get_settings().sensor_interval_seconds


def lock_window_hours() -> int:
    """pre_lock_schedule looks at races locking within this many hours (NASCAR_LOCK_WINDOW_HOURS)."""
    return get_settings().lock_window_hours


def pre_lock_cron() -> str:
    """pre_lock_schedule's cron (NASCAR_PRE_LOCK_CRON)."""
    return get_settings().pre_lock_cron


def race_run_config() -> dict:
    """Run config for every race_job run the automation requests: the YAML file named by
    NASCAR_RACE_RUN_CONFIG (e.g. `ops: {race_model_fit: {config: {draws: 400}}}`), else {}.
    Read at each tick, so operators retune without a redeploy."""
    path = get_settings().race_run_config
    if path is None:
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
