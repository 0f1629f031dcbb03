"""ownership_projections, per race partition, and its blocking check.

Hybrid ownership (core/ownership.py): a feature model (fitted to the historical DraftKings
ownership in the snapshot when there is enough, else stated defaults) blended with the rate
each driver is in the optimal lineup across the race's scenarios. Operators pin drivers through
run config (`overrides`: driver name or driver_id -> pct).
"""

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, Config, MetadataValue, Output
from pydantic import Field

from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.core import rules
from nascar_pipeline.errors import UserInputError

SITE = rules.DRAFTKINGS


class OwnershipConfig(Config):
    blend: float = Field(0.7, ge=0.0, le=1.0, description="weight of the feature model")
    max_scenarios: int = Field(2000, ge=10, description="scenarios for the optimal-lineup rate")
    overrides: dict[str, float] = Field(
        default_factory=dict, description="driver_id or driver name -> ownership pct"
    )
    min_history_races: int = Field(3, ge=1, description="past races with ownership to fit")


@race_asset(group="dfs", kinds={"numpy", "parquet"})
def ownership_projections(
    config: OwnershipConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Projected DraftKings ownership per driver: feature model (fitted to historical
    ownership when available) blended with the simulated-optimal rate; overrides."""
    from nascar_pipeline.core.ownership import DEFAULT_COEFS, fit_ownership_model, project_ownership
    from nascar_pipeline.core.ownership_inputs import (
        historical_ownership_slates,
        recent_form,
        resolve_overrides,
    )
    from nascar_pipeline.core.slate import float_array, slate_arrays

    slate, points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
    form = recent_form(race_snapshot, slate["driver_id"])
    hist = historical_ownership_slates(race_snapshot)
    if len(hist) >= config.min_history_races:
        coefs, source = fit_ownership_model(hist), f"fitted on {len(hist)} past races"
    else:
        coefs = dict(DEFAULT_COEFS)
        source = (
            f"stated defaults ({len(hist)} past races with ownership; "
            f"fit needs {config.min_history_races})"
        )
    try:
        fixed = resolve_overrides(config.overrides, slate)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    res = project_ownership(
        float_array(slate["salary"]),
        float_array(slate["projection"]),
        SITE.roster_size,
        SITE.salary_cap,
        start_position=float_array(slate["start_position"]),
        form=form,
        points=points,
        coefs=coefs,
        blend=config.blend,
        overrides=fixed,
        max_scenarios=config.max_scenarios,
    )
    out = (
        pd.DataFrame(
            {
                "driver_id": slate["driver_id"].astype("int64"),
                "driver_name": slate["driver_name"].astype("string"),
                "salary": slate["salary"].astype("int64"),
                "dk_id": slate["dk_id"].astype("Int64"),
                "start_position": slate["start_position"].astype("Int64"),
                "projection": slate["projection"].astype(float),
                "recent_form": form,
                "own_pct": res.ownership,
                "own_model_pct": res.model,
                "own_optimal_pct": res.optimal if res.optimal is not None else np.nan,
                "overridden": [i in fixed for i in range(len(slate))],
                "actual_own_pct": slate["dk_own_pct"].astype("Float64"),
            }
        )
        .sort_values("own_pct", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    md = out.head(12)[
        ["driver_name", "salary", "projection", "own_pct", "own_model_pct", "own_optimal_pct"]
    ].to_markdown(index=False, floatfmt=".1f")
    return Output(
        out,
        metadata={
            "drivers": len(out),
            "total_pct": float(out["own_pct"].sum()),
            "coefficients": MetadataValue.json({k: float(v) for k, v in res.coefs.items()}),
            "coefficient_source": source,
            "blend_model_weight": float(res.blend),
            "overrides": MetadataValue.json(
                {str(slate["driver_name"].iloc[i]): v for i, v in fixed.items()}
            ),
            "top_ownership": MetadataValue.md(md),
        },
    )


@race_check(ownership_projections)
def ownership_totals_valid(ownership_projections: pd.DataFrame) -> AssetCheckResult:
    """Ownership totals roster size x 100 % (600 % on DraftKings); each driver within
    [0, 100]."""
    own = ownership_projections["own_pct"].to_numpy(float)
    total = float(own.sum())
    ok = (
        len(own) >= SITE.roster_size
        and np.isfinite(own).all()
        and abs(total - 100.0 * SITE.roster_size) < 1e-6
        and own.min() >= 0.0
        and own.max() <= 100.0 + 1e-9
    )
    return AssetCheckResult(
        passed=bool(ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "total_pct": total,
            "min_pct": float(own.min()) if len(own) else 0.0,
            "max_pct": float(own.max()) if len(own) else 0.0,
        },
    )
