"""lineup_portfolio, per race partition, and its blocking check.

The DraftKings portfolio (core/lineup_search.py): Metropolis-Hastings (parallel tempering) over
valid lineups toward the expected payout against a field drawn from the projected ownership,
plus the exact optimizer's best lineups by mean points; then a greedy marginal-gain portfolio
under exposure caps and a maximum overlap, chosen on scenarios the sampler did not see. One row
per lineup (wide: d1..d6).

Beside it (core/export.py names them): the DraftKings bulk-upload CSV
`<root>/lineup_portfolio/<race>.draftkings.csv`, and FanDuel lineups (core/fanduel.py: 5
drivers, FanDuel's $50,000 cap, FanDuel points; exact optimizer) as `<race>.fanduel.csv`
(FanDuel's upload: player ids) and `<race>.fanduel_lineups.csv` (readable: ids, names,
salaries). They use the race's FanDuel salaries and ids when `ingest fd-salaries` loaded them,
else a stand-in (DraftKings x 6/5, names in the cells: not uploadable; the export command says
so).
"""

import io

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
from pydantic import Field

from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.core import rules
from nascar_pipeline.core.export import DRAFTKINGS_UPLOAD, FANDUEL_LINEUPS, FANDUEL_UPLOAD
from nascar_pipeline.errors import UserInputError
from nascar_pipeline.resources.storage import StorageResource

ASSET = "lineup_portfolio"


class PortfolioConfig(Config):
    n_lineups: int = Field(20, ge=1, le=150)
    max_exposure: float = Field(0.6, gt=0.0, le=1.0, description="max share of lineups per driver")
    max_overlap: int = Field(4, ge=0, le=5, description="max drivers shared by two lineups")
    min_salary: int = Field(45_000, ge=0, description="salary floor of our lineups")
    field_min_salary: int = Field(46_000, ge=0, description="salary floor of field lineups")
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
    """A DraftKings lineup portfolio: MCMC (parallel-tempering Metropolis-Hastings) toward
    expected payout against an ownership-drawn field, exact optimizer lineups, greedy
    marginal-gain selection under exposure and overlap limits. DraftKings bulk-upload CSV
    beside it."""
    from nascar_pipeline.core.export import portfolio_upload_files
    from nascar_pipeline.core.fanduel import fanduel_portfolio
    from nascar_pipeline.core.lineup_search import (
        FIELD_SEARCH_MAX,
        OBJECTIVES,
        search_portfolio,
    )
    from nascar_pipeline.core.slate import (
        contest_field_size,
        contest_table,
        slate_arrays,
        slate_ownership,
    )

    if config.objective not in OBJECTIVES:
        raise UserInputError(f"run config objective {config.objective!r}: use 'ev' or 'top1'")
    rng = np.random.default_rng(config.seed)
    slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
    F = min(config.field_size or contest_field_size(race_snapshot), FIELD_SEARCH_MAX)
    table = contest_table(race_snapshot, F + config.n_lineups)
    own = slate_ownership(slate, ownership_projections)
    found = search_portfolio(slate, points, own, table, F, config, rng)
    df, mh = found.lineups, found.sampler

    fd_lineups, fd_notes = None, []
    if config.fanduel_lineups:
        fd_lineups, fd_notes = fanduel_portfolio(
            race_snapshot, race_scenarios, config.fanduel_lineups, max_exposure=config.max_exposure
        )
    files, warnings = portfolio_upload_files(df, fd_lineups)
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
            "lineups_requested": config.n_lineups,
            "field_size": F,
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
    """Every lineup valid for its site: DraftKings 6 distinct drivers, salary <= 50,000; the
    FanDuel lineups beside it (when produced) 5 distinct drivers, FanDuel salary <= 50,000,
    FanDuel ids on a FanDuel slate."""
    from nascar_pipeline.core.fanduel import fanduel_problems
    from nascar_pipeline.core.lineups import lineup_problems

    problems = lineup_problems(lineup_portfolio)
    fd = read_fanduel_lineups(storage, context.partition_key)
    if fd is not None:
        problems += fanduel_problems(fd)
    return AssetCheckResult(
        passed=len(lineup_portfolio) > 0 and not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lineups": len(lineup_portfolio),
            "fanduel_lineups": -1 if fd is None else len(fd),
            "problems": MetadataValue.json(problems[:20]),
        },
    )
