"""Every environment variable the pipeline reads, in one pydantic-settings class.

`get_settings()` returns a `PipelineSettings` read from the environment; every other module of
the pipeline asks it instead of `os.environ` (a test enforces that). Each field's description is
its documentation; the field's `validation_alias` is the variable. The API has its own class
(api/settings.py, prefix API_) and shares STORAGE_ROOT with this one.

`get_settings()` builds a fresh object on every call, with no cache: tests change the
environment between calls (monkeypatch), commands set DAGSTER_HOME before Dagster reads it, and
the automation re-reads its knobs at each tick so operators retune without a redeploy. A build
costs about a millisecond and nothing calls it in a hot loop, so a cache (and the reset every
test would then need) buys nothing.

The module-level functions below (`pipeline_home()`, `world_dir()`, `storage_root()`,
`neo4j_configured()`, `jax_cache_dir()`) are for the transition: thin wrappers over
`get_settings()` kept so modules not yet migrated keep working. New code calls `get_settings()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nascar_pipeline.errors import SettingsError

# NASCAR_JAX_CACHE values that turn the persistent compilation cache off.
JAX_CACHE_OFF = ("off", "0", "none", "false")


def _default_home() -> Path:
    # per user, not per folder: `build`, `races`, `export` and the API find a race's results
    # whatever folder they are run from
    return Path.home() / ".nascar-pipeline"


def _parse_pool_limits(raw: Any) -> dict[str, int]:
    """`neo4j=4,mcmc=1` -> {"neo4j": 4, "mcmc": 1}; a dict passes through."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    limits: dict[str, int] = {}
    for part in str(raw).split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise ValueError(f"NASCAR_POOL_LIMITS: {part!r} is not pool=limit")
        limits[name.strip()] = int(value)
    return limits


class PipelineSettings(BaseSettings):
    """The pipeline's environment. Empty variables count as unset (`FOO=` keeps the default)."""

    # No populate_by_name: with it, pydantic-settings also reads each field's own name from the
    # environment (`home` would come from HOME). Construct with the variable names as keywords.
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, frozen=True)

    # ---- where things live (embedded default) -----------------------------------------------
    home: Path = Field(
        default_factory=_default_home,
        validation_alias="NASCAR_PIPELINE_HOME",
        description="the embedded default's home: the demo world, local Parquet storage, "
        "Dagster's local home, caches, logs (default ~/.nascar-pipeline, per user)",
    )
    world_dir_override: Path | None = Field(
        None,
        validation_alias="NASCAR_WORLD_DIR",
        description="folder of the embedded demo world's Parquet tables (default <home>/world)",
    )
    storage_root_override: str | None = Field(
        None,
        validation_alias="STORAGE_ROOT",
        description="where assets are written: a folder, file://... or s3://bucket/prefix "
        "(default <home>/storage; the API reads the same variable)",
    )
    shared_data: Path | None = Field(
        None,
        validation_alias="NASCAR_SHARED_DATA",
        description="folder of the real NASCAR data (history/, draftkings/, ...): the default "
        "input of `nascar-pipeline backtest`; unset: pass the files explicitly",
    )
    jax_cache: str | None = Field(
        None,
        validation_alias="NASCAR_JAX_CACHE",
        description="JAX's persistent compilation cache folder (default <home>/cache/jax); "
        f"one of {', '.join(JAX_CACHE_OFF)} turns the cache off",
    )
    dagster_home: Path | None = Field(
        None,
        validation_alias="DAGSTER_HOME",
        description="Dagster's instance folder; unset: `dev`, `demo` and `backfill` use a "
        "local one under <home>",
    )

    # ---- Neo4j (races from the ontology instead of the embedded world) --------------------
    neo4j_uri: str | None = Field(
        None,
        validation_alias="NEO4J_URI",
        description="bolt/neo4j URI; set: races come from Neo4j instead of the embedded world",
    )
    neo4j_user: str = Field("neo4j", validation_alias="NEO4J_USER", description="Neo4j user")
    neo4j_password: SecretStr | None = Field(
        None, validation_alias="NEO4J_PASSWORD", description="Neo4j password"
    )
    neo4j_database: str | None = Field(
        None,
        validation_alias="NEO4J_DATABASE",
        description="Neo4j database (default: the server's default database)",
    )

    # ---- S3 (credentials stay in the environment, read by botocore itself) ----------------
    aws_endpoint_url: str | None = Field(
        None,
        validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        description="S3 endpoint (MinIO, moto, ...); AWS_ENDPOINT_URL_S3 wins over "
        "AWS_ENDPOINT_URL; unset: AWS",
    )
    aws_region: str | None = Field(
        None,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="S3 region; AWS_REGION wins over AWS_DEFAULT_REGION",
    )

    # ---- automation ----------------------------------------------------------------------
    sensor_interval_seconds: int = Field(
        60,
        ge=5,
        validation_alias="NASCAR_SENSOR_INTERVAL_SECONDS",
        description="how often race_sensor and results_sensor poll the race source",
    )
    lock_window_hours: int = Field(
        72,
        ge=1,
        validation_alias="NASCAR_LOCK_WINDOW_HOURS",
        description="pre_lock_schedule looks at races locking within this many hours",
    )
    pre_lock_cron: str = Field(
        "*/15 * * * *",
        validation_alias="NASCAR_PRE_LOCK_CRON",
        description="cron of pre_lock_schedule",
    )
    race_run_config: Path | None = Field(
        None,
        validation_alias="NASCAR_RACE_RUN_CONFIG",
        description="YAML run config attached to every race_job run the automation requests "
        "(e.g. `ops: {race_model_fit: {config: {draws: 400}}}`); read at each tick",
    )
    pool_limits: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        validation_alias="NASCAR_POOL_LIMITS",
        description='concurrency pool limits over the defaults, e.g. "neo4j=4,mcmc=1"',
    )
    k8s_mcmc_config: str | None = Field(
        None,
        validation_alias="NASCAR_K8S_MCMC_CONFIG",
        description="dagster-k8s/config tag (JSON) for the MCMC fit's step pods (resources, "
        "node selector); set by the Helm chart",
    )

    ready_hours_before_lock: float = Field(
        2.0,
        ge=0,
        validation_alias="NASCAR_READY_HOURS_BEFORE_LOCK",
        description="a race must have its lineups materialized and checked at least this many "
        "hours before lock; race_readiness_sensor alerts once when one is not",
    )
    slate_quiet_seconds: int = Field(
        300,
        ge=0,
        validation_alias="NASCAR_SLATE_QUIET_SECONDS",
        description="race_sensor starts a run for an incomplete slate (entries, DK salaries, "
        "contest or starting grid missing) only after it has not changed for this long",
    )

    alert_webhook_url: SecretStr | None = Field(
        None,
        validation_alias="NASCAR_ALERT_WEBHOOK_URL",
        description="generic JSON / Slack-compatible webhook the alert sensors post to; unset: "
        "alerting is off (a secret: never logged)",
    )

    # ---- OpenTelemetry (the standard OTEL_* variables the pipeline itself reads) ----------
    otel_sdk_disabled: bool = Field(
        False,
        validation_alias="OTEL_SDK_DISABLED",
        description="true (any case): no spans are recorded at all; any other value: enabled",
    )
    otel_service_name: str | None = Field(
        None,
        validation_alias="OTEL_SERVICE_NAME",
        description="service name of the spans (default: the caller's, e.g. nascar-pipeline)",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/HTTP collector; set (or the traces endpoint): spans are exported",
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        None,
        validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        description="OTLP/HTTP traces endpoint (overrides OTEL_EXPORTER_OTLP_ENDPOINT for spans)",
    )

    @field_validator("home")
    @classmethod
    def _resolve_home(cls, v: Path) -> Path:
        return v.resolve()

    @field_validator("pool_limits", mode="before")
    @classmethod
    def _pool_limits(cls, v: Any) -> dict[str, int]:
        return _parse_pool_limits(v)

    @field_validator("otel_sdk_disabled", mode="before")
    @classmethod
    def _otel_disabled(cls, v: Any) -> bool:
        # The OTel spec: only "true" (case-insensitive) disables; anything else is not an error.
        return v if isinstance(v, bool) else str(v).strip().lower() == "true"

    # ---- derived values --------------------------------------------------------------------
    @property
    def world_dir(self) -> Path:
        return self.world_dir_override or self.home / "world"

    @property
    def storage_root(self) -> str:
        return self.storage_root_override or str(self.home / "storage")

    @property
    def neo4j_configured(self) -> bool:
        return bool(self.neo4j_uri)

    @property
    def jax_cache_dir(self) -> Path | None:
        """The compilation cache folder, or None when NASCAR_JAX_CACHE turns it off."""
        if self.jax_cache is None:
            return self.home / "cache" / "jax"
        if self.jax_cache.strip().lower() in JAX_CACHE_OFF:
            return None
        return Path(self.jax_cache)

    @property
    def otlp_configured(self) -> bool:
        return bool(self.otel_exporter_otlp_traces_endpoint or self.otel_exporter_otlp_endpoint)


def get_settings() -> PipelineSettings:
    """The environment as it is now (a fresh read each call; see the module docstring).

    A bad value raises SettingsError (a UserInputError: the CLI prints it and exits 2) that
    names each variable, its value and the problem."""
    try:
        return PipelineSettings()
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    """One line per bad variable: `NAME='value': problem`."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "environment"
        message = err["msg"].removeprefix("Value error, ").removeprefix(f"{name}: ")
        lines.append(f"{name}={err.get('input')!r}: {message}")
    return "environment: " + "; ".join(lines)


def dagster_env_var(field: str):
    """Dagster's `EnvVar` for the variable behind a settings field, for secrets handed to a Dagster
    resource (NEO4J_PASSWORD, NASCAR_ALERT_WEBHOOK_URL): Dagster reads it when a run starts and its
    UI shows the variable's name, never the value (a plain string would be shown). Check the field
    on `get_settings()` first: Dagster fails a run whose EnvVar is unset."""
    from dagster import EnvVar

    alias = PipelineSettings.model_fields[field].validation_alias
    if not isinstance(alias, str):
        raise ValueError(f"{field}: read from several variables, no single EnvVar names it")
    return EnvVar(alias)


# ---- for the transition: old call sites, thin wrappers over get_settings() ---------------------
def pipeline_home() -> Path:
    return get_settings().home


def world_dir() -> Path:
    return get_settings().world_dir


def storage_root() -> str:
    return get_settings().storage_root


def neo4j_configured() -> bool:
    return get_settings().neo4j_configured


def jax_cache_dir() -> Path | None:
    """None when NASCAR_JAX_CACHE turns the cache off."""
    return get_settings().jax_cache_dir
