"""Sensors that turn run outcomes into alerts (see automation/alerts.py for the no-storm rule).

- `run_failure_alert_sensor`: a failed run of a race (any job of this code location) alerts
  once per race and cause; the cause is the job and the step that failed first, so run retries
  and a pre-lock re-request failing the same way stay quiet. A run Dagster will retry
  (`dagster/will_retry`) does not alert: a worker killed mid-run and re-executed is not news
  for the on-call engineer unless the last attempt fails too.
- `race_recovered_sensor`: a successful race run resolves the race's open alerts, so the next
  failure alerts again.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
)

from nascar_pipeline.automation.alerts import Alert, AlertLedger, notify_once
from nascar_pipeline.resources.alerts import AlertsResource

PARTITION_TAG = "dagster/partition"
RETRY_TAG = "dagster/retry_number"
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster when run retries will re-execute the run
MAX_ERROR_CHARS = 300


def _root_message(error) -> str:
    # Dagster wraps the asset's exception ("Error occurred while executing op ..."): the user
    # needs the innermost cause, which names the real problem.
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return (error.message if error is not None else "").strip()


def _first_failed_step(context: RunFailureSensorContext) -> tuple[str | None, str]:
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        return event.step_key, _root_message(error)
    error = context.failure_event.event_specific_data
    message = getattr(getattr(error, "error", None), "message", "") or context.failure_event.message
    return None, (message or "").strip()


def failure_alert(context: RunFailureSensorContext) -> Alert | None:
    run = context.dagster_run
    race_key = run.tags.get(PARTITION_TAG)
    if not race_key:
        return None  # season_report and other unpartitioned runs: not a race's readiness
    step, message = _first_failed_step(context)
    cause = f"run_failure:{run.job_name}:{step or 'run'}"
    where = f" at {step}" if step else ""
    return Alert(
        race_key=race_key,
        cause=cause,
        title=f"{run.job_name} run failed{where}",
        details={
            "job": run.job_name,
            "step": step or "-",
            "attempt": int(run.tags.get(RETRY_TAG, "0")) + 1,
            "error": message[:MAX_ERROR_CHARS] + ("..." if len(message) > MAX_ERROR_CHARS else ""),
        },
        run_id=run.run_id,
    )


@run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=False,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Alert (webhook) once per race and cause when a race's run fails.",
)
def run_failure_alert_sensor(context: RunFailureSensorContext, alerts: AlertsResource):
    if context.dagster_run.tags.get(WILL_RETRY_TAG, "").lower() == "true":
        return SkipReason(f"run {context.dagster_run.run_id} will be retried: no alert yet")
    alert = failure_alert(context)
    if alert is None:
        return SkipReason(f"run {context.dagster_run.run_id} has no race partition")
    sink = alerts.sink()
    if sink is None:
        return SkipReason("alerting is off: NASCAR_ALERT_WEBHOOK_URL is not set")
    if notify_once(AlertLedger(context.instance), sink, alert):
        context.log.info(f"alert sent for {alert.race_key}: {alert.cause}")
        return None
    return SkipReason(f"{alert.race_key}: {alert.cause} already announced (or receiver down)")


@run_status_sensor(
    name="race_recovered_sensor",
    run_status=DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=False,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="A race run that succeeds resolves that race's open alerts.",
)
def race_recovered_sensor(context: RunStatusSensorContext):
    race_key = context.dagster_run.tags.get(PARTITION_TAG)
    if not race_key:
        return SkipReason("not a race run")
    resolved = AlertLedger(context.instance).resolve(race_key)
    if resolved:
        context.log.info(f"{race_key}: resolved {', '.join(resolved)}")
    return None


alert_sensors = [run_failure_alert_sensor, race_recovered_sensor]

__all__ = ["alert_sensors", "failure_alert"]
