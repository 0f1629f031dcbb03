"""After the race: how good were the projections, the ownership and the portfolio?

- race_backtest (per race, started by results_sensor once results are ingested for a race whose
  race run is materialized): one row per driver who started:
  projected DraftKings-points distribution (the race_scenarios samples) against the actual points:
  log-likelihood (Gaussian-kernel density of the samples at the actual value, Silverman
  bandwidth), CRPS, PIT, hits of the central 50 % and 80 % intervals; projected ownership against
  the actual ownership where it was ingested. The portfolio's lineups scored with the actual
  points and ranked, each in its own contest (`contest_id`), against a field drawn from the
  projected ownership (the contest's size, at most 20,000), paid by the contest's payout table,
  go beside it: `<root>/race_backtest/<race>.lineups.parquet`, summarized in the metadata.
  Money (`<race>.money.parquet`, one row per method and contest): our lineups against their own
  contest's real cash line and winning score (else a field simulated from the real %Drafted,
  labelled), beside the best lineups of the start-position and trailing-average baselines and of
  a plain optimizer on the player's ingested projections (a vendor's, where one was loaded)
  against the same contests (core/money_grading.py).
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
BACKTEST_MONEY = "money.parquet"  # beside race_backtest: each method's lineups vs the contest
BACKTEST_OWNERSHIP = "ownership.parquet"  # beside race_backtest: ownership MAEs vs real %Drafted
# our portfolio, the two model-free baselines, and a plain optimizer on the player's ingested
# projections (user_proj_points: a vendor's numbers where the player loaded a vendor sheet)
MONEY_METHODS = ("model", "start_position", "trailing_avg_finish", "user_projections")
USER_PROJ_COVERAGE = 0.8  # share of the slate the user's projections must cover to be graded


def _race_contests(race_source: RaceSourceResource, race_key: str) -> pd.DataFrame | None:
    """The race's contests as stored now (with the after-race winning score and cash line)."""
    try:
        return race_source.source().race_inputs(race_key).contests
    except (NotImplementedError, AttributeError):
        return None


def _race_laps(race: pd.Series, history: pd.DataFrame) -> float:
    """The laps the model's scenarios used (assets/model.py): scheduled, else laps run, else
    the simulator's fallback, the median of the track's (else track type's) races in the
    history; 0 without any (no dominator points in the baselines' projections). The baselines
    see no more of the race than the model did."""
    from nascar_pipeline.core.backtest import track_median_laps

    for col in ("scheduled_laps", "laps"):
        if col in race and pd.notna(race[col]):
            return float(race[col])
    laps = track_median_laps(history, race.get("track_name"), race.get("track_type"))
    return 0.0 if laps is None else laps


def _user_projections(entries: pd.DataFrame, ids: np.ndarray) -> np.ndarray | None:
    """The player's ingested mean DK points per slate driver (0 where one is missing: never
    picked), or None where they cover less than USER_PROJ_COVERAGE of the slate."""
    if "user_proj_points" not in entries:
        return None
    by_id = pd.to_numeric(entries["user_proj_points"], errors="coerce")
    by_id.index = entries["driver_id"].astype("int64")
    v = pd.Series(ids).map(by_id[~by_id.index.duplicated()]).to_numpy(float)
    if np.isfinite(v).mean() < USER_PROJ_COVERAGE:
        return None
    return np.nan_to_num(v)


def grade_race_money(
    race_snapshot: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
    points_by_driver: dict,
    own_by_driver: dict,
    contests: pd.DataFrame | None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per method (MONEY_METHODS) and contest: our portfolio's DraftKings lineups, each
    against its own contest (`contest_id`), and the best lineups by the start-position and
    trailing-average projections and by the player's projections (where ingested) against the
    same contests; each contest's real facts, else a field simulated from the real %Drafted
    (cash_source says which; core/money_grading.py); empty without either."""
    from nascar_pipeline.core.backtest import baseline_projections
    from nascar_pipeline.core.lineups import slate_indices
    from nascar_pipeline.core.money_grading import grade_contests
    from nascar_pipeline.core.slate import dk_salary_slate, entry_rows, history_rows

    slate = dk_salary_slate(race_snapshot)
    if slate.empty:
        return pd.DataFrame()
    ids = slate["driver_id"].astype("int64").to_numpy()
    y = np.array([points_by_driver.get(int(d), 0.0) for d in ids], dtype=np.float64)
    salaries = slate["salary"].to_numpy(np.float64)
    own = np.array([own_by_driver.get(int(d), np.nan) for d in ids], dtype=np.float64)
    entries = entry_rows(race_snapshot)
    race = entries.iloc[0]
    history = history_rows(race_snapshot)
    proj = baseline_projections(
        history,
        ids,
        pd.to_numeric(slate["start_position"], errors="coerce").to_numpy(float),
        _race_laps(race, history),
        str(race["race_date"]),
        seed=seed,
    )
    user = _user_projections(entries, ids)
    if user is not None:
        proj["user_projections"] = user
    dk = lineup_portfolio
    if "site" in dk:
        dk = dk[dk["site"].astype(str) == "draftkings"]
    ours = None
    if len(dk):
        cid = (
            dk["contest_id"].astype(str)
            if "contest_id" in dk
            else pd.Series("default", index=dk.index)
        )
        ours = {c: slate_indices(dk[cid == c], slate) for c in cid.unique()}
    return grade_contests(salaries, y, proj, ours, contests, own_pct=own, seed=seed)


def score_by_contest(
    lineup_portfolio: pd.DataFrame,
    points_by_driver: dict,
    own_by_driver: dict,
    slate: pd.DataFrame,
    contests: list,
    race_contests: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Each DraftKings lineup scored with the actual points and ranked in its own contest
    (`contest_id`; a portfolio without the column, the stated default GPP's lineups, or an id
    the snapshot does not know play the race's stand-in contest, the one money grading grades
    them against: core/money_grading.py stand_in_contest_id on `race_contests`, the race's
    contests with their facts, else the snapshot's largest field): a field of the contest's
    size (at most FIELD_MAX) from the projected ownership, the contest's payout table. Returns
    the lineups (with contest_id) and {contest_id: (field size, payout note)}."""
    from nascar_pipeline.core.race_scoring import score_portfolio

    dk = lineup_portfolio
    if "site" in dk:
        dk = dk[dk["site"].astype(str) == "draftkings"]
    by_id = {c.contest_id: c for c in contests}
    stand_in = _stand_in_contest(contests, race_contests)
    cid = dk["contest_id"].astype(str) if "contest_id" in dk else pd.Series("", index=dk.index)
    parts, fields = [], {}
    for c_id in cid.unique() if len(dk) else []:
        group = dk[cid == c_id]
        own = c_id in by_id
        contest = by_id[c_id] if own else stand_in
        F = contest.simulated_field_size(None, FIELD_MAX)
        table = contest.payout_table(F + len(group))
        scored = score_portfolio(group, points_by_driver, own_by_driver, slate, table, F)
        key = c_id if own else contest.contest_id
        scored.insert(1, "contest_id", key)
        parts.append(scored)
        note = contest.payout_note(F + len(group))
        fields[key] = (F, note if own else f"{contest.label}, the race's stand-in; {note}")
    if not parts:
        cols = ["lineup_id", "contest_id", "actual_points", "rank", "payout", "entry_fee"]
        return pd.DataFrame(columns=cols), fields
    return pd.concat(parts, ignore_index=True), fields


def _stand_in_contest(contests: list, race_contests: pd.DataFrame | None):
    """The Contest an unnamed lineup plays (core/money_grading.py stand_in_contest_id: the real
    contest with facts, else the largest field), from the race's contests where they are given,
    else from the snapshot's; the first contest when neither names one."""
    from nascar_pipeline.core.contests import contest_record
    from nascar_pipeline.core.money_grading import stand_in_contest_id

    by_id = {c.contest_id: c for c in contests}
    for frame in (race_contests, pd.DataFrame([contest_record(c) for c in contests])):
        sid = stand_in_contest_id(frame)
        if sid in by_id:
            return by_id[sid]
    return contests[0]


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
    from nascar_pipeline.core.contests import contests_from_snapshot
    from nascar_pipeline.core.race_scoring import actual_points, driver_scores
    from nascar_pipeline.core.slate import dk_salary_slate, entry_rows

    race_key = context.partition_key
    context.log.info(f"race_backtest {race_key}: loading results")
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
            "proj_sd": samples.std(axis=0),
            "track_type": str(entry_rows(race_snapshot)["track_type"].iloc[0]),
            "proj_own_pct": own["own_pct"].reindex(drivers).to_numpy(float),
            "actual_own_pct": res["dk_own_pct"]
            .astype("Float64")
            .to_numpy(dtype=float, na_value=np.nan),
        }
    )
    df["own_error"] = df["proj_own_pct"] - df["actual_own_pct"]
    context.log.info(
        f"scored {len(df)} drivers: mean CRPS {float(df['crps'].mean()):.2f}, "
        f"80 % interval hits {float(df['in_80'].mean()):.0%}"
    )

    # The portfolio against a field from the projected ownership, with the actual points:
    # each lineup in its own contest (the field's size and payouts, read as the DFS assets read
    # them: payouts rescaled to the simulated field, core/payout_scaling.py)
    slate = dk_salary_slate(race_snapshot)
    race_contests = _race_contests(race_source, race_key)
    lineups, fields = score_by_contest(
        lineup_portfolio,
        dict(zip(df["driver_id"].astype(int), y)),
        own["own_pct"].to_dict(),
        slate,
        contests_from_snapshot(race_snapshot),
        race_contests,
    )
    for cid, (F, note) in fields.items():
        context.log.info(
            f"portfolio [{cid}]: {int((lineups['contest_id'] == cid).sum())} lineups ranked "
            f"against a field of {F:,} from the projected ownership ({note})"
        )

    # Money: our lineups and the baselines' against the real contest facts.
    context.log.info("money: grading lineups against the contest's cash line and winning score")
    actual_own = dict(zip(df["driver_id"].astype(int), df["actual_own_pct"]))
    money = grade_race_money(
        race_snapshot,
        lineup_portfolio,
        dict(zip(df["driver_id"].astype(int), y)),
        {k: v for k, v in actual_own.items() if pd.notna(v)},
        race_contests,
    )
    if len(money):
        for cid, m in money.groupby("contest_id", sort=False):
            m = m.set_index("method")
            context.log.info(
                f"money [{cid}] ({m['cash_source'].iloc[0]}): cash line "
                f"{m['cash_line'].iloc[0]:.1f}, winning score {m['winning_score'].iloc[0]:.1f}; "
                "best lineup " + ", ".join(f"{k} {v:.1f}" for k, v in m["best_points"].items())
            )
    else:
        context.log.info("money: no contest facts and no real %Drafted: not graded")

    # Ownership: ours against the real %Drafted, beside the defaults and salary alone.
    own_errors = _ownership_errors(race_snapshot, race_scenarios, ownership_projections, df)
    if own_errors:
        context.log.info(
            f"ownership MAE vs real %Drafted ({own_errors['own_drivers']} drivers): ours "
            f"{own_errors['own_mae']:.2f}, defaults {own_errors['own_mae_defaults']:.2f}, "
            f"salary only {own_errors['own_mae_salary_only']:.2f}"
        )
    context.log.info("writing the scored lineups and money beside the race table")
    storage.write_beside(
        "race_backtest",
        race_key,
        {
            BACKTEST_LINEUPS: StorageLayout.parquet_bytes(lineups),
            BACKTEST_MONEY: StorageLayout.parquet_bytes(money),
            BACKTEST_OWNERSHIP: StorageLayout.parquet_bytes(pd.DataFrame([own_errors])),
        },
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
        "ownership_mae_defaults": own_errors.get("own_mae_defaults"),
        "ownership_mae_salary_only": own_errors.get("own_mae_salary_only"),
        **_money_summary(money),
        "ownership_drivers": int(own_known.sum()),
        "lineups": len(lineups),
        "best_lineup_points": float(lineups["actual_points"].max()),
        "best_lineup_rank": float(lineups["rank"].min()),
        "portfolio_payout": float(lineups["payout"].sum()),
        "portfolio_roi": float(
            lineups["payout"].sum() / max(lineups["entry_fee"].sum(), 1e-9) - 1.0
        ),
    }
    worst = df.reindex(df["crps"].sort_values(ascending=False).index).head(8)[
        ["driver_name", "proj_mean", "proj_p10", "proj_p90", "actual_points", "crps"]
    ]
    return Output(
        df,
        metadata={
            **{k: v for k, v in summary.items() if v is not None},
            "field_size": {cid: F for cid, (F, _) in fields.items()},
            "lineups_file": f"race_backtest/{race_key}.{BACKTEST_LINEUPS}",
            "largest_misses": MetadataValue.md(worst.to_markdown(index=False, floatfmt=".1f")),
            **(
                {"money": MetadataValue.md(money.to_markdown(index=False, floatfmt=".1f"))}
                if len(money)
                else {}
            ),
            "lineups_preview": MetadataValue.md(
                lineups.sort_values("rank").head(8).to_markdown(index=False, floatfmt=".1f")
            ),
            "calibration": _calibration_plot(df),
        },
    )


def _ownership_errors(
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    df: pd.DataFrame,
) -> dict:
    """core/backtest.py ownership_errors on the slate the ownership asset builds (the
    scenarios' mean as projection, the snapshot's recent form); ours is the ownership asset's
    output. {} without real %Drafted."""
    from nascar_pipeline.core.backtest import ownership_errors
    from nascar_pipeline.core.ownership_history import ownership_slate
    from nascar_pipeline.core.slate import slate_arrays

    slate, _points = slate_arrays(race_snapshot, race_scenarios)
    ids = slate["driver_id"].astype(int)
    actual = ids.map(df.set_index(df["driver_id"].astype(int))["actual_own_pct"]).astype(float)
    if not actual.notna().any():
        return {}
    proj = ownership_projections.set_index(ownership_projections["driver_id"].astype(int))
    return ownership_errors(
        ownership_slate(slate, race_snapshot),
        actual.to_numpy(float),
        ids.map(proj["own_pct"]).to_numpy(float),
    )


def _money_summary(money: pd.DataFrame) -> dict:
    """money_<method>_{best_points,cash_rate,beat_winner} over the race's contests, the mean
    cash line and winning score and their source."""
    from nascar_pipeline.core.money_grading import by_method

    if not len(money):
        return {}
    money = by_method(money)
    out: dict = {
        "money_cash_line": float(money["cash_line"].iloc[0]),
        "money_winning_score": float(money["winning_score"].iloc[0]),
        "money_cash_source": str(money["cash_source"].iloc[0]),
    }
    for r in money.itertuples(index=False):
        for k in ("best_points", "cash_rate", "beat_winner"):
            v = getattr(r, k)
            out[f"money_{r.method}_{k}"] = None if pd.isna(v) else float(v)
    return out


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
    "track_type",
    "rmse_dk",
    "scenario_sd",
    "ownership_mae_defaults",
    "ownership_mae_salary_only",
    "cash_source",
    "cash_line",
    "winning_score",
    *[f"{m}_{k}" for m in MONEY_METHODS for k in ("best_points", "cash_rate", "beat_winner")],
]


def _race_extras(layout: StorageLayout, race_key: str, d: pd.DataFrame) -> dict:
    """The season row's error, ownership and money fields of one race."""
    err = d["proj_mean"] - d["actual_points"]
    out: dict = {
        "track_type": str(d["track_type"].iloc[0]) if "track_type" in d and len(d) else None,
        "rmse_dk": float(np.sqrt(np.mean(err**2))) if len(d) else np.nan,
        "scenario_sd": float(np.sqrt(np.mean(d["proj_sd"] ** 2))) if "proj_sd" in d else np.nan,
    }
    op = layout.extra_path("race_backtest", race_key, BACKTEST_OWNERSHIP)
    own = layout.read_parquet_path(op) if op.exists() else pd.DataFrame()
    for k in ("defaults", "salary_only"):
        c = f"own_mae_{k}"
        out[f"ownership_mae_{k}"] = float(own[c].iloc[0]) if c in own and len(own) else np.nan
    from nascar_pipeline.core.money_grading import by_method

    mp = layout.extra_path("race_backtest", race_key, BACKTEST_MONEY)
    money = by_method(layout.read_parquet_path(mp)) if mp.exists() else pd.DataFrame()
    if len(money):
        out.update(
            cash_source=str(money["cash_source"].iloc[0]),
            cash_line=float(money["cash_line"].iloc[0]),
            winning_score=float(money["winning_score"].iloc[0]),
        )
        for r in money.itertuples(index=False):
            for k in ("best_points", "cash_rate", "beat_winner"):
                out[f"{r.method}_{k}"] = float(getattr(r, k))
    return out


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
        fees = float(lines["entry_fee"].sum()) if len(lines) else np.nan
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
                "portfolio_roi": float(lines["payout"].sum() / fees - 1.0)
                if len(lines)
                else np.nan,
                **_race_extras(layout, race_key, d),
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
def season_report(context: AssetExecutionContext, storage: StorageResource) -> Output[pd.DataFrame]:
    """Every backtested race in one table (calibration, CRPS, log-likelihood, projection error,
    ownership error beside the defaults and salary alone, portfolio rank and ROI, money against
    the real contests) with one plot; refreshed after each backtest run."""
    context.log.info("season_report: loading every race_backtest file")
    t = season_table(storage.layout)
    context.log.info(f"season_report: {len(t)} backtested races")
    meta: dict = {"races": len(t)}
    if len(t):
        meta.update(season_error_and_money(t))
        context.log.info(
            f"projection error: RMSE {meta['rmse_dk']:.2f} DK points per driver, scenario "
            f"spread {meta['scenario_sd']:.2f}, beyond it {meta['excess_error_sd']:.2f}; "
            f"money graded on {meta['money_races']} races"
        )
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
    context.log.info("season_report: writing the season table")
    return Output(t, metadata=meta)


def _pooled_rmse(t: pd.DataFrame) -> dict:
    w = t["drivers"].where(t["rmse_dk"].notna(), 0).astype(float)
    mse = float((t["rmse_dk"].fillna(0) ** 2 * w).sum() / max(w.sum(), 1))
    ok = t["scenario_sd"].notna()
    var = float((t.loc[ok, "scenario_sd"] ** 2 * w[ok]).sum() / max(w[ok].sum(), 1))
    return {
        "rmse_dk": np.sqrt(mse),
        "scenario_sd": np.sqrt(var),
        "excess_error_sd": np.sqrt(max(mse - var, 0.0)),
    }


def money_table(t: pd.DataFrame) -> pd.DataFrame:
    """Per method and track type (and all): races graded, how many against real contests, the
    mean best-lineup points, cash line and winning score, the lineups' mean cash rate, the share
    of races whose best lineup cashed, the share where a lineup reached the winning score."""
    g = t[t["cash_line"].notna()] if "cash_line" in t else t.iloc[0:0]
    rows = []
    for track, part in [("all", g), *g.groupby("track_type", sort=True)]:
        for m in MONEY_METHODS:
            best = part[f"{m}_best_points"].dropna()
            if best.empty:
                continue
            p = part.loc[best.index]
            rows.append(
                {
                    "track_type": track,
                    "method": m,
                    "races": len(p),
                    "real_contests": int((p["cash_source"] == "contest").sum()),
                    "best_points": float(best.mean()),
                    "cash_line": float(p["cash_line"].mean()),
                    "winning_score": float(p["winning_score"].mean()),
                    "cash_rate": float(p[f"{m}_cash_rate"].mean()),
                    "best_cashed": float((best >= p["cash_line"]).mean()),
                    "beat_winner": float(p[f"{m}_beat_winner"].mean()),
                }
            )
    return pd.DataFrame(rows)


def season_error_and_money(t: pd.DataFrame) -> dict:
    """The season report's projection error (pooled over driver-races: RMSE of projected minus
    actual DK points, the scenarios' own spread, the error beyond it: what honest ROI's noise
    needs), ownership MAEs (ours, defaults, salary only; races with real %Drafted) and the money
    table (markdown)."""
    out: dict = {k: float(v) for k, v in _pooled_rmse(t).items()}
    own = t[t["ownership_mae"].notna()]
    out["ownership_races"] = len(own)
    if len(own):
        for c in ("ownership_mae", "ownership_mae_defaults", "ownership_mae_salary_only"):
            out[c] = float(own[c].mean())
    money = money_table(t)
    out["money_races"] = (
        int(money.loc[money["track_type"] == "all", "races"].max()) if len(money) else 0
    )
    if len(money):
        out["money"] = MetadataValue.md(money.to_markdown(index=False, floatfmt=".2f"))
    return out


backtest_assets = [race_backtest, season_report]
