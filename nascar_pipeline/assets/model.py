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

import base64
import io
import json

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    MetadataValue,
    Output,
    asset,
    asset_check,
)
from upath import UPath

from nascar_pipeline import settings
from nascar_pipeline.assets.partitions import races_partitions

FIT_CACHE_DIR = "_fit_cache"


class RaceModelConfig(Config):
    """Run config of race_model_fit (production defaults; tests use tiny values)."""

    draws: int = 500
    warmup: int = 400
    chains: int = 4
    seed: int = 0
    svi_steps: int = 1500
    target_accept: float = 0.9
    use_cache: bool = True


class ScenarioConfig(Config):
    scenarios: int = 10_000
    seed: int = 0


def _fit_cache_root() -> UPath:
    return UPath(settings.storage_root()) / FIT_CACHE_DIR


def _split(snapshot: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        snapshot[snapshot["role"] == "entry"].reset_index(drop=True),
        snapshot[snapshot["role"] == "history"].reset_index(drop=True),
    )


def _save_draws(path: UPath, posterior: dict, meta: dict) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **posterior, __meta__=np.array(json.dumps(meta, default=float)))
    if path.protocol in ("", "file", "local"):
        import os
        import uuid

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp.path, path.path)  # atomic on a file system
    else:
        path.write_bytes(buf.getvalue())  # one PUT: atomic on object stores


def _load_draws(path: UPath) -> tuple[dict, dict] | None:
    if not path.exists():
        return None
    with path.open("rb") as f:
        z = np.load(io.BytesIO(f.read()), allow_pickle=False)
        post = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(str(z["__meta__"]))
    return post, meta


def _summary_frame(posterior: dict, data, diag: dict, fit_key: str, names: dict) -> pd.DataFrame:
    """One row per parameter element (real drivers / cars only)."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    from nascar_pipeline.core.model.data import TRACK_TYPES

    rows = []
    for site, x in posterior.items():
        x = np.asarray(x, np.float64)  # (chains, draws, ...)
        if site in ("skill", "skill_track"):
            x = x[:, :, : data.n_drivers]
        elif site == "car_effect":
            x = x[:, :, : len(data.car_numbers)]
        shape = x.shape[2:]
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        rhat = (
            np.asarray(split_gelman_rubin(flat))
            if flat.shape[1] >= 4
            else np.full(flat.shape[2], np.inf)
        )
        ess = (
            np.asarray(effective_sample_size(flat))
            if flat.shape[1] >= 4
            else np.zeros(flat.shape[2])
        )
        pooled = flat.reshape(-1, flat.shape[2])
        q = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
        for j, idx in enumerate(np.ndindex(*shape) if shape else [()]):
            r = {
                "param": site,
                "index": j,
                "driver_id": pd.NA,
                "driver_name": pd.NA,
                "track_type": pd.NA,
                "car_number": pd.NA,
            }
            if site in ("skill", "skill_track"):
                did = int(data.driver_ids[idx[0]])
                r.update(driver_id=did, driver_name=names.get(did))
                if site == "skill_track":
                    r["track_type"] = TRACK_TYPES[idx[1]]
            elif site == "car_effect":
                r["car_number"] = data.car_numbers[idx[0]]
            elif site in ("start_effect", "dnf_base", "led_base", "fast_base"):
                r["track_type"] = TRACK_TYPES[idx[0]]
            elif site == "log_scale_other":
                r["track_type"] = [t for t in TRACK_TYPES if t != "intermediate"][idx[0]]
            r.update(
                mean=pooled[:, j].mean(),
                sd=pooled[:, j].std(),
                q05=q[0, j],
                q50=q[1, j],
                q95=q[2, j],
                rhat=float(np.nan_to_num(rhat[j], nan=np.inf)),
                ess_bulk=float(np.nan_to_num(ess[j], nan=0.0)),
            )
            rows.append(r)
    df = pd.DataFrame(rows)
    df["driver_id"] = df["driver_id"].astype("Int64")
    for c in ("driver_name", "track_type", "car_number", "param"):
        df[c] = df[c].astype("string")
    df["draws"] = int(diag["draws"])
    df["chains"] = int(diag["chains"])
    df["divergences"] = int(diag["divergences"])
    df["fit_key"] = fit_key
    return df


@asset(
    partitions_def=races_partitions,
    group_name="model",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"numpyro", "parquet"},
    pool="mcmc",
    description="Posterior summary and convergence diagnostics of the NumPyro race model fitted "
    "on the race's history (draws cached under <storage root>/_fit_cache).",
)
def race_model_fit(
    context: AssetExecutionContext, config: RaceModelConfig, race_snapshot: pd.DataFrame
) -> Output[pd.DataFrame]:
    from nascar_pipeline.core.model import (
        FitConfig,
        ModelConfig,
        fit_model,
        history_hash,
        prepare_history,
    )
    from nascar_pipeline.core.model.diagnostics import summarize_convergence

    entries, history = _split(race_snapshot)
    if history.empty:
        raise ValueError("race_snapshot has no history rows: nothing to fit")
    target_date = str(entries["race_date"].iloc[0]) if len(entries) else None
    mcfg = ModelConfig()
    fcfg = FitConfig(
        num_warmup=config.warmup,
        num_samples=config.draws,
        num_chains=config.chains,
        seed=config.seed,
        svi_steps=config.svi_steps,
        target_accept=config.target_accept,
    )
    data = prepare_history(history, mcfg, target_date=target_date)
    used = history[history["race_date"].astype(str) < (target_date or "9999")]
    fit_key = history_hash(used, mcfg, {"fit": fcfg.as_dict()})
    path = _fit_cache_root() / f"{fit_key}.npz"
    cached = _load_draws(path) if config.use_cache else None
    if cached is not None:
        posterior, meta = cached
        diverging = np.zeros((meta["chains"], meta["draws_per_chain"]), bool)
        diverging.flat[: meta["divergences"]] = True
        diag = summarize_convergence(posterior, diverging, data.n_drivers)
        timings, reused = meta.get("timings", {}), True
    else:
        fit = fit_model(data, fcfg)
        posterior, diag, timings, reused = fit.posterior, fit.diagnostics, fit.timings, False
        _save_draws(
            path,
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
    summary = _summary_frame(posterior, data, diag, fit_key, {int(k): v for k, v in names.items()})
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
            "fit_cache": str(path),
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


@asset_check(
    asset=race_model_fit,
    blocking=True,
    partitions_def=races_partitions,
    description="MCMC converged: R-hat <= 1.01 and bulk ESS >= 400 for every skill "
    "parameter, divergences <= 1 % of draws.",
)
def race_model_converged(race_model_fit: pd.DataFrame) -> AssetCheckResult:
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


def _load_fit_for(race_model_fit: pd.DataFrame, race_snapshot: pd.DataFrame):
    from nascar_pipeline.core.model import ModelConfig, prepare_history

    fit_key = str(race_model_fit["fit_key"].iloc[0])
    loaded = _load_draws(_fit_cache_root() / f"{fit_key}.npz")
    if loaded is None:
        raise FileNotFoundError(
            f"fit {fit_key} is not in the fit cache {_fit_cache_root()}: "
            "re-materialize race_model_fit for this race"
        )
    posterior, _ = loaded
    entries, history = _split(race_snapshot)
    target_date = str(entries["race_date"].iloc[0]) if len(entries) else None
    data = prepare_history(history, ModelConfig(), target_date=target_date)
    flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in posterior.items()}
    return flat, data, entries


@asset(
    partitions_def=races_partitions,
    group_name="model",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"jax", "parquet"},
    description="S posterior-predictive race scenarios (long table sorted by scenario, driver_id: "
    "start/finish position, dnf, laps completed/led, fastest laps, DK and FD points).",
)
def race_scenarios(
    context: AssetExecutionContext,
    config: ScenarioConfig,
    race_snapshot: pd.DataFrame,
    race_model_fit: pd.DataFrame,
) -> Output[pd.DataFrame]:
    from nascar_pipeline.core.simulate import scenario_sanity, simulate_race

    posterior, data, entries = _load_fit_for(race_model_fit, race_snapshot)
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


def scenario_frame_sanity(df: pd.DataFrame) -> tuple[bool, dict]:
    """Sanity of a race_scenarios table on its own: each scenario's finishing positions are a
    permutation of 1..D, laps led sum to the laps run (= the winner's laps completed), fastest
    laps total within [15 %, 96 %] of laps, per-car lap caps, points within the rules' bounds."""
    from nascar_pipeline.core import rules

    g = df.groupby("scenario")
    D = int(g.size().iloc[0]) if len(df) else 0
    sizes_ok = bool((g.size() == D).all())
    fin_sum = g["finish_position"].agg(lambda s: tuple(sorted(s)) == tuple(range(1, D + 1)))
    laps = g["laps_completed"].max()
    led_ok = bool((g["laps_led"].sum() == laps).all())
    fast = g["fastest_laps"].sum()
    fast_ok = bool(((fast >= 0.15 * laps) & (fast <= 0.96 * laps)).all())
    cap_ok = bool(
        (df["laps_led"] <= df["laps_completed"]).all()
        and (df["fastest_laps"] <= df["laps_completed"]).all()
    )
    L = int(laps.max()) if len(laps) else 0
    pts_ok = bool(
        df["dk_points"]
        .between(
            rules.min_points_bound("draftkings", D) - 1e-3,
            rules.max_points_bound("draftkings", D, L) + 1e-3,
        )
        .all()
        and df["fd_points"]
        .between(
            rules.min_points_bound("fanduel", D) - 1e-3,
            rules.max_points_bound("fanduel", D, L) + 1e-3,
        )
        .all()
    )
    details = {
        "scenarios": int(g.ngroups),
        "drivers": D,
        "same_field": sizes_ok,
        "permutations": bool(fin_sum.all()),
        "laps_led_sum": led_ok,
        "fastest_laps_total": fast_ok,
        "lap_caps": cap_ok,
        "points_in_bounds": pts_ok,
    }
    ok = len(df) > 0 and all(v for k, v in details.items() if isinstance(v, bool))
    return ok, details


@asset_check(
    asset=race_scenarios,
    blocking=True,
    partitions_def=races_partitions,
    description="Every scenario is a valid race: a permutation of finishing positions, "
    "laps led summing to the laps run, fastest laps about 3/4 of laps, "
    "points within the rules' bounds.",
)
def race_scenarios_sane(race_scenarios: pd.DataFrame) -> AssetCheckResult:
    ok, details = scenario_frame_sanity(race_scenarios)
    return AssetCheckResult(passed=ok, severity=AssetCheckSeverity.ERROR, metadata=details)


def _plot_png(sc, proj: pd.DataFrame, top: int = 8) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = proj["driver_id"].head(top).tolist()
    col = {int(d): j for j, d in enumerate(sc.driver_ids)}
    data = [sc.dk_points[:, col[int(d)]] for d in ids]
    labels = proj["driver_name"].head(top).fillna("").astype(str).tolist()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
    ax.boxplot(data, vert=False, whis=(10, 90), showfliers=False)
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("DraftKings points (box: p25-p75, whiskers: p10-p90)", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


@asset(
    partitions_def=races_partitions,
    group_name="model",
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"parquet"},
    description="Per-driver projections from the scenarios: DK points mean/median/sd/quantiles, "
    "FD mean, win/top-5/top-10/DNF %, expected laps led and fastest laps, points per "
    "$1k of salary. Sorted by dk_mean descending.",
)
def driver_projections(
    context: AssetExecutionContext, race_snapshot: pd.DataFrame, race_scenarios: pd.DataFrame
) -> Output[pd.DataFrame]:
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
    png = _plot_png(sc, proj)
    return Output(
        proj,
        metadata={
            "drivers": len(proj),
            "top_projections": MetadataValue.md(md),
            "top_distributions": MetadataValue.md(f"![DK points](data:image/png;base64,{png})"),
        },
    )


model_assets = [race_model_fit, race_scenarios, driver_projections]
model_checks = [race_model_converged, race_scenarios_sane]
