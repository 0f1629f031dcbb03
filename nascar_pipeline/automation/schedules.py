"""pre_lock_schedule: every race is ready before lock without anyone pressing a button.

Every 15 minutes (NASCAR_PRE_LOCK_CRON), each race that locks within the window
(NASCAR_LOCK_WINDOW_HOURS, default 72) and has no results gets a run unless its current slate
is already materialized (race_snapshot's data version equals the slate hash and every race-job
asset was written after it) or a run for it is queued or in progress. It is the safety net
behind race_sensor: a failed or lost run, a sensor that was off, a cursor that was reset.
A race that DraftKings has not priced yet (no salary in its slate: core/slate.unpriced) whose
model and projections are current for the slate is not re-run either: ownership and lineups
need the salaries, and the salary file changes the slate hash, so the race is due again (this
schedule's next tick, or race_sensor's run).
"""

from datetime import UTC, datetime, timedelta

import pandas as pd
from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME
from nascar_pipeline.automation import state
from nascar_pipeline.automation.policies import (
    PRIORITY_PRE_LOCK,
    RACE_JOB_NAME,
    lock_window_hours,
    pre_lock_cron,
    race_run_config,
    race_run_tags,
)
from nascar_pipeline.core.slate import unpriced
from nascar_pipeline.resources.race_source import RaceSourceResource


def races_locking_within(races: pd.DataFrame, now: datetime, window: timedelta) -> pd.DataFrame:
    """Races without results whose lock_time is in (now, now + window]."""
    if races.empty:
        return races
    # format="ISO8601": without it pandas takes the first lock time's layout for every row, and
    # a lock time with fractional seconds (or without them, after one with) becomes NaT: the
    # race would drop out of the pre-lock schedule and the readiness rule unseen.
    lock = pd.to_datetime(
        races["lock_time"].astype("string"), utc=True, errors="coerce", format="ISO8601"
    )
    now_ts = (
        pd.Timestamp(now).tz_convert("UTC")
        if pd.Timestamp(now).tzinfo
        else pd.Timestamp(now, tz="UTC")
    )
    mask = (
        lock.notna()
        & (lock > now_ts)
        & (lock <= now_ts + window)
        & ~races["has_results"].astype(bool)
    )
    return races[mask.to_numpy()]


def plan_pre_lock_runs(
    soon: pd.DataFrame,
    complete: set[str],
    in_flight: dict[str, str | None],
    tick_id: str,
    run_config: dict | None = None,
) -> list[RunRequest]:
    out = []
    for key, content_hash in zip(soon["race_key"].astype(str), soon["content_hash"].astype(str)):
        if key in complete or key in in_flight:
            continue
        out.append(
            RunRequest(
                partition_key=key,
                run_key=f"{key}@{content_hash}@prelock@{tick_id}",
                tags=race_run_tags(key, content_hash, "schedule", PRIORITY_PRE_LOCK),
                run_config=run_config or {},
            )
        )
    return out


# What a race gets before DraftKings prices it (snapshot_salaries_valid lets an unpriced slate
# through to these; ownership_projections stops for the salaries).
UNPRICED_ASSETS = ("race_snapshot", "race_model_fit", "race_scenarios", "driver_projections")


def waiting_for_salaries(instance, source, hashes: dict[str, str], asset_keys) -> set[str]:
    """Races of `hashes` (race key -> slate hash) with no DraftKings salary yet whose snapshot,
    model and projections are current for that slate: a run now would only repeat them."""
    from dagster import AssetKey

    model_keys = {AssetKey(n) for n in UNPRICED_ASSETS} & set(asset_keys)
    current = state.races_complete(instance, hashes, model_keys) if model_keys else set()
    out = set()
    for key in current:
        try:
            if unpriced(source.race_inputs(key).entries):
                out.add(key)
        except Exception:  # noqa: BLE001 - an unreadable race is run (and fails visibly)
            continue
    return out


def _repository_def(context):
    try:
        return context.repository_def
    except Exception:  # noqa: BLE001 - direct invocation without a repository
        return None


@schedule(
    name="pre_lock_schedule",
    cron_schedule=pre_lock_cron(),
    job_name=RACE_JOB_NAME,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes: runs each race locking within the window whose current "
    "slate is not materialized and not already queued or running.",
)
def pre_lock_schedule(context: ScheduleEvaluationContext, race_source: RaceSourceResource):
    source = race_source.source()
    races = source.list_races()
    now = context.scheduled_execution_time or datetime.now(UTC)
    soon = races_locking_within(races, now, timedelta(hours=lock_window_hours()))
    if soon.empty:
        return SkipReason(f"no race locks within {lock_window_hours()} h of {now.isoformat()}")
    keys = soon["race_key"].astype(str).tolist()
    # A race the sensor has not seen yet: the run needs its partition to exist.
    existing = set(context.instance.get_dynamic_partitions(RACES_PARTITIONS_NAME))
    missing = [k for k in keys if k not in existing]
    if missing:
        context.instance.add_dynamic_partitions(RACES_PARTITIONS_NAME, missing)
    asset_keys = state.job_asset_keys(_repository_def(context), RACE_JOB_NAME)
    hashes = dict(zip(keys, soon["content_hash"].astype(str)))
    complete = state.races_complete(context.instance, hashes, asset_keys)
    in_flight = state.in_flight_partitions(context.instance, RACE_JOB_NAME)
    due = {k: h for k, h in hashes.items() if k not in complete and k not in in_flight}
    unpriced = waiting_for_salaries(context.instance, source, due, asset_keys)
    requests = plan_pre_lock_runs(
        soon, complete | unpriced, in_flight, now.strftime("%Y%m%dT%H%M"), race_run_config()
    )
    if not requests:
        wait = (
            f"; waiting for DraftKings salaries: {', '.join(sorted(unpriced))}" if unpriced else ""
        )
        return SkipReason(f"{len(keys)} race(s) lock soon; all current or in progress{wait}")
    return requests
