"""Request observability in one pure-ASGI middleware: request id (X-Request-ID in and out),
one JSON log line per request with the principal, an OpenTelemetry server span, and Prometheus
request metrics. Unhandled errors become a problem+json 500 here, so they carry the request id.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
import time
from datetime import UTC, datetime

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.context import RequestContext, get_context, reset_context, set_context
from nascar_pipeline.telemetry import get_tracer

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
log = logging.getLogger("api.request")
tracer = get_tracer("api.http")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; request id and principal from the request context."""

    _second: tuple[int, str] = (-1, "")

    def _ts(self, created: float) -> str:
        # ISO 8601 UTC with milliseconds; the part up to the second is formatted once a second
        # (one tuple, swapped whole, so threads never pair a second with another's text)
        sec = int(created)
        cached, stamp = self._second
        if cached != sec:
            stamp = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (sec, stamp)
        return f"{stamp}.{int((created - sec) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self._ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = get_context()
        if ctx is not None:
            out["request_id"] = ctx.request_id
            out["principal"] = ctx.principal
        extra = getattr(record, "fields", None)
        if extra:
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO", stream=None) -> None:
    """JSON lines on stderr for the `api` loggers (and uvicorn's error logger)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("api", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = [h for h in lg.handlers if not getattr(h, "_api_json", False)]
        handler._api_json = True  # type: ignore[attr-defined]
        lg.addHandler(handler)
        lg.setLevel(level.upper())
        lg.propagate = False


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "api_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "api_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "api_requests_in_flight", "HTTP requests being served", registry=self.registry
        )


def _route_of(scope, status: int) -> str:
    route = getattr(scope.get("route"), "path", None)
    if route:
        return route
    # Plain Starlette routes (the docs) match a fixed path; anything else stays one label.
    return scope.get("path", "") if status < 400 and scope.get("path") in _FIXED else "unmatched"


_FIXED = {"/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}
# On every response: no MIME sniffing; and (unless the response sets its own, as the docs
# pages do) a policy that lets a browser run or frame nothing from an API response.
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_DATA_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

# Request ids made here: a random per-process prefix and a counter (32 hex characters, like a
# uuid4 hex, without a urandom call per request).
_RID_PREFIX = secrets.token_hex(8)
_rid_counter = itertools.count(1)
_WANTED = frozenset(
    (
        b"x-request-id",
        b"traceparent",
        b"tracestate",
        b"authorization",
        b"x-api-key",
        b"if-none-match",
        b"origin",
    )
)


class RequestMiddleware:
    """Outermost middleware (pure ASGI). `fastpaths` (api/fastpath.py), when given, may answer
    a request from memory instead of the app; the request id, span, metrics and log line are
    the same either way."""

    def __init__(self, app, metrics: Metrics, fastpaths=None):
        self.app = app
        self.metrics = metrics
        self.fastpaths = fastpaths
        self._series: dict[tuple[str, str, int], tuple] = {}

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
            if len(self._series) < 10_000:
                self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(elapsed)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", ()):
            if k in _WANTED and k not in headers:
                headers[k] = v
        rid = headers.get(b"x-request-id")
        rid = rid.decode("latin-1") if rid is not None else None
        if not rid or not _REQUEST_ID_RE.match(rid):
            rid = f"{_RID_PREFIX}{next(_rid_counter):016x}"
        ctx = RequestContext(request_id=rid)
        token = set_context(ctx)
        method = scope.get("method", "GET")
        path = scope.get("path", "")
        status = 500
        started = False
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                out = [*message.get("headers", ()), rid_header, _NOSNIFF]
                if not any(k.lower() == b"content-security-policy" for k, _ in out):
                    out.append(_DATA_CSP)  # the docs pages set their own
                message["headers"] = out
            await send(message)

        in_flight = self.metrics.in_flight
        in_flight.inc()
        parent = None
        if b"traceparent" in headers:
            parent = propagate.extract(
                {
                    k.decode(): headers[k].decode("latin-1")
                    for k in (b"traceparent", b"tracestate")
                    if k in headers
                }
            )
        with tracer.start_as_current_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                fast = self.fastpaths.answer(scope, headers) if self.fastpaths else None
                if fast is not None:
                    await fast(scope, receive, send_wrapper)
                else:
                    await self.app(scope, receive, send_wrapper)
            except Exception as exc:  # noqa: BLE001 - last resort: one error body, logged
                log.exception("unhandled error", extra={"fields": {"path": path}})
                span.record_exception(exc)
                if not started:
                    from api.errors import problem_response

                    resp = problem_response(
                        500,
                        "internal error; quote the request id when reporting it",
                        instance=path,
                        kind="internal",
                    )
                    await resp(scope, receive, send_wrapper)
                status = 500
            finally:
                route = _route_of(scope, status)
                elapsed = time.perf_counter() - start
                if span.is_recording():
                    span.update_name(f"{method} {route}")
                    attrs = {
                        "http.request.method": method,
                        "url.path": path,
                        "http.route": route,
                        "http.response.status_code": status,
                        "request.id": rid,
                    }
                    if ctx.principal:
                        attrs["enduser.id"] = ctx.principal
                    span.set_attributes(attrs)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                in_flight.dec()
                self._observe(method, route, status, elapsed)
                if log.isEnabledFor(logging.INFO):
                    client = scope.get("client")
                    # makeRecord + handle: the same record as log.info(), without the stack
                    # walk logging does to find the caller's file and line
                    log.handle(
                        log.makeRecord(
                            log.name,
                            logging.INFO,
                            __file__,
                            0,
                            "request",
                            None,
                            None,
                            extra={
                                "fields": {
                                    "method": method,
                                    "path": path,
                                    "route": route,
                                    "status": status,
                                    "duration_ms": round(elapsed * 1000, 3),
                                    "client": client[0] if client else None,
                                    "pid": os.getpid(),
                                }
                            },
                        )
                    )
                reset_context(token)
