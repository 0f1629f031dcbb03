"""Authentication (deny by default), authorization and per-principal rate limiting.

Credentials:
- `Authorization: Bearer <JWT>`: HS256 with API_JWT_SECRET, or RS256 with a key from
  API_JWKS_URL. The algorithm is pinned by configuration, never taken on the token's word:
  an HS256 token is only checked against the secret, an RS256 token only against the JWKS;
  `none` and every other algorithm are refused. `exp`, `aud`, `iss` and `sub` are required
  and checked (aud = API_JWT_AUDIENCE, iss = API_JWT_ISSUER).
- API keys for machine clients: `X-API-Key: npk_<id>_<secret>` (or as a Bearer token).
  Only the sha256 of each key is configured (API_KEYS_HASHED = `<id>:sha256:<hex>,...`);
  keys whose id (or digest) is in API_REVOKED_KEYS are refused.

With nothing configured every data endpoint answers 401. Failed checks answer 401 with a
`WWW-Authenticate` challenge; a valid principal without the required scope gets 403; a
principal over its rate gets 429 with `Retry-After`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import jwt
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.context import get_context
from api.errors import ApiError
from api.settings import ApiSettings

API_KEY_PREFIX = "npk_"
_TOKEN_CACHE_MAX = 4096


@dataclass(frozen=True)
class Principal:
    subject: str  # "jwt:<sub>" or "key:<id>"
    kind: str  # "jwt" | "api_key"
    scopes: frozenset[str] = field(default_factory=frozenset)


def _unauthorized(detail: str, error: str = "invalid_token") -> ApiError:
    challenge = 'Bearer realm="nascar-pipeline"'
    if error:
        safe = detail.replace('"', "'")
        challenge += f', error="{error}", error_description="{safe}"'
    return ApiError(401, detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


# ---- API keys ------------------------------------------------------------------------------
def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(key_id: str | None = None) -> tuple[str, str]:
    """A new random key and its config entry `<id>:sha256:<hex>` for API_KEYS_HASHED."""
    key_id = key_id or secrets.token_hex(4)
    if not key_id.isalnum():
        raise ValueError("a key id is letters and digits only")
    key = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key, f"{key_id}:sha256:{hash_api_key(key)}"


def parse_key_entries(entries: list[str]) -> dict[str, str]:
    """`<id>:sha256:<hex>` (or `sha256:<hex>`) -> {hex digest: id}."""
    out: dict[str, str] = {}
    for raw in entries:
        parts = raw.strip().split(":")
        if len(parts) == 2:
            parts = [parts[1][:8], *parts]
        if len(parts) != 3 or parts[1].lower() != "sha256":
            raise ValueError(f"API_KEYS_HASHED entry {raw!r}: expected <id>:sha256:<64 hex digits>")
        key_id, _, digest = parts
        digest = digest.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"API_KEYS_HASHED entry for {key_id!r}: not a sha256 hex digest")
        out[digest] = key_id
    return out


# ---- rate limiting ---------------------------------------------------------------------------
class RateLimiter:
    """A token bucket per principal: `limit` requests per `period` seconds, bursts up to
    `limit`. In-process (one server process); thread-safe."""

    def __init__(self, limit: int, period: float, max_principals: int = 100_000):
        self.limit = limit
        self.period = period
        self.rate = limit / period if period else 0.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_principals
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else the seconds to wait."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait


# ---- the authenticator ------------------------------------------------------------------------
class Authenticator:
    def __init__(self, settings: ApiSettings):
        self.settings = settings
        self.secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self.jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if settings.jwks_url
            else None
        )
        self.keys = parse_key_entries(settings.keys_hashed)
        self.revoked = {r.strip().lower() for r in settings.revoked_keys}
        self.limiter = RateLimiter(*settings.rate)
        self._cache: dict[str, tuple[Principal, float, str | None]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.jwks or self.keys)

    # -- cache of verified credentials (JWT until exp; keys for a minute) --
    # Signature checks are deterministic, so a verified token stays valid until its `exp`;
    # API keys are re-checked against the revocation list on every use (see `revoke`).
    def _cached(self, cred: str) -> Principal | None:
        hit = self._cache.get(cred)
        if hit is None:
            return None
        principal, until, digest = hit
        if time.time() >= until or (digest is not None and self._is_revoked(principal, digest)):
            with self._lock:
                self._cache.pop(cred, None)
            return None
        return principal

    def _remember(
        self, cred: str, principal: Principal, until: float, digest: str | None = None
    ) -> None:
        with self._lock:
            self._cache[cred] = (principal, until, digest)
            while len(self._cache) > _TOKEN_CACHE_MAX:
                self._cache.pop(next(iter(self._cache)))

    def _is_revoked(self, principal: Principal, digest: str) -> bool:
        revoked = self.revoked
        return bool(revoked) and (digest in revoked or principal.subject[4:].lower() in revoked)

    def revoke(self, key_id_or_digest: str) -> None:
        """Revoke an API key (by id or sha256 digest) in this process, effective at once."""
        self.revoked = self.revoked | {key_id_or_digest.strip().lower()}

    def check_api_key(self, key: str) -> Principal:
        digest = hash_api_key(key)
        key_id = None
        for known, kid in self.keys.items():
            if hmac.compare_digest(known, digest):
                key_id = kid
        if key_id is None:
            raise _unauthorized("unknown API key")
        if key_id.lower() in self.revoked or digest in self.revoked:
            raise _unauthorized("API key has been revoked")
        return Principal(subject=f"key:{key_id}", kind="api_key")

    def _jwt_key(self, token: str, alg: str | None):
        if alg == "HS256" and self.secret:
            return self.secret
        if alg == "RS256" and self.jwks is not None:
            try:
                return self.jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise _unauthorized(f"no signing key for this token: {exc}") from None
        raise _unauthorized(f"token algorithm {alg!r} is not accepted")

    def check_jwt(self, token: str) -> tuple[Principal, float]:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("malformed token") from None
        alg = header.get("alg")
        key = self._jwt_key(token, alg)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway_s,
                options={"require": ["exp", "aud", "iss", "sub"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token has expired") from None
        except jwt.InvalidAudienceError:
            raise _unauthorized("token audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise _unauthorized("token issuer is not accepted") from None
        except jwt.InvalidSignatureError:
            raise _unauthorized("token signature is not valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"token is not valid ({type(exc).__name__})") from None
        scopes = claims.get("scope") or claims.get("scp") or ""
        if isinstance(scopes, str):
            scopes = scopes.split()
        principal = Principal(
            subject=f"jwt:{claims['sub']}", kind="jwt", scopes=frozenset(str(x) for x in scopes)
        )
        return principal, float(claims["exp"])

    # -- the request path: credential -> principal -> scope and rate checks --
    def credential(self, authorization: str | None, api_key: str | None) -> str:
        """The credential a request carries (401 when there is none or it is malformed)."""
        if not self.enabled:
            raise _unauthorized(
                "authentication is not configured on this server; data endpoints are closed",
                error="",
            )
        if authorization:
            scheme, _, cred = authorization.partition(" ")
            cred = cred.strip()
            if scheme.lower() != "bearer" or not cred:
                raise _unauthorized(
                    "expected `Authorization: Bearer <token>`", error="invalid_request"
                )
            return cred
        if api_key:
            return api_key.strip()
        raise _unauthorized("credentials are required (Bearer JWT or X-API-Key)", error="")

    def principal(self, cred: str, *, allow_fetch: bool = False) -> Principal | None:
        """The verified principal of `cred` (401 when it is not valid). Without `allow_fetch`,
        None when verifying would need a JWKS fetch (the caller then verifies in a thread)."""
        principal = self._cached(cred)
        if principal is not None:
            return principal
        if cred.startswith(API_KEY_PREFIX):
            principal = self.check_api_key(cred)
            self._remember(cred, principal, time.time() + 60, hash_api_key(cred))
            return principal
        if self.jwks is not None and not allow_fetch:
            return None
        principal, exp = self.check_jwt(cred)
        self._remember(cred, principal, exp + self.settings.jwt_leeway_s)
        return principal

    def admit(self, principal: Principal) -> Principal:
        """Scope check (403), then the principal's rate limit (429 with Retry-After)."""
        if (
            self.settings.required_scope
            and principal.kind == "jwt"
            and self.settings.required_scope not in principal.scopes
        ):
            raise ApiError(
                403, f"the token lacks the scope {self.settings.required_scope!r}", kind="forbidden"
            )
        ctx = get_context()
        if ctx is not None:
            ctx.principal = principal.subject
            ctx.auth_kind = principal.kind
        wait = self.limiter.hit(principal.subject)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"rate limit {self.settings.rate_limit} exceeded; retry in {retry} s",
                kind="rate-limited",
                headers={"Retry-After": str(retry), "RateLimit-Limit": str(self.limiter.limit)},
            )
        return principal

    def authenticate_now(self, authorization: str | None, api_key: str | None) -> Principal | None:
        """The whole check without blocking I/O; None when a JWKS fetch is needed (nothing
        has been counted against the rate limit then)."""
        principal = self.principal(self.credential(authorization, api_key))
        return None if principal is None else self.admit(principal)

    async def authenticate(self, request: Request) -> Principal:
        cred = self.credential(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        principal = self.principal(cred)
        if principal is None:
            # a JWKS fetch may block: keep it off the event loop
            principal = await run_in_threadpool(self.principal, cred, allow_fetch=True)
        return self.admit(principal)
