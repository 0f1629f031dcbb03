"""contest_simulation, per race partition, and its blocking check.

The portfolio against a fresh field in every scenario not used for the selection (all scenarios
when too few are left): ROI, cash %, win %, top-1 %, mean rank and simulated duplicates per
lineup; the portfolio's ROI distribution in metadata.
"""

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    MetadataValue,
    Output,
)
from pydantic import Field

from nascar_pipeline.assets.field_config import FieldConfig
from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.core import rules

SITE = rules.DRAFTKINGS
FIELD_SEED_OFFSET = 7919  # the contest's field differs from the one the portfolio was built on
HELD_OUT_MIN = 1000  # fewer scenarios left than this: simulate on all of them


class ContestConfig(FieldConfig):
    field_size: int | None = Field(None, description="default: the contest's (or 10,000)")
    chunk_elems: int = Field(4_000_000, ge=10_000, description="field scores held at once")
    seed: int = 1


def _roi_plot(roi: np.ndarray) -> MetadataValue:
    fig, ax = new_figure((6, 2.6))
    ax.hist(np.clip(roi, -1, np.quantile(roi, 0.99)), bins=60)
    ax.set_xlabel("portfolio ROI per scenario (clipped at p99)")
    ax.set_ylabel("scenarios")
    return image_markdown(fig, "ROI")


@race_asset(group="dfs", kinds={"numpy", "parquet"})
def contest_simulation(
    context: AssetExecutionContext,
    config: ContestConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """The portfolio against a simulated field in every held-out scenario: ROI, cash %,
    win %, top-1 %, mean rank and simulated duplicates per lineup; portfolio ROI distribution
    in metadata."""
    from nascar_pipeline.core.contest import simulate_contest
    from nascar_pipeline.core.lineups import slate_indices
    from nascar_pipeline.core.slate import (
        contest_field_size,
        contest_table,
        draw_field,
        slate_arrays,
        slate_ownership,
    )

    rng = np.random.default_rng(config.seed + FIELD_SEED_OFFSET)
    slate, points = slate_arrays(race_snapshot, race_scenarios)
    ours = slate_indices(lineup_portfolio, slate)
    own = slate_ownership(slate, ownership_projections)
    F = config.field_size or contest_field_size(race_snapshot)
    table = contest_table(race_snapshot, F + len(ours))
    context.log.info(
        f"contest: {len(ours)} lineups against a field of {F:,} ({table.source} payout table)"
    )
    drawn = draw_field(
        own,
        slate["salary"].to_numpy(float),
        F,
        config.field_min_salary,
        rng,
        setting="contest_simulation run config field_min_salary",
        names=slate["driver_name"].astype(str).to_numpy(),
    )
    field = drawn.lineups
    for w in drawn.warnings:
        context.log.warning(f"contest field: {w}")
    context.log.info(
        f"contest: field drawn ({len(field):,} lineups, floor ${config.field_min_salary:,})"
    )
    used = (
        int(lineup_portfolio["n_scenarios_used"].iloc[0])
        if "n_scenarios_used" in lineup_portfolio
        else 0
    )
    held_out = points.shape[0] - used >= HELD_OUT_MIN
    pts = points[used:] if held_out else points
    context.log.info(
        f"contest: {pts.shape[0]} {'held-out ' if held_out else ''}scenarios in chunks of "
        f"at most {config.chunk_elems:,} field scores"
    )
    summ = simulate_contest(pts, ours, field, table, chunk_elems=config.chunk_elems).summary()
    out = pd.DataFrame(
        {
            "lineup_id": lineup_portfolio["lineup_id"].to_numpy(np.int64),
            **{k: np.asarray(v, dtype=float) for k, v in summ["per_lineup"].items()},
        }
    )
    out["sim_duplicates"] = out["sim_duplicates"].astype(np.int64)
    p = summ["portfolio"]
    context.log.info(
        f"contest: simulated portfolio ROI {float(p['roi']):+.1%} (mean over scenarios)"
    )
    return Output(
        out,
        metadata={
            "scenarios": int(pts.shape[0]),
            "scenarios_held_out": bool(held_out),
            "field_size": int(F),
            "field_warnings": MetadataValue.json(drawn.warnings),
            "payout_table": table.source,
            "portfolio": MetadataValue.json(
                {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in p.items()}
            ),
            "portfolio_roi": float(p["roi"]),
            "roi_distribution": _roi_plot(summ["roi_distribution"]),
            "lineups_preview": MetadataValue.md(
                out.head(10).to_markdown(index=False, floatfmt=".3f")
            ),
        },
    )


@race_check(contest_simulation)
def contest_simulation_finite(contest_simulation: pd.DataFrame) -> AssetCheckResult:
    """Every simulation summary is finite and in range."""
    num = contest_simulation.drop(columns=["lineup_id"]).to_numpy(float)
    pct = contest_simulation[["cash_pct", "win_pct", "top1_pct"]].to_numpy(float)
    ok = (
        len(contest_simulation) > 0
        and np.isfinite(num).all()
        and (pct >= 0).all()
        and (pct <= 100).all()
        and (contest_simulation["mean_rank"] >= 1).all()
    )
    return AssetCheckResult(
        passed=bool(ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={"lineups": len(contest_simulation)},
    )
