"""The API's settings: one pydantic-settings class, read from the environment (prefix API_).

Auth is deny-by-default: with neither a JWT secret / JWKS URL nor API keys configured, every
data endpoint answers 401. Storage comes from STORAGE_ROOT, exactly as for the pipeline
(default: the embedded default's storage folder, see nascar_pipeline.settings).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nascar_pipeline.settings import storage_root

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day|s|m|h|d)\s*$")
_PERIODS = {
    "second": 1,
    "s": 1,
    "minute": 60,
    "m": 60,
    "hour": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
}


def _split(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", populate_by_name=True)

    # ---- storage -----------------------------------------------------------------------
    storage_root: str = Field(
        default_factory=storage_root,
        validation_alias=AliasChoices("STORAGE_ROOT", "API_STORAGE_ROOT", "storage_root"),
        description="folder, file:// or s3://bucket/prefix (same variable as the pipeline)",
    )
    manifest_ttl_s: float = Field(
        2.0, ge=0, description="seconds a race's manifest is trusted before it is re-read"
    )
    cache_max_items: int = Field(256, ge=1, description="cached frames and bodies (LRU)")

    # ---- auth ----------------------------------------------------------------------------
    jwt_secret: SecretStr | None = Field(None, description="HS256 shared secret")
    jwks_url: str | None = Field(None, description="JWKS URL for RS256 tokens")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_s: int = Field(0, ge=0, le=300)
    required_scope: str | None = Field(
        None, description="when set, JWTs must carry it in `scope`/`scp`, else 403"
    )
    keys_hashed: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="API keys as `<key id>:sha256:<hex>` (comma-separated); "
        "`nascar-pipeline api-key new` makes one",
    )
    revoked_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="revoked API key ids (or sha256 hex digests)"
    )
    revoked_keys_file: str | None = Field(
        None,
        description="a file of revoked key ids or digests (one a line, # comments), re-read "
        "when it changes: a revocation takes effect without a restart "
        "(`nascar-pipeline api-key revoke ID`)",
    )
    revocation_check_s: float = Field(
        1.0, ge=0, le=300, description="seconds between checks of API_REVOKED_KEYS_FILE"
    )

    # ---- web -----------------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit: str = Field("120/minute", description="per principal, e.g. 120/minute; 0/... off")
    failed_auth_limit: str = Field(
        "30/minute",
        description="refused credentials per client address before its requests get 429 "
        "(the peer address: behind a proxy, the proxy's)",
    )
    rate_limit_dsn: SecretStr | None = Field(
        None,
        description="PostgreSQL URL of a store shared by every worker and pod for the rate "
        "limits (fixed windows); unset: per process (single node). Fails open to per process "
        "with a warning while the store is down",
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host header values served (e.g. api.example.com,*.example.com); others "
        "get 400. Unset: any (the API never redirects to a client-supplied Host either way)",
    )
    # ---- the HTTP server (api/serve.py) ---------------------------------------------------
    max_header_bytes: int = Field(
        32768, ge=1024, description="request line and headers larger than this get 431"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="a request's line and headers must arrive within this time"
    )
    keep_alive_s: int = Field(5, ge=1, description="idle keep-alive connections close after it")
    limit_concurrency: int | None = Field(
        1024, ge=1, description="open connections + tasks per worker beyond which 503"
    )
    docs_enabled: bool = True
    gc_freeze: bool = Field(
        True,
        description="gc.freeze() after startup: full collections then skip the "
        "long-lived startup objects (no 100+ ms pauses under load)",
    )
    fast_path: bool = Field(
        True,
        description="answer cached portfolio reads from memory before FastAPI's routing "
        "(same auth, headers, logs and metrics; api/fastpath.py)",
    )
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    @field_validator("keys_hashed", "revoked_keys", "cors_origins", "trusted_hosts", mode="before")
    @classmethod
    def _comma_list(cls, v):
        return _split(v)

    @field_validator("rate_limit", "failed_auth_limit")
    @classmethod
    def _rate(cls, v: str) -> str:
        if not _RATE_RE.match(v):
            raise ValueError("a rate limit looks like 120/minute (second|minute|hour|day)")
        return v

    @field_validator("revoked_keys_file", mode="before")
    @classmethod
    def _blank_file(cls, v):
        return v or None

    @field_validator("rate_limit_dsn", mode="before")
    @classmethod
    def _blank_dsn(cls, v):
        return v or None

    @field_validator("jwks_url", "jwt_audience", "jwt_issuer", "required_scope", mode="before")
    @classmethod
    def _blank_none(cls, v):
        return v or None

    @field_validator("jwt_secret", mode="before")
    @classmethod
    def _blank_secret(cls, v):
        return v or None

    @model_validator(mode="after")
    def _jwt_complete(self) -> ApiSettings:
        if (self.jwt_secret or self.jwks_url) and not (self.jwt_audience and self.jwt_issuer):
            raise ValueError(
                "API_JWT_AUDIENCE and API_JWT_ISSUER are required with "
                "API_JWT_SECRET or API_JWKS_URL (aud and iss are always checked)"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("API_JWT_SECRET must be at least 32 characters (HS256 key strength)")
        return self

    @property
    def rate(self) -> tuple[int, int]:
        """(requests, period seconds)."""
        return _parse_rate(self.rate_limit)

    @property
    def failed_auth_rate(self) -> tuple[int, int]:
        """(refused credentials, period seconds) per client address."""
        return _parse_rate(self.failed_auth_limit)

    @property
    def jwt_enabled(self) -> bool:
        return bool(self.jwt_secret or self.jwks_url)


def _parse_rate(text: str) -> tuple[int, int]:
    m = _RATE_RE.match(text)
    assert m
    return int(m.group(1)), _PERIODS[m.group(2)]
