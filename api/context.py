"""Per-request context (request id, principal) shared by middleware, auth, logs and errors.

The middleware puts one mutable `RequestContext` in a context variable; dependencies fill in
the principal (also from the threadpool: contextvars are copied, the object is shared)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass
class RequestContext:
    request_id: str
    principal: str | None = None
    auth_kind: str | None = None


_ctx: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "api_request_context", default=None
)


def set_context(ctx: RequestContext) -> contextvars.Token:
    return _ctx.set(ctx)


def reset_context(token: contextvars.Token) -> None:
    _ctx.reset(token)


def get_context() -> RequestContext | None:
    return _ctx.get()


def current_request_id() -> str | None:
    ctx = _ctx.get()
    return ctx.request_id if ctx else None
