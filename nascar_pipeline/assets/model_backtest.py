"""model_season_backtest: the race model judged on a whole season, in Dagster.

The same rolling backtest as `nascar-pipeline backtest --season N` (core/backtest.py
run_backtest): each race of the season fitted on the races strictly before it, simulated from
its real grid and scored against its real result beside the baselines (uniform, start position,
trailing average finish, the loop-data feature PL), with loop data's measurement model off, on
or both in one run (with `form`, both read the running positions as form covariates).
Unlike race_backtest / season_report, which grade the runs the race job materialized, this asset
re-fits the model for every race: an operator's job (model_backtest_job, launched from the UI or
`dagster job launch`), selected by no sensor or schedule. Its run config names the season, so it
is one unpartitioned asset whose tables are kept per season:

    <root>/model_season_backtest/<season>.season.parquet       one row per method
    <root>/model_season_backtest/<season>.races.parquet        one row per method and race
    <root>/model_season_backtest/<season>.track_types.parquet  per track type and method

written atomically after every race (a long run that stops leaves the races it scored). The
metadata holds the season table, the per-track-type table and two plots: the order
log-likelihood gain over the start-position baseline per track type and method, and each
method's 50 % / 90 % interval coverage against the nominal levels. The asset takes no mcmc pool
slot: a season of fits holding it would hold every race's fit back for hours.
"""

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSelection,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
    in_process_executor,
)
from pydantic import Field

from nascar_pipeline.assets.model import IncidentsConfig
from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import code_version
from nascar_pipeline.assets.tracing import asset_span
from nascar_pipeline.resources.jax_runtime import JaxRuntime
from nascar_pipeline.resources.race_source import RaceSourceResource
from nascar_pipeline.resources.storage import StorageResource

ASSET = "model_season_backtest"
JOB_NAME = "model_backtest_job"
SEASON_TABLE, RACES_TABLE, TRACK_TYPES_TABLE = "season", "races", "track_types"
BASELINE = "start_position"


class ModelBacktestConfig(IncidentsConfig):
    """Run config of model_season_backtest (the command's defaults: 2 chains, 150 warm-up
    steps, 200 draws)."""

    season: int = Field(description="the season whose races are backtested")
    races: int | None = Field(None, ge=1, description="only the first N races of the season")
    chains: int = Field(2, ge=1, description="MCMC chains (FitConfig.num_chains)")
    warmup: int = Field(150, ge=1, description="NUTS warm-up steps per chain")
    draws: int = Field(200, ge=1, description="posterior draws per chain")
    svi_steps: int = Field(1500, ge=1, description="ADVI steps of the first race's initialization")
    scenarios: int = Field(2000, ge=1, description="simulated races per method and race")
    loop_data: Literal["off", "on", "both"] = Field(
        "both",
        description="the model without loop data's measurement model (method model), with it "
        "(model_loop), or both ways for each race, side by side (with form on, both read the "
        "running positions as form covariates)",
    )
    form: bool = Field(
        True,
        description="the model's trailing-form covariates (ModelConfig.form), as race_model_fit",
    )
    car_contrasts: bool = Field(
        True,
        description="car effects as contrasts within the driver-car groups "
        "(ModelConfig.car_contrasts), as race_model_fit",
    )
    team_effect: bool = Field(
        False,
        description="organisation (team) effects under the car (ModelConfig.team_effect), as "
        "race_model_fit",
    )
    seed: int = Field(0, description="random seed of the fits and simulations")

    def fit_config(self):
        from nascar_pipeline.assets.model import chain_fit_config

        return chain_fit_config(self)


def season_tables(race_source: RaceSourceResource, season: int):
    """The ontology tables holding every result up to the season's last race: a source that
    keeps its tables in memory (the embedded world) hands them over; Neo4j reads those of the
    season's last race with results (every race before it; contests of that race only) plus
    that race's own results."""
    from nascar_pipeline.core.tables import conform

    source = race_source.source()
    tables = getattr(source, "tables", None)
    if tables is not None:
        return tables
    races = source.list_races()
    done = races[(races["season"] == season) & races["has_results"].astype(bool)]
    if done.empty:
        raise ValueError(f"no races with results in season {season}")
    last = done.sort_values(["race_date", "race_key"])["race_key"].iloc[-1]
    t = source.race_tables(last)
    own = conform("results", race_source.race_results(last))
    return dataclasses.replace(t, results=pd.concat([t.results, own], ignore_index=True))


def _markdown(df: pd.DataFrame, columns: list[str]) -> MetadataValue:
    return MetadataValue.md(
        df[[c for c in columns if c in df]].to_markdown(index=False, floatfmt=".3f")
    )


SEASON_COLUMNS = [
    "method",
    "races",
    "order_loglik_per_race",
    "brier_top10",
    "crps_dk",
    "cover50_pct",
    "cover90_pct",
    "pit50_pct",
    "pit90_pct",
    "mass50_pct",
    "mass90_pct",
    "rmse_dk",
    "mae_dk",
    "rank_corr_dk",
]
TRACK_TYPE_COLUMNS = [
    "track_type",
    "method",
    "races",
    "order_ll",
    f"ll_vs_{BASELINE}",
    "crps_dk",
    f"crps_vs_{BASELINE}_pct",
    "cover50_pct",
    "cover90_pct",
    "pit50_pct",
    "pit90_pct",
    "mass50_pct",
    "mass90_pct",
    "mae_dk",
    "rank_corr_dk",
]


def gain_plot(by_type: pd.DataFrame) -> MetadataValue:
    """Grouped bars: per track type (and all), each method's order log-likelihood gain over the
    start-position baseline, nats per race."""
    col = f"ll_vs_{BASELINE}"
    t = by_type[by_type["method"] != BASELINE]
    types = list(dict.fromkeys(t["track_type"]))
    methods = list(dict.fromkeys(t["method"]))
    fig, ax = new_figure((6.4, 2.8))
    width = 0.8 / max(len(methods), 1)
    x = np.arange(len(types))
    for j, m in enumerate(methods):
        v = t[t["method"] == m].set_index("track_type")[col].reindex(types)
        ax.bar(x + (j - (len(methods) - 1) / 2) * width, v.to_numpy(float), width, label=m)
    ax.axhline(0.0, color="#555", lw=0.6)
    ax.set_xticks(x, types, fontsize=7)
    ax.set_ylabel("nats per race vs start position", fontsize=7)
    ax.set_title("order log-likelihood gain over the starting grid", fontsize=8)
    # below the axes: the bars of a season's six methods leave no free corner
    ax.legend(fontsize=6, ncol=len(methods), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return image_markdown(fig, "order log-likelihood gain over the start-position baseline")


def coverage_plot(table: pd.DataFrame) -> MetadataValue:
    """Each method's central 50 % and 90 % DK-points interval coverage, nominal lines beside."""
    fig, ax = new_figure((6.4, 2.6))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["cover50_pct"].to_numpy(float), 0.4, label="50 % interval")
    ax.bar(x + 0.2, table["cover90_pct"].to_numpy(float), 0.4, label="90 % interval")
    if "pit50_pct" in table:  # randomized PIT: the coverage whose calibrated value is nominal
        for dx, c in ((-0.2, "pit50_pct"), (0.2, "pit90_pct")):
            pit = table[c].to_numpy(float)
            ax.plot(x + dx, pit, "_", color="k", ms=14, label="randomized PIT" if dx < 0 else None)
    for level, style in ((50, ":"), (90, "--")):
        ax.axhline(level, color="#555", lw=0.8, ls=style)
    ax.set_xticks(x, table["method"], fontsize=7)
    ax.set_ylim(0, 100)
    ax.set_ylabel("actual points inside (%)", fontsize=7)
    ax.set_title("DK-points interval coverage (lines: nominal; ticks: randomized PIT)", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")
    return image_markdown(fig, "interval coverage per method")


def _write_tables(storage: StorageResource, season: int, per_race, table) -> dict:
    """The three tables, each written then renamed into place; {table name: path}."""
    from nascar_pipeline.core.backtest import track_type_table

    layout = storage.layout
    frames = {
        SEASON_TABLE: table,
        RACES_TABLE: per_race,
        TRACK_TYPES_TABLE: track_type_table(per_race, BASELINE),
    }
    paths = {}
    for name, df in frames.items():
        path = layout.season_table_path(ASSET, season, name)
        layout.write_parquet(path, df)
        paths[name] = str(path)
    return paths


def _backtest(context, config, race_source, storage):
    from nascar_pipeline.core.backtest import (
        LOOP_MODES,
        history_from_tables,
        run_backtest,
        track_type_table,
    )
    from nascar_pipeline.core.incidents import Incidents
    from nascar_pipeline.core.model import ModelConfig
    from nascar_pipeline.core.model.loop_data import keyed_to_history

    incidents = Incidents.parse(config.incidents)
    tables = season_tables(race_source, config.season)
    history = history_from_tables(tables)
    loop = keyed_to_history(tables.loop_stats, history)
    modes = LOOP_MODES[config.loop_data]
    if True in modes and loop.empty:
        context.log.warning(
            "the race source has no loop rows: model_loop is fitted with every race's loop "
            "data masked (the demo world has none)"
        )
    context.log.info(
        f"{ASSET}: season {config.season}, {history['race_key'].nunique()} races of history, "
        f"{len(loop)} loop rows, loop data {config.loop_data}, trailing form {config.form}, "
        f"scenario incidents {config.incidents} ({incidents.describe()}), {config.chains} chains x "
        f"{config.draws} draws ({config.warmup} warm-up), {config.scenarios} scenarios"
    )
    per_race, table = run_backtest(
        history,
        config.season,
        n_races=config.races,
        fit_config=config.fit_config(),
        model_config=ModelConfig(
            form=config.form, car_contrasts=config.car_contrasts, team_effect=config.team_effect
        ),
        n_scenarios=config.scenarios,
        seed=config.seed,
        log=context.log.info,
        on_race=lambda rows, t: _write_tables(storage, config.season, rows, t),
        contests=tables.contests,
        loop=loop,
        loop_modes=modes,
        incidents=incidents,
    )
    paths = _write_tables(storage, config.season, per_race, table)
    return per_race, table, track_type_table(per_race, BASELINE), paths


def _model_gains(table: pd.DataFrame) -> dict:
    """Each model's order log-likelihood gain and CRPS change against the start baseline."""
    rows = table.set_index("method")
    out: dict = {}
    if BASELINE not in rows.index:
        return out
    b = rows.loc[BASELINE]
    for m in ("model", "model_loop"):
        if m in rows.index:
            r = rows.loc[m]
            out[f"{m}_ll_gain_vs_start"] = float(
                r["order_loglik_per_race"] - b["order_loglik_per_race"]
            )
            out[f"{m}_crps_vs_start_pct"] = float(100 * (r["crps_dk"] / b["crps_dk"] - 1))
            out[f"{m}_cover50_pct"] = float(r["cover50_pct"])
            out[f"{m}_cover90_pct"] = float(r["cover90_pct"])
            for c in ("pit50_pct", "pit90_pct"):
                if c in r and not pd.isna(r[c]):
                    out[f"{m}_{c}"] = float(r[c])
    return out


def model_season_backtest(
    context: AssetExecutionContext,
    config: ModelBacktestConfig,
    race_source: RaceSourceResource,
    storage: StorageResource,
    jax_runtime: JaxRuntime,  # set up (cache folder, CPU devices) before JAX starts
) -> MaterializeResult:
    """The race model against the start-position, trailing-average, feature-PL and uniform
    baselines on every race of a season (run config: season, chain settings, loop data off /
    on / both), each race fitted on the races before it: season and per-track-type tables
    (order log-likelihood, CRPS, coverage, projection MAE and rank correlation against the
    actual DK points) and plots; Parquet per season under <root>/model_season_backtest/."""
    with asset_span(context):
        per_race, table, by_type, paths = _backtest(context, config, race_source, storage)
        races = int(per_race["race_key"].nunique())
        context.log.info(f"{ASSET}: {races} races scored; tables at {paths[SEASON_TABLE]}")
        return MaterializeResult(
            metadata={
                "season": config.season,
                "races": races,
                "loop_data": config.loop_data,
                "methods": ", ".join(table["method"]),
                **_model_gains(table),
                "season_table": _markdown(table, SEASON_COLUMNS),
                "by_track_type": _markdown(by_type, TRACK_TYPE_COLUMNS),
                "ll_gain_by_track_type": gain_plot(by_type),
                "coverage": coverage_plot(table),
                **{f"{name}_path": MetadataValue.path(p) for name, p in paths.items()},
            }
        )


model_season_backtest = asset(
    name=ASSET,
    group_name="backtest",
    kinds={"numpyro", "parquet"},
    # the work is in core (imported inside the helpers): its files are the code version too
    code_version=code_version(
        model_season_backtest,
        uses=("nascar_pipeline.core.backtest", "nascar_pipeline.core.model.loop_data"),
    ),
)(model_season_backtest)


def model_backtest_job(tags: dict | None = None):
    """The operator's job for model_season_backtest (tags: the MCMC pod sizing on
    Kubernetes, as the race job's)."""
    return define_asset_job(
        JOB_NAME,
        selection=AssetSelection.assets(ASSET),
        executor_def=in_process_executor,
        tags={"nascar/stage": "backtest", **(tags or {})},
        description="Backtest the race model on a season (run config: season, chains, loop "
        "data) against the baselines: season and track-type tables with plots.",
    )
