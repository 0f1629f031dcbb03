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

import base64
import io

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    Output,
    asset,
)

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.automation.policies import IO_RETRY_POLICY
from nascar_pipeline.core import rules

FIELD_MAX = 20_000
FIELD_SEED = 104_729


# ---------------------------------------------------------------- pure parts (tested alone)


def actual_points(results: pd.DataFrame) -> np.ndarray:
    """DraftKings points of each result row (no start position: no place differential)."""
    finish = results["finish_position"].astype("Int64").to_numpy(dtype=np.int64, na_value=0)
    start = results["start_position"].astype("Int64")
    start = start.fillna(results["finish_position"].astype("Int64")).to_numpy(np.int64)
    led = results["laps_led"].astype("Int64").fillna(0).to_numpy(np.int64)
    fast = results["fastest_laps"].astype("Int64").fillna(0).to_numpy(np.int64)
    return np.asarray(rules.draftkings_points(start, finish, led, fast), dtype=np.float64)


def kde_loglik(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log density at y[d] of a Gaussian KDE of samples[:, d] (Silverman's bandwidth)."""
    x = np.asarray(samples, np.float64)
    S = x.shape[0]
    sd = x.std(axis=0, ddof=1)
    iqr = np.subtract(*np.quantile(x, [0.75, 0.25], axis=0))
    h = 0.9 * np.minimum(sd, iqr / 1.34) * S ** (-0.2)
    h = np.maximum(np.where(h > 0, h, sd * S ** (-0.2)), 0.5)  # points move in 0.05 steps
    z = (x - y[None]) / h[None]
    m = (-0.5 * z**2).max(axis=0)
    log_mean = m + np.log(np.mean(np.exp(-0.5 * z**2 - m[None]), axis=0))
    return log_mean - np.log(h * np.sqrt(2 * np.pi))


def driver_scores(samples: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    from nascar_pipeline.core.backtest import coverage, crps_samples

    q = np.quantile(samples, [0.10, 0.25, 0.50, 0.75, 0.90], axis=0)
    return {
        "proj_mean": samples.mean(axis=0),
        "proj_p10": q[0],
        "proj_p50": q[2],
        "proj_p90": q[4],
        "log_lik": kde_loglik(samples, y),
        "crps": crps_samples(samples, y),
        "pit": (samples <= y[None]).mean(axis=0),
        "in_50": coverage(samples, y, 0.5),
        "in_80": coverage(samples, y, 0.8),
    }


def score_portfolio(
    lineups: pd.DataFrame,
    points_by_driver: dict[int, float],
    own_by_driver: dict[int, float],
    slate: pd.DataFrame,
    table,
    field_size: int,
    seed: int = FIELD_SEED,
) -> pd.DataFrame:
    """Each lineup's actual score, and where it would have placed (and been paid) against a field
    drawn from the projected ownership, scored with the actual points."""
    from nascar_pipeline.core.contest import generate_field, simulate_contest

    site = rules.DRAFTKINGS
    if "site" in lineups:  # the DraftKings portfolio is what is scored
        lineups = lineups[lineups["site"].astype(str) == site.name]
    cols = [c for c in lineups.columns if c.startswith("d") and c.endswith("_driver_id")]
    ids = slate["driver_id"].astype("int64").to_numpy()
    pos = {int(d): i for i, d in enumerate(ids)}
    pts = np.array([[points_by_driver.get(int(d), 0.0) for d in ids]], dtype=np.float64)
    ours = np.vectorize(lambda d: pos[int(d)])(lineups[cols].to_numpy())
    own = np.array([own_by_driver.get(int(d), 0.0) for d in ids], dtype=np.float64)
    field = generate_field(
        own,
        slate["salary"].to_numpy(float),
        site.roster_size,
        site.salary_cap,
        field_size,
        rng=np.random.default_rng(seed),
    )
    res = simulate_contest(pts, ours, field, table)
    out = pd.DataFrame(
        {
            "lineup_id": lineups["lineup_id"].to_numpy(np.int64),
            "actual_points": pts[0][ours].sum(axis=1),
            "rank": res.rank[0],
            "entries": res.n_entries,
            "percentile": 100.0 * (1.0 - (res.rank[0] - 1) / max(res.n_entries - 1, 1)),
            "payout": res.payout[0],
            "entry_fee": table.entry_fee,
            "field_duplicates": res.duplicates,
        }
    )
    if "projection" in lineups:
        out["projected_points"] = lineups["projection"].to_numpy(float)
    return out


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _calibration_plot(df: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.8), dpi=80)
    d = df.sort_values("proj_mean")
    x = np.arange(len(d))
    ax.vlines(x, d["proj_p10"], d["proj_p90"], color="#9ab", lw=3, label="projected p10-p90")
    ax.plot(x, d["proj_mean"], "_", color="#246", ms=8, label="projected mean")
    ax.plot(x, d["actual_points"], "o", color="#c33", ms=3, label="actual")
    ax.set_xticks([])
    ax.set_xlabel("drivers, by projected mean", fontsize=7)
    ax.set_ylabel("DK points", fontsize=7)
    ax.legend(fontsize=6, loc="upper left")
    return _png(fig)


def _race_results(source, race_key: str) -> pd.DataFrame:
    from nascar_pipeline.sources.base import race_results_from_tables

    if hasattr(source, "race_results"):
        return source.race_results(race_key)
    if hasattr(source, "tables"):
        return race_results_from_tables(source.tables, race_key)
    raise NotImplementedError(f"{type(source).__name__} has no race_results(race_key)")


# ---------------------------------------------------------------- assets


@asset(
    partitions_def=races_partitions,
    group_name="backtest",
    required_resource_keys={"race_source"},
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"parquet"},
    pool="neo4j",
    retry_policy=IO_RETRY_POLICY,
    description="After the race: projected DK-points distributions against actual points "
    "(log-likelihood, CRPS, PIT, 50/80 % interval hits), projected against actual "
    "ownership, the portfolio's actual scores and simulated-field ranks.",
)
def race_backtest(
    context: AssetExecutionContext,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
) -> Output[pd.DataFrame]:
    from nascar_pipeline import settings
    from nascar_pipeline.assets.dfs import contest_field_size, contest_table
    from nascar_pipeline.storage.layout import StorageLayout

    race_key = context.partition_key
    results = _race_results(context.resources.race_source.source(), race_key)
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
    slate = race_snapshot[(race_snapshot["role"] == "entry") & race_snapshot["salary"].notna()]
    slate = slate.sort_values("driver_id").reset_index(drop=True)
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
    layout = StorageLayout(settings.storage_root())
    layout.write_parquet(layout.extra_path("race_backtest", race_key, "lineups.parquet"), lineups)

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
            "lineups_file": f"race_backtest/{race_key}.lineups.parquet",
            "largest_misses": MetadataValue.md(worst.to_markdown(index=False, floatfmt=".1f")),
            "lineups_preview": MetadataValue.md(
                lineups.sort_values("rank").head(8).to_markdown(index=False, floatfmt=".1f")
            ),
            "calibration": MetadataValue.md(
                f"![projected vs actual](data:image/png;base64,{_calibration_plot(df)})"
            ),
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


def season_table(layout) -> pd.DataFrame:
    """One row per race with a race_backtest file under the layout's root."""
    rows = []
    for race_key in layout.list_race_keys():
        path = layout.asset_path("race_backtest", race_key)
        if not path.exists():
            continue
        d = layout.read_parquet_path(path)
        lp = layout.extra_path("race_backtest", race_key, "lineups.parquet")
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


def _season_plot(t: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8), dpi=80)
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
    return _png(fig)


@asset(
    group_name="backtest",
    deps=[AssetKey("race_backtest")],
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"parquet"},
    retry_policy=IO_RETRY_POLICY,
    description="Every backtested race in one table (calibration, CRPS, log-likelihood, "
    "ownership error, portfolio rank and ROI) with one plot; refreshed after each "
    "backtest run.",
)
def season_report(context: AssetExecutionContext) -> Output[pd.DataFrame]:
    from nascar_pipeline import settings
    from nascar_pipeline.storage.layout import StorageLayout

    t = season_table(StorageLayout(settings.storage_root()))
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
                "calibration_by_race": MetadataValue.md(
                    f"![season](data:image/png;base64,{_season_plot(t)})"
                ),
            }
        )
    return Output(t, metadata=meta)


backtest_assets = [race_backtest, season_report]
