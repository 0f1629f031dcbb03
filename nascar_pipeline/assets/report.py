"""exposure_report, per race partition: what the build holds against what the field will.

The driver table (the asset, per contest and driver: our exposure, the limits the steering
asked, projected field ownership, leverage = exposure - ownership, projection) and the lineup
table beside it (`<root>/exposure_report/<race>.lineups.pq`, Parquet: per lineup its drivers,
salary, projection, ceiling, simulated ROI / cash / win / top-1 %, duplicates, honest ROI when
the simulation has it). Computed by core/exposure_report.py from the stored portfolio, contest
simulation, ownership, projections, scenarios, the contests' names in the snapshot and the
steering the portfolio kept beside itself; one block per contest (contest_id), the whole race as one when the build has none.
Metadata: the top drivers by |leverage| per contest, exposure against ownership as a plot.
"""

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.portfolio import read_contest_builds, read_steering
from nascar_pipeline.assets.race_asset import race_asset
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.core.exposure_report import LINEUPS_FILE, REPORT_ASSET, WHOLE_RACE
from nascar_pipeline.resources.storage import StorageResource
from nascar_pipeline.storage.layout import StorageLayout

TOP_LEVERAGE = 8  # drivers per contest in the metadata table
LEVERAGE_COLUMNS = [
    "contest_id",
    "contest_name",
    "driver_name",
    "salary",
    "exposure_pct",
    "own_pct",
    "leverage_pct",
    "limit",
    "projection",
]


def top_leverage(drivers: pd.DataFrame, top: int = TOP_LEVERAGE) -> pd.DataFrame:
    """The `top` drivers of each contest by |leverage|, largest first."""
    d = drivers.assign(_abs=drivers["leverage_pct"].abs())
    d = d.sort_values(["_abs", "driver_id"], ascending=[False, True], kind="stable")
    out = d.groupby("contest_id", sort=False, group_keys=False).head(top)
    order = {c: i for i, c in enumerate(dict.fromkeys(drivers["contest_id"]))}
    cols = [c for c in LEVERAGE_COLUMNS if c != "contest_name" or out[c].notna().any()]
    return (
        out.assign(_c=out["contest_id"].map(order))
        .sort_values(["_c", "_abs"], ascending=[True, False], kind="stable")[cols]
        .reset_index(drop=True)
    )


def _build_steering(storage: StorageResource, race_key: str):
    """The steering each contest's lineups were built under (lineup_portfolio's contest rows),
    else the one steering it kept (a build from before contests), else None."""
    from nascar_pipeline.core.steering import Steering

    builds = read_contest_builds(storage, race_key)
    if builds:
        return {str(b["contest_id"]): Steering.model_validate(b["steering"]) for b in builds}
    return read_steering(storage, race_key)


def _steering_words(steering) -> str:
    if steering is None:
        return "none (a build from before steering)"
    return f"per contest ({len(steering)})" if isinstance(steering, dict) else "one for the race"


def _exposure_plot(drivers: pd.DataFrame) -> MetadataValue:
    fig, ax = new_figure((6, 3.4))
    top = max(float(drivers["own_pct"].max()), float(drivers["exposure_pct"].max()), 1.0) * 1.1
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="exposure = ownership")
    for cid, d in drivers.groupby("contest_id", sort=False):
        ax.scatter(d["own_pct"], d["exposure_pct"], s=14, label=str(cid))
        for r in top_leverage(d, 3).itertuples():
            ax.annotate(
                str(r.driver_name), (r.own_pct, r.exposure_pct), fontsize=6, xytext=(3, 2),
                textcoords="offset points",
            )  # fmt: skip
    ax.set_xlabel("projected field ownership (%)")
    ax.set_ylabel("our exposure (%)")
    ax.set_xlim(-1, top)
    ax.set_ylim(-2, top)
    # beside the axes: the drivers we hold most sit at the top, where a legend would hide them
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return image_markdown(fig, "exposure vs ownership")


@race_asset(group="dfs", kinds={"parquet"})
def exposure_report(
    context: AssetExecutionContext,
    storage: StorageResource,
    lineup_portfolio: pd.DataFrame,
    contest_simulation: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    driver_projections: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    race_snapshot: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Exposure and leverage per contest: per driver our exposure, the limits asked, projected
    field ownership and leverage (exposure - ownership); per lineup (beside, Parquet)
    projection, ceiling, simulated ROI / cash / win / top-1 %, duplicates and honest ROI."""
    from nascar_pipeline.core.exposure_report import exposure_report as build_report
    from nascar_pipeline.core.exposure_report import snapshot_contests

    race_key = context.partition_key
    timer = StageTimer()
    steering = _build_steering(storage, race_key)
    timer.lap("read steering")
    context.log.info(
        f"report: {len(lineup_portfolio)} lineups, {len(contest_simulation)} simulated, "
        f"{len(ownership_projections)} drivers owned, steering {_steering_words(steering)}"
    )
    report = build_report(
        lineup_portfolio,
        contest_simulation,
        ownership_projections,
        driver_projections,
        race_scenarios,
        steering,
        snapshot_contests(race_snapshot),
    )
    timer.lap("build report")
    drivers, lineups = report.drivers, report.lineups
    contests = report.contests
    context.log.info(
        f"report: {len(contests)} contest(s) "
        f"({', '.join(contests) if contests != [WHOLE_RACE] else 'the whole race'}), "
        f"{len(drivers)} driver rows, {len(lineups)} lineup rows"
    )
    storage.write_beside(
        REPORT_ASSET, race_key, {LINEUPS_FILE: StorageLayout.parquet_bytes(lineups)}
    )
    context.log.info(
        f"report: lineup table written beside ({REPORT_ASSET}/{race_key}.{LINEUPS_FILE})"
    )
    timer.lap("write lineup table")
    lev = top_leverage(drivers)
    held = drivers[drivers["lineups"] > 0]
    extra = {}
    if lineups["roi"].notna().any():
        extra["mean_simulated_roi"] = float(np.nanmean(lineups["roi"].to_numpy(float)))
    if len(drivers):
        extra["exposure_vs_ownership"] = _exposure_plot(drivers)
    timer.lap("plot")
    context.log.info(f"report stages: {timer.line()}")
    return Output(
        drivers,
        metadata={
            "contests": len(contests),
            "contest_ids": MetadataValue.json(contests),
            "lineups": len(lineups),
            "drivers": int(drivers["driver_id"].nunique()),
            "drivers_held": int(held["driver_id"].nunique()),
            "steering": _steering_words(steering),
            "lineups_table": f"{REPORT_ASSET}/{race_key}.{LINEUPS_FILE}",
            "max_exposure_pct": float(drivers["exposure_pct"].max()) if len(drivers) else 0.0,
            "top_leverage": MetadataValue.md(
                lev.to_markdown(index=False, floatfmt=".1f") if len(lev) else "(no drivers)"
            ),
            "lineups_preview": MetadataValue.md(
                lineups.drop(columns=["driver_ids"])
                .head(10)
                .to_markdown(index=False, floatfmt=".2f")
            ),
            **extra,
            **timer.metadata(),
        },
    )
