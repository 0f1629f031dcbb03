"""Alerts: a failed race run posts exactly one webhook per race and cause to a real local HTTP
receiver, retries of the same failure stay quiet, a successful run resolves the race, a dead
receiver loses nothing (the alert is sent on the next evaluation)."""

from __future__ import annotations

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    job,
    op,
)

from nascar_pipeline.automation.alert_sensors import race_recovered_sensor, run_failure_alert_sensor
from nascar_pipeline.resources.alerts import AlertsResource
from tests.support.webhook import Receiver

RACE = "2026-sonoma-save-mart-350"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@op
def fit_that_fails():
    raise RuntimeError("race_model_fit: R-hat 1.0129 > 1.01 (blocking check)")


@op
def fit_that_works():
    return 1


@job
def failing_race_job():
    fit_that_fails()


@job
def working_race_job():
    fit_that_works()


def _run(instance, job_def, race_key=RACE, retry=0, will_retry=None):
    tags = {"dagster/partition": race_key, "dagster/retry_number": str(retry)}
    if will_retry is not None:
        tags["dagster/will_retry"] = str(will_retry).lower()
    result = job_def.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
    return instance.get_run_by_id(result.run_id)


def _final_event(instance, run, event_type):
    records = instance.all_logs(run.run_id, of_type=event_type)
    assert records, f"no {event_type} event for run {run.run_id}"
    return records[-1].dagster_event


def _evaluate_failure(instance, run, url):
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=_final_event(instance, run, DagsterEventType.RUN_FAILURE),
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": AlertsResource(webhook_url=url, timeout_s=5)},
    ).for_run_failure()
    return run_failure_alert_sensor(context)


def _evaluate_success(instance, run):
    context = build_run_status_sensor_context(
        sensor_name="race_recovered_sensor",
        dagster_event=_final_event(instance, run, DagsterEventType.RUN_SUCCESS),
        dagster_instance=instance,
        dagster_run=run,
    )
    return race_recovered_sensor(context)


def test_one_alert_per_race_and_cause_until_resolved(receiver):
    with DagsterInstance.ephemeral() as instance:
        first = _run(instance, failing_race_job)
        _evaluate_failure(instance, first, receiver.url)
        assert len(receiver.bodies) == 1
        body = receiver.bodies[0]
        assert RACE in body["text"] and "fit_that_fails" in body["text"]
        alert = body["alert"]
        assert alert["race_key"] == RACE
        assert alert["cause"] == "run_failure:failing_race_job:fit_that_fails"
        assert alert["run_id"] == first.run_id
        assert "R-hat 1.0129" in alert["details"]["error"]

        # The run retried (and the pre-lock schedule re-requesting it) fails the same way: quiet.
        for retry in (1, 2):
            _evaluate_failure(instance, _run(instance, failing_race_job, retry=retry), receiver.url)
        assert len(receiver.bodies) == 1

        # Another race failing is its own alert.
        _evaluate_failure(
            instance, _run(instance, failing_race_job, race_key="2026-x-400"), receiver.url
        )
        assert [b["alert"]["race_key"] for b in receiver.bodies] == [RACE, "2026-x-400"]

        # The race recovers; the next failure is news again.
        _evaluate_success(instance, _run(instance, working_race_job))
        _evaluate_failure(instance, _run(instance, failing_race_job), receiver.url)
        assert [b["alert"]["race_key"] for b in receiver.bodies] == [RACE, "2026-x-400", RACE]


def test_receiver_down_is_retried_on_the_next_failure():
    down = Receiver(status=503)
    try:
        with DagsterInstance.ephemeral() as instance:
            _evaluate_failure(instance, _run(instance, failing_race_job), down.url)
            assert len(down.bodies) == 1  # tried, refused: not recorded as announced
            down.status = 200
            _evaluate_failure(instance, _run(instance, failing_race_job, retry=1), down.url)
            _evaluate_failure(instance, _run(instance, failing_race_job, retry=2), down.url)
            assert len(down.bodies) == 2  # the second try got through; the third stayed quiet
    finally:
        down.close()


def test_no_webhook_configured_sends_nothing(receiver):
    with DagsterInstance.ephemeral() as instance:
        result = _evaluate_failure(instance, _run(instance, failing_race_job), None)
        assert "NASCAR_ALERT_WEBHOOK_URL" in str(result)
    assert receiver.bodies == []


def test_definitions_hand_the_webhook_over_as_an_env_var(monkeypatch):
    """The webhook is a secret: Dagster gets the variable's name, never the URL itself."""
    from dagster import EnvVar

    from nascar_pipeline.definitions import alerts_resource

    monkeypatch.delenv("NASCAR_ALERT_WEBHOOK_URL", raising=False)
    assert alerts_resource().webhook_url is None
    monkeypatch.setenv("NASCAR_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook-s3cret")
    resource = alerts_resource()
    assert resource.webhook_url == EnvVar("NASCAR_ALERT_WEBHOOK_URL")
    assert "s3cret" not in repr(resource)


def test_a_run_that_will_be_retried_does_not_alert(receiver):
    # the chaos race week: a worker SIGKILLed mid-run, re-executed by run retries, succeeded;
    # only a last attempt that fails is worth a page
    with DagsterInstance.ephemeral() as instance:
        run = _run(instance, failing_race_job, will_retry=True)
        _evaluate_failure(instance, run, receiver.url)
        assert receiver.bodies == []
        last = _run(instance, failing_race_job, retry=1, will_retry=False)
        _evaluate_failure(instance, last, receiver.url)
        assert len(receiver.bodies) == 1
