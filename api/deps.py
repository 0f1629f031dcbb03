"""The routes' dependencies, as Annotated types: settings, store, principal, and the path and
query parameters that are validated before any storage call."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.routing import APIRoute

from api.auth import Principal
from api.errors import ApiError
from api.schemas import TableQuery
from api.settings import ApiSettings
from api.store import RaceStore
from nascar_pipeline.core.slugs import MAX_RACE_KEY_LEN, RACE_KEY_RE, is_valid_race_key

ASSET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# ---- the app's state ------------------------------------------------------------------------
async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


async def get_store(request: Request) -> RaceStore:
    return request.app.state.store


async def require_principal(request: Request) -> Principal:
    """Declared once per data router (`APIRouter(dependencies=[AUTHENTICATED])`)."""
    return await request.app.state.auth.authenticate(request)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[RaceStore, Depends(get_store)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]
AUTHENTICATED = Depends(require_principal)


async def _if_none_match(request: Request) -> str | None:
    return request.headers.get("if-none-match")


# The conditional-request header every data route answers (api/responses.py); read from the
# request rather than declared as a parameter, which would put it in every operation's schema.
IfNoneMatch = Annotated[str | None, Depends(_if_none_match)]


# ---- path parameters --------------------------------------------------------------------------
async def _race_key(
    race_key: Annotated[
        str,
        Path(
            description="race key: a slug of lower-case letters, digits and single hyphens "
            "(anything else is a 400 before any storage read)",
            examples=["2027-daytona-daytona-500"],
            # documented, not enforced by FastAPI: the check below answers 400 with a clear body
            json_schema_extra={"pattern": RACE_KEY_RE.pattern, "maxLength": MAX_RACE_KEY_LEN},
        ),
    ],
) -> str:
    if not is_valid_race_key(race_key):
        raise ApiError(
            400,
            "race key is not a valid slug ([a-z0-9] words joined by single "
            "hyphens, at most 96 characters)",
            kind="invalid-race-key",
        )
    return race_key


async def _asset(
    asset: Annotated[
        str,
        Path(
            description="asset name, e.g. driver_projections",
            examples=["driver_projections"],
            json_schema_extra={"pattern": ASSET_NAME_RE.pattern},
        ),
    ],
) -> str:
    if not ASSET_NAME_RE.match(asset):
        raise ApiError(400, "asset name is not valid ([a-z][a-z0-9_]*)", kind="invalid-asset")
    return asset


RaceKey = Annotated[str, Depends(_race_key)]
AssetName = Annotated[str, Depends(_asset)]


# ---- the table query (columns, sort, page): one query-parameter model -------------------------
TableQueryDep = Annotated[TableQuery, Query()]


# ---- which routes require a principal (the OpenAPI security, the deny-by-default test) -------
def authenticated_routes(app) -> list[APIRoute]:
    """The app's routes that require a principal (every other route is public)."""
    return [
        route
        for route in all_routes(app.routes)
        if isinstance(route, APIRoute)
        and any(d.call is require_principal for d in route.dependant.dependencies)
    ]


def all_routes(routes):
    """Every route, FastAPI's included routers flattened."""
    for r in routes:
        yield r
        inner = getattr(r, "original_router", None) or getattr(r, "router", None)
        if inner is not None:
            yield from all_routes(getattr(inner, "routes", ()))
