"""ownership_projections, per race partition, and its blocking check.

Field ownership (core/ownership_model.py): a share model over the slate's features (salary tier,
value, recent finishes and DK points, start position, price change, the model's win and top-5
odds, last race's ownership), fitted to the real %Drafted in the snapshot's history when at least
`min_history_races` races have it (core/ownership_fit.py), else the stated defaults; bounded by
salary tier with a reason per driver, and tilted toward salary when the field it implies would
spend less than `field_min_salary` (the same setting the field generators use). Operators pin
drivers through run config (`overrides`: driver name or driver_id -> pct). The player's own
ownership (`ingest projections`: entries' user_own_pct) is blended in before the bounds with
`user_ownership_weight` (unset: the ownership model's vendor weight, core/ownership_model.py);
without it the ownership is the model's alone.

The blocking check compares ownership, projections and salaries (core/ownership_sanity.py)
before any lineup is built.
"""

import dataclasses

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
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.core import rules
from nascar_pipeline.errors import UserInputError

SITE = rules.DRAFTKINGS


class OwnershipConfig(FieldConfig):
    overrides: dict[str, float] = Field(
        default_factory=dict, description="driver_id or driver name -> ownership pct"
    )
    min_history_races: int = Field(
        3, ge=1, description="past races with real %Drafted needed to fit the model"
    )
    user_ownership_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="blend of the player's own ownership (`ingest projections`, own_pct): 0 "
        "the model only, 1 the player's only; unset: the ownership model's vendor weight "
        "(0.5 unless fitted)",
    )


@race_asset(group="dfs", kinds={"numpy", "parquet"})
def ownership_projections(
    context: AssetExecutionContext,
    config: OwnershipConfig,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    driver_projections: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Projected DraftKings ownership per driver: a share model fitted to the real %Drafted of
    past races (stated defaults without enough of them), bounded by salary tier, with reasons;
    overrides."""
    from nascar_pipeline.core.ownership_fit import fit_field_model
    from nascar_pipeline.core.ownership_history import ownership_slate, training_races
    from nascar_pipeline.core.ownership_model import DEFAULT_FIELD_MODEL, project_field_ownership
    from nascar_pipeline.core.slate import resolve_overrides, slate_arrays

    timer = StageTimer()
    slate, _points = slate_arrays(race_snapshot, race_scenarios, driver_projections)
    races = training_races(race_snapshot)
    timer.lap("features")
    if len(races) >= config.min_history_races:
        model = fit_field_model(races, roster_size=SITE.roster_size)
    else:
        model = DEFAULT_FIELD_MODEL
    timer.lap("fit")
    source = (
        model.source
        if model is not DEFAULT_FIELD_MODEL
        else (
            f"stated defaults ({len(races)} past races with real %Drafted; "
            f"fit needs {config.min_history_races})"
        )
    )
    context.log.info(f"ownership model: {source}")
    try:
        fixed = resolve_overrides(config.overrides, slate)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    user_own = _user_ownership(slate)
    if user_own is not None and config.user_ownership_weight is not None:
        model = dataclasses.replace(model, vendor_weight=float(config.user_ownership_weight))
    if user_own is not None:
        context.log.info(
            f"ownership: the player's ownership for {int(np.isfinite(user_own).sum())} drivers, "
            f"blend weight {model.vendor_weight:g}"
        )
    res = project_field_ownership(
        ownership_slate(slate, race_snapshot, driver_projections, vendor_own_pct=user_own),
        model,
        roster_size=SITE.roster_size,
        overrides=fixed,
        min_field_salary=config.field_min_salary,
        max_field_salary=SITE.salary_cap,
    )
    timer.lap("project + bounds")
    for w in res.warnings:
        context.log.warning(f"ownership: {w}")
    context.log.info(
        f"ownership: {len(slate)} drivers, {len(fixed)} overridden, "
        f"implied field lineup ${res.implied_lineup_salary:,.0f}, {len(res.warnings)} warnings; "
        f"stages: {timer.line()}"
    )
    f = res.frame
    out = (
        pd.DataFrame(
            {
                "driver_id": slate["driver_id"].astype("int64").to_numpy(),
                "driver_name": slate["driver_name"].astype("string").to_numpy(),
                "salary": slate["salary"].astype("int64").to_numpy(),
                "dk_id": slate["dk_id"].astype("Int64").to_numpy(),
                "start_position": slate["start_position"].astype("Int64").to_numpy(),
                "projection": slate["projection"].astype(float).to_numpy(),
                "tier": f["tier"].astype("string").to_numpy(),
                "own_pct": f["own_pct"].to_numpy(float),
                "own_model_pct": f["own_model_pct"].to_numpy(float),
                "own_vendor_pct": f["own_vendor_pct"].to_numpy(float),
                "bound_pct": f["bound_pct"].to_numpy(float),
                "bounded": f["bounded"].to_numpy(bool),
                "reasons": f["reasons"].astype("string").to_numpy(),
                "overridden": [i in fixed for i in range(len(slate))],
                "actual_own_pct": slate["dk_own_pct"].astype("Float64").to_numpy(),
            }
        )
        .sort_values("own_pct", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    md = out.head(12)[
        ["driver_name", "salary", "projection", "tier", "own_pct", "bound_pct", "reasons"]
    ].to_markdown(index=False, floatfmt=".1f")
    model_dict = model.as_dict()
    return Output(
        out,
        metadata={
            "drivers": len(out),
            "total_pct": float(out["own_pct"].sum()),
            "model": MetadataValue.json(model_dict),
            "coefficients": MetadataValue.json(model_dict["coefs"]),
            "coefficient_source": source,
            "source": source,
            "warnings": MetadataValue.json(list(res.warnings)),
            "implied_field_lineup_salary": float(res.implied_lineup_salary),
            "field_min_salary": int(config.field_min_salary),
            "overrides": MetadataValue.json(
                {str(slate["driver_name"].iloc[i]): v for i, v in fixed.items()}
            ),
            "top_ownership": MetadataValue.md(md),
            **_user_ownership_metadata(out, user_own, model.vendor_weight),
            **timer.metadata(),
        },
    )


def _user_ownership(slate: pd.DataFrame):
    """The player's ownership per slate driver (NaN where not given), or None without any."""
    if "user_own_pct" not in slate:
        return None
    own = pd.to_numeric(slate["user_own_pct"], errors="coerce").to_numpy(float, na_value=np.nan)
    return own if np.isfinite(own).any() else None


def _user_ownership_metadata(out: pd.DataFrame, user_own, weight: float) -> dict:
    if user_own is None:
        return {"user_ownership": False}
    top = out.head(12)[["driver_name", "own_model_pct", "own_vendor_pct", "own_pct"]].rename(
        columns={
            "own_model_pct": "model %",
            "own_vendor_pct": "user % (scaled to 600)",
            "own_pct": "blended %",
        }
    )
    return {
        "user_ownership": True,
        "user_ownership_weight": float(weight),
        "user_ownership_top": MetadataValue.md(top.to_markdown(index=False, floatfmt=".1f")),
    }


@race_check(ownership_projections)
def ownership_totals_valid(ownership_projections: pd.DataFrame) -> AssetCheckResult:
    """Ownership, projections and salaries agree (core/ownership_sanity.py): ownership totals
    roster size x 100 % (600 % on DraftKings), each driver within [0, 100], nothing blocking
    between the three (each problem names its drivers). Blocking: no lineup is built on a
    failing slate."""
    from nascar_pipeline.core.ownership_sanity import check_slate_sanity

    report = check_slate_sanity(
        ownership_projections, roster_size=SITE.roster_size, salary_cap=SITE.salary_cap
    )
    own = ownership_projections["own_pct"].to_numpy(float)
    return AssetCheckResult(
        passed=bool(report.ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "total_pct": float(own.sum()),
            "min_pct": float(own.min()) if len(own) else 0.0,
            "max_pct": float(own.max()) if len(own) else 0.0,
            **{k: MetadataValue.json(v) for k, v in report.as_metadata().items()},
        },
    )
