"""Request observability in one pure-ASGI middleware: request id (X-Request-ID in and out),
one JSON log line per request with the principal, an OpenTelemetry server span, and Prometheus
request metrics. Unhandled errors become a problem+json 500 here, so they carry the request id.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

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

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
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
        self.requests = Counter("api_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "api_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.in_flight = Gauge("api_requests_in_flight", "HTTP requests being served",
                               registry=self.registry)


def _route_of(scope, status: int) -> str:
    route = getattr(scope.get("route"), "path", None)
    if route:
        return route
    # Plain Starlette routes (the docs) match a fixed path; anything else stays one label.
    return scope.get("path", "") if status < 400 and scope.get("path") in _FIXED else "unmatched"


_FIXED = {"/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}


class RequestMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        rid = None
        carrier = {}
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                rid = v.decode("latin-1")
            elif k in (b"traceparent", b"tracestate"):
                carrier[k.decode()] = v.decode("latin-1")
        if not rid or not _REQUEST_ID_RE.match(rid):
            rid = uuid.uuid4().hex
        ctx = RequestContext(request_id=rid)
        token = set_context(ctx)
        method = scope.get("method", "GET")
        status = 500
        started = False
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        self.metrics.in_flight.inc()
        parent = propagate.extract(carrier) if carrier else None
        with tracer.start_as_current_span(f"{method} {scope.get('path', '')}",
                                          context=parent, kind=SpanKind.SERVER,
                                          record_exception=False,
                                          set_status_on_exception=False) as span:
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:  # noqa: BLE001 - last resort: one error body, logged
                log.exception("unhandled error", extra={"fields": {"path": scope.get("path")}})
                span.record_exception(exc)
                if not started:
                    from api.errors import problem_response

                    resp = problem_response(
                        500, "internal error; quote the request id when reporting it",
                        instance=scope.get("path"), kind="internal")
                    await resp(scope, receive, send_wrapper)
                status = 500
            finally:
                route = _route_of(scope, status)
                elapsed = time.perf_counter() - start
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("url.path", scope.get("path", ""))
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("request.id", rid)
                if ctx.principal:
                    span.set_attribute("enduser.id", ctx.principal)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                self.metrics.in_flight.dec()
                self.metrics.requests.labels(method, route, str(status)).inc()
                self.metrics.latency.labels(method, route).observe(elapsed)
                if log.isEnabledFor(logging.INFO):
                    client = scope.get("client")
                    log.info("request", extra={"fields": {
                        "method": method, "path": scope.get("path"), "route": route,
                        "status": status, "duration_ms": round(elapsed * 1000, 3),
                        "client": client[0] if client else None}})
                reset_context(token)
