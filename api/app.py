"""The API app factory: `create_app()` (importable by any ASGI server; uvicorn with
`--factory api.app:create_app`, or `nascar-pipeline api`).

The lifespan owns the storage client (a StorageLayout on STORAGE_ROOT, local or S3) and the
read cache; every data route requires a principal (declared once per router: deps.AUTHENTICATED;
deny by default); /healthz, /readyz, /metrics and the docs are public.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api.auth import Authenticator
from api.deps import authenticated_routes
from api.docs import install_docs
from api.errors import Problem, install_error_handlers
from api.fastpath import FastPaths
from api.observability import Metrics, RequestMiddleware, configure_logging
from api.routers import health, races, reports, results
from api.settings import ApiSettings
from api.store import RaceStore
from nascar_pipeline import __version__
from nascar_pipeline.storage.layout import StorageLayout
from nascar_pipeline.telemetry import force_flush, setup_tracing

log = logging.getLogger("api.app")


def create_app(
    settings: ApiSettings | None = None,
    *,
    layout: StorageLayout | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    settings = settings or ApiSettings()
    if configure_logs:
        configure_logging(settings.log_level)
    setup_tracing("nascar-pipeline-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store_layout = layout or StorageLayout(settings.storage_root)
        app.state.store = RaceStore(
            store_layout, manifest_ttl_s=settings.manifest_ttl_s, max_items=settings.cache_max_items
        )
        log.info(
            "serving storage",
            extra={
                "fields": {
                    "storage": store_layout.root.protocol or "local",
                    "auth": {"jwt": settings.jwt_enabled, "api_keys": len(app.state.auth.keys)},
                }
            },
        )
        if settings.gc_freeze:
            # Everything imported and built so far lives as long as the process: move it out of
            # the collector's view, so a full collection scans only what requests allocate
            # (a full collection over pandas/pyarrow/FastAPI's objects paused every request
            # for 100+ ms).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            app.state.store.cache.clear()
            force_flush()

    app = FastAPI(
        title="nascar-pipeline API",
        version=__version__,
        description="Read-only access to materialized race results: projections, scenarios, "
        "ownership, portfolios, contest simulations and backtests. Every data "
        "response names its provenance (run id, code version, data version, "
        "written at) and carries an ETag.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry would add 3-4 spans per request on top of ours (one
        # server span per request, spans around storage reads): keep one, cheaper, set.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # our own /docs and /redoc (api/docs.py): pinned assets with SRI, under a CSP
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # No trailing-slash redirect: Starlette builds its 307's Location from the request's
        # Host header, i.e. a redirect to wherever the client says (before authentication).
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.auth = Authenticator(settings)
    app.state.metrics = Metrics()

    install_error_handlers(app)
    if settings.docs_enabled:
        install_docs(app)
    # Most-read routes first: Starlette matches routes in order.
    app.include_router(results.router)
    app.include_router(races.router)
    app.include_router(reports.router)
    app.include_router(health.router)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "X-Request-ID", "If-None-Match"],
            expose_headers=[
                "ETag",
                "X-Request-ID",
                "X-Run-Id",
                "X-Code-Version",
                "X-Data-Version",
                "X-Written-At",
                "Retry-After",
            ],
            max_age=600,
        )
    if settings.trusted_hosts:
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False
        )
    app.add_middleware(
        RequestMiddleware,
        metrics=app.state.metrics,
        fastpaths=FastPaths(app) if settings.fast_path else None,
    )

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        comps = schema.setdefault("components", {})
        comps.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        comps["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        # the operations whose routers declare authentication (deps.AUTHENTICATED)
        for route in authenticated_routes(app):
            for method in route.methods:
                op = schema["paths"][route.path_format][method.lower()]
                op["security"] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
