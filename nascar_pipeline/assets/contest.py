"""contest_simulation, per race partition, and its blocking check.

Each contest's portfolio (lineup_portfolio's rows of that contest_id) against a fresh field of
the contest's size and its payout table, in every scenario not used for the selection (all
scenarios when too few are left): ROI, cash %, win %, top-1 %, mean rank and simulated
duplicates per lineup. Beside them the honest figures (core/honest_roi.py honest_contest: the
same lineups and field in scenarios perturbed by the model's error): honest_roi,
honest_cash_pct, honest_win_pct. One row per (contest_id, lineup_id); per contest the
portfolio's summary, and the race's simulated and honest ROI, in metadata and the run log.
Beside the simulated and honest cash rates, what the backtest measured for our portfolios on
past races (the season report's money: core/honest_roi.py measured_money), all tracks and this
track type, so a player sees how far the simulation's promise has held.
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
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.core import rules
from nascar_pipeline.core.honest_roi import DEFAULT_SHRINK
from nascar_pipeline.resources.storage import StorageResource

SITE = rules.DRAFTKINGS
FIELD_SEED_OFFSET = 7919  # the contest's field differs from the one the portfolio was built on
HELD_OUT_MIN = 1000  # fewer scenarios left than this: simulate on all of them


class ContestConfig(FieldConfig):
    field_size: int | None = Field(
        None,
        description="field lineups of every contest (at most the contest's field size); "
        "default: the contest's (or 10,000)",
    )
    chunk_elems: int = Field(4_000_000, ge=10_000, description="field scores held at once")
    honest_error_sd: float | None = Field(
        None,
        ge=0.0,
        description="DK points of model error per driver for the honest figures "
        "(core/honest_roi.py; unset: its DEFAULT_ERROR_SD, 12, the value honest_shrink's "
        "default was measured with)",
    )
    honest_shrink: float = Field(
        DEFAULT_SHRINK,
        ge=0.0,
        le=1.0,
        description="share of each driver's mean moved toward what his salary alone implies "
        "for the honest figures (core/honest_roi.py DEFAULT_SHRINK); benchmarks/bench_optimizer.py "
        "--honest on the six real 2026 slates (36 worlds, a model off by 8 DK points per driver): "
        "0.8 left honest minus true ROI at -9 % +/- 6 % and cash +0.6 +/- 0.1 points per lineup "
        "(0.5 said +38 % and +3.7 too much)",
    )
    seed: int = 1


HONEST_SEED_OFFSET = 104_729  # the honest perturbation's own stream: the raw figures are unchanged
RATE_COLUMNS = ["cash_pct", "win_pct", "top1_pct", "honest_cash_pct", "honest_win_pct"]
HONEST_COLUMNS = {"roi": "honest_roi", "cash_pct": "honest_cash_pct", "win_pct": "honest_win_pct"}
HONEST_HOW = (
    "the same lineups against the same field in scenarios perturbed by the model's error "
    "(core/honest_roi.py); a portfolio chosen on the model's own scenarios over-trusts them, "
    "so expect the honest figure, not the simulated one"
)


def _roi_plot(rois: dict) -> MetadataValue:
    fig, ax = new_figure((6, 2.6))
    for cid, roi in rois.items():
        ax.hist(np.clip(roi, -1, np.quantile(roi, 0.99)), bins=60, alpha=0.6, label=cid)
    ax.set_xlabel("portfolio ROI per scenario (clipped at p99)")
    ax.set_ylabel("scenarios")
    if len(rois) > 1:
        ax.legend(fontsize=7)
    return image_markdown(fig, "ROI")


def _plain(p: dict) -> dict:
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in p.items()}


def _portfolio_contests(lineup_portfolio: pd.DataFrame, contests: list) -> list:
    """(contest, its rows of the portfolio) per contest the portfolio plays, in its order. A
    portfolio from before contests (no contest_id) plays the race's first contest."""
    by_id = {c.contest_id: c for c in contests}
    if "contest_id" not in lineup_portfolio:
        return [(contests[0], lineup_portfolio)]
    out = []
    ids = lineup_portfolio["contest_id"].astype(str)
    for cid in dict.fromkeys(ids):
        if cid not in by_id:
            raise ValueError(
                f"lineup_portfolio has lineups for contest {cid!r}, which the race_snapshot no "
                "longer holds: materialize lineup_portfolio again"
            )
        out.append((by_id[cid], lineup_portfolio[ids == cid]))
    return out


def _cash_measured_vs_simulated(storage, race_snapshot, race_key: str, out: pd.DataFrame) -> dict:
    """The portfolio's mean simulated and honest cash % per lineup beside the cash % the backtest
    measured on past races (the stored season report; none before a race is backtested)."""
    from nascar_pipeline.core.honest_roi import measured_money
    from nascar_pipeline.core.slate import entry_rows

    sim = float(out["cash_pct"].mean())
    honest = float(out["honest_cash_pct"].mean())
    res = {"simulated_cash_pct": sim, "honest_cash_pct": honest, "measured": {}}
    path = storage.layout.asset_path("season_report")
    e = entry_rows(race_snapshot)
    track = str(e["track_type"].iloc[0]) if "track_type" in e and len(e) else None
    if storage.layout.exists(path):
        res["measured"] = measured_money(
            storage.layout.read_parquet_path(path), track, exclude_race=race_key
        )
    head = f"cash per lineup: simulated {sim:.1f} %, honest {honest:.1f} %"
    m = res["measured"]
    if not m:
        res["note"] = head + "; no past race with money graded by the backtest yet: unchecked"
        return res
    parts = [
        f"{k} {v['cash_pct']:.1f} % on {v['races']} races ({v['real_contest_races']} real contests)"
        for k, v in m.items()
    ]
    res["note"] = head + "; measured by the backtest: " + ", ".join(parts)
    return res


@race_asset(group="dfs", kinds={"numpy", "parquet"})
def contest_simulation(
    context: AssetExecutionContext,
    config: ContestConfig,
    storage: StorageResource,
    race_snapshot: pd.DataFrame,
    race_scenarios: pd.DataFrame,
    ownership_projections: pd.DataFrame,
    lineup_portfolio: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Each contest's portfolio against its own simulated field (its field size and payout
    table) in every held-out scenario: ROI, cash %, win %, top-1 %, mean rank and simulated
    duplicates per lineup, and beside them the honest ROI, cash % and win % (scenarios
    perturbed by the model's error); per contest the portfolio's summary in metadata."""
    from nascar_pipeline.core.contest import simulate_contest
    from nascar_pipeline.core.contests import contest_rng, contests_from_snapshot
    from nascar_pipeline.core.honest_roi import honest_contest
    from nascar_pipeline.core.lineups import slate_indices
    from nascar_pipeline.core.slate import draw_field, slate_arrays, slate_ownership

    timer = StageTimer()  # each contest's stages add up under one name
    slate, points = slate_arrays(race_snapshot, race_scenarios)
    own = slate_ownership(slate, ownership_projections)
    timer.lap("load slate")
    honest_kw = {} if config.honest_error_sd is None else {"error_sd": config.honest_error_sd}
    frames, summaries, rois, warnings = [], [], {}, []
    plays = _portfolio_contests(lineup_portfolio, contests_from_snapshot(race_snapshot))
    for k, (contest, part) in enumerate(plays):
        tag = f"[{contest.contest_id}] "
        rng = contest_rng(config.seed + FIELD_SEED_OFFSET, k)
        ours = slate_indices(part, slate)
        F = contest.simulated_field_size(config.field_size)
        table = contest.payout_table(F + len(ours))
        context.log.info(
            f"{tag}contest: {len(ours)} lineups against a field of {F:,} "
            f"({contest.payout_note(F + len(ours))}, entry fee ${table.entry_fee:g})"
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
        timer.lap("field")
        for w in drawn.warnings:
            context.log.warning(f"{tag}contest field: {w}")
        warnings += [w for w in drawn.warnings if w not in warnings]
        context.log.info(
            f"{tag}contest: field drawn ({len(field):,} lineups, floor "
            f"${config.field_min_salary:,})"
        )
        used = int(part["n_scenarios_used"].iloc[0]) if "n_scenarios_used" in part else 0
        held_out = points.shape[0] - used >= HELD_OUT_MIN
        pts = points[used:] if held_out else points
        context.log.info(
            f"{tag}contest: {pts.shape[0]} {'held-out ' if held_out else ''}scenarios in "
            f"chunks of at most {config.chunk_elems:,} field scores"
        )
        summ = simulate_contest(pts, ours, field, table, chunk_elems=config.chunk_elems).summary()
        timer.lap("simulation")
        honest = honest_contest(
            pts,
            ours,
            field,
            table,
            contest_rng(config.seed + HONEST_SEED_OFFSET, k),
            chunk_elems=config.chunk_elems,
            shrink=config.honest_shrink,
            salaries=slate["salary"].to_numpy(float),
            **honest_kw,
        ).summary()
        timer.lap("honest figures")
        out = pd.DataFrame(
            {
                "lineup_id": part["lineup_id"].to_numpy(np.int64),
                **{c: np.asarray(v, dtype=float) for c, v in summ["per_lineup"].items()},
            }
        )
        out.insert(1, "contest_id", pd.array([contest.contest_id] * len(out), dtype="string"))
        out["sim_duplicates"] = out["sim_duplicates"].astype(np.int64)
        for raw, col in HONEST_COLUMNS.items():
            out[col] = np.asarray(honest["per_lineup"][raw], dtype=float)
        frames.append(out)
        p, hp = summ["portfolio"], honest["portfolio"]
        context.log.info(
            f"{tag}contest: simulated {float(p['roi']):+.1%}, honest {float(hp['roi']):+.1%}: "
            + HONEST_HOW
        )
        rois[contest.contest_id] = summ["roi_distribution"]
        summaries.append(
            {
                "contest_id": contest.contest_id,
                "name": contest.name,
                "lineups": len(out),
                "field_size": int(F),
                "payout_table": table.source,
                "scenarios": int(pts.shape[0]),
                "scenarios_held_out": bool(held_out),
                **_plain(p),
                "honest_roi": float(hp["roi"]),
                "honest_any_cash_pct": float(hp["any_cash_pct"]),
                "honest_p_profit": float(hp["p_profit"]),
            }
        )
    out = pd.concat(frames, ignore_index=True)
    cost = sum(s["total_cost"] for s in summaries)
    paid = sum(s["mean_total_payout"] for s in summaries)
    # the honest mean payout per contest: cost x (1 + honest ROI)
    honest_paid = sum(s["total_cost"] * (1.0 + s["honest_roi"]) for s in summaries)
    roi = paid / cost - 1.0 if cost > 0 else float("nan")
    honest_roi = honest_paid / cost - 1.0 if cost > 0 else float("nan")
    if len(summaries) > 1:
        context.log.info(
            f"contests: {len(summaries)} contests, simulated {roi:+.1%}, honest "
            f"{honest_roi:+.1%}: " + HONEST_HOW
        )
    timer.lap("summaries")
    cash = _cash_measured_vs_simulated(storage, race_snapshot, context.partition_key, out)
    timer.lap("measured cash")
    context.log.info(cash["note"])
    context.log.info(f"contest_simulation stages: {timer.line()}")
    first = summaries[0]
    return Output(
        out,
        metadata={
            "scenarios": first["scenarios"],
            "scenarios_held_out": first["scenarios_held_out"],
            "field_size": first["field_size"],
            "field_warnings": MetadataValue.json(warnings),
            "payout_table": first["payout_table"],
            "contests": MetadataValue.json(summaries),
            "contests_table": MetadataValue.md(
                pd.DataFrame(summaries)[
                    ["contest_id", "lineups", "field_size", "entry_fee", "roi", "honest_roi"]
                ].to_markdown(index=False, floatfmt=".3f")
            ),
            "portfolio": MetadataValue.json(
                {k: v for k, v in first.items() if k not in ("contest_id", "name")}
                if len(summaries) == 1
                else {"total_cost": cost, "mean_total_payout": paid, "roi": roi}
            ),
            "portfolio_roi": float(roi),
            "portfolio_honest_roi": float(honest_roi),
            "honest_roi_how": HONEST_HOW,
            "cash_measured_vs_simulated": MetadataValue.json(cash),
            "roi_distribution": _roi_plot(rois),
            "lineups_preview": MetadataValue.md(
                out.head(10).to_markdown(index=False, floatfmt=".3f")
            ),
            **timer.metadata(),
        },
    )


@race_check(contest_simulation)
def contest_simulation_finite(contest_simulation: pd.DataFrame) -> AssetCheckResult:
    """Every row's simulation summary (raw and honest) is finite and in range."""
    df = contest_simulation
    num = df.drop(columns=["lineup_id", "contest_id"], errors="ignore").select_dtypes("number")
    finite = np.isfinite(num.to_numpy(float)).all(axis=1)
    pct = df[[c for c in RATE_COLUMNS if c in df]].to_numpy(float)
    in_range = ((pct >= 0) & (pct <= 100)).all(axis=1) & (df["mean_rank"] >= 1).to_numpy()
    bad = np.flatnonzero(~(finite & in_range))
    return AssetCheckResult(
        passed=bool(len(df) > 0 and bad.size == 0),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lineups": len(df),
            "bad_rows": MetadataValue.json(
                [
                    {
                        "contest_id": str(df["contest_id"].iloc[i]) if "contest_id" in df else None,
                        "lineup_id": int(df["lineup_id"].iloc[i]),
                    }
                    for i in bad[:20]
                ]
            ),
        },
    )
