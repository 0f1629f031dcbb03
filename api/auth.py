"""Authentication (deny by default), authorization and per-principal rate limiting.

Credentials:
- `Authorization: Bearer <JWT>`: HS256 with API_JWT_SECRET, or RS256 with a key from
  API_JWKS_URL. The algorithm is pinned by configuration, never taken on the token's word:
  an HS256 token is only checked against the secret, an RS256 token only against the JWKS;
  `none` and every other algorithm are refused. `exp`, `aud`, `iss` and `sub` are required
  and checked (aud = API_JWT_AUDIENCE, iss = API_JWT_ISSUER).
- API keys for machine clients: `X-API-Key: npk_<id>_<secret>` (or as a Bearer token).
  Only the sha256 of each key is configured (API_KEYS_HASHED = `<id>:sha256:<hex>,...`);
  keys whose id (or digest) is in API_REVOKED_KEYS, or listed in API_REVOKED_KEYS_FILE
  (re-read when it changes, at most every API_REVOCATION_CHECK_S; `nascar-pipeline api-key
  revoke` appends to it), are refused without a restart.

With nothing configured every data endpoint answers 401. Failed checks answer 401 with a
`WWW-Authenticate` challenge of fixed text (never text from the request); the claims' types
are checked (`sub` a string, `exp` a number, `scope` a string or a list of strings). A valid
principal without the required scope gets 403; a principal over its rate gets 429 with
`Retry-After`; a client address that spent its failed-login budget (API_FAILED_AUTH_LIMIT)
gets 429 before its credential is checked. Limits are per process, or shared by every worker
and pod through PostgreSQL with API_RATE_LIMIT_DSN (api/ratelimit.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import jwt
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.context import get_context
from api.errors import ApiError
from api.ratelimit import PostgresRateLimiter, PostgresStore, RateLimiter
from api.settings import ApiSettings

__all__ = ["Authenticator", "Principal", "RateLimiter", "hash_api_key", "new_api_key"]
log = logging.getLogger("api.auth")

API_KEY_PREFIX = "npk_"
KEY_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
_TOKEN_CACHE_MAX = 4096


@dataclass(frozen=True)
class Principal:
    subject: str  # "jwt:<sub>" or "key:<id>"
    kind: str  # "jwt" | "api_key"
    scopes: frozenset[str] = field(default_factory=frozenset)


# The challenge's error codes (RFC 6750) and their fixed descriptions: a response header never
# carries text taken from the request (a token's `alg` or `kid` could hold CR/LF or characters
# outside latin-1: a 500, or header injection). The problem body says what failed.
_CHALLENGE_DESCRIPTIONS = {
    "invalid_token": "the access token is not valid",
    "invalid_request": "the request carries no well-formed credentials",
}


def _unauthorized(detail: str, error: str = "invalid_token") -> ApiError:
    challenge = 'Bearer realm="nascar-pipeline"'
    if error:
        challenge += f', error="{error}", error_description="{_CHALLENGE_DESCRIPTIONS[error]}"'
    return ApiError(401, detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


# ---- API keys ------------------------------------------------------------------------------
def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(key_id: str | None = None) -> tuple[str, str]:
    """A new random key and its config entry `<id>:sha256:<hex>` for API_KEYS_HASHED."""
    key_id = key_id or secrets.token_hex(4)
    if not KEY_ID_RE.match(key_id):
        raise ValueError(
            "a key id is 1-32 ASCII letters and digits (a header carries the key as ASCII)"
        )
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
        if not KEY_ID_RE.match(key_id):
            raise ValueError(
                f"API_KEYS_HASHED entry {key_id!r}: a key id is 1-32 ASCII letters and digits"
            )
        digest = digest.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"API_KEYS_HASHED entry for {key_id!r}: not a sha256 hex digest")
        out[digest] = key_id
    return out


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
        self._static_revoked = frozenset(r.strip().lower() for r in settings.revoked_keys)
        self.revoked = set(self._static_revoked)
        self._revocations_seen: tuple[int, int] | None = None
        self._revocations_checked = -math.inf
        self.limiter, self.failed_logins = _limiters(settings)
        self._cache: dict[str, tuple[Principal, float, str | None]] = {}
        self._lock = threading.Lock()
        self._refresh_revocations()

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.jwks or self.keys)

    # -- revocations: API_REVOKED_KEYS plus the file API_REVOKED_KEYS_FILE, re-read on change --
    def _refresh_revocations(self) -> None:
        path = self.settings.revoked_keys_file
        if not path:
            return
        now = time.monotonic()
        if now - self._revocations_checked < self.settings.revocation_check_s:
            return
        self._revocations_checked = now
        try:
            st = os.stat(path)
            seen = (st.st_mtime_ns, st.st_size, st.st_ino)
            if seen == self._revocations_seen:
                return
            with open(path, encoding="utf-8") as fh:
                listed = {
                    line.split("#", 1)[0].strip().lower()
                    for line in fh
                    if line.split("#", 1)[0].strip()
                }
        except FileNotFoundError:
            seen, listed = None, set()
        except OSError as exc:
            # keep the last list read (a revocation is never undone by a read error)
            log.warning("cannot read API_REVOKED_KEYS_FILE: %s", exc)
            return
        self._revocations_seen = seen
        self.revoked = set(self._static_revoked) | listed

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
        self._refresh_revocations()
        revoked = self.revoked
        return bool(revoked) and (digest in revoked or principal.subject[4:].lower() in revoked)

    def revoke(self, key_id_or_digest: str) -> None:
        """Revoke an API key (by id or sha256 digest) in this process, effective at once."""
        self._static_revoked = self._static_revoked | {key_id_or_digest.strip().lower()}
        self.revoked = self.revoked | {key_id_or_digest.strip().lower()}

    def check_api_key(self, key: str) -> Principal:
        digest = hash_api_key(key)
        key_id = None
        for known, kid in self.keys.items():
            if hmac.compare_digest(known, digest):
                key_id = kid
        if key_id is None:
            raise _unauthorized("unknown API key")
        principal = Principal(subject=f"key:{key_id}", kind="api_key")
        if self._is_revoked(principal, digest):
            raise _unauthorized("API key has been revoked")
        return principal

    def _jwt_key(self, token: str, alg):
        if alg == "HS256" and self.secret:
            return self.secret
        if alg == "RS256" and self.jwks is not None:
            try:
                return self.jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError:
                raise _unauthorized("no signing key for this token's kid") from None
        raise _unauthorized("the token's algorithm is not accepted")

    def check_jwt(self, token: str) -> tuple[Principal, float]:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("malformed token") from None
        alg = header.get("alg")
        kid = header.get("kid")
        if kid is not None and not (isinstance(kid, str) and _PRINTABLE_ASCII.match(kid)):
            raise _unauthorized("the token's kid is not printable ASCII")
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
        except jwt.exceptions.InvalidSubjectError:
            raise _unauthorized("the token's 'sub' claim must be a non-empty string") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"token is not valid ({type(exc).__name__})") from None
        sub, exp, scopes = _strict_claims(claims)
        principal = Principal(subject=f"jwt:{sub}", kind="jwt", scopes=scopes)
        return principal, exp

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

    # -- failed logins: a budget per client address (API_FAILED_AUTH_LIMIT) --
    def _refuse_if_locked_out(self, client: str | None) -> None:
        if client is None:
            return
        wait = self.failed_logins.peek(f"authfail:{client}")
        if wait > 0:
            raise _too_many(wait, self.failed_logins.limit, "too many failed logins from here")

    def _verify(self, cred: str, client: str | None, *, allow_fetch: bool) -> Principal | None:
        """`principal()` behind the failed-login budget: a client address over it gets 429
        before its credential is even checked; each credential refused counts against it."""
        self._refuse_if_locked_out(client)
        try:
            return self.principal(cred, allow_fetch=allow_fetch)
        except ApiError as exc:
            if exc.status == 401 and client is not None:
                self.failed_logins.hit(f"authfail:{client}")
            raise

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
            raise _too_many(
                wait, self.limiter.limit, f"rate limit {self.settings.rate_limit} exceeded"
            )
        return principal

    def authenticate_now(
        self, authorization: str | None, api_key: str | None, client: str | None = None
    ) -> Principal | None:
        """The whole check without blocking I/O; None when it needs I/O (a JWKS fetch, or a
        shared rate-limit store): nothing has been counted against any limit then."""
        if self.limiter.shared:
            return None
        principal = self._verify(self.credential(authorization, api_key), client, allow_fetch=False)
        return None if principal is None else self.admit(principal)

    def _authenticate_blocking(self, cred: str, client: str | None) -> Principal:
        return self.admit(self._verify(cred, client, allow_fetch=True))

    async def authenticate(self, request: Request) -> Principal:
        cred = self.credential(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        client = request.client.host if request.client else None
        if self.limiter.shared:
            # the shared store is a network round trip: keep it off the event loop
            return await run_in_threadpool(self._authenticate_blocking, cred, client)
        principal = self._verify(cred, client, allow_fetch=False)
        if principal is None:
            # a JWKS fetch may block: keep it off the event loop
            principal = await run_in_threadpool(self._verify, cred, client, allow_fetch=True)
        return self.admit(principal)


_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]{1,256}$")


def _strict_claims(claims: dict) -> tuple[str, float, frozenset[str]]:
    """`sub` a non-empty string, `exp` a finite number, `scope`/`scp` a space-separated string
    or a list of strings: anything else is a 401 naming the claim (never a 500)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 256:
        raise _unauthorized("the token's 'sub' claim must be a non-empty string")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise _unauthorized("the token's 'exp' claim must be a number")
    raw = claims.get("scope", claims.get("scp"))
    if raw is None:
        scopes: list = []
    elif isinstance(raw, str):
        scopes = raw.split()
    elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        scopes = raw
    else:
        raise _unauthorized("the token's 'scope' claim must be a string or a list of strings")
    return sub, float(exp), frozenset(scopes)


def _too_many(wait: float, limit: int, what: str) -> ApiError:
    retry = max(1, math.ceil(wait))
    return ApiError(
        429,
        f"{what}; retry in {retry} s",
        kind="rate-limited",
        headers={"Retry-After": str(retry), "RateLimit-Limit": str(limit)},
    )


def _limiters(settings: ApiSettings):
    """(per-principal limiter, failed-login limiter per client address): per process, or in
    PostgreSQL when API_RATE_LIMIT_DSN is set (api/ratelimit.py)."""
    rate, failed = RateLimiter(*settings.rate), RateLimiter(*settings.failed_auth_rate)
    dsn = settings.rate_limit_dsn.get_secret_value() if settings.rate_limit_dsn else None
    if not dsn:
        return rate, failed
    store = PostgresStore(dsn)
    return (
        PostgresRateLimiter(store, *settings.rate, fallback=rate),
        PostgresRateLimiter(store, *settings.failed_auth_rate, fallback=failed),
    )
