"""Race model assets: race_model_fit -> race_scenarios -> driver_projections (per race partition).

- race_model_fit: fits the NumPyro race model (core/model) on the snapshot's history rows and
  returns the posterior summary (one row per parameter element: mean, sd, q05, q50, q95, split
  R-hat, bulk ESS; plus the fit's draws and divergences on every row). The posterior draws go to
  a fit cache keyed by a hash of the history rows + model and inference config:
  `<storage root>/_fit_cache/<fit_key>.npz` (local folder or s3, through universal-pathlib), so
  races whose history is identical (e.g. two slates of one race, a re-run) reuse one fit.
- race_scenarios: S simulated races (core/simulate.py). Parquet layout (contract): a long table
  sorted by (scenario, driver_id), one row per driver per scenario, columns
  scenario int32, driver_id int64, start_position int16, finish_position int16, dnf bool,
  laps_completed int16, laps_led int16, fastest_laps int16, dk_points float32, fd_points float32.
  `nascar_pipeline.core.simulate.scenario_points_matrix(df, site)` gives the S x D points matrix.
- driver_projections: per driver summary (core/projections.py), sorted by dk_mean descending.

Blocking checks: convergence of the fit (R-hat <= 1.01, bulk ESS >= 400 for every skill
parameter, divergences <= 1 % of draws) and scenario sanity (permutations, lap totals, points
within the rules' bounds). A failed check stops the downstream assets of the run.
"""

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, Config, MetadataValue, Output
from pydantic import Field

from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.core.slate import entry_rows, history_rows
from nascar_pipeline.resources.storage import StorageResource


class RaceModelConfig(Config):
    """Run config of race_model_fit (production defaults, core/model/fit.py's FitConfig; tests
    use tiny values)."""

    draws: int = Field(500, description="posterior draws per chain (FitConfig.num_samples)")
    warmup: int = Field(400, description="NUTS warmup steps per chain (FitConfig.num_warmup)")
    chains: int = Field(4, description="MCMC chains (FitConfig.num_chains)")
    seed: int = Field(0, description="random seed of the fit")
    svi_steps: int = Field(1500, description="ADVI steps of the initialization")
    target_accept: float = Field(0.9, description="NUTS target acceptance probability")
    use_cache: bool = Field(True, description="reuse a cached fit of the same history")

    def fit_config(self):
        """The core's FitConfig for these settings (the rest at the core's defaults)."""
        from nascar_pipeline.core.model import FitConfig

        return FitConfig(
            num_warmup=self.warmup,
            num_samples=self.draws,
            num_chains=self.chains,
            seed=self.seed,
            svi_steps=self.svi_steps,
            target_accept=self.target_accept,
        )


class ScenarioConfig(Config):
    scenarios: int = 10_000
    seed: int = 0


def _split(snapshot: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return entry_rows(snapshot).reset_index(drop=True), history_rows(snapshot).reset_index(
        drop=True
    )


@race_asset(group="model", kinds={"numpyro", "parquet"}, pool="mcmc")
def race_model_fit(
    config: RaceModelConfig, storage: StorageResource, race_snapshot: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Posterior summary and convergence diagnostics of the NumPyro race model fitted on the
    race's history (draws cached under <storage root>/_fit_cache)."""
    from nascar_pipeline.core.model import (
        ModelConfig,
        fit_model,
        history_hash,
        prepare_history,
    )
    from nascar_pipeline.core.model.diagnostics import summarize_convergence
    from nascar_pipeline.core.posterior_summary import posterior_summary

    entries, history = _split(race_snapshot)
    if history.empty:
        raise ValueError("race_snapshot has no history rows: nothing to fit")
    target_date = str(entries["race_date"].iloc[0]) if len(entries) else None
    mcfg = ModelConfig()
    fcfg = config.fit_config()
    data = prepare_history(history, mcfg, target_date=target_date)
    used = history[history["race_date"].astype(str) < (target_date or "9999")]
    fit_key = history_hash(used, mcfg, {"fit": fcfg.as_dict()})
    cache = storage.fit_cache()
    cached = cache.load(fit_key) if config.use_cache else None
    if cached is not None:
        posterior, meta = cached
        diverging = np.zeros((meta["chains"], meta["draws_per_chain"]), bool)
        diverging.flat[: meta["divergences"]] = True
        diag = summarize_convergence(posterior, diverging, data.n_drivers)
        timings, reused = meta.get("timings", {}), True
    else:
        fit = fit_model(data, fcfg)
        posterior, diag, timings, reused = fit.posterior, fit.diagnostics, fit.timings, False
        cache.save(
            fit_key,
            posterior,
            {
                "chains": int(fit.diverging.shape[0]),
                "draws_per_chain": int(fit.diverging.shape[1]),
                "divergences": int(fit.diverging.sum()),
                "timings": timings,
                "fit_key": fit_key,
            },
        )
    names = (
        history.drop_duplicates("driver_id")
        .set_index("driver_id")["driver_name"]
        .astype(str)
        .to_dict()
    )
    summary = posterior_summary(
        posterior, data, diag, fit_key, {int(k): v for k, v in names.items()}
    )
    top = (
        summary[summary["param"] == "skill"]
        .sort_values("mean", ascending=False)
        .head(10)[["driver_name", "mean", "q05", "q95", "rhat", "ess_bulk"]]
    )
    return Output(
        summary,
        metadata={
            "fit_key": fit_key,
            "reused_cached_fit": reused,
            "fit_cache": str(cache.path(fit_key)),
            "history_races": data.n_races,
            "drivers": data.n_drivers,
            "rhat_max": float(diag["rhat_max"]),
            "ess_bulk_min": float(diag["ess_bulk_min"]),
            "divergences": int(diag["divergences"]),
            "draws": int(diag["draws"]),
            "timings_s": MetadataValue.json({k: round(float(v), 2) for k, v in timings.items()}),
            "top_skills": MetadataValue.md(top.to_markdown(index=False, floatfmt=".3f")),
        },
    )


@race_check(race_model_fit)
def race_model_converged(race_model_fit: pd.DataFrame) -> AssetCheckResult:
    """MCMC converged: R-hat <= 1.01 and bulk ESS >= 400 for every skill parameter,
    divergences <= 1 % of draws."""
    from nascar_pipeline.core.model.diagnostics import SKILL_SITES, convergence_check

    s = race_model_fit[race_model_fit["param"].isin(SKILL_SITES)]
    draws = int(race_model_fit["draws"].iloc[0])
    diag = {
        "rhat_max": float(s["rhat"].max()),
        "ess_bulk_min": float(s["ess_bulk"].min()),
        "divergence_rate": float(race_model_fit["divergences"].iloc[0]) / max(draws, 1),
    }
    ok, reasons = convergence_check(diag)
    worst = s.sort_values("ess_bulk").head(5)[
        ["param", "driver_name", "track_type", "rhat", "ess_bulk"]
    ]
    return AssetCheckResult(
        passed=ok,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            **{k: float(v) for k, v in diag.items()},
            "draws": draws,
            "problems": "; ".join(reasons) or "none",
            "worst": MetadataValue.md(worst.to_markdown(index=False, floatfmt=".3f")),
        },
    )


def _load_fit_for(
    storage: StorageResource, race_model_fit: pd.DataFrame, race_snapshot: pd.DataFrame
):
    from nascar_pipeline.core.model import ModelConfig, prepare_history

    fit_key = str(race_model_fit["fit_key"].iloc[0])
    cache = storage.fit_cache()
    loaded = cache.load(fit_key)
    if loaded is None:
        raise FileNotFoundError(
            f"fit {fit_key} is not in the fit cache {cache.root}: "
            "re-materialize race_model_fit for this race"
        )
    posterior, _ = loaded
    entries, history = _split(race_snapshot)
    target_date = str(entries["race_date"].iloc[0]) if len(entries) else None
    data = prepare_history(history, ModelConfig(), target_date=target_date)
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in posterior.items()}
    return flat, data, entries


@race_asset(group="model", kinds={"jax", "parquet"})
def race_scenarios(
    config: ScenarioConfig,
    storage: StorageResource,
    race_snapshot: pd.DataFrame,
    race_model_fit: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """S posterior-predictive race scenarios (long table sorted by scenario, driver_id:
    start/finish position, dnf, laps completed/led, fastest laps, DK and FD points)."""
    from nascar_pipeline.core.simulate import scenario_sanity, simulate_race

    posterior, data, entries = _load_fit_for(storage, race_model_fit, race_snapshot)
    if entries.empty:
        raise ValueError("race_snapshot has no entry rows: nothing to simulate")
    race = entries.iloc[0]
    laps = race["scheduled_laps"] if pd.notna(race["scheduled_laps"]) else race["laps"]
    sc = simulate_race(
        posterior,
        data,
        entries,
        str(race["track_type"]),
        laps=None if pd.isna(laps) else int(laps),
        n_scenarios=config.scenarios,
        seed=config.seed,
        track_name=str(race["track_name"]),
    )
    ok, details = scenario_sanity(sc)
    df = sc.to_frame()
    return Output(
        df,
        metadata={
            "scenarios": sc.n_scenarios,
            "drivers": int(len(sc.driver_ids)),
            "laps": sc.laps,
            "track_type": sc.track_type,
            "start_positions_imputed": sc.start_imputed,
            "sanity": MetadataValue.json(
                {k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in details.items()}
            ),
            "layout": "long: scenario int32, driver_id int64, start_position int16, finish_position "
            "int16, dnf bool, laps_completed int16, laps_led int16, fastest_laps int16, "
            "dk_points float32, fd_points float32; sorted by (scenario, driver_id)",
        },
    )


@race_check(race_scenarios)
def race_scenarios_sane(race_scenarios: pd.DataFrame) -> AssetCheckResult:
    """Every scenario is a valid race: a permutation of finishing positions, laps led summing
    to the laps run, fastest laps about 3/4 of laps, points within the rules' bounds."""
    from nascar_pipeline.core.scenario_checks import scenario_frame_sanity

    ok, details = scenario_frame_sanity(race_scenarios)
    return AssetCheckResult(passed=ok, severity=AssetCheckSeverity.ERROR, metadata=details)


def _distributions_plot(sc, proj: pd.DataFrame, top: int = 8) -> MetadataValue:
    ids = proj["driver_id"].head(top).tolist()
    col = {int(d): j for j, d in enumerate(sc.driver_ids)}
    data = [sc.dk_points[:, col[int(d)]] for d in ids]
    labels = proj["driver_name"].head(top).fillna("").astype(str).tolist()
    fig, ax = new_figure((6, 3))
    ax.boxplot(data, vert=False, whis=(10, 90), showfliers=False)
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("DraftKings points (box: p25-p75, whiskers: p10-p90)", fontsize=7)
    return image_markdown(fig, "DK points")


@race_asset(group="model", kinds={"parquet"})
def driver_projections(
    race_snapshot: pd.DataFrame, race_scenarios: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Per-driver projections from the scenarios: DK points mean/median/sd/quantiles, FD mean,
    win/top-5/top-10/DNF %, expected laps led and fastest laps, points per $1k of salary.
    Sorted by dk_mean descending."""
    from nascar_pipeline.core.projections import driver_projections as project
    from nascar_pipeline.core.simulate import scenarios_from_frame

    entries, _ = _split(race_snapshot)
    sc = scenarios_from_frame(race_scenarios)
    proj = project(sc, entries)
    cols = [
        "driver_name",
        "salary",
        "start_position",
        "dk_mean",
        "dk_p10",
        "dk_p90",
        "win_pct",
        "top10_pct",
        "dnf_pct",
        "exp_laps_led",
        "pts_per_1k",
    ]
    md = proj.head(12)[cols].to_markdown(index=False, floatfmt=".1f")
    return Output(
        proj,
        metadata={
            "drivers": len(proj),
            "top_projections": MetadataValue.md(md),
            "top_distributions": _distributions_plot(sc, proj),
        },
    )


model_assets = [race_model_fit, race_scenarios, driver_projections]
model_checks = [race_model_converged, race_scenarios_sane]
