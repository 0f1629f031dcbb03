"""nascar_pipeline/instance/postgres.py against a real PostgreSQL: the production
dagster.yaml loads it (and hands it to run workers through the instance ref), a storage call
made while the server is down waits for the restart instead of raising, a write whose connection
dropped after it committed is not stored twice, and a run that storage (not the asset) failed is
recorded as a RUN_EXCEPTION that run retries re-execute.

The end-to-end check (Postgres restarted while the daemon runs race runs) is in
tests/automation/test_daemon.py."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance(postgres_server, tmp_path, monkeypatch):
    from dagster import DagsterInstance

    db = postgres_server.create_database(f"pgs_{os.getpid()}_{time.monotonic_ns()}")
    for k, v in postgres_server.env(db).items():
        monkeypatch.setenv(k, v)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")  # the production file
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    inst = DagsterInstance.get()
    try:
        yield inst
    finally:
        inst.dispose()
        if not postgres_server.is_running():
            postgres_server.start()


def _engine_event(instance, run_id: str, message: str):
    from dagster import DagsterEvent, DagsterEventType, EventLogEntry
    from dagster._core.events import EngineEventData

    return EventLogEntry(
        error_info=None,
        level=20,
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
        dagster_event=DagsterEvent(
            DagsterEventType.ENGINE_EVENT.value,
            job_name="j",
            message=message,
            event_specific_data=EngineEventData(),
        ),
    )


def test_production_yaml_loads_the_resilient_storage_everywhere(instance):
    from dagster import DagsterInstance

    from nascar_pipeline.instance import postgres as m

    assert isinstance(instance.run_storage, m.ResilientPostgresRunStorage)
    assert isinstance(instance.event_log_storage, m.ResilientPostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, m.ResilientPostgresScheduleStorage)
    # Run workers, step processes and sensors build their instance from the ref.
    with DagsterInstance.from_ref(instance.get_ref()) as child:
        assert isinstance(child.event_log_storage, m.ResilientPostgresEventLogStorage)
        assert child.event_log_storage._outage_retry_seconds == 300
    # libpq options from dagster.yaml reach the connection string.
    url = instance.event_log_storage.postgres_url
    assert "connect_timeout=10" in url and "keepalives=1" in url


def test_storage_calls_wait_out_a_restart(instance, postgres_server):
    from dagster import DagsterRun

    run = instance.run_storage.add_run(DagsterRun(job_name="j"))
    postgres_server.stop()
    results: dict[str, object] = {}

    def write():
        t0 = time.monotonic()
        try:
            instance.event_log_storage.store_event(_engine_event(instance, run.run_id, "during"))
            results["tags"] = instance.run_storage.add_run_tags(run.run_id, {"k": "v"})
            results["seconds"] = time.monotonic() - t0
        except Exception as exc:  # noqa: BLE001 - reported below
            results["error"] = exc

    t = threading.Thread(target=write)
    t.start()
    time.sleep(15)  # longer than dagster-postgres's own connect retries (~11 s)
    assert t.is_alive(), f"storage call returned while the server was down: {results}"
    postgres_server.start()
    t.join(120)
    assert not t.is_alive() and "error" not in results, results
    assert results["seconds"] >= 15
    logs = instance.all_logs(run.run_id)
    assert [e.user_message for e in logs] == ["during"]
    assert instance.get_run_by_id(run.run_id).tags["k"] == "v"


def test_store_event_that_committed_before_the_drop_is_not_stored_twice(instance, monkeypatch):
    import sqlalchemy.exc
    from dagster import DagsterRun
    from dagster_postgres.event_log import PostgresEventLogStorage

    run = instance.run_storage.add_run(DagsterRun(job_name="j"))
    real = PostgresEventLogStorage.store_event
    calls = []

    def commit_then_drop(self, event):
        calls.append(1)
        real(self, event)
        if len(calls) == 1:  # the INSERT committed, then the connection "dropped"
            import psycopg2

            raise sqlalchemy.exc.OperationalError(
                "NOTIFY", {}, psycopg2.OperationalError("server closed the connection unexpectedly")
            )

    monkeypatch.setattr(PostgresEventLogStorage, "store_event", commit_then_drop)
    instance.event_log_storage.store_event(_engine_event(instance, run.run_id, "once"))
    assert len(calls) == 1  # found its own row: no second INSERT
    assert [e.user_message for e in instance.all_logs(run.run_id)] == ["once"]


def _failure_event(step_error):
    from dagster import DagsterEvent, DagsterEventType
    from dagster._core.definitions.dependency import NodeHandle
    from dagster._core.events import JobFailureData, RunFailureReason, StepFailureData
    from dagster._core.execution.plan.handle import StepHandle

    step = DagsterEvent(
        DagsterEventType.STEP_FAILURE.value,
        job_name="j",
        step_handle=StepHandle(NodeHandle("race_snapshot", None)),
        event_specific_data=StepFailureData(error=step_error, user_failure_data=None),
    )
    return DagsterEvent(
        DagsterEventType.PIPELINE_FAILURE.value,
        job_name="j",
        message="Steps failed: ['race_snapshot'].",
        event_specific_data=JobFailureData(
            error=None, failure_reason=RunFailureReason.STEP_FAILURE, first_step_failure_event=step
        ),
    )


def _error_info(exc: BaseException):
    import sys

    from dagster._utils.error import serializable_error_info_from_exc_info

    try:
        raise exc
    except BaseException:  # noqa: BLE001
        return serializable_error_info_from_exc_info(sys.exc_info())


@pytest.mark.parametrize(
    "cause, reason, retried",
    [
        ("storage", "RUN_EXCEPTION", "true"),
        ("asset", "STEP_FAILURE", "false"),
    ],
)
def test_run_failed_by_storage_is_retried_and_asset_failure_is_not(
    instance, cause, reason, retried
):
    import psycopg2
    import sqlalchemy.exc
    from dagster import DagsterRun, EventLogEntry

    if cause == "storage":
        error = _error_info(
            sqlalchemy.exc.OperationalError(
                "INSERT INTO event_logs",
                {},
                psycopg2.OperationalError(
                    "server closed the connection unexpectedly\n\tThis probably means the server "
                    "terminated abnormally"
                ),
            )
        )
    else:
        error = _error_info(ValueError("race_snapshot: no entries"))
    run = instance.run_storage.add_run(DagsterRun(job_name="j", run_id=None))
    event = _failure_event(error)
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level=40,
            user_message="",
            run_id=run.run_id,
            timestamp=time.time(),
            dagster_event=event._replace(job_name="j"),
        )
    )
    tags = instance.get_run_by_id(run.run_id).tags
    assert tags["dagster/failure_reason"] == reason
    assert tags["dagster/will_retry"] == retried
