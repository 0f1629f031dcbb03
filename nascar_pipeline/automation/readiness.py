"""The freshness rule of a race: lineups materialized and checked H hours before lock.

`race_readiness_sensor` looks, at every tick, at the races without results that lock within the
next H hours (NASCAR_READY_HOURS_BEFORE_LOCK, default 2). A race is ready when lineup_portfolio
and contest_simulation were materialized after the race_snapshot of its current slate (the
slate hash the race source reports now) and their latest checks on that partition passed.

What Dagster shows: each change of a race's verdict is recorded as an observation of
lineup_portfolio for that race (metadata `ready_before_lock`, the lock time, the problems),
visible on the asset's partition page. What someone hears: a race not ready H hours before lock
alerts once (cause `not_ready_before_lock`), and a race of the lock window
(NASCAR_LOCK_WINDOW_HOURS) whose model is the stale fallback of an earlier race
(race_model_fit's `stale_model`) alerts once, as soon as the sensor sees it (cause
`stale_model`), through the webhook and the no-storm ledger of automation/alerts.py; a
successful race run resolves both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetObservation,
    AssetRecordsFilter,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from nascar_pipeline.automation import state
from nascar_pipeline.automation.alerts import Alert, AlertLedger, notify_once
from nascar_pipeline.automation.policies import sensor_interval_seconds
from nascar_pipeline.automation.schedules import races_locking_within
from nascar_pipeline.resources.alerts import AlertsResource
from nascar_pipeline.resources.race_source import RaceSourceResource
from nascar_pipeline.settings import get_settings

LINEUPS = AssetKey("lineup_portfolio")
CONTEST = AssetKey("contest_simulation")
MODEL_FIT = AssetKey("race_model_fit")
READY_ASSETS = (LINEUPS, CONTEST)
READY_CHECKS = (
    AssetCheckKey(LINEUPS, "lineup_portfolio_valid"),
    AssetCheckKey(CONTEST, "contest_simulation_finite"),
)
CAUSE_NOT_READY = "not_ready_before_lock"
CAUSE_STALE = "stale_model"


def _now() -> datetime:
    """The sensor's clock (a function, so a test can move it)."""
    return datetime.now(UTC)


def race_readiness(instance, race_key: str, content_hash: str) -> list[str]:
    """What keeps the race from being ready (empty: ready)."""
    problems = []
    if race_key not in state.races_complete(instance, {race_key: content_hash}, READY_ASSETS):
        problems.append("lineups and contest simulation not materialized for the current slate")
        return problems
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        list(READY_CHECKS), partition_filter=PartitionKeyFilter(key=race_key)
    )
    for check in READY_CHECKS:
        record = latest.get(check)
        if record is None:
            problems.append(f"{check.name} not evaluated")
        elif record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            problems.append(f"{check.name} {record.status.value.lower()}")
    return problems


def model_stale_from(instance, race_key: str) -> tuple[str, int] | None:
    """(the earlier race whose fit stands in for this race's model, the storage id of that
    race_model_fit materialization), or None when the race's model is its own."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MODEL_FIT, asset_partitions=[race_key]), limit=1
    ).records
    if not records:
        return None
    meta = records[0].asset_materialization.metadata
    if not (meta.get("stale_model") and meta["stale_model"].value):
        return None
    source = meta.get("stale_from")
    race = ((source.value or {}) if source is not None else {}).get("race_key", "?")
    return race, records[0].storage_id


def _load(raw: str | None) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _stale_alert(ledger, sink, key: str, stale_from: str, facts: dict) -> bool:
    alert = Alert(
        race_key=key,
        cause=CAUSE_STALE,
        title=f"lineups built on a stale model (the fit of {stale_from})",
        details={**facts, "stale_from": stale_from},
    )
    return notify_once(ledger, sink, alert)


def _not_ready_alert(ledger, sink, key: str, hours: float, problems, facts: dict) -> bool:
    alert = Alert(
        race_key=key,
        cause=CAUSE_NOT_READY,
        title=f"not ready {hours:g} h before lock",
        details={**facts, "problems": "; ".join(problems)},
    )
    return notify_once(ledger, sink, alert)


def _observation(key, lock, hours_left, hours, problems, stale_from) -> AssetObservation:
    return AssetObservation(
        asset_key=LINEUPS,
        partition=key,
        metadata={
            "ready_before_lock": not problems,
            "lock_time": lock.isoformat(),
            "hours_to_lock": hours_left,
            "required_hours_before_lock": float(hours),
            "problems": "; ".join(problems) or "none",
            "stale_model": stale_from is not None,
            "stale_from": stale_from or "",
        },
    )


@sensor(
    name="race_readiness_sensor",
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Races locking within NASCAR_READY_HOURS_BEFORE_LOCK hours must have their "
    "lineups materialized and checked: each verdict is observed on lineup_portfolio; a race "
    "not ready alerts once (webhook), and so does a race of the lock window on a stale model.",
)
def race_readiness_sensor(
    context: SensorEvaluationContext, race_source: RaceSourceResource, alerts: AlertsResource
):
    settings = get_settings()
    hours = settings.ready_hours_before_lock
    now = _now()
    races = race_source.source().list_races()
    # The stale-model alert is news as soon as it happens; readiness only once the race is due.
    window = timedelta(hours=max(hours, settings.lock_window_hours))
    upcoming = races_locking_within(races, now, window)
    if upcoming.empty:
        return SkipReason(f"no race without results locks within {window} h")
    ledger, sink = AlertLedger(context.instance), alerts.sink()
    cursor_in = _load(context.cursor)
    known, announced = cursor_in.get("verdicts", {}), cursor_in.get("stale", {})
    verdicts, events, sent, stale_seen = {}, [], [], {}
    lock_times = pd.to_datetime(upcoming["lock_time"].astype("string"), utc=True, format="ISO8601")
    for key, content_hash, lock in zip(
        upcoming["race_key"].astype(str), upcoming["content_hash"].astype(str), lock_times
    ):
        hours_left = round((lock - pd.Timestamp(now)).total_seconds() / 3600, 2)
        facts = {"lock_time": lock.isoformat(), "hours_to_lock": hours_left}
        stale = model_stale_from(context.instance, key)
        stale_from = stale[0] if stale else None
        if stale:
            # Once per stale fit: a run's success resolves the ledger while the stale fit
            # stays, so the ledger alone would announce the same fit again.
            if announced.get(key) == stale[1] or ledger.is_open(key, CAUSE_STALE):
                stale_seen[key] = stale[1]
            elif _stale_alert(ledger, sink, key, stale_from, facts):
                stale_seen[key] = stale[1]
                sent.append(f"{key}: {CAUSE_STALE}")
        if hours_left > hours:
            continue
        problems = race_readiness(context.instance, key, content_hash)
        verdict = f"{content_hash}:{'ready' if not problems else 'not_ready'}:{stale_from or ''}"
        verdicts[key] = verdict
        if known.get(key) != verdict:
            events.append(_observation(key, lock, hours_left, hours, problems, stale_from))
        if problems and _not_ready_alert(ledger, sink, key, hours, problems, facts):
            sent.append(f"{key}: {CAUSE_NOT_READY}")
    for line in sent:
        context.log.info(f"alert sent for {line}")
    cursor = json.dumps(
        {"verdicts": verdicts, "stale": stale_seen}, sort_keys=True, separators=(",", ":")
    )
    if not events:
        return SensorResult(
            skip_reason=SkipReason(
                f"{len(verdicts)} race(s) within {hours:g} h of lock: verdicts unchanged"
                + (f"; alerts: {', '.join(sent)}" if sent else "")
            ),
            cursor=cursor,
        )
    return SensorResult(asset_events=events, cursor=cursor)


__all__ = ["race_readiness_sensor", "race_readiness", "model_stale_from"]
