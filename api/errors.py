"""One error body for every failure: RFC 9457 problem details (application/problem+json).

{"type": "https://nascar-pipeline.dev/problems/asset-not-found", "title": "Not Found",
 "status": 404, "detail": "...", "instance": "/v1/races/x/portfolio",
 "request_id": "...", "asset": "lineup_portfolio"}
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.context import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://nascar-pipeline.dev/problems/"
log = logging.getLogger("api.errors")


class Problem(BaseModel):
    """The error body (RFC 9457). Extra members name what failed (e.g. `asset`, `errors`)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class ApiError(Exception):
    """Raise from handlers and dependencies; rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int,
    detail: str | None,
    *,
    instance: str | None = None,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return Response(
        json.dumps(body, default=str).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


# Reusable OpenAPI declarations of the error responses.
def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {
            "description": HTTPStatus(code).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out


DATA_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 429, 500)


def api_error_response(exc: ApiError, path: str) -> Response:
    return problem_response(
        exc.status, exc.detail, instance=path, kind=exc.kind, headers=exc.headers, **exc.extra
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return api_error_response(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code)
        return problem_response(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            kind=kind,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return problem_response(
            422,
            "the request's parameters are not valid",
            instance=request.url.path,
            kind="validation",
            errors=errors,
        )

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(
            500,
            "internal error; quote the request id when reporting it",
            instance=request.url.path,
            kind="internal",
        )
