"""Memory-only answers for the hottest read, sent by the request middleware before FastAPI's
routing, dependency solving and exception layers (which cost more than the read itself).

`FastPaths.answer(scope, headers)` returns the response to send, or None to let the request
take the ordinary route. It answers only what it can answer exactly as the route would:
- GET /v1/races/{race_key}/portfolio with a valid race key whose manifest is in memory (the
  route's stale-while-revalidate rule: api.routers.common.manifest_now) and whose rendered
  response (api.routers.common.Prepared) is cached for the manifest's data version;
- no Origin header when CORS is configured (the CORS middleware sits behind this);
- after the same authentication as the route (Authenticator.authenticate_now: credential,
  verified principal, scope, per-principal rate limit). Its 401/403/429 are rendered as the
  route's error handler renders them. A token that needs a JWKS fetch takes the ordinary route
  before anything is counted against the rate limit.
Everything else (a first read, a TTL of 0, another route) takes the ordinary route,
which renders and caches the response. The middleware around both keeps the request id, the
span, the metrics and the JSON log line identical.
"""

from __future__ import annotations

from starlette.responses import Response

from api.errors import ApiError, api_error_response
from api.routers.common import CachedResponse, Prepared, manifest_now
from api.routers.results import portfolio_key
from nascar_pipeline.core.slugs import is_valid_race_key

_PREFIX = "/v1/races/"
_SUFFIX = "/portfolio"


class FastPaths:
    def __init__(self, app):
        self.state = app.state
        self.cors = bool(app.state.settings.cors_origins)
        self.portfolio_route = _find_route(app.routes, _PREFIX + "{race_key}" + _SUFFIX, "GET")

    def answer(self, scope, headers: dict[bytes, bytes]) -> Response | None:
        path = scope["path"]
        if (
            scope["method"] != "GET"
            or not path.startswith(_PREFIX)
            or not path.endswith(_SUFFIX)
            or scope.get("root_path")
            or self.portfolio_route is None
            or (self.cors and b"origin" in headers)
        ):
            return None
        race_key = path[len(_PREFIX) : -len(_SUFFIX)]
        if "/" in race_key or not is_valid_race_key(race_key):
            return None
        store = getattr(self.state, "store", None)
        if store is None:
            return None
        manifest = manifest_now(store, race_key)  # as the route: memory only
        entry = manifest.get("lineup_portfolio") if manifest else None
        if entry is None:
            return None
        prepared: Prepared | None = store.cache.get(
            ("memo", *portfolio_key(race_key, entry.data_version))
        )
        if prepared is None or prepared.entry.data_version != entry.data_version:
            return None
        scope["route"] = self.portfolio_route  # for the metrics and span labels
        try:
            auth = self.state.auth.authenticate_now(
                _text(headers.get(b"authorization")), _text(headers.get(b"x-api-key"))
            )
        except ApiError as exc:
            return api_error_response(exc, path)
        if auth is None:  # needs a JWKS fetch
            del scope["route"]
            return None
        inm = headers.get(b"if-none-match")
        if inm is not None and prepared.not_modified(inm.decode("latin-1")):
            return CachedResponse(304, prepared.not_modified_headers, b"")
        return CachedResponse(200, prepared.ok_headers, prepared.body)


def _find_route(routes, path: str, method: str):
    """The route serving `method path` (FastAPI nests included routers)."""
    for r in routes:
        if getattr(r, "path", None) == path and method in (getattr(r, "methods", None) or ()):
            return r
        inner = getattr(r, "original_router", None) or getattr(r, "router", None)
        found = _find_route(getattr(inner, "routes", ()), path, method) if inner else None
        if found is not None:
            return found
    return None


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
