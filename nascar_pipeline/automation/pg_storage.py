"""Dagster's Postgres storage (dagster-postgres), made to ride out a database restart.

Why: dagster-postgres retries only the *opening* of a connection (`retry_pg_connection_fn`:
5 retries, about 11 s in all). A statement on a connection that the server drops - a restart,
a failover - raises `psycopg2.OperationalError: server closed the connection unexpectedly` (or
`terminating connection due to administrator command`) at once. Where that lands decides the
run's fate (measured with tests/test_orchestration_daemon.py and a restart loop):

- in the run worker between steps (e.g. `free_concurrency_slot_for_step`): the run fails with
  RunFailureReason.RUN_EXCEPTION; run retries re-execute it;
- inside a step (its STEP_OUTPUT / ASSET_MATERIALIZATION / HANDLED_OUTPUT event writes, or an
  instance query the step makes): Dagster records a STEP_FAILURE (an unexpected framework
  error, not the asset's code), the run fails with RunFailureReason.STEP_FAILURE, and run
  retries skip it (`retry_on_asset_or_op_failure: false`): the run is lost.

What this module adds, configured in dagster.yaml as `storage: custom:` (same `postgres_db`
config as `storage: postgres:`, plus `outage_retry_seconds`):

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

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as db
import sqlalchemy.exc
from dagster import Field, IntSource
from dagster._core.storage.config import pg_config
from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import (
    DagsterPostgresException,
    get_token_provider_from_config,
    pg_url_from_config,
)

log = logging.getLogger("nascar_pipeline.pg_storage")

T = TypeVar("T")
DEFAULT_OUTAGE_RETRY_SECONDS = 300
MAX_BACKOFF_SECONDS = 5.0
MODULE = __name__

# SQLSTATEs of a server that is going away or not there yet: class 08 (connection exception),
# 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up).
_RETRY_SQLSTATES = ("57P01", "57P02", "57P03")
# Error class names that mean "storage unreachable" in a serialized error chain.
CONNECTION_ERROR_CLASSES = frozenset(
    {
        "OperationalError",
        "InterfaceError",
        "DagsterPostgresException",
        "AdminShutdown",
        "CrashShutdown",
        "CannotConnectNow",
        "ConnectionException",
    }
)

# Not retried: lifecycle and schema work, and methods that hand back an open connection or
# context manager (a retry could not cover what the caller does with it).
_NOT_WRAPPED = frozenset(
    {
        "dispose",
        "register_instance",
        "optimize_for_webserver",
        "watch",
        "end_watch",
        "upgrade",
        "connect",
        "run_connection",
        "index_connection",
        "index_transaction",
        "migrate",
        "optimize",
        "reindex_events",
        "reindex_assets",
        "create_clean_storage",
        "from_config_value",
        "config_type",
        "config_schema",
        "alembic_version",
        "wipe",
        "wipe_asset",
    }
)

_local = threading.local()


def is_connection_error(exc: BaseException) -> bool:
    """True when exc means the database could not be reached or dropped the connection
    (as opposed to a bad query, a constraint violation, a timeout of a slow statement)."""
    if isinstance(exc, DagsterPostgresException):  # dagster-postgres gave up connecting
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:  # SQLAlchemy's own disconnect test
            return True
        orig = exc.orig
    else:
        orig = exc
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - dagster-postgres depends on it
        return False
    if not isinstance(orig, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        return False
    code = getattr(orig, "pgcode", None)
    if code is None:  # raised by libpq itself: refused, closed, could not send/receive
        return True
    return code.startswith("08") or code in _RETRY_SQLSTATES


def _delay(attempt: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 0.25 * 2**attempt)


def call_with_outage_retry(
    fn: Callable[[], T], what: str, budget: float, on_retry: Callable[[], T | None] | None = None
) -> T:
    """Call fn; while it fails with a connection error and `budget` seconds have not passed,
    wait (backoff, at most 5 s) and call it again. `on_retry`, when given, runs before each
    re-invocation once the database answers again; a non-None result is returned instead of
    calling fn again (used to notice a write that did commit). Nested calls (a storage method
    calling another) do not retry on their own: the outermost call retries the whole."""
    if getattr(_local, "depth", 0):
        return fn()
    _local.depth = 1
    try:
        deadline = time.monotonic() + budget
        attempt = 0
        while True:
            try:
                if attempt and on_retry is not None:
                    done = on_retry()
                    if done is not None:
                        return done
                return fn()
            except Exception as exc:  # noqa: BLE001 - filtered just below
                if not is_connection_error(exc) or time.monotonic() >= deadline:
                    raise
                wait = min(_delay(attempt), max(0.0, deadline - time.monotonic()))
                log.warning(
                    "storage unreachable in %s (attempt %d, retrying in %.1fs): %s",
                    what,
                    attempt + 1,
                    wait,
                    str(exc).strip().splitlines()[0][:200],
                )
                attempt += 1
                time.sleep(wait)
    finally:
        _local.depth = 0


def _wrap(name: str, func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        return call_with_outage_retry(
            lambda: func(self, *args, **kwargs),
            f"{type(self).__name__}.{name}",
            self._outage_retry_seconds,
        )

    wrapper.__outage_retry__ = True  # type: ignore[attr-defined]
    return wrapper


def _with_outage_retry(cls: type) -> type:
    """Wrap every public plain method found on cls's bases (not properties, class or static
    methods, generators, or the methods in _NOT_WRAPPED) with call_with_outage_retry; methods
    cls defines itself are left as written."""
    for name in dir(cls):
        if name.startswith("_") or name in _NOT_WRAPPED or name in cls.__dict__:
            continue
        attr = inspect.getattr_static(cls, name)
        if not inspect.isfunction(attr) or getattr(attr, "__outage_retry__", False):
            continue
        if inspect.isgeneratorfunction(attr) or getattr(attr, "__isabstractmethod__", False):
            continue
        setattr(cls, name, _wrap(name, attr))
    return cls


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


@_with_outage_retry
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
        from dagster._core.errors import DagsterRunAlreadyExists

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


@_with_outage_retry
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
        from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS
        from dagster._core.storage.event_log import SqlEventLogStorageTable
        from dagster._serdes import serialize_value

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
        from dagster._core.storage.event_log.schema import AssetEventTagsTable

        with self._connect() as conn:
            return (
                conn.execute(
                    db.select(AssetEventTagsTable.c.id)
                    .where(AssetEventTagsTable.c.event_id == event_id)
                    .limit(1)
                ).fetchone()
                is not None
            )


@_with_outage_retry
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
        module: nascar_pipeline.automation.pg_storage
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


# ---- classifying a run that storage, not the asset, failed --------------------------------


def _error_chain(error) -> list:
    out, seen = [], set()
    todo = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        todo.extend([getattr(e, "cause", None), getattr(e, "context", None)])
    return out


def is_storage_failure(error) -> bool:
    """A step's SerializableErrorInfo says storage was unreachable: its chain (causes and
    contexts) holds a psycopg2 / SQLAlchemy / dagster-postgres connection error whose message is
    one of libpq's lost-connection or could-not-connect messages. A Neo4j or S3 error, a bad
    query, a failed check or a bug in the asset does not match."""
    chain = _error_chain(error)
    names = [getattr(e, "cls_name", None) for e in chain]
    if not any(n in CONNECTION_ERROR_CLASSES for n in names):
        return False
    messages = " ".join((getattr(e, "message", "") or "") for e in chain).lower()
    return any(
        s in messages
        for s in (
            "server closed the connection",
            "terminating connection",
            "connection refused",
            "could not connect",
            "too many retries for db connection",
            "connection already closed",
            "the database system is",
            "could not receive data",
            "could not send data",
            "connection to server",
            "ssl syscall",
        )
    )


def reclassify_storage_step_failure(event):
    """A RUN_FAILURE whose reason is STEP_FAILURE, where the first failed step failed because
    storage was unreachable, becomes a RUN_EXCEPTION: run retries re-execute it even with
    `retry_on_asset_or_op_failure: false`. Any other event is returned unchanged."""
    from dagster._core.events import DagsterEventType, JobFailureData, RunFailureReason

    if event.event_type != DagsterEventType.PIPELINE_FAILURE:
        return event
    data = event.event_specific_data
    if not isinstance(data, JobFailureData) or data.failure_reason != RunFailureReason.STEP_FAILURE:
        return event
    step = data.first_step_failure_event
    step_error = getattr(getattr(step, "event_specific_data", None), "error", None)
    if step_error is None or not is_storage_failure(step_error):
        return event
    log.warning(
        "run failure of step %s was caused by unreachable storage: recorded as "
        "RUN_EXCEPTION so that run retries re-execute it",
        step.step_key,
    )
    return event._replace(
        event_specific_data=data._replace(failure_reason=RunFailureReason.RUN_EXCEPTION)
    )
