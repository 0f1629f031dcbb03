"""Retrying a storage call while the database is unreachable (restart, failover).

`call_with_outage_retry` re-invokes a call that failed because the database could not be
reached (connection refused or dropped, server shutting down or starting up), with backoff, for
up to a budget of seconds; `with_outage_retry` wraps every public method a storage class
inherits that way. Used by the storages in postgres.py.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy.exc

from nascar_pipeline.instance._dagster_internals import DagsterPostgresException

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_OUTAGE_RETRY_SECONDS = 300
MAX_BACKOFF_SECONDS = 5.0

# SQLSTATEs of a server that is going away or not there yet: class 08 (connection exception),
# 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up).
_RETRY_SQLSTATES = ("57P01", "57P02", "57P03")

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


def with_outage_retry(cls: type) -> type:
    """Wrap every public plain method found on cls's bases (not properties, class or static
    methods, generators, or the methods in _NOT_WRAPPED) with call_with_outage_retry, using the
    instance's `_outage_retry_seconds` as the budget; methods cls defines itself are left as
    written."""
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
