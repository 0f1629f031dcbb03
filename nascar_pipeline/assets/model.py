"""Race model assets: race_model_fit -> race_scenarios -> driver_projections (per race partition).

- race_model_fit: fits the NumPyro race model (core/model) on the snapshot's history rows and
  returns the posterior summary (one row per parameter element: mean, sd, q05, q50, q95, split
  R-hat, bulk ESS; plus the fit's draws and divergences on every row). The posterior draws go to
  a fit cache keyed by a hash of the history rows + model and inference config:
  `<storage root>/_fit_cache/<fit_key>.npz` (local folder or s3, through universal-pathlib), so
  races whose history is identical (e.g. two slates of one race, a re-run) reuse one fit.
  With `loop_data` on (run config; unset, the default: on when the race source has loop rows),
  the race's loop rows (RaceInputs.loop_history from the race
  source; the snapshot has none) are evidence of pace too, and their digest joins the fit key.
  With `form` on, each start's trailing form (running position from the same loop rows, finish,
  rookie flag; core/model/form.py) is a covariate of ability; the entries' latest form, from the
  same read, is kept at `<storage root>/_fit_cache/form/<race_key>.json` for race_scenarios.
- race_scenarios: S simulated races (core/simulate.py). Parquet layout (contract): a long table
  sorted by (scenario, driver_id), one row per driver per scenario, columns
  scenario int32, driver_id int64, start_position int16, finish_position int16, dnf bool,
  laps_completed int16, laps_led int16, fastest_laps int16, dk_points float32, fd_points float32.
  `nascar_pipeline.core.simulate.scenario_points_matrix(df, site)` gives the S x D points matrix.
  The finishing order carries the incident layer (`incidents`, default `tuned`: the fitted
  performance sharpened, a running car's incident risk, each track type's own setting,
  superspeedways left off;
  core/incidents.py); the metadata names the values the race was drawn with.
- driver_projections: per driver summary (core/projections.py), sorted by dk_mean descending.

The player's own projections (`ingest projections`: entries' user_proj_points), when the race
has them, move the scenarios: whole simulated races are reweighted (exponential tilting) so each
driver's mean is the blend of the model's and the player's (`user_projection_weight`, default
0.5), then S of them resampled (core/user_numbers.py), so every scenario stays a possible race.
The effective sample size and the model / user / blended means per driver are in the metadata
of race_scenarios and driver_projections. Without user numbers the scenarios are untouched.

A fit that fails the convergence gate is re-fitted (core/model/escalation.py): attempt 2 with
`refit_scale` times the warm-up and draws and a new seed, further attempts with other seeds, at
most `max_refits`; after a failure longer chains do not mend (a severe one, or one of the longer
chains) the remaining attempts fit without trailing form. If every attempt fails and `stale_fallback` is on, the last good fit of an
earlier race (`<storage root>/_fit_cache/good/<race_key>.json`, written whenever a fit passes
the gate) is laid out on this race's drivers and used, flagged `stale_model` on every summary
row and in the metadata of race_model_fit and its downstream assets; the convergence check then
fails with severity WARN (downstream runs; the UI shows the warning). Every attempt is logged in
the run log and listed in the metadata (seed, settings, R-hat, ESS, divergences, seconds).

Blocking checks: convergence of the fit (R-hat <= 1.01, bulk ESS >= 400 for every skill
parameter, divergences <= 1 % of draws) and scenario sanity (permutations, lap totals, points
within the rules' bounds). A failed check stops the downstream assets of the run.
"""

import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    Config,
    MetadataValue,
    Output,
)
from pydantic import Field, field_validator

from nascar_pipeline.assets.plots import image_markdown, new_figure
from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.core.slate import entry_rows, history_rows
from nascar_pipeline.resources.jax_runtime import JaxRuntime
from nascar_pipeline.resources.race_source import RaceSourceResource
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
    max_refits: int = Field(
        2, description="re-fits after a fit fails the convergence gate (0: no re-fit)"
    )
    refit_scale: float = Field(
        2.0, description="re-fits run this many times the warm-up and draws (new seed each)"
    )
    stale_fallback: bool = Field(
        True,
        description="when every attempt fails the gate, use the last good fit of an earlier "
        "race, flagged stale_model (the convergence check then warns instead of blocking)",
    )

    loop_data: bool | None = Field(
        None,
        description="loop data (average running position, RaceInputs.loop_history) as evidence "
        "of pace beside the finishing order (ModelConfig.loop_data); races without it are "
        "masked. Unset: on when the race source has Cup loop rows of the race's history (the 2025 season "
        "backtest at production settings, with form: +0.17 +- 0.08 nats per race over off)",
    )

    form: bool = Field(
        True,
        description="trailing form (running position from the loop rows, finish, rookie flag "
        "of the starts before each race) as covariates of ability (ModelConfig.form)",
    )

    car_contrasts: bool = Field(
        True,
        description="car effects as contrasts within each group of drivers and cars linked by "
        "their starts (ModelConfig.car_contrasts): a driver who kept one car has his level in "
        "his skill, not split with the car by the priors (first 8 races of 2025 at production "
        "settings: the same log-likelihood, every fit through the gate; the one-season "
        "embedded world: first attempt through the gate, skill bulk ESS 1,246, 0 divergences, "
        "against 2.3 % divergences)",
    )

    team_effect: bool = Field(
        False,
        description="organisation (team) effects under the car (ModelConfig.team_effect): a "
        "new car, a driver joining an organisation and a rookie in it start from its level",
    )

    lap_position: bool = Field(
        False,
        description="laps led and fastest laps conditioned on the race's realised finish and "
        "start (ModelConfig.lap_position): in a scenario the winner leads the laps, a pole "
        "sitter the early ones",
    )

    def fit_config(self):
        """The core's FitConfig for these settings (the rest at the core's defaults)."""
        return chain_fit_config(self, target_accept=self.target_accept)


def chain_fit_config(config, **extra):
    """FitConfig from a run config's chain settings (warmup, draws, chains, seed, svi_steps),
    shared by race_model_fit and model_season_backtest."""
    from nascar_pipeline.core.model import FitConfig

    return FitConfig(
        num_warmup=config.warmup,
        num_samples=config.draws,
        num_chains=config.chains,
        seed=config.seed,
        svi_steps=config.svi_steps,
        **extra,
    )


class IncidentsConfig(Config):
    """The scenarios' incident layer as a run-config value (race_scenarios,
    model_season_backtest), checked with the run config."""

    incidents: str = Field(
        "tuned",
        description="the finishing order's incident layer (core/incidents.py): 'tuned' (the "
        "default: the values the 2024 backtest chose per track type, superspeedways left off), "
        "'off' (the fitted Plackett-Luce as is) or 'SHARPEN,RATE,COST', optionally followed by "
        "track types' own ('1.5,0.1,2;road=2,0.1,4;superspeedway=off')",
    )

    @field_validator("incidents")
    @classmethod
    def _incidents_parse(cls, v: str) -> str:
        from nascar_pipeline.core.incidents import Incidents

        Incidents.parse(v)  # a bad value is refused with the run config, naming the problem
        return v


class ScenarioConfig(IncidentsConfig):
    scenarios: int = 10_000
    seed: int = 0
    user_projection_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="blend of the player's own projections (`ingest projections`): 0 the "
        "model's means only, 1 the player's only; unset: 0.5 when the race has them "
        "(core/user_numbers.py DEFAULT_USER_WEIGHT). The scenarios are moved to the blended "
        "means by reweighting and resampling whole simulated races",
    )
    min_ess_fraction: float = Field(
        0.10,
        gt=0.0,
        le=1.0,
        description="moving the scenarios keeps at least this fraction of them effective "
        "(effective sample size); further targets are moved only as far as that allows",
    )


def _split(snapshot: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return entry_rows(snapshot).reset_index(drop=True), history_rows(snapshot).reset_index(
        drop=True
    )


GOOD_FITS_DIR = "good"  # under the fit cache: one JSON per race whose fit passed the gate
# Under the fit cache: one JSON per race fitted with trailing form, the entries' latest form
# (HistoryData.stats["form_now"]) from the very loop rows the fit read, for race_scenarios.
FORM_DIR = "form"
MODEL_FIT_KEY = AssetKey("race_model_fit")


def _good_fits_dir(storage: StorageResource):
    from nascar_pipeline.resources.fit_cache import FIT_CACHE_DIR

    return storage.layout.root / FIT_CACHE_DIR / GOOD_FITS_DIR


def record_good_fit(storage: StorageResource, race_key: str, race_date: str, fit_key, data, diag):
    """Remember that `fit_key` passed the gate for this race: the stale fallback of a later
    race reads it (with the driver and car order its posterior is laid out in)."""
    record = {
        "race_key": race_key,
        "race_date": race_date,
        "fit_key": fit_key,
        "driver_ids": [int(d) for d in data.driver_ids],
        "car_numbers": [str(c) for c in data.car_numbers],
        "org_names": [str(o) for o in data.org_names],
        "rhat_max": float(diag["rhat_max"]),
        "ess_bulk_min": float(diag["ess_bulk_min"]),
    }
    path = _good_fits_dir(storage) / f"{race_key}.json"
    storage.layout.write_bytes_atomic(path, json.dumps(record).encode())


def loop_data_on(setting, loop, history_race_keys) -> bool:
    """The run config's loop_data, or when it is unset: on when some loop row is a Cup start
    of one of the history's races with a running position (lower-series rows alone leave it
    off: the measurement model was measured with Cup rows)."""
    if setting is not None:
        return bool(setting)
    if loop is None or len(loop) == 0:
        return False
    keys = set(pd.Series(history_race_keys).astype(str))
    cup = loop[loop["race_key"].notna() & loop["avg_running_position"].notna()]
    return bool(cup["race_key"].astype(str).isin(keys).any())


def _form_path(storage: StorageResource, race_key: str):
    return _good_fits_dir(storage).parent / FORM_DIR / f"{race_key}.json"


def record_form(storage: StorageResource, race_key: str, fit_key: str, form_now) -> None:
    """Keep, for race_scenarios, the race's latest form (from the fit's own read of the loop
    rows) beside the key of the fit race_model_fit hands on (None: a fit without form), so
    race_scenarios needs no second read of the race source and never pairs a posterior with
    another fit's form."""
    record = {"fit_key": fit_key, "form_now": form_now}
    storage.layout.write_bytes_atomic(_form_path(storage, race_key), json.dumps(record).encode())


def read_form(storage: StorageResource, race_key: str, fit_key: str) -> dict | None:
    """The form race_model_fit kept for `fit_key` of this race, else None."""
    path = _form_path(storage, race_key)
    if not storage.layout.exists(path):
        return None
    record = json.loads(storage.layout.read_bytes(path))
    if record.get("fit_key") != fit_key or record.get("form_now") is None:
        return None
    # JSON keys are strings: driver ids back to ints (core/model/form.entry_form looks them up)
    return {t: {int(d): row for d, row in rows.items()} for t, rows in record["form_now"].items()}


def last_good_fit(storage: StorageResource, race_key: str, race_date: str) -> dict | None:
    """The good-fit record of the most recent race before `race_date`, or None."""
    folder = _good_fits_dir(storage)
    if not storage.layout.exists(folder):
        return None
    best = None
    for path in folder.iterdir():
        if not path.name.endswith(".json"):
            continue
        record = json.loads(storage.layout.read_bytes(path))
        if record["race_key"] == race_key or str(record["race_date"]) >= race_date:
            continue
        if best is None or (record["race_date"], record["race_key"]) > (
            best["race_date"],
            best["race_key"],
        ):
            best = record
    return best


def _fit_or_load(cache, fit_key: str, data, fcfg, use_cache: bool):
    """(posterior, diagnostics, timings, reused) of one attempt: the cached fit of these
    settings when there is one, else a new fit (then cached, passing the gate or not)."""
    from nascar_pipeline.core.model import fit_model
    from nascar_pipeline.core.model.diagnostics import summarize_convergence

    cached = cache.load(fit_key) if use_cache else None
    if cached is not None:
        posterior, meta = cached
        diverging = np.zeros((meta["chains"], meta["draws_per_chain"]), bool)
        diverging.flat[: meta["divergences"]] = True
        diag = summarize_convergence(posterior, diverging, data.n_drivers)
        return posterior, diag, meta.get("timings", {}), True
    fit = fit_model(data, fcfg)
    cache.save(
        fit_key,
        fit.posterior,
        {
            "chains": int(fit.diverging.shape[0]),
            "draws_per_chain": int(fit.diverging.shape[1]),
            "divergences": int(fit.diverging.sum()),
            "timings": fit.timings,
            "fit_key": fit_key,
        },
    )
    return fit.posterior, fit.diagnostics, fit.timings, False


def _stage_line(timings: dict) -> str:
    stages = [("compile", "compile_s"), ("SVI", "svi_s"), ("warm-up", "warmup_s")]
    stages += [("sampling", "sampling_s"), ("diagnostics", "diagnostics_s")]
    parts = [f"{name} {timings[k]:.1f} s" for name, k in stages if k in timings]
    return ", ".join(parts) or "timings not recorded"


def _stale_fit(context, storage, cache, race_key, target_date, data):
    """The last good fit of an earlier race laid out on this race's drivers, cached under its
    own key: (fit_key, posterior, diagnostics, source record), or None when there is none."""
    from nascar_pipeline.core.model.diagnostics import summarize_convergence
    from nascar_pipeline.core.model.escalation import remap_posterior

    good = last_good_fit(storage, race_key, target_date or "9999")
    loaded = cache.load(good["fit_key"]) if good else None
    if loaded is None:
        context.log.error(
            "race_model_fit: no earlier race has a good fit in the fit cache: no stale fallback"
        )
        return None
    posterior, meta = loaded
    remapped, counts = remap_posterior(
        posterior,
        good["driver_ids"],
        good["car_numbers"],
        data,
        seed=0,
        old_orgs=good.get("org_names"),
    )
    chains = int(meta["chains"])
    diverging = np.zeros((chains, int(meta["draws_per_chain"])), bool)
    diverging.flat[: int(meta["divergences"])] = True
    diag = summarize_convergence(remapped, diverging, data.n_drivers)
    stale_key = f"{good['fit_key']}-stale-for-{race_key}"
    cache.save(stale_key, remapped, {**meta, "fit_key": stale_key, "stale_from": good})
    context.log.warning(
        f"race_model_fit: STALE MODEL: every attempt failed the gate; using the good fit of "
        f"{good['race_key']} ({good['race_date']}, R-hat {good['rhat_max']:.4f}, bulk ESS "
        f"{good['ess_bulk_min']:.0f}): {counts['drivers_kept']} drivers keep their draws, "
        f"{counts['drivers_from_prior']} new ones from the prior"
    )
    return stale_key, remapped, diag, {**good, **counts}


@race_asset(group="model", kinds={"numpyro", "parquet"}, pool="mcmc")
def race_model_fit(
    context: AssetExecutionContext,
    config: RaceModelConfig,
    storage: StorageResource,
    race_source: RaceSourceResource,
    jax_runtime: JaxRuntime,  # set up (cache folder, CPU devices) before JAX starts
    race_snapshot: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Posterior summary and convergence diagnostics of the NumPyro race model fitted on the
    race's history (draws cached under <storage root>/_fit_cache); re-fitted with longer chains
    and new seeds when the gate fails (without trailing form after a failure longer chains do
    not mend: escalation.drop_form_after), else the last good fit of an earlier race
    (stale_model)."""
    from nascar_pipeline.core.model import ModelConfig, history_hash, prepare_history
    from nascar_pipeline.core.model.diagnostics import convergence_check
    from nascar_pipeline.core.model.escalation import (
        SEVERE_DIVERGENCES,
        SEVERE_RHAT,
        drop_form_after,
        escalation_plan,
    )
    from nascar_pipeline.core.model.loop_data import loop_digest
    from nascar_pipeline.core.posterior_summary import posterior_summary

    race_key = context.partition_key
    timer = StageTimer()
    entries, history = _split(race_snapshot)
    if history.empty:
        raise ValueError("race_snapshot has no history rows: nothing to fit")
    target_date = str(entries["race_date"].iloc[0]) if len(entries) else None
    # The snapshot carries no loop rows: read them from the race source (only when used).
    uses_loop = config.loop_data is not False or config.form
    loop = race_source.source().race_inputs(race_key).loop_history if uses_loop else None
    loop_data = loop_data_on(config.loop_data, loop, history["race_key"].unique())
    mcfg = ModelConfig(
        loop_data=loop_data,
        form=config.form,
        car_contrasts=config.car_contrasts,
        team_effect=config.team_effect,
        lap_position=config.lap_position,
    )
    if config.loop_data is None:
        context.log.info(
            f"race_model_fit: loop data {'on' if loop_data else 'off'} "
            f"({0 if loop is None else len(loop)} loop rows from the race source)"
        )
    data = prepare_history(history, mcfg, target_date=target_date, loop=loop)
    used = history[history["race_date"].astype(str) < (target_date or "9999")]
    cache_extra = {"loop": loop_digest(loop)} if loop_data or config.form else {}
    cache = storage.fit_cache()
    plan = escalation_plan(config.fit_config(), config.max_refits, config.refit_scale)
    context.log.info(
        f"race_model_fit: {data.n_races} history races, {data.n_drivers} drivers; up to "
        f"{len(plan)} attempt(s) against the gate (R-hat <= 1.01, bulk ESS >= 400, "
        "divergences <= 1 %)"
    )
    attempts = []
    timer.lap("prepare history")
    for n, fcfg in enumerate(plan, 1):
        fit_key = history_hash(used, mcfg, {"fit": fcfg.as_dict(), **cache_extra})
        context.log.info(
            f"race_model_fit attempt {n}/{len(plan)}: seed {fcfg.seed}, {fcfg.num_chains} "
            f"chains x ({fcfg.num_warmup} warm-up + {fcfg.num_samples} draws): compiling, "
            "SVI initialisation, warm-up, sampling ..."
        )
        t0 = time.perf_counter()
        posterior, diag, timings, reused = _fit_or_load(
            cache, fit_key, data, fcfg, config.use_cache
        )
        passed, reasons = convergence_check(diag)
        # the fit's own split (summed over attempts); the rest: cache load/save, gate
        timer.lap("fit cache + gate", within=_fit_stages(timings, reused))
        attempts.append(
            {
                "attempt": n,
                "seed": fcfg.seed,
                "warmup": fcfg.num_warmup,
                "draws": fcfg.num_samples,
                "chains": fcfg.num_chains,
                "rhat_max": round(float(diag["rhat_max"]), 4),
                "ess_bulk_min": round(float(diag["ess_bulk_min"]), 1),
                "divergences": int(diag["divergences"]),
                "seconds": round(time.perf_counter() - t0, 2),
                "reused_cached_fit": reused,
                "passed": passed,
                "problems": "; ".join(reasons) or "none",
                "form": mcfg.form,
                "fit_key": fit_key,
            }
        )
        context.log.info(
            f"race_model_fit attempt {n}: {'cached fit reused' if reused else _stage_line(timings)}"
            f"; R-hat max {diag['rhat_max']:.4f}, bulk ESS min {diag['ess_bulk_min']:.0f}, "
            f"divergences {int(diag['divergences'])} -> "
            + ("gate passed" if passed else f"gate FAILED ({'; '.join(reasons)})")
        )
        if passed:
            record_good_fit(storage, race_key, target_date or "", fit_key, data, diag)
            break
        # this attempt ran longer chains than the first (escalation_plan: attempts 2.., unless
        # refit_scale <= 1 left them at the first's length)
        longer_failed = (
            fcfg.num_warmup > plan[0].num_warmup or fcfg.num_samples > plan[0].num_samples
        )
        if (
            mcfg.form
            and n < len(plan)
            and drop_form_after(diag, fcfg.num_samples, longer_failed=longer_failed)
        ):
            # Not a slow chain (core/model/escalation.py): the trailing form's coefficient
            # against the skills' scale is the ridge we have seen.
            mcfg = replace(mcfg, form=False)
            data = prepare_history(history, mcfg, target_date=target_date, loop=loop)
            cache_extra = {"loop": loop_digest(loop)} if loop_data else {}
            why = (
                "it already ran the longer chains"
                if longer_failed
                else f"R-hat > {SEVERE_RHAT} or divergences > {SEVERE_DIVERGENCES:.0%}"
            )
            context.log.warning(
                f"race_model_fit attempt {n} failed past what longer chains mend ({why}): "
                "the remaining attempts fit without trailing form (ModelConfig.form), "
                "against the same gate"
            )
    stale = None
    if not attempts[-1]["passed"] and config.stale_fallback:
        stale = _stale_fit(context, storage, cache, race_key, target_date, data)
        if stale is not None:
            fit_key, posterior, diag, _ = stale
        timer.lap("stale fallback")
    form_now = data.stats.get("form_now")
    if "form_beta" in posterior and form_now is None:  # an earlier race's fit with form
        with_form = replace(mcfg, form=True)
        form_now = prepare_history(history, with_form, target_date=target_date, loop=loop)
        form_now = form_now.stats["form_now"]
    record_form(storage, race_key, fit_key, form_now)
    names = (
        history.drop_duplicates("driver_id")
        .set_index("driver_id")["driver_name"]
        .astype(str)
        .to_dict()
    )
    summary = posterior_summary(
        posterior, data, diag, fit_key, {int(k): v for k, v in names.items()}
    )
    summary["stale_model"] = stale is not None
    summary["stale_from"] = stale[3]["race_key"] if stale else ""
    top = (
        summary[summary["param"] == "skill"]
        .sort_values("mean", ascending=False)
        .head(10)[["driver_name", "mean", "q05", "q95", "rhat", "ess_bulk"]]
    )
    table = pd.DataFrame(attempts).drop(columns=["fit_key"])
    timer.lap("posterior summary")
    context.log.info(f"race_model_fit stages: {timer.line()}")
    return Output(
        summary,
        metadata={
            "fit_key": fit_key,
            "reused_cached_fit": bool(attempts[-1]["reused_cached_fit"]) and stale is None,
            "fit_cache": str(cache.path(fit_key)),
            "history_races": data.n_races,
            "drivers": data.n_drivers,
            # this race's setting: loop data as evidence of pace (on with rows from the source,
            # or forced by the run config), and the rows the source had; a stale model (every
            # attempt failed) is an earlier race's fit, its own setting in stale_from
            "loop_data": bool(loop_data),
            "loop_rows": 0 if loop is None else len(loop),
            "rhat_max": float(diag["rhat_max"]),
            "ess_bulk_min": float(diag["ess_bulk_min"]),
            "divergences": int(diag["divergences"]),
            "draws": int(diag["draws"]),
            "gate_passed": bool(attempts[-1]["passed"]),
            "attempts_count": len(attempts),
            "attempts": MetadataValue.json(attempts),
            "attempts_table": MetadataValue.md(table.to_markdown(index=False)),
            "stale_model": stale is not None,
            "stale_from": MetadataValue.json(
                {k: v for k, v in stale[3].items() if k not in ("driver_ids", "car_numbers")}
                if stale
                else {}
            ),
            "timings_s": MetadataValue.json(
                {k: round(float(v), 2) for k, v in timings.items() if _is_number(v)}
            ),
            **{
                f"fit_{k}": round(float(timings[k]), 2)
                for k in ("compile_s", "svi_s", "warmup_s", "sampling_s", "total_s")
                if _is_number(timings.get(k))
            },
            "top_skills": MetadataValue.md(top.to_markdown(index=False, floatfmt=".3f")),
            **timer.metadata(),
        },
    )


def _fit_stages(timings: dict, reused: bool) -> dict:
    """The fit's own stage seconds under the names of the run log (a reused fit has none)."""
    if reused:
        return {}
    stages = [("compile", "compile_s"), ("SVI", "svi_s"), ("warm-up", "warmup_s")]
    stages += [("sampling", "sampling_s"), ("diagnostics", "diagnostics_s")]
    return {name: float(timings[k]) for name, k in stages if _is_number(timings.get(k))}


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


@race_check(race_model_fit)
def race_model_converged(race_model_fit: pd.DataFrame) -> AssetCheckResult:
    """MCMC converged: R-hat <= 1.01 and bulk ESS >= 400 for every skill parameter,
    divergences <= 1 % of draws. A stale model (every attempt failed; the last good fit of an
    earlier race stands in) fails with severity WARN: downstream runs, the warning shows."""
    from nascar_pipeline.core.model.diagnostics import SKILL_SITES, convergence_check

    s = race_model_fit[race_model_fit["param"].isin(SKILL_SITES)]
    draws = int(race_model_fit["draws"].iloc[0])
    diag = {
        "rhat_max": float(s["rhat"].max()),
        "ess_bulk_min": float(s["ess_bulk"].min()),
        "divergence_rate": float(race_model_fit["divergences"].iloc[0]) / max(draws, 1),
    }
    ok, reasons = convergence_check(diag)
    stale, stale_from = model_staleness(race_model_fit)
    worst = s.sort_values("ess_bulk").head(5)[
        ["param", "driver_name", "track_type", "rhat", "ess_bulk"]
    ]
    if stale:
        reasons = [f"stale model: this race's fits failed the gate; the fit of {stale_from}"]
    return AssetCheckResult(
        passed=ok and not stale,
        severity=AssetCheckSeverity.WARN if stale else AssetCheckSeverity.ERROR,
        metadata={
            **{k: float(v) for k, v in diag.items()},
            "draws": draws,
            "stale_model": stale,
            "stale_from": stale_from,
            "problems": "; ".join(reasons) or "none",
            "worst": MetadataValue.md(worst.to_markdown(index=False, floatfmt=".3f")),
        },
    )


def model_staleness(race_model_fit: pd.DataFrame) -> tuple[bool, str]:
    """(stale_model, the race whose fit stands in) of a race_model_fit summary."""
    if "stale_model" not in race_model_fit.columns or race_model_fit.empty:
        return False, ""
    return bool(race_model_fit["stale_model"].iloc[0]), str(race_model_fit["stale_from"].iloc[0])


def stale_model_of(context) -> tuple[bool, str]:
    """(stale_model, stale_from) of the run's race from race_model_fit's latest materialization
    (for downstream assets that do not load the fit summary)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MODEL_FIT_KEY, asset_partitions=[context.partition_key]),
        limit=1,
    ).records
    if not records:
        return False, ""
    meta = records[0].asset_materialization.metadata
    stale = meta.get("stale_model")
    source = meta.get("stale_from")
    race = (source.value or {}).get("race_key", "") if source is not None else ""
    return bool(stale.value) if stale is not None else False, race


def _load_fit_for(
    storage: StorageResource,
    race_model_fit: pd.DataFrame,
    race_snapshot: pd.DataFrame,
    race_key: str,
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
    # The organisations' index (ModelConfig.team_effect) as the fit laid them out.
    mcfg = ModelConfig(team_effect="org_effect" in posterior)
    data = prepare_history(history, mcfg, target_date=target_date)
    if "form_beta" in posterior:  # the entries' latest form, as race_model_fit computed it
        form_now = read_form(storage, race_key, fit_key)
        if form_now is None:
            raise FileNotFoundError(
                f"fit {fit_key} uses trailing form but race_model_fit kept no form for race "
                f"{race_key} (<storage root>/_fit_cache/{FORM_DIR}/{race_key}.json): "
                "re-materialize race_model_fit for this race"
            )
        data.stats["form_now"] = form_now
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in posterior.items()}
    return flat, data, entries


@race_asset(group="model", kinds={"jax", "parquet"})
def race_scenarios(
    context: AssetExecutionContext,
    config: ScenarioConfig,
    storage: StorageResource,
    jax_runtime: JaxRuntime,  # set up (cache folder, CPU devices) before JAX starts
    race_snapshot: pd.DataFrame,
    race_model_fit: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """S posterior-predictive race scenarios (long table sorted by scenario, driver_id:
    start/finish position, dnf, laps completed/led, fastest laps, DK and FD points)."""
    from nascar_pipeline.core.incidents import Incidents
    from nascar_pipeline.core.simulate import scenario_sanity, simulate_race

    incidents = Incidents.parse(config.incidents)  # a bad value fails before any work
    timer = StageTimer()
    posterior, data, entries = _load_fit_for(
        storage, race_model_fit, race_snapshot, context.partition_key
    )
    timer.lap("load posterior")
    if entries.empty:
        raise ValueError("race_snapshot has no entry rows: nothing to simulate")
    stale, stale_from = model_staleness(race_model_fit)
    if stale:
        context.log.warning(f"race_scenarios: STALE MODEL (the fit of {stale_from})")
    race = entries.iloc[0]
    context.log.info(
        f"race_scenarios: simulating {config.scenarios} races of {len(entries)} drivers "
        f"({race['track_type']}, seed {config.seed})"
    )
    t0 = time.perf_counter()
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
        incidents=incidents,
    )
    timer.lap("simulate")
    sc, user_meta = _move_to_user_projections(context, config, sc, entries)
    timer.lap("user-number tilt")
    ok, details = scenario_sanity(sc)
    timer.lap("checks")
    df = sc.to_frame()
    timer.lap("to table")
    context.log.info(
        f"race_scenarios: {sc.n_scenarios} scenarios x {len(sc.driver_ids)} drivers in "
        f"{time.perf_counter() - t0:.1f} s, {sc.laps} laps; sanity {'ok' if ok else 'FAILED'}; "
        f"stages: {timer.line()}"
    )
    return Output(
        df,
        metadata={
            "stale_model": stale,
            "stale_from": stale_from,
            "scenarios": sc.n_scenarios,
            "drivers": int(len(sc.driver_ids)),
            "laps": sc.laps,
            "track_type": sc.track_type,
            "start_positions_imputed": sc.start_imputed,
            # the setting this race was drawn with (TUNED leaves some track types off)
            "incidents": MetadataValue.json(
                dict(zip(("sharpen", "rate", "cost"), sc.incidents.as_tuple()))
            ),
            "sanity": MetadataValue.json(
                {k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in details.items()}
            ),
            "layout": "long: scenario int32, driver_id int64, start_position int16, finish_position "
            "int16, dnf bool, laps_completed int16, laps_led int16, fastest_laps int16, "
            "dk_points float32, fd_points float32; sorted by (scenario, driver_id)",
            **user_meta,
            **timer.metadata(),
        },
    )


def _move_to_user_projections(context, config: ScenarioConfig, sc, entries: pd.DataFrame):
    """(scenarios, metadata): the scenarios moved to the blend of the model's means and the
    player's projections (core/user_numbers.py), untouched when the race has none or the
    weight is 0."""
    from nascar_pipeline.core.user_numbers import (
        DEFAULT_USER_WEIGHT,
        blend_table,
        move_to_targets,
        resample_scenario_set,
    )

    if "user_proj_points" not in entries:  # a snapshot from before user numbers existed
        return sc, {"user_projections": False}
    e = entries.drop_duplicates("driver_id")
    e = e.set_index(e["driver_id"].astype("int64"))
    user = sc.driver_ids.astype("int64")
    user = (
        pd.Series(user).map(pd.to_numeric(e["user_proj_points"], errors="coerce")).to_numpy(float)
    )
    if not np.isfinite(user).any():
        return sc, {"user_projections": False}
    weight = (
        DEFAULT_USER_WEIGHT
        if config.user_projection_weight is None
        else float(config.user_projection_weight)
    )
    tilt = move_to_targets(
        sc.dk_points,
        user,
        weight,
        min_ess_fraction=config.min_ess_fraction,
        seed=config.seed,
    )
    names = sc.driver_ids.astype("int64")
    names = pd.Series(names).map(e["driver_name"].astype(str)).to_numpy()
    table = blend_table(tilt, sc.driver_ids, names)
    line = (
        f"race_scenarios: the player's projections for {int(np.isfinite(user).sum())} drivers, "
        f"blend weight {weight:g}, scaled x{tilt.scale:.3f}: {tilt.message}"
    )
    short = weight > 0 and tilt.reached < 1.0  # the player asked for more than was moved
    (context.log.warning if short else context.log.info)(line)
    if tilt.moved:
        sc = resample_scenario_set(sc, tilt.indices)
    top = pd.DataFrame(table).head(12).drop(columns=["driver_id"])
    return sc, {
        "user_projections": True,
        "user_blend_weight": weight,
        "user_scale": round(float(tilt.scale), 4),
        "user_ess": round(float(tilt.ess), 1),
        "user_reached": round(float(tilt.reached), 4),
        "user_blend_note": tilt.message,
        "user_blend": MetadataValue.json(table),
        "user_blend_top": MetadataValue.md(top.to_markdown(index=False, floatfmt=".1f")),
    }


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
    context: AssetExecutionContext, race_snapshot: pd.DataFrame, race_scenarios: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Per-driver projections from the scenarios: DK points mean/median/sd/quantiles, FD mean,
    win/top-5/top-10/DNF %, expected laps led and fastest laps, points per $1k of salary.
    Sorted by dk_mean descending."""
    from nascar_pipeline.core.projections import driver_projections as project
    from nascar_pipeline.core.simulate import scenarios_from_frame

    timer = StageTimer()
    entries, _ = _split(race_snapshot)
    sc = scenarios_from_frame(race_scenarios)
    timer.lap("load scenarios")
    proj = project(sc, entries)
    timer.lap("project")
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
    stale, stale_from = stale_model_of(context)
    user_meta = user_blend_of(context)
    best = proj.iloc[0] if len(proj) else None
    context.log.info(
        f"driver_projections: {len(proj)} drivers from {sc.n_scenarios} scenarios"
        + (
            f"; top: {best['driver_name']} {best['dk_mean']:.1f} DK points"
            if best is not None
            else ""
        )
        + (f"; STALE MODEL (the fit of {stale_from})" if stale else "")
    )
    plot = _distributions_plot(sc, proj)
    timer.lap("metadata + plot")
    context.log.info(f"driver_projections stages: {timer.line()}")
    return Output(
        proj,
        metadata={
            "stale_model": stale,
            "stale_from": stale_from,
            "drivers": len(proj),
            "top_projections": MetadataValue.md(md),
            "top_distributions": plot,
            **user_meta,
            **timer.metadata(),
        },
    )


USER_BLEND_KEYS = ("user_blend_weight", "user_scale", "user_ess", "user_reached", "user_blend_top")


def user_blend_of(context) -> dict:
    """The player's-projections blend of the run's race from race_scenarios' latest
    materialization (model, user and blended means per driver, ESS), as metadata entries."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey("race_scenarios"), asset_partitions=[context.partition_key]
        ),
        limit=1,
    ).records
    meta = records[0].asset_materialization.metadata if records else {}
    on = meta.get("user_projections")
    if on is None or not on.value:
        return {"user_projections": False}
    return {"user_projections": True, **{k: meta[k] for k in USER_BLEND_KEYS if k in meta}}


model_assets = [race_model_fit, race_scenarios, driver_projections]
model_checks = [race_model_converged, race_scenarios_sane]
