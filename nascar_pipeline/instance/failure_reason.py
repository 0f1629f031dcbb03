"""Telling a run that storage failed from a run that its asset failed.

A step whose event write found the database gone fails with STEP_FAILURE, which run retries
skip (`retry_on_asset_or_op_failure: false`). `reclassify_storage_step_failure` records such a
run's failure as RUN_EXCEPTION instead, so that run retries re-execute it; a failure of the
asset itself (or of Neo4j, S3, a check) still fails once, loudly.
"""

from __future__ import annotations

import logging

from dagster import DagsterEventType

from nascar_pipeline.instance._dagster_internals import JobFailureData, RunFailureReason

log = logging.getLogger(__name__)

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

# libpq's lost-connection and could-not-connect messages (lower case).
_CONNECTION_MESSAGES = (
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
    return any(s in messages for s in _CONNECTION_MESSAGES)


def reclassify_storage_step_failure(event):
    """A RUN_FAILURE whose reason is STEP_FAILURE, where the first failed step failed because
    storage was unreachable, becomes a RUN_EXCEPTION: run retries re-execute it even with
    `retry_on_asset_or_op_failure: false`. Any other event is returned unchanged."""
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
