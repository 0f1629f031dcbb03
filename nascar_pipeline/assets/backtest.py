"""After the race: how good were the projections, the ownership and the portfolio?

- race_backtest (per race, started by results_sensor once results are ingested for a race whose
  race run is materialized): one row per driver who started:
  projected DraftKings-points distribution (the race_scenarios samples) against the actual points:
  log-likelihood (Gaussian-kernel density of the samples at the actual value, Silverman
  bandwidth), CRPS, PIT, hits of the central 50 % and 80 % intervals; projected ownership against
  the actual ownership where it was ingested. The portfolio's lineups scored with the actual
  points and ranked against a field drawn from the projected ownership (the contest's size, at
  most 20,000), paid by the contest's payout table, go beside it:
  `<root>/race_backtest/<race>.lineups.parquet`, summarized in the metadata.
- season_report (unpartitioned, refreshed after each backtest run): one row per backtested race
  with the race's scores, and one small plot; `<root>/season_report.parquet`.

Actual results come from the race source (`race_results`, see sources/base.py), not from the
snapshot, whose history holds only races strictly before the race.
"""

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MetadataValue, Output

from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, stored_asset
from nascar_pipeline.automation.policies import IO_RETRY_POLICY
from nascar_pipeline.resources.race_source import RaceSourceResource
from nascar_pipeline.resources.storage import StorageResource
from nascar_pipeline.storage.layout import StorageLayout

FIELD_MAX = 20_000
BACKTEST_LINEUPS = "lineups.parquet"  # beside race_backtest: the portfolio scored after the race


def _calibration_plot(df: pd.DataFrame) -> MetadataValue:
    fig, ax = new_figure((5, 2.8))
    d = df.sort_values("proj_mean")
    x = np.arange(len(d))
    ax.vlines(x, d["proj_p10"], d["proj_p90"], color="#9ab", lw=3, label="projected p10-p90")
    ax.plot(x, d["proj_mean"], "_", color="#246", ms=8, label="projected mean")
    ax.plot(x, d["actual_points"], "o", color="#c33", ms=3, label="actual")
    ax.set_xticks([])
    ax.set_xlabel("drivers, by projected mean", fontsize=7)
    ax.set_ylabel("DK points", fontsize=7)
    ax.legend(fontsize=6, loc="upper left")
    return image_markdown(fig, "projected vs actual")


# ---------------------------------------------------------------- assets


@race_asset(group="backtest", kinds={"parquet"}, pool="neo4j", retry_policy=IO_RETRY_POLICY)
def race_backtest(
    context: AssetExecutionContext,
    race_source: RaceSourceResource,
    storage: StorageResource,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """After the race: projected DK-points distributions against actual points
    (log-likelihood, CRPS, PIT, 50/80 % interval hits), projected against actual ownership,
    the portfolio's actual scores and simulated-field ranks."""
    from nascar_pipeline.core.race_scoring import actual_points, driver_scores, score_portfolio
    from nascar_pipeline.core.slate import contest_field_size, contest_table, dk_salary_slate

    race_key = context.partition_key
    results = race_source.race_results(race_key)
    if results.empty:
        raise ValueError(f"race {race_key} has no results yet: nothing to backtest")
    results = results.copy()
    results["actual_points"] = actual_points(results)
    wide = race_scenarios.pivot(index="scenario", columns="driver_id", values="dk_points")
    drivers = [int(d) for d in results["driver_id"] if int(d) in set(wide.columns.astype(int))]
    res = results.set_index(results["driver_id"].astype(int)).loc[drivers]
    samples = wide[drivers].to_numpy(np.float64)
    y = res["actual_points"].to_numpy(np.float64)
    scores = driver_scores(samples, y)
    own = ownership_projections.set_index(ownership_projections["driver_id"].astype(int))
    df = pd.DataFrame(
        {
            "race_key": race_key,
            "driver_id": np.asarray(drivers, np.int64),
            "driver_name": res["driver_name"].astype("string").to_numpy(),
            "start_position": res["start_position"].astype("Int64").to_numpy(),
            "finish_position": res["finish_position"].astype("Int64").to_numpy(),
            "actual_points": y,
            **scores,
            "proj_own_pct": own["own_pct"].reindex(drivers).to_numpy(float),
            "actual_own_pct": res["dk_own_pct"]
            .astype("Float64")
            .to_numpy(dtype=float, na_value=np.nan),
        }
    )
    df["own_error"] = df["proj_own_pct"] - df["actual_own_pct"]

    # The portfolio against a field from the projected ownership, with the actual points.
    slate = dk_salary_slate(race_snapshot)
    F = min(contest_field_size(race_snapshot), FIELD_MAX)
    table = contest_table(race_snapshot, F + len(lineup_portfolio))
    lineups = score_portfolio(
        lineup_portfolio,
        dict(zip(df["driver_id"].astype(int), y)),
        own["own_pct"].to_dict(),
        slate,
        table,
        F,
    )
    storage.write_beside(
        "race_backtest", race_key, {BACKTEST_LINEUPS: StorageLayout.parquet_bytes(lineups)}
    )

    own_known = df["actual_own_pct"].notna()
    summary = {
        "drivers": len(df),
        "log_lik_mean": float(df["log_lik"].mean()),
        "crps_mean": float(df["crps"].mean()),
        "hit_rate_50": float(df["in_50"].mean()),
        "hit_rate_80": float(df["in_80"].mean()),
        "ownership_mae": float(df.loc[own_known, "own_error"].abs().mean())
        if own_known.any()
        else None,
        "ownership_drivers": int(own_known.sum()),
        "lineups": len(lineups),
        "best_lineup_points": float(lineups["actual_points"].max()),
        "best_lineup_rank": float(lineups["rank"].min()),
        "portfolio_payout": float(lineups["payout"].sum()),
        "portfolio_roi": float(
            lineups["payout"].sum() / max(table.entry_fee * len(lineups), 1e-9) - 1.0
        ),
    }
    worst = df.reindex(df["crps"].sort_values(ascending=False).index).head(8)[
        ["driver_name", "proj_mean", "proj_p10", "proj_p90", "actual_points", "crps"]
    ]
    return Output(
        df,
        metadata={
            **{k: v for k, v in summary.items() if v is not None},
            "field_size": F,
            "lineups_file": f"race_backtest/{race_key}.{BACKTEST_LINEUPS}",
            "largest_misses": MetadataValue.md(worst.to_markdown(index=False, floatfmt=".1f")),
            "lineups_preview": MetadataValue.md(
                lineups.sort_values("rank").head(8).to_markdown(index=False, floatfmt=".1f")
            ),
            "calibration": _calibration_plot(df),
        },
    )


SEASON_COLUMNS = [
    "season",
    "race_key",
    "drivers",
    "log_lik_mean",
    "crps_mean",
    "hit_rate_50",
    "hit_rate_80",
    "ownership_mae",
    "lineups",
    "best_lineup_rank",
    "best_lineup_percentile",
    "portfolio_payout",
    "portfolio_roi",
]


def season_table(layout: StorageLayout) -> pd.DataFrame:
    """One row per race with a race_backtest file under the layout's root."""
    rows = []
    for race_key in layout.list_race_keys():
        path = layout.asset_path("race_backtest", race_key)
        if not path.exists():
            continue
        d = layout.read_parquet_path(path)
        lp = layout.extra_path("race_backtest", race_key, BACKTEST_LINEUPS)
        lines = layout.read_parquet_path(lp) if lp.exists() else pd.DataFrame()
        fee = float(lines["entry_fee"].iloc[0]) if len(lines) else np.nan
        own = d["own_error"].dropna().abs()
        rows.append(
            {
                "season": int(race_key[:4]) if race_key[:4].isdigit() else None,
                "race_key": race_key,
                "drivers": len(d),
                "log_lik_mean": float(d["log_lik"].mean()),
                "crps_mean": float(d["crps"].mean()),
                "hit_rate_50": float(d["in_50"].mean()),
                "hit_rate_80": float(d["in_80"].mean()),
                "ownership_mae": float(own.mean()) if len(own) else np.nan,
                "lineups": len(lines),
                "best_lineup_rank": float(lines["rank"].min()) if len(lines) else np.nan,
                "best_lineup_percentile": float(lines["percentile"].max())
                if len(lines)
                else np.nan,
                "portfolio_payout": float(lines["payout"].sum()) if len(lines) else np.nan,
                "portfolio_roi": float(lines["payout"].sum() / (fee * len(lines)) - 1.0)
                if len(lines)
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=SEASON_COLUMNS)


def _season_plot(t: pd.DataFrame) -> MetadataValue:
    fig, ax = new_figure((6, 2.8))
    x = np.arange(len(t))
    ax.plot(x, t["hit_rate_80"], "o-", ms=3, label="80 % interval hit rate")
    ax.plot(x, t["hit_rate_50"], "s-", ms=3, label="50 % interval hit rate")
    ax.axhline(0.8, color="#999", lw=0.6, ls="--")
    ax.axhline(0.5, color="#999", lw=0.6, ls=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("backtested races, in order", fontsize=7)
    ax2 = ax.twinx()
    ax2.bar(x, t["crps_mean"], color="#ccc", alpha=0.5, label="mean CRPS")
    ax2.set_ylabel("mean CRPS (DK points)", fontsize=7)
    ax.legend(fontsize=6, loc="lower left")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    return image_markdown(fig, "season")


@stored_asset(
    group="backtest",
    deps=[AssetKey("race_backtest")],
    kinds={"parquet"},
    retry_policy=IO_RETRY_POLICY,
)
def season_report(storage: StorageResource) -> Output[pd.DataFrame]:
    """Every backtested race in one table (calibration, CRPS, log-likelihood, ownership error,
    portfolio rank and ROI) with one plot; refreshed after each backtest run."""
    t = season_table(storage.layout)
    meta: dict = {"races": len(t)}
    if len(t):
        meta.update(
            {
                "hit_rate_80": float(t["hit_rate_80"].mean()),
                "hit_rate_50": float(t["hit_rate_50"].mean()),
                "crps_mean": float(t["crps_mean"].mean()),
                "portfolio_roi_mean": float(t["portfolio_roi"].mean()),
                "by_season": MetadataValue.md(
                    t.groupby("season")[
                        [
                            "hit_rate_50",
                            "hit_rate_80",
                            "crps_mean",
                            "log_lik_mean",
                            "ownership_mae",
                            "portfolio_roi",
                        ]
                    ]
                    .mean()
                    .reset_index()
                    .to_markdown(index=False, floatfmt=".3f")
                ),
                "races_table": MetadataValue.md(
                    t.tail(15).to_markdown(index=False, floatfmt=".2f")
                ),
                "calibration_by_race": _season_plot(t),
            }
        )
    return Output(t, metadata=meta)


backtest_assets = [race_backtest, season_report]
