"""Public operational endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from api.deps import StoreDep
from api.errors import problem_response, problem_responses
from api.schemas import Health, Ready

router = APIRouter(tags=["operations"])
log = logging.getLogger("api.health")


@router.get("/healthz", response_model=Health, summary="Liveness (no I/O)")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get(
    "/readyz",
    response_model=Ready,
    responses=problem_responses(503),
    summary="Readiness: storage reachable and readable",
)
async def readyz(store: StoreDep) -> Response:
    try:
        info = await run_in_threadpool(store.ping)
    except Exception as exc:  # noqa: BLE001 - any storage failure means not ready
        log.warning("storage not ready: %s: %s", type(exc).__name__, exc)
        return problem_response(
            503,
            f"storage is not readable ({type(exc).__name__})",
            instance="/readyz",
            kind="not-ready",
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"status": "ready", "storage": _redact(store.root_uri), "races": info["races"]},
        headers={"Cache-Control": "no-store"},
    )


def _redact(uri: str) -> str:
    # Local paths are the server's business; show only the scheme and bucket of remote roots.
    if "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}"
    return "local"


@router.get(
    "/metrics",
    response_class=Response,
    include_in_schema=True,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    data = generate_latest(request.app.state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
