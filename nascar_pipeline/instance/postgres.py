"""Dagster's Postgres storage (dagster-postgres), made to ride out a database restart.

Why: dagster-postgres retries only the *opening* of a connection (`retry_pg_connection_fn`:
5 retries, about 11 s in all). A statement on a connection that the server drops - a restart,
a failover - raises `psycopg2.OperationalError: server closed the connection unexpectedly` (or
`terminating connection due to administrator command`) at once. Where that lands decides the
run's fate (measured with tests/automation/test_daemon.py and a restart loop):

- in the run worker between steps (e.g. `free_concurrency_slot_for_step`): the run fails with
  RunFailureReason.RUN_EXCEPTION; run retries re-execute it;
- inside a step (its STEP_OUTPUT / ASSET_MATERIALIZATION / HANDLED_OUTPUT event writes, or an
  instance query the step makes): Dagster records a STEP_FAILURE (an unexpected framework
  error, not the asset's code), the run fails with RunFailureReason.STEP_FAILURE, and run
  retries skip it (`retry_on_asset_or_op_failure: false`): the run is lost.

What this module adds, configured in dagster.yaml as `storage: custom:` with
`module: nascar_pipeline.instance.postgres`, `class: ResilientPostgresStorage` (same
`postgres_db` config as `storage: postgres:`, plus `outage_retry_seconds`):

1. Every public method of the run, event-log and schedule storages is re-invoked, on a fresh
   connection, when it fails because the database could not be reached (connection refused or
   dropped, server shutting down or starting up), with backoff, for up to
   `outage_retry_seconds` (default 300). Only the outermost storage call retries (nested calls
   do not multiply the waits). A restart within that window costs a pause, not a run.
   Writes that could have committed before the connection dropped are made idempotent:
   `store_event` looks for its own row before inserting again (no duplicate events);
   `add_run` accepts its own run already being there.
2. Should an outage outlast that window and fail a step anyway, the run's failure is recorded
   with reason RUN_EXCEPTION instead of STEP_FAILURE when the first failed step failed *because
   storage was unreachable* (the step's error chain holds a connection error and no error of the
   asset's own). Run retries then re-execute the run from the failure; a failure of the asset
   itself still fails once, loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as db
from dagster import Field, IntSource, serialize_value

from nascar_pipeline.instance._dagster_internals import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    AssetEventTagsTable,
    ConfigurableClassData,
    DagsterPostgresStorage,
    DagsterRunAlreadyExists,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
    SqlEventLogStorageTable,
    get_token_provider_from_config,
    pg_config,
    pg_url_from_config,
)
from nascar_pipeline.instance.failure_reason import reclassify_storage_step_failure
from nascar_pipeline.instance.outage_retry import (
    DEFAULT_OUTAGE_RETRY_SECONDS,
    call_with_outage_retry,
    with_outage_retry,
)

log = logging.getLogger(__name__)

# The module dagster.yaml names; the three storages' ConfigurableClassData point here too.
MODULE = __name__


def resilient_config_type() -> dict:
    return {
        **pg_config(),
        "outage_retry_seconds": Field(
            IntSource,
            is_required=False,
            default_value=DEFAULT_OUTAGE_RETRY_SECONDS,
            description="How long a storage call waits for an unreachable database (restart, "
            "failover) before it raises.",
        ),
    }


def _kwargs_from_config(config_value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(
        postgres_url=pg_url_from_config(config_value),
        should_autocreate_tables=config_value.get("should_autocreate_tables", True),
        token_provider=get_token_provider_from_config(config_value),
        outage_retry_seconds=config_value.get("outage_retry_seconds", DEFAULT_OUTAGE_RETRY_SECONDS),
    )


class _OutageRetryMixin:
    _outage_retry_seconds: float = DEFAULT_OUTAGE_RETRY_SECONDS

    def _construct(
        self,
        base: type,
        postgres_url: str,
        should_autocreate_tables: bool,
        inst_data,
        token_provider,
        outage_retry_seconds: float,
    ) -> None:
        self._outage_retry_seconds = float(outage_retry_seconds)
        call_with_outage_retry(
            lambda: base.__init__(
                self,
                postgres_url,
                should_autocreate_tables,
                inst_data=inst_data,
                token_provider=token_provider,
            ),
            f"{base.__name__}()",
            self._outage_retry_seconds,
        )

    @classmethod
    def config_type(cls):
        return resilient_config_type()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ):
        return cls(inst_data=inst_data, **_kwargs_from_config(config_value))


@with_outage_retry
class ResilientPostgresRunStorage(_OutageRetryMixin, PostgresRunStorage):
    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider=None,
        outage_retry_seconds: float = DEFAULT_OUTAGE_RETRY_SECONDS,
    ):
        self._construct(
            PostgresRunStorage,
            postgres_url,
            should_autocreate_tables,
            inst_data,
            token_provider,
            outage_retry_seconds,
        )

    def add_run(self, dagster_run):
        attempts = []

        def once():
            attempts.append(1)
            try:
                return PostgresRunStorage.add_run(self, dagster_run)
            except DagsterRunAlreadyExists:
                # The first attempt committed before its connection dropped: that is our run.
                if len(attempts) > 1 and self._get_run_by_id(dagster_run.run_id) is not None:
                    return dagster_run
                raise

        return call_with_outage_retry(once, "add_run", self._outage_retry_seconds)

    def handle_run_event(self, run_id: str, event, update_timestamp=None) -> None:
        event = reclassify_storage_step_failure(event)
        call_with_outage_retry(
            lambda: PostgresRunStorage.handle_run_event(self, run_id, event, update_timestamp),
            "handle_run_event",
            self._outage_retry_seconds,
        )


@with_outage_retry
class ResilientPostgresEventLogStorage(_OutageRetryMixin, PostgresEventLogStorage):
    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider=None,
        outage_retry_seconds: float = DEFAULT_OUTAGE_RETRY_SECONDS,
    ):
        self._construct(
            PostgresEventLogStorage,
            postgres_url,
            should_autocreate_tables,
            inst_data,
            token_provider,
            outage_retry_seconds,
        )

    def store_event(self, event) -> None:
        """Insert the event once: when a first attempt fails with a dropped connection, its
        INSERT may have committed (the connection can drop between the INSERT and the NOTIFY
        or the asset index writes that follow it). Before trying again, look for the row; if
        it is there, write only what follows the INSERT."""
        return call_with_outage_retry(
            lambda: PostgresEventLogStorage.store_event(self, event),
            "store_event",
            self._outage_retry_seconds,
            on_retry=lambda: self._finish_if_stored(event),
        )

    def _finish_if_stored(self, event):
        table = SqlEventLogStorageTable
        query = (
            db.select(table.c.id)
            .where(table.c.run_id == event.run_id)
            .where(table.c.event == serialize_value(event))
            .order_by(table.c.id.desc())
            .limit(1)
        )
        with self._connect() as conn:
            row = conn.execute(query).fetchone()
        if row is None:
            return None  # not stored: insert it
        event_id = int(row[0])
        log.warning(
            "store_event: event %s of run %s was stored before the connection dropped; "
            "not inserting it again",
            event_id,
            event.run_id,
        )
        # What PostgresEventLogStorage.store_event does after its INSERT (dagster-postgres
        # 0.29.x); each part is a transaction of its own, so redoing it is safe.
        dagster_event = event.dagster_event if event.is_dagster_event else None
        if dagster_event and dagster_event.event_type in ASSET_EVENTS and dagster_event.asset_key:
            if not self._asset_event_indexed(event_id):
                with self.index_transaction() as conn:
                    self._store_asset_event_tags(conn, [event], [event_id])
                    self._store_asset_event(conn, event, event_id)
        if dagster_event and dagster_event.event_type in ASSET_CHECK_EVENTS:
            self.store_asset_check_event(event, event_id)
        return True

    def _asset_event_indexed(self, event_id: int) -> bool:
        with self._connect() as conn:
            return (
                conn.execute(
                    db.select(AssetEventTagsTable.c.id)
                    .where(AssetEventTagsTable.c.event_id == event_id)
                    .limit(1)
                ).fetchone()
                is not None
            )


@with_outage_retry
class ResilientPostgresScheduleStorage(_OutageRetryMixin, PostgresScheduleStorage):
    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider=None,
        outage_retry_seconds: float = DEFAULT_OUTAGE_RETRY_SECONDS,
    ):
        self._construct(
            PostgresScheduleStorage,
            postgres_url,
            should_autocreate_tables,
            inst_data,
            token_provider,
            outage_retry_seconds,
        )


class ResilientPostgresStorage(DagsterPostgresStorage):
    """`storage: custom:` in dagster.yaml: DagsterPostgresStorage with the three storages above.

    storage:
      custom:
        module: nascar_pipeline.instance.postgres
        class: ResilientPostgresStorage
        config:
          postgres_db: {hostname: ..., ...}     # as under storage.postgres
          outage_retry_seconds: 300
    """

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider=None,
        outage_retry_seconds: float = DEFAULT_OUTAGE_RETRY_SECONDS,
    ):
        self.postgres_url = postgres_url
        self.should_autocreate_tables = bool(should_autocreate_tables)
        self._inst_data = inst_data
        self.outage_retry_seconds = float(outage_retry_seconds)
        kw = dict(token_provider=token_provider, outage_retry_seconds=outage_retry_seconds)
        self._run_storage = ResilientPostgresRunStorage(
            postgres_url, should_autocreate_tables, **kw
        )
        self._event_log_storage = ResilientPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, **kw
        )
        self._schedule_storage = ResilientPostgresScheduleStorage(
            postgres_url, should_autocreate_tables, **kw
        )
        # DagsterStorage.__init__ (the grandparent); DagsterPostgresStorage.__init__ would
        # build the plain storages again.
        super(DagsterPostgresStorage, self).__init__()

    @classmethod
    def config_type(cls):
        return resilient_config_type()

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **_kwargs_from_config(config_value))

    def _part(self, class_name: str) -> ConfigurableClassData | None:
        if not self.inst_data:
            return None
        return ConfigurableClassData(MODULE, class_name, self.inst_data.config_yaml)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return self._part("ResilientPostgresEventLogStorage")

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._part("ResilientPostgresRunStorage")

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._part("ResilientPostgresScheduleStorage")
