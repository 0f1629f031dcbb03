"""Backtest metrics and baselines (pure; no I/O).

For each race, every method yields (a) Plackett-Luce utilities for the whole field, used to score
the log-likelihood of the actual full finishing order, and (b) S simulated scenarios (finish
positions and DraftKings points), used for the Brier score of top-10 probabilities, the CRPS of DK
points and the coverage of central 50 % and 90 % DK-points intervals.

Log-likelihood of the actual finishing order (all starters, a permutation):
- model: log mean_s PL(order | utility_s) over the scenarios' posterior draws, utility_s = perf +
  dnf_penalty * P(DNF) of the draw: a mixture of Plackett-Luce distributions with parameter
  uncertainty integrated out and each car's DNF risk folded into its utility. (Averaging PL over
  the scenarios' sampled DNF sets instead is the model's exact predictive probability in the limit,
  but its Monte Carlo estimate is useless: a sampled DNF set rarely matches the actual one.)
- uniform: -log D!;
- start position: PL with utility -b * log(start);
- trailing average finish: PL with utility -b * log(mean finish over the driver's last 10 starts,
  20 for a driver without history); b of each baseline fitted by maximum likelihood on the
  training races (the last 72 races before the target).
Baseline scenarios: Gumbel-max draws from the same PL; DK points = finish points + place
differential + a dominator term fixed per driver (his trailing mean DK points from laps led and
fastest laps per lap run, times the race's laps; field average for the uniform baseline).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln

from nascar_pipeline.core import rules
from nascar_pipeline.core.race_inputs import race_history

METHODS = ("model", "uniform", "start_position", "trailing_avg_finish")
TRAILING = 10
BASELINE_TRAIN_RACES = 72


# ---------------------------------------------------------------- metrics
def pl_loglik(util: np.ndarray, finish: np.ndarray) -> np.ndarray:
    """Plackett-Luce log-probability of the order given by `finish` (1-based positions, (D,)).
    util: (..., D). Returns (...)."""
    order = np.argsort(finish)
    u = np.asarray(util, np.float64)[..., order]
    m = u.max(axis=-1, keepdims=True)
    tail = np.log(np.cumsum(np.exp(u - m)[..., ::-1], axis=-1)[..., ::-1]) + m
    return np.sum(u - tail, axis=-1)


def mixture_order_loglik(util_samples: np.ndarray, finish: np.ndarray) -> float:
    ll = pl_loglik(util_samples, finish)
    mx = ll.max()
    return float(mx + np.log(np.mean(np.exp(ll - mx))))


def brier_top10(finish_samples: np.ndarray, finish: np.ndarray) -> float:
    p = (finish_samples <= 10).mean(axis=0)
    return float(np.mean((p - (finish <= 10)) ** 2))


def crps_samples(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of each column's empirical distribution at y (per driver). samples (S, D)."""
    x = np.sort(np.asarray(samples, np.float64), axis=0)
    S = x.shape[0]
    e_xy = np.mean(np.abs(x - y[None]), axis=0)
    w = (2 * np.arange(1, S + 1) - S - 1)[:, None]
    e_xx = 2.0 * np.sum(w * x, axis=0) / S**2
    return e_xy - 0.5 * e_xx


def coverage(samples: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    lo, hi = np.quantile(samples, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    return (y >= lo - 1e-9) & (y <= hi + 1e-9)


def score_race(
    finish_samples,
    dk_samples,
    util_samples,
    actual: pd.DataFrame,
    deterministic_util: np.ndarray | None = None,
) -> dict:
    """actual: columns finish_position, dk_points in the same driver order as the samples."""
    fin = actual["finish_position"].to_numpy()
    y = actual["dk_points"].to_numpy(np.float64)
    if deterministic_util is not None:
        ll = float(pl_loglik(deterministic_util, fin))
    else:
        ll = mixture_order_loglik(util_samples, fin)
    return {
        "drivers": len(fin),
        "order_loglik": ll,
        "brier_top10": brier_top10(finish_samples, fin),
        "crps_dk": float(np.mean(crps_samples(dk_samples, y))),
        "cover50": float(np.mean(coverage(dk_samples, y, 0.5))),
        "cover90": float(np.mean(coverage(dk_samples, y, 0.9))),
    }


# ---------------------------------------------------------------- baselines
def trailing_features(history: pd.DataFrame, driver_ids: np.ndarray) -> pd.DataFrame:
    """Per driver: mean finish over the last TRAILING starts and dominator DK points per lap."""
    h = history.sort_values("race_date")
    g = h.groupby("driver_id").tail(TRAILING)
    dom = (0.25 * g["laps_led"].fillna(0) + 0.45 * g["fastest_laps"].fillna(0)) / g["laps"]
    f = pd.DataFrame({"driver_id": g["driver_id"], "finish": g["finish_position"], "dom": dom})
    agg = f.groupby("driver_id").agg(avg_finish=("finish", "mean"), dom_per_lap=("dom", "mean"))
    out = pd.DataFrame({"driver_id": driver_ids}).merge(agg, on="driver_id", how="left")
    out["avg_finish"] = out["avg_finish"].fillna(20.0)
    out["dom_per_lap"] = out["dom_per_lap"].fillna(0.0)
    return out


def _fit_slope(feature_by_race: list[tuple[np.ndarray, np.ndarray]]) -> float:
    grid = np.linspace(0.0, 4.0, 81)
    best, best_ll = 0.0, -np.inf
    for b in grid:
        ll = sum(float(pl_loglik(-b * x, fin)) for x, fin in feature_by_race)
        if ll > best_ll:
            best, best_ll = b, ll
    return float(best)


def fit_baselines(history: pd.DataFrame) -> dict:
    """MLE slopes of the two one-parameter PL baselines on the last training races."""
    h = history.sort_values(["race_date", "race_key"])
    keys = list(dict.fromkeys(h["race_key"]))[-BASELINE_TRAIN_RACES:]
    start_rows, trail_rows = [], []
    for key in keys:
        g = h[h["race_key"] == key]
        before = h[h["race_date"] < g["race_date"].iloc[0]]
        fin = g["finish_position"].to_numpy()
        sp = pd.to_numeric(g["start_position"], errors="coerce").fillna(20).to_numpy(float)
        start_rows.append((np.log(sp), fin))
        tf = trailing_features(before, g["driver_id"].to_numpy())
        trail_rows.append((np.log(tf["avg_finish"].to_numpy()), fin))
    return {"start_position": _fit_slope(start_rows), "trailing_avg_finish": _fit_slope(trail_rows)}


def baseline_utilities(
    method: str, slopes: dict, start: np.ndarray, feats: pd.DataFrame
) -> np.ndarray:
    if method == "uniform":
        return np.zeros(len(start))
    if method == "start_position":
        return -slopes["start_position"] * np.log(start.astype(float))
    if method == "trailing_avg_finish":
        return -slopes["trailing_avg_finish"] * np.log(feats["avg_finish"].to_numpy())
    raise ValueError(method)


def simulate_baseline(
    util: np.ndarray, start: np.ndarray, dom_points: np.ndarray, n_scenarios: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noisy = util[None] + rng.gumbel(size=(n_scenarios, len(util)))
    finish = np.argsort(np.argsort(-noisy, axis=1), axis=1) + 1
    dk = rules.dk_finish_points(finish) + (start[None] - finish) + dom_points[None]
    return finish, dk


def summarize(per_race: pd.DataFrame) -> pd.DataFrame:
    """Season table: one row per method. order_loglik is the mean per race (and the total);
    Brier and CRPS are means over races; coverage is pooled over all driver-races."""
    rows = []
    for m, g in per_race.groupby("method", sort=False):
        w = g["drivers"]
        rows.append(
            {
                "method": m,
                "races": len(g),
                "order_loglik_total": g["order_loglik"].sum(),
                "order_loglik_per_race": g["order_loglik"].mean(),
                "brier_top10": g["brier_top10"].mean(),
                "crps_dk": g["crps_dk"].mean(),
                "cover50_pct": 100 * float((g["cover50"] * w).sum() / w.sum()),
                "cover90_pct": 100 * float((g["cover90"] * w).sum() / w.sum()),
            }
        )
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(METHODS)}
    return out.sort_values("method", key=lambda s: s.map(order)).reset_index(drop=True)


def log_factorial(n: int) -> float:
    return float(gammaln(n + 1))


# ---------------------------------------------------------------- runner
def history_from_tables(tables) -> pd.DataFrame:
    """Every race's results as snapshot-like history rows (core.race_inputs' history join,
    with no date cutoff)."""
    return race_history(tables)


def actual_dk_points(g: pd.DataFrame) -> np.ndarray:
    return rules.draftkings_points(
        g["start_position"].to_numpy(),
        g["finish_position"].to_numpy(),
        g["laps_led"].fillna(0).to_numpy(),
        g["fastest_laps"].fillna(0).to_numpy(),
    )


def run_backtest(
    history: pd.DataFrame,
    season: int,
    n_races: int | None = None,
    fit_config=None,
    model_config=None,
    n_scenarios: int = 10_000,
    seed: int = 0,
    log=print,
    on_race=None,
    done: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling backtest (on_race(per_race, table) is called after each race; `done`: per-race rows
    of an interrupted run to resume from): for each race of `season` (in date order, the first `n_races`), fit on
    races strictly before it (warm start from the previous race's SVI fit), simulate it from its
    actual entry list and start positions, score the actual result. Returns (per_race, table)."""
    import time

    from nascar_pipeline.core.model import FitConfig, ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.model.fit import remap_init
    from nascar_pipeline.core.simulate import simulate_race

    fit_config = fit_config or FitConfig(num_warmup=150, num_samples=200, num_chains=2)
    model_config = model_config or ModelConfig()
    h = history.copy()
    h["race_date"] = h["race_date"].astype(str)
    h = h[h["finish_position"].notna()]
    races = (
        h[h["season"] == season].drop_duplicates("race_key").sort_values(["race_date", "race_key"])
    )
    if n_races:
        races = races.head(n_races)
    if races.empty:
        raise ValueError(f"no races with results in season {season}")
    rows, warm, prev_data = [], None, None
    done_keys = set()
    if done is not None and len(done):  # resume: keep the races already scored
        rows = done.to_dict(orient="records")
        done_keys = set(done["race_key"])
    for i, race in enumerate(races.itertuples(index=False)):
        if race.race_key in done_keys:
            continue
        t0 = time.perf_counter()
        before = h[h["race_date"] < race.race_date]
        data = prepare_history(before, model_config, target_date=race.race_date)
        init = remap_init(warm, prev_data, data) if warm is not None else None
        fit = fit_model(data, fit_config, init=init)
        warm, prev_data = fit.init_state, data
        g = h[h["race_key"] == race.race_key].sort_values("driver_id").reset_index(drop=True)
        g["start_position"] = pd.to_numeric(g["start_position"], errors="coerce")
        if g["start_position"].isna().any():
            g["start_position"] = g["start_position"].fillna(g["finish_position"])
        sc = simulate_race(
            fit.flat(),
            data,
            g,
            race.track_type,
            laps=int(race.laps),
            n_scenarios=n_scenarios,
            seed=seed + i,
            track_name=race.track_name,
        )
        actual = pd.DataFrame(
            {"finish_position": g["finish_position"].to_numpy(), "dk_points": actual_dk_points(g)}
        )
        recs = [
            {"method": "model", **score_race(sc.finish_position, sc.dk_points, sc.utility, actual)}
        ]
        slopes = fit_baselines(
            before[
                before["race_date"]
                >= str(pd.Timestamp(race.race_date) - pd.Timedelta(days=model_config.history_days))
            ]
        )
        feats = trailing_features(before, g["driver_id"].to_numpy())
        start = g["start_position"].to_numpy(int)
        field_dom = float(feats["dom_per_lap"].mean())
        for j, m in enumerate(METHODS[1:]):
            u = baseline_utilities(m, slopes, start, feats)
            dom = (
                np.full(len(g), field_dom) if m == "uniform" else feats["dom_per_lap"].to_numpy()
            ) * float(race.laps)
            fin_s, dk_s = simulate_baseline(u, start, dom, n_scenarios, seed + 1000 * i + j)
            recs.append({"method": m, **score_race(fin_s, dk_s, None, actual, u)})
        for r in recs:
            r.update(race_key=race.race_key, race_date=race.race_date, track_type=race.track_type)
        rows.extend(recs)
        d = fit.diagnostics
        log(
            f"[{i + 1}/{len(races)}] {race.race_key}: model ll {recs[0]['order_loglik']:.1f} "
            f"(start {recs[2]['order_loglik']:.1f}, trailing {recs[3]['order_loglik']:.1f}, "
            f"uniform {recs[1]['order_loglik']:.1f}) crps {recs[0]['crps_dk']:.2f} "
            f"rhat {d['rhat_max']:.3f} ess {d['ess_bulk_min']:.0f} "
            f"{time.perf_counter() - t0:.0f}s"
        )
        if on_race is not None:
            partial = pd.DataFrame(rows)
            on_race(partial, summarize(partial))
    per_race = pd.DataFrame(rows)
    return per_race, summarize(per_race)
