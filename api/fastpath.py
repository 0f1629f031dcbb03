"""Memory-only answers for the hottest read, sent by the request middleware before FastAPI's
routing, dependency solving and exception layers (which cost more than the read itself).

`FastPaths.answer(scope, headers)` returns the response to send, or None to let the request
take the ordinary route. It answers only what it can answer exactly as the route would:
- a GET without a query string of a route that declares itself fast-servable (`FastServable`, below: the portfolio),
  with a valid race key whose manifest is in memory (the route's stale-while-revalidate rule:
  api.reads.manifest_now) and whose rendered response (api.responses.Prepared) is cached under
  the route's declared key for the manifest's data version;
- no Origin header when CORS is configured (the CORS middleware sits behind this);
- after the same authentication as the route (Authenticator.authenticate_now: credential,
  verified principal, scope, per-principal rate limit, failed-login budget). Its 401/403/429
  are rendered as the route's error handler renders them. A token that needs a JWKS fetch, and
  every request when the rate limits live in a shared store (API_RATE_LIMIT_DSN: a network
  round trip), take the ordinary route before anything is counted against a limit.
Everything else (a first read, a TTL of 0, another route) takes the ordinary route,
which renders and caches the response. The middleware around both keeps the request id, the
span, the metrics and the JSON log line identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from api.deps import all_routes
from api.errors import ApiError, api_error_response
from api.reads import manifest_now
from api.responses import Prepared
from nascar_pipeline.core.slugs import is_valid_race_key


@dataclass(frozen=True)
class FastServable:
    """A route's declaration that its response, once rendered, may be sent from memory: it is
    the `Prepared` the route caches (store.memo) under `key(race_key, data_version)`, rendered
    from the race's manifest entry of `asset`. The route's path has a `{race_key}` parameter.
    Decorate the endpoint with it (under the router's decorator): `@router.get(...)` `@DECL`."""

    asset: str
    cache: str  # the first member of the cache key

    def key(self, race_key: str, data_version: str) -> tuple:
        return (self.cache, race_key, data_version)

    def __call__(self, endpoint):
        endpoint.fast_servable = self
        return endpoint


class FastPaths:
    def __init__(self, app):
        self.state = app.state
        self.cors = bool(app.state.settings.cors_origins)
        self.routes = [
            (route, route.endpoint.fast_servable)
            for route in all_routes(app.routes)
            if "GET" in (getattr(route, "methods", None) or ())
            and hasattr(getattr(route, "endpoint", None), "fast_servable")
        ]

    def answer(self, scope, headers: dict[bytes, bytes]) -> Response | None:
        if (
            scope["method"] != "GET"
            or scope.get("root_path")
            or scope.get("query_string")  # a query may change the answer (?contest_id=)
            or (self.cors and b"origin" in headers)
        ):
            return None
        path = scope["path"]
        for route, decl in self.routes:
            match = route.path_regex.match(path)
            if match is not None:
                return self._answer(scope, headers, route, decl, match["race_key"])
        return None

    def _answer(self, scope, headers, route, decl: FastServable, race_key: str):
        if not is_valid_race_key(race_key):
            return None
        store = getattr(self.state, "store", None)
        if store is None:
            return None
        manifest = manifest_now(store, race_key)  # as the route: memory only
        entry = manifest.get(decl.asset) if manifest else None
        if entry is None:
            return None
        prepared: Prepared | None = store.peek_memo(decl.key(race_key, entry.data_version))
        if prepared is None or prepared.entry.data_version != entry.data_version:
            return None
        scope["route"] = route  # for the metrics and span labels
        try:
            client = scope.get("client")
            auth = self.state.auth.authenticate_now(
                _text(headers.get(b"authorization")),
                _text(headers.get(b"x-api-key")),
                client[0] if client else None,
            )
        except ApiError as exc:
            return api_error_response(exc, scope["path"])
        if auth is None:  # needs a JWKS fetch
            del scope["route"]
            return None
        return prepared.response(_text(headers.get(b"if-none-match")))


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
