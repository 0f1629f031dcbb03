"""lineup_portfolio, per race partition, and its blocking check.

The DraftKings portfolio (core/lineup_search.py) under the player's steering (core/steering.py):
Metropolis-Hastings (parallel tempering) over lineups that keep every per-lineup rule, toward the
build's taste (expected payout against a field drawn from the projected ownership, blended with
projection), plus the exact optimizer's best lineups and its steered portfolio; then a greedy
marginal-gain portfolio under the steering's exposures and max_shared, chosen on scenarios the
sampler did not see. One row per lineup (wide: d1..d6).

Steering. The run config's steering fields carry core.steering.Steering's names (n_lineups, lock,
exclude, exposures, global_max_exposure, max_shared, salary_floor, groups, taste); `steering_file`
names a YAML or TOML file of the same fields (at its top level or under `steering:`). A field the
file sets replaces the default; a run-config field set away from its default replaces the file's.
global_max_exposure left unset is 0.6, or 1.0 for single-entry builds of at most 3 lineups
(core/lineup_search.py: caps are never raised, so 0.6 would allow one lineup per driver there).
The steering is checked against the slate before the field and the MCMC (an infeasible one fails
the run naming the conflicting rules), written beside the asset as `<race>.steering.json`, and the
blocking check proves every lineup obeys it.

Beside it (core/export.py names them): the DraftKings bulk-upload CSV
`<root>/lineup_portfolio/<race>.draftkings.csv`, and FanDuel lineups (core/fanduel.py: 5
drivers, FanDuel's $50,000 cap, FanDuel points; exact optimizer) as `<race>.fanduel.csv`
(FanDuel's upload: player ids) and `<race>.fanduel_lineups.csv` (readable: ids, names,
salaries). They use the race's FanDuel salaries and ids when `ingest fd-salaries` loaded them,
else a stand-in (DraftKings x 6/5, names in the cells: not uploadable; the export command says
so).
"""

import io
from pathlib import Path

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    MetadataValue,
    Output,
)
from pydantic import Field, ValidationError

from nascar_pipeline.assets.field_config import FieldConfig
from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.core import rules
from nascar_pipeline.core.export import DRAFTKINGS_UPLOAD, FANDUEL_LINEUPS, FANDUEL_UPLOAD
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.resources.storage import StorageResource

ASSET = "lineup_portfolio"
SITE = rules.DRAFTKINGS
STEERING_FILE = "steering.json"  # beside the asset: the steering the build kept


# Dagster's config schema takes Config classes, not plain pydantic models: these mirror
# core.steering.DriverExposure and DriverGroup field for field (Steering validates them).
class DriverExposureConfig(Config):
    driver: int = Field(description="NASCAR driver id")
    min: float = Field(0.0, ge=0.0, le=1.0, description="least share of the lineups")
    max: float | None = Field(
        None, ge=0.0, le=1.0, description="most share of the lineups (None: global)"
    )


class DriverGroupConfig(Config):
    name: str = Field(description="shown in messages, e.g. 'Hendrick'")
    drivers: list[int] = Field(description="NASCAR driver ids")
    at_least: int | None = Field(None, ge=0, description="fewest of them in a lineup")
    at_most: int | None = Field(None, ge=0, description="most of them in a lineup")


class PortfolioConfig(FieldConfig):
    # the steering (core.steering.Steering's fields and names)
    n_lineups: int = Field(20, ge=1, le=150, description="lineups to build")
    lock: list[int] = Field(default_factory=list, description="driver ids in every lineup")
    exclude: list[int] = Field(default_factory=list, description="driver ids in no lineup")
    exposures: list[DriverExposureConfig] = Field(
        default_factory=list, description="per-driver min / max share of the lineups"
    )
    global_max_exposure: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="max share of the lineups for any driver; unset: 0.6, or 1.0 for "
        "single-entry builds of at most 3 lineups",
    )
    max_shared: int | None = Field(4, ge=0, description="most drivers two lineups share")
    salary_floor: int = Field(45_000, ge=0, description="least salary our lineups use")
    groups: list[DriverGroupConfig] = Field(
        default_factory=list, description="at least / at most k of these drivers per lineup"
    )
    taste: float = Field(
        1.0, ge=0.0, le=1.0, description="0: pure projection .. 1: full leverage vs ownership"
    )
    steering_file: str | None = Field(
        None, description="YAML or TOML file of the steering fields (the run config overrides)"
    )
    # the search
    field_size: int | None = Field(
        None,
        description="field lineups; default: contest field size "
        "(or 10,000), at most 20,000 for the search",
    )
    objective: str = Field("ev", description="'ev' (expected payout) or 'top1' (top-1 % chance)")
    objective_scenarios: int = Field(1000, ge=50, description="scenarios seen by the sampler")
    selection_scenarios: int = Field(2000, ge=50, description="scenarios for the greedy choice")
    prize_cap_fees: float = Field(
        100.0,
        gt=0,
        description="prize cap of the sampler's and the "
        "greedy's objective, in entry fees (tames the top prizes' noise)",
    )
    mh_steps: int = Field(600, ge=10)
    mh_chains: int = Field(6, ge=1)
    mh_temps: int = Field(4, ge=1)
    exact_candidates: int = Field(100, ge=0, description="best lineups by mean points added")
    fanduel_lineups: int = Field(
        20,
        ge=0,
        le=150,
        description="FanDuel lineups for the FanDuel upload file beside the asset (0: none)",
    )
    seed: int = 0


def read_steering_file(path: str):
    """The Steering in a YAML/TOML file; UserInputError naming the file on any problem."""
    from nascar_pipeline.core.steering import parse_steering

    p = Path(path).expanduser()
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("yaml", "yml", "toml"):
        raise UserInputError(f"steering file {p}: use a .yaml, .yml or .toml file")
    try:
        text = p.read_text()
    except OSError as exc:
        raise UserInputError(f"steering file {p}: {exc.strerror or exc}") from None
    try:
        return parse_steering(text, fmt)
    except ValidationError as exc:
        raise UserInputError(f"steering file {p}: {_validation_words(exc)}") from None
    except Exception as exc:  # YAML / TOML syntax
        raise UserInputError(f"steering file {p}: {exc}") from None


def _validation_words(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or 'steering'}: {e['msg']}" for e in exc.errors()
    )


def config_steering(config: PortfolioConfig):
    """The build's Steering: defaults, the steering file, the run config (core/lineup_search.py
    build_steering)."""
    from nascar_pipeline.core.lineup_search import build_steering

    file_steering = read_steering_file(config.steering_file) if config.steering_file else None
    try:
        return build_steering(PortfolioConfig().model_dump(), config.model_dump(), file_steering)
    except ValidationError as exc:
        raise UserInputError(f"{ASSET} steering: {_validation_words(exc)}") from None


def _trace_plot(sampler, objective: str) -> MetadataValue:
    fig, ax = new_figure((6, 2.6))
    x = np.arange(1, len(sampler.trace_mean) + 1) * 10
    ax.plot(x, sampler.trace_mean, label="cold chains (mean)")
    ax.plot(x, sampler.trace_best, label="best so far")
    ax.set_xlabel("MH step")
    ax.set_ylabel("objective" + (" (payout / fee)" if objective == "ev" else " (P top 1 %)"))
    ax.legend(fontsize=7)
    return image_markdown(fig, "trace")


PREVIEW_COLUMNS = [
    "lineup_id",
    *[f"d{j}_name" for j in range(1, rules.DRAFTKINGS.roster_size + 1)],
    "salary",
    "projection",
    "standalone_ev",
    "marginal_gain",
]


@race_asset(group="dfs", kinds={"numpy", "parquet", "csv"})
def lineup_portfolio(
    context: AssetExecutionContext,
    config: PortfolioConfig,
    storage: StorageResource,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
    ownership_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """A DraftKings lineup portfolio under the player's steering: MCMC (parallel-tempering
    Metropolis-Hastings) toward the build's taste against an ownership-drawn field, exact
    optimizer lineups, greedy marginal-gain selection under the steering's exposures and
    max_shared. DraftKings bulk-upload CSV and the steering beside it."""
    from nascar_pipeline.core.export import portfolio_upload_files
    from nascar_pipeline.core.fanduel import fanduel_portfolio
    from nascar_pipeline.core.lineup_search import (
        FIELD_SEARCH_MAX,
        OBJECTIVES,
        SINGLE_ENTRY_MAX_LINEUPS,
        default_global_max_exposure,
        search_portfolio,
    )
    from nascar_pipeline.core.slate import (
        contest_field_size,
        contest_table,
        slate_arrays,
        slate_ownership,
    )
    from nascar_pipeline.core.steering import check_feasible

    if config.objective not in OBJECTIVES:
        raise UserInputError(f"run config objective {config.objective!r}: use 'ev' or 'top1'")
    steering = config_steering(config)
    rng = np.random.default_rng(config.seed)
    slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
    # refused here, before the field and the MCMC: InfeasibleSteering names each conflict
    arrays = check_feasible(steering, slate, SITE)
    context.log.info(
        f"steering: {steering.n_lineups} lineups, global max exposure "
        f"{steering.global_max_exposure:g}, {len(steering.lock)} locked, "
        f"{len(steering.exclude)} excluded, {len(steering.exposures)} exposure limits, "
        f"{len(steering.groups)} groups, salary floor {steering.salary_floor:,}, "
        f"taste {steering.taste:g}"
        + (f" (file {config.steering_file})" if config.steering_file else "")
    )
    F = min(config.field_size or contest_field_size(race_snapshot), FIELD_SEARCH_MAX)
    table = contest_table(race_snapshot, F + steering.n_lineups)
    own = slate_ownership(slate, ownership_projections)

    def log(line: str, warning: bool = False) -> None:
        (context.log.warning if warning else context.log.info)(line)

    found = search_portfolio(slate, points, own, table, F, config, rng, arrays, log=log)
    df, mh = found.lineups, found.sampler
    if found.shortfall_reason:
        context.log.warning(f"portfolio short: {found.shortfall_reason}")

    fd_lineups, fd_notes = None, []
    if config.fanduel_lineups:
        # the FanDuel build has its own count: the single-entry default is the DraftKings build's
        single_default = (
            config.global_max_exposure is None
            and steering.n_lineups <= SINGLE_ENTRY_MAX_LINEUPS
            and steering.global_max_exposure == default_global_max_exposure(steering.n_lineups)
        )
        fd_max = (
            default_global_max_exposure(config.fanduel_lineups)
            if single_default
            else steering.global_max_exposure
        )
        fd_lineups, fd_notes = fanduel_portfolio(
            race_snapshot, race_scenarios, config.fanduel_lineups, max_exposure=fd_max
        )
        context.log.info(f"FanDuel: {len(fd_lineups)} lineups")
    files, warnings = portfolio_upload_files(df, fd_lineups)
    files[STEERING_FILE] = steering.model_dump_json(indent=2).encode()
    race_key = context.partition_key
    storage.write_beside(ASSET, race_key, files)

    fd_source = (
        str(fd_lineups["salary_source"].iloc[0])
        if fd_lineups is not None and len(fd_lineups)
        else "none"
    )
    return Output(
        df,
        metadata={
            "lineups": len(df),
            "lineups_requested": steering.n_lineups,
            "shortfall_reason": found.shortfall_reason or "none",
            "steering": MetadataValue.json(steering.model_dump()),
            "steering_json": f"{ASSET}/{race_key}.{STEERING_FILE}",
            "field_size": F,
            "field_warnings": MetadataValue.json(found.field_warnings),
            "payout_table": table.source,
            "entry_fee": table.entry_fee,
            "objective": config.objective,
            "acceptance_by_temperature": MetadataValue.json(
                {f"beta={b:.3g}": float(a) for b, a in zip(mh.betas, mh.acceptance, strict=True)}
            ),
            "swap_acceptance": float(mh.swap_acceptance),
            "objective_trace_mean": MetadataValue.json([round(float(v), 5) for v in mh.trace_mean]),
            "objective_trace_best": MetadataValue.json([round(float(v), 5) for v in mh.trace_best]),
            "mcmc_distinct_lineups": int(mh.info["distinct"]),
            "candidates": found.candidates,
            "candidates_by_source": MetadataValue.json(found.stages),
            "portfolio_expected_payout_capped": found.expected_payout_capped,
            "prize_cap": float(config.prize_cap_fees * table.entry_fee),
            "upload_csv": f"{ASSET}/{race_key}.{DRAFTKINGS_UPLOAD}",
            "fanduel_upload_csv": (
                f"{ASSET}/{race_key}.{FANDUEL_UPLOAD}" if config.fanduel_lineups else "none"
            ),
            "fanduel_notes": MetadataValue.json(fd_notes + warnings),
            "fanduel_salaries": fd_source,
            "lineups_preview": MetadataValue.md(
                df[PREVIEW_COLUMNS].head(10).to_markdown(index=False, floatfmt=".1f")
            ),
            "objective_trace": _trace_plot(mh, config.objective),
        },
    )


def read_steering(storage: StorageResource, race_key: str):
    """The steering lineup_portfolio wrote beside itself, or None (a build from before it)."""
    from nascar_pipeline.core.steering import Steering

    data = storage.read_beside(ASSET, race_key, STEERING_FILE)
    return None if data is None else Steering.model_validate_json(data)


def read_fanduel_lineups(storage: StorageResource, race_key: str) -> pd.DataFrame | None:
    """The FanDuel lineups lineup_portfolio wrote beside itself, or None (none produced)."""
    data = storage.read_beside(ASSET, race_key, FANDUEL_LINEUPS)
    if data is None:
        return None
    dtypes = {f"d{j}_fd_id": "string" for j in range(1, rules.FANDUEL.roster_size + 1)}
    return pd.read_csv(io.BytesIO(data), dtype=dtypes)


@race_check(lineup_portfolio)
def lineup_portfolio_valid(
    context: AssetCheckExecutionContext, storage: StorageResource, lineup_portfolio: pd.DataFrame
) -> AssetCheckResult:
    """Every lineup valid for its site and obeying the build's steering: DraftKings 6 distinct
    drivers, salary <= 50,000, locks, excludes, groups, salary floor, exposures as shares of the
    lineups returned, max_shared (the steering written beside the asset); the FanDuel lineups
    beside it (when produced) 5 distinct drivers, FanDuel salary <= 50,000, FanDuel ids on a
    FanDuel slate."""
    from nascar_pipeline.core.fanduel import fanduel_problems
    from nascar_pipeline.core.lineups import lineup_problems
    from nascar_pipeline.core.steering import frame_violations

    problems = lineup_problems(lineup_portfolio)
    steering = read_steering(storage, context.partition_key)
    violations = frame_violations(lineup_portfolio, steering, SITE) if steering else []
    problems += violations
    fd = read_fanduel_lineups(storage, context.partition_key)
    if fd is not None:
        problems += fanduel_problems(fd)
    return AssetCheckResult(
        passed=len(lineup_portfolio) > 0 and not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lineups": len(lineup_portfolio),
            "fanduel_lineups": -1 if fd is None else len(fd),
            "steering_checked": steering is not None,
            "steering_violations": len(violations),
            "problems": MetadataValue.json(problems[:20]),
        },
    )
