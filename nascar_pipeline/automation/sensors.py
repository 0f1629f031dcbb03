"""Sensors: new and changed races start race runs; results start backtests.

race_sensor, one tick: one `list_races()` on the source (one Cypher query on Neo4j), one
query for the instance's race partitions, then pure Python. It returns a SensorResult that adds
the new races as partitions and requests their runs in the same tick. A race's run key names
its slate hash (salaries, start positions, contest), so an unchanged race is never re-run and a
changed one (qualifying ingested, a new salary file) is re-run exactly once.

Which races get runs: races without results (upcoming). Races already run when first seen
become partitions only; `nascar-pipeline backfill` runs them at low priority.

A slate arrives in steps (entry list, DraftKings salaries, contest, starting grid), often a
minute apart: a run per step would fit the model four times. So a changed upcoming race runs
only when its slate is complete (automation/slate.py: entries, salaries, a contest, the grid)
or when it has not changed for NASCAR_SLATE_QUIET_SECONDS (a slate waiting for qualifying still
gets its lineups; the grid then re-runs it once). What is missing is read once per slate hash
(one `race_inputs` call) and kept, with the time the hash was first seen, in the cursor.
"""

import json
import time

import pandas as pd
from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)

from nascar_pipeline.assets.partitions import RACES_PARTITIONS_NAME, races_partitions
from nascar_pipeline.automation import state
from nascar_pipeline.automation.jobs import race_backtest_job, season_report_job
from nascar_pipeline.automation.policies import (
    BACKTEST_JOB_NAME,
    PRIORITY_LIVE,
    RACE_JOB_NAME,
    TAG_RACE,
    TAG_TRIGGER,
    race_run_config,
    race_run_key,
    race_run_tags,
    sensor_interval_seconds,
)
from nascar_pipeline.automation.slate import missing_parts
from nascar_pipeline.resources.race_source import RaceSourceResource
from nascar_pipeline.settings import get_settings

CURSOR_VERSION = 1


def _load_cursor(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        return {}
    return {str(k): str(v) for k, v in data.get("requested", {}).items()}


def _dump_cursor(requested: dict[str, str]) -> str:
    return json.dumps(
        {"v": CURSOR_VERSION, "requested": dict(sorted(requested.items()))}, separators=(",", ":")
    )


def _load_pending(raw: str | None) -> dict[str, dict]:
    """race_key -> {"hash", "since" (epoch s), "missing" [parts]} of slates not yet run."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    pending = data.get("pending", {}) if isinstance(data, dict) else {}
    return pending if isinstance(pending, dict) else {}


def _dump_race_cursor(requested: dict[str, str], pending: dict[str, dict]) -> str:
    return json.dumps(
        {
            "v": CURSOR_VERSION,
            "requested": dict(sorted(requested.items())),
            "pending": dict(sorted(pending.items())),
        },
        separators=(",", ":"),
    )


def _now() -> float:
    """The sensor's clock (a function, so a test can move it)."""
    return time.time()


def changed_upcoming(races: pd.DataFrame, requested: dict[str, str]) -> dict[str, str]:
    """Upcoming races whose slate hash differs from the one last requested -> the hash."""
    upcoming = races[~races["has_results"].astype(bool)]
    return {
        k: h
        for k, h in zip(upcoming["race_key"].astype(str), upcoming["content_hash"].astype(str))
        if requested.get(k) != h
    }


def settle_slates(
    changed: dict[str, str],
    pending: dict[str, dict],
    now: float,
    quiet_seconds: float,
    missing_of,
) -> tuple[set[str], dict[str, dict]]:
    """Which changed slates may run now: complete ones, and any unchanged for `quiet_seconds`.
    `missing_of(race_key)` lists a slate's missing parts; it is called once per new hash.
    Returns (races ready, pending state of the changed races)."""
    ready, new_pending = set(), {}
    for key, content_hash in changed.items():
        entry = pending.get(key)
        if not entry or entry.get("hash") != content_hash:
            entry = {"hash": content_hash, "since": now, "missing": list(missing_of(key))}
        new_pending[key] = entry
        if not entry["missing"] or now - float(entry["since"]) >= quiet_seconds:
            ready.add(key)
    return ready, new_pending


def _missing_parts(source, race_key: str) -> list[str]:
    try:
        return missing_parts(source.race_inputs(race_key))
    except Exception as exc:  # noqa: BLE001 - one unreadable race must not stop the others
        return [f"readable inputs ({type(exc).__name__})"]


def plan_race_runs(
    races: pd.DataFrame,
    existing_partitions: set[str],
    requested: dict[str, str],
    run_config: dict | None = None,
    ready: set[str] | None = None,
) -> tuple[list[str], list[RunRequest], dict[str, str]]:
    """Pure planning for one race_sensor tick.

    races: list_races() output; existing_partitions: the instance's race partitions;
    requested: race_key -> slate hash already requested (the cursor); ready: the changed races
    whose slate may run now (None: every changed race).
    Returns (partitions to add, run requests, new cursor)."""
    keys = races["race_key"].astype(str).tolist()
    new_partitions = [k for k in keys if k not in existing_partitions]
    run_requests: list[RunRequest] = []
    known = set(keys)
    new_requested = {k: v for k, v in requested.items() if k in known}
    for key, content_hash in changed_upcoming(races, requested).items():
        if ready is not None and key not in ready:
            continue
        run_requests.append(
            RunRequest(
                partition_key=key,
                run_key=race_run_key(key, content_hash),
                tags=race_run_tags(key, content_hash, "sensor", PRIORITY_LIVE),
                run_config=run_config or {},
            )
        )
        new_requested[key] = content_hash
    return new_partitions, run_requests, new_requested


def _race_source_sensor(name: str, job_name: str, description: str):
    """A sensor polling the race source at the automation's interval, running by default."""
    return sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=DefaultSensorStatus.RUNNING,
        description=description,
    )


@_race_source_sensor(
    "race_sensor",
    RACE_JOB_NAME,
    "Adds new races as partitions and runs each upcoming race once per slate "
    "(run key = race@slate-hash): a changed slate re-runs, an unchanged one never.",
)
def race_sensor(context: SensorEvaluationContext, race_source: RaceSourceResource):
    source = race_source.source()
    races = source.list_races()
    existing = set(context.instance.get_dynamic_partitions(RACES_PARTITIONS_NAME))
    requested = _load_cursor(context.cursor)
    now, quiet = _now(), get_settings().slate_quiet_seconds
    changed = changed_upcoming(races, requested)
    ready, pending = settle_slates(
        changed,
        _load_pending(context.cursor),
        now,
        quiet,
        lambda key: _missing_parts(source, key),
    )
    new_partitions, run_requests, new_requested = plan_race_runs(
        races, existing, requested, race_run_config(), ready
    )
    pending = {k: v for k, v in pending.items() if k not in ready}
    cursor = _dump_race_cursor(new_requested, pending)
    if not new_partitions and not run_requests:
        waiting = "; ".join(
            f"{k} waits for {', '.join(v['missing'])} "
            f"(quiet {now - float(v['since']):.0f}/{quiet} s)"
            for k, v in pending.items()
        )
        return SensorResult(
            skip_reason=SkipReason(
                f"{len(races)} races: no new race and no changed slate ready"
                + (f"; {waiting}" if waiting else "")
            ),
            cursor=cursor,
        )
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[races_partitions.build_add_request(new_partitions)]
        if new_partitions
        else [],
        cursor=cursor,
    )


def plan_backtests(
    races: pd.DataFrame, materialized: dict[str, int], in_flight: set[str], done: dict[str, str]
) -> tuple[list[RunRequest], dict[str, str]]:
    """Races with results whose race-job assets are all materialized (and not being re-run)
    get a backtest, once per materialization (the marker is the newest storage id)."""
    run_requests = []
    new_done = dict(done)
    with_results = races[races["has_results"].astype(bool)]["race_key"].astype(str)
    for key in with_results:
        marker = materialized.get(key)
        if marker is None or key in in_flight:
            continue
        if done.get(key) == str(marker):
            continue
        run_requests.append(
            RunRequest(
                partition_key=key,
                run_key=f"{key}@backtest@{marker}",
                tags={TAG_RACE: key, TAG_TRIGGER: "results"},
            )
        )
        new_done[key] = str(marker)
    return run_requests, new_done


@_race_source_sensor(
    "results_sensor",
    BACKTEST_JOB_NAME,
    "When results are ingested for a race whose race run is materialized, "
    "materializes race_backtest for it.",
)
def results_sensor(context: SensorEvaluationContext, race_source: RaceSourceResource):
    races = race_source.source().list_races()
    if not races["has_results"].astype(bool).any():
        return SkipReason("no race has results yet")
    race_assets = state.job_asset_keys(context.repository_def, RACE_JOB_NAME)
    materialized = state.materialized_races(context.instance, race_assets)
    in_flight = set(state.in_flight_partitions(context.instance, RACE_JOB_NAME))
    done = _load_cursor(context.cursor)
    run_requests, new_done = plan_backtests(races, materialized, in_flight, done)
    if not run_requests:
        return SkipReason("no newly materialized race with results")
    return SensorResult(run_requests=run_requests, cursor=_dump_cursor(new_done))


@run_status_sensor(
    name="season_report_sensor",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[race_backtest_job],
    request_job=season_report_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=sensor_interval_seconds(),
    description="Refreshes the season report after each successful backtest run.",
)
def season_report_sensor(context):
    return RunRequest(
        run_key=f"season-report@{context.dagster_run.run_id}", tags={TAG_TRIGGER: "results"}
    )


__all__ = [
    "race_sensor",
    "results_sensor",
    "season_report_sensor",
    "plan_race_runs",
    "settle_slates",
    "plan_backtests",
]
