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
  training races (the last 72 races before the target);
- feature PL (core/feature_pl.py): PL with linear features (log start, exponentially weighted
  trailing average running position from loop data over all races and by track type, trailing
  finish), fitted by maximum likelihood on the races of the model's window before the target.
The model is scored with loop data's measurement model off ("model"), on ("model_loop"), or
both in one run (`loop_modes`; with ModelConfig.form both read the loop rows' running positions
as form covariates); `track_type_table` compares every method per track type.
Baseline scenarios: Gumbel-max draws from the same PL; DK points = finish points + place
differential + a dominator term fixed per driver (his trailing mean DK points from laps led and
fastest laps per lap run, times the race's forecast laps, `forecast_laps`, as the model's
scenarios: not the laps it ran; field average for the uniform baseline).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import gammaln

from nascar_pipeline.core import rules
from nascar_pipeline.core.race_inputs import race_history

METHODS = (
    "model",
    "model_loop",
    "uniform",
    "start_position",
    "trailing_avg_finish",
    "feature_pl",
)
MODEL_METHODS = {False: "model", True: "model_loop"}  # loop data off / on
MONEY_BASELINES = ("start_position", "trailing_avg_finish")  # their lineups beside ours
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


# --loop-data / loop_data settings as run_backtest's loop_modes (the command adds "auto").
LOOP_MODES = {"off": (False,), "on": (True,), "both": (False, True)}

# DNF configurations drawn in all (over the scenarios) by order_loglik_dnf_mixture, at least
# DNF_IS_MIN_DRAWS per scenario, and the proposal's weight on the observed flags (the rest on the
# model's own P(dnf): every configuration stays possible). On 8 races of 2025 (2,000
# scenarios): 16 draws per scenario -> +1.84 / +1.73 nats per race over the grid with two
# seeds, 64 -> +1.95 (the log of a mean errs low with fewer draws).
DNF_IS_TOTAL = 65_536
DNF_IS_MIN_DRAWS = 4
DNF_IS_OBSERVED = 0.5


def order_loglik_dnf_mixture(
    util_expected: np.ndarray,
    dnf_prob: np.ndarray,
    dnf_penalty: np.ndarray,
    finish: np.ndarray,
    observed_dnf: np.ndarray,
    seed: int = 0,
    draws: int | None = None,
    incident_rate: float = 0.0,
    incident_cost: float = 0.0,
) -> float:
    """The model's own predictive log-probability of the observed finishing order: in each
    scenario the order is Plackett-Luce on perf + penalty * dnf with dnf ~ Bernoulli(P(dnf)),
    so P(order) = mean over scenarios of E_dnf[PL(order | perf + penalty * dnf)].

    `mixture_order_loglik` on `util_expected` (P(dnf) folded into one utility) ignores that a
    fast car may crash: it scores a race like a model without crashes, too sure of the front.
    Plain Monte Carlo over the scenarios' own DNF draws is unbiased for P(order) but its log is
    dominated by the rare draws that crash the very cars that crashed. So: importance sampling,
    `draws` DNF configurations per scenario (default: DNF_IS_TOTAL in all) from q = DNF_IS_OBSERVED * observed flags +
    (1 - DNF_IS_OBSERVED) * P(dnf), weighted by Bernoulli(P(dnf)) / q. The estimate of P(order)
    is unbiased; its log, like any log of a mean, errs low (conservative) as draws shrink.
    With incidents (core/incidents.py: `incident_rate`, `incident_cost`; the scenarios'
    utility already holds the sharpened performance) each draw also flags incidents, from
    each car's posterior chance of one given the observed order (incident_posterior, mixed
    with the prior rate), weighted likewise: an incident is not observed, the order says where
    one likely happened.
    util_expected, dnf_prob: (S, D); dnf_penalty: (S,); finish, observed_dnf: (D,)."""
    u = np.asarray(util_expected, np.float64)
    p = np.clip(np.asarray(dnf_prob, np.float64), 1e-9, 1 - 1e-9)
    pen = np.asarray(dnf_penalty, np.float64)[:, None]
    perf = u - pen * p
    q = DNF_IS_OBSERVED * np.asarray(observed_dnf, np.float64)[None] + (1 - DNF_IS_OBSERVED) * p
    draws = draws or max(DNF_IS_MIN_DRAWS, DNF_IS_TOTAL // max(len(p), 1))
    rng = np.random.default_rng(seed)
    d = rng.random((draws,) + p.shape) < q[None]  # (M, S, D)
    log_w = np.sum(np.where(d, np.log(p) - np.log(q), np.log1p(-p) - np.log1p(-q)), axis=-1)
    util = perf[None] + pen[None] * d
    if incident_rate > 0 and incident_cost > 0:
        util_out = perf + pen * np.asarray(observed_dnf, np.float64)[None]
        hit, log_r = _incident_draws(
            util_out, finish, observed_dnf, incident_rate, incident_cost, d, rng
        )
        log_w = log_w + log_r
        util = util - incident_cost * (hit & ~d)
    log_w = log_w + pl_loglik(util, finish)
    mx = log_w.max()
    return float(mx + np.log(np.mean(np.exp(log_w - mx))))


# The incident proposal (order_loglik_dnf_mixture): INCIDENT_IS_POSTERIOR of its weight on each
# car's own posterior chance of an incident given the observed order (the others' flags left
# off), the rest on the prior rate (a defensive mixture: every weight stays below 1 / (1 -
# INCIDENT_IS_POSTERIOR) per car). Against the earlier proposal (the prior, plus half its weight
# on cars 8 or more places behind their expected rank; a one-off comparison when it was
# replaced, the earlier code is in the history before this one), on three 2024 races fitted at
# 2 x (150 + 200): with 4,000 scenarios (the default 16 draws each) at (1.5, 0.1, 2),
# (2, 0.1, 4) and (2.5, 0.2, 4) the sd over 4 seeds fell from 0.16-2.27 nats to 0.07-0.52;
# with 400 scenarios at (2, 0.1, 4) the earlier one still rose 1-3 nats from 4 to 1,024 draws
# per scenario. tests/core/test_incidents.py checks the estimate against the exact sum.
INCIDENT_IS_POSTERIOR = 0.8
INCIDENT_IS_CHUNK = 2048  # scenarios per block of the (S, D, D) conditional computation


def incident_posterior(util: np.ndarray, finish: np.ndarray, rate: float, cost: float):
    """P(incident on car i | the observed order, no incident on any other car) under
    Plackett-Luce on `util` (S, D) (each scenario's utility without incidents): the prior odds
    rate / (1 - rate) times the likelihood ratio of the order with car i's utility lowered by
    `cost`. Lowering u_i takes a_i = e^u_i (1 - e^-cost) from every stage's denominator T_k up to
    car i's own, so log LR_i = -cost - sum_{k <= pos i} log(1 - a_i / T_k). Returns (S, D)."""
    from scipy.special import expit

    u = np.asarray(util, np.float64)
    order = np.argsort(finish)
    stages = np.tril(np.ones((len(order), len(order)), bool))  # [car at p, stage k]: k <= p
    j_before_p = np.tril(np.ones((len(order), len(order)), bool), k=-1)  # [p, j]: j < p
    out = np.empty_like(u)
    for lo in range(0, len(u), INCIDENT_IS_CHUNK):
        us = u[lo : lo + INCIDENT_IS_CHUNK][:, order]  # (s, D) in finishing order
        # shifted by the scenario's best; a car 600 below it is as good as absent (e^-600 still
        # positive: no stage's denominator is 0)
        e = np.exp(np.maximum(us - us.max(axis=1, keepdims=True), -600.0))
        tail = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]  # T_k
        # T_k - a_p for k <= p from sums of positive terms only (a difference of running sums
        # loses the cars 30 nats below a dominant one): the cars of stages k..p-1 (`between`),
        # those after p (T_{p+1}), and what is left of car p's own weight
        after = np.concatenate([tail[:, 1:], np.zeros((len(us), 1))], axis=1)  # T_{p+1}
        masked = np.where(j_before_p[None], e[:, None, :], 0.0)  # [s, p, j]
        between = np.cumsum(masked[..., ::-1], axis=2)[..., ::-1]  # [s, p, k]: sum_{k<=j<p}
        kept = between + (after + e * np.exp(-cost))[:, :, None]
        with np.errstate(divide="ignore"):
            terms = np.log(kept) - np.log(tail)[:, None, :]
        log_lr = -cost - np.sum(np.where(stages[None], terms, 0.0), axis=2)
        post = np.empty_like(log_lr)
        post[:, order] = expit(np.log(rate) - np.log1p(-rate) + log_lr)
        out[lo : lo + INCIDENT_IS_CHUNK] = post
    return out


def _incident_draws(util, finish, observed_dnf, rate, cost, dnf_drawn, rng):
    """Incident flags (M, S, D) (the shape of the drawn DNF flags `dnf_drawn`) from the
    proposal above and their log importance weights summed over cars (M, S). `util` (S, D): each
    scenario's utility with the observed cars out, without incidents."""
    r = float(rate)
    post = incident_posterior(util, finish, r, cost)
    post = np.where(np.asarray(observed_dnf, bool)[None], r, post)  # out: nothing to say
    q = INCIDENT_IS_POSTERIOR * post + (1 - INCIDENT_IS_POSTERIOR) * r  # (S, D)
    hit = rng.random(dnf_drawn.shape) < q[None]
    log_r = np.where(hit, np.log(r) - np.log(q), np.log1p(-r) - np.log1p(-q))
    # A car out of the race has no incident to score (the utility ignores it): its flag is
    # integrated out exactly, no weight.
    log_r = np.where(dnf_drawn, 0.0, log_r)
    return hit, np.sum(log_r, axis=-1)


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
    # y in the samples' precision: an outcome on an interval end (41.35 DK points) is not
    # float32's 41.349998 and would count as outside it
    return (_like(y, samples) >= lo - 1e-9) & (_like(y, samples) <= hi + 1e-9)


def _like(y, samples) -> np.ndarray:
    """y in the samples' floating dtype (float64 where the samples are not floating)."""
    dtype = np.asarray(samples).dtype
    return np.asarray(y, dtype if np.issubdtype(dtype, np.floating) else np.float64)


def interval_mass(samples: np.ndarray, level: float) -> np.ndarray:
    """Per driver: the share of the forecast's own samples inside the closed central interval
    that `coverage` counts. DK points are discrete (whole places, quarter laps led), so a
    closed interval between two quantiles also holds the atoms at both ends: more than
    `level` (on four 2025 races about 50.5 % for the model's 50 % intervals, whose laps led
    spread the atoms, and 52 % for the baselines'). Outcomes drawn from the forecast land in it
    this often; `pit_coverage` is the measure whose calibrated value is the level."""
    x = np.asarray(samples)
    lo, hi = np.quantile(x, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    return np.mean((x >= lo - 1e-9) & (x <= hi + 1e-9), axis=0)


def pit_coverage(samples: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    """Per driver: the probability that the randomized PIT value of y (uniform on
    [P(X < y), P(X <= y)]; Czado, Gneiting and Held 2009, for discrete forecasts) falls in the
    central `level` band. Outcomes drawn from the forecast score `level` exactly, atoms or not;
    an outcome the forecast gives no mass behaves as in `coverage`."""
    x = np.asarray(samples)
    yy = _like(y, x)[None]
    below = np.mean(x < yy - 1e-9, axis=0)
    upto = np.mean(x <= yy + 1e-9, axis=0)
    a, b = (1 - level) / 2, 1 - (1 - level) / 2
    inside = np.clip(np.minimum(upto, b) - np.maximum(below, a), 0.0, None)
    width = upto - below
    return np.where(
        width > 0, inside / np.maximum(width, 1e-12), ((upto >= a) & (upto <= b)).astype(float)
    )


def score_race(
    finish_samples,
    dk_samples,
    util_samples,
    actual: pd.DataFrame,
    deterministic_util: np.ndarray | None = None,
    dnf: tuple | None = None,
    seed: int = 0,
    incidents=None,
) -> dict:
    """actual: columns finish_position, dk_points (and dnf: the observed flags) in the same
    driver order as the samples. `dnf`: (dnf_prob, dnf_penalty) of the model's scenarios: the
    order is then scored by the model's mixture over DNFs (order_loglik_dnf_mixture), and over
    incidents where `incidents` (core/incidents.py) drew them."""
    fin = actual["finish_position"].to_numpy()
    y = actual["dk_points"].to_numpy(np.float64)
    if deterministic_util is not None:
        ll = float(pl_loglik(deterministic_util, fin))
    elif dnf is not None and dnf[0] is not None and "dnf" in actual:
        inc = {}
        if incidents is not None and not incidents.off:
            inc = dict(incident_rate=incidents.rate, incident_cost=incidents.cost)
        ll = order_loglik_dnf_mixture(
            util_samples, dnf[0], dnf[1], fin, actual["dnf"].to_numpy(bool), seed=seed, **inc
        )
    else:
        ll = mixture_order_loglik(util_samples, fin)
    return {
        "drivers": len(fin),
        "order_loglik": ll,
        "brier_top10": brier_top10(finish_samples, fin),
        "crps_dk": float(np.mean(crps_samples(dk_samples, y))),
        "cover50": float(np.mean(coverage(dk_samples, y, 0.5))),
        "cover90": float(np.mean(coverage(dk_samples, y, 0.9))),
        "pit50": float(np.mean(pit_coverage(dk_samples, y, 0.5))),
        "pit90": float(np.mean(pit_coverage(dk_samples, y, 0.9))),
        "mass50": float(np.mean(interval_mass(dk_samples, 0.5))),
        "mass90": float(np.mean(interval_mass(dk_samples, 0.9))),
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
    Brier, CRPS, projection MAE and rank correlation are means over races; coverage is pooled
    over all driver-races."""
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
                **interval_masses(g),
                **pooled_error(g),
                **projection_accuracy(g),
                **money_summary(g),
            }
        )
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(METHODS)}
    return out.sort_values("method", key=lambda s: s.map(order)).reset_index(drop=True)


def interval_masses(g: pd.DataFrame) -> dict:
    """Pooled pit50_pct / pit90_pct (pit_coverage) and mass50_pct / mass90_pct
    (interval_mass) over the races that recorded them (rows kept by --resume from before have
    none: NaN)."""
    out = {}
    for c in ("pit50", "pit90", "mass50", "mass90"):
        h = g.dropna(subset=[c]) if c in g else g.iloc[:0]
        w = h["drivers"]
        out[f"{c}_pct"] = 100 * float((h[c] * w).sum() / w.sum()) if len(h) else np.nan
    return out


def pooled_error(g: pd.DataFrame) -> dict:
    """Projection error pooled over every driver-race (RMSEs weighted by drivers)."""
    if "rmse_dk" not in g or g["rmse_dk"].isna().all():
        return {}
    w = g["drivers"].where(g["rmse_dk"].notna(), 0)
    mse = float((g["rmse_dk"].fillna(0) ** 2 * w).sum() / w.sum())
    var = float((g["scenario_sd"].fillna(0) ** 2 * w).sum() / w.sum())
    return {
        "rmse_dk": np.sqrt(mse),
        "scenario_sd": np.sqrt(var),
        "excess_error_sd": np.sqrt(max(mse - var, 0.0)),
    }


PROJECTION_ACCURACY = ("mae_dk", "rank_corr_dk")
# Projected and actual DK points of the front row (starts 1-2, mean of the two) and of the
# race's winner: a flat projection shows here first (a vendor projects a front row 30-54).
FRONT_AND_WINNER = ("front_row_proj_dk", "front_row_dk", "winner_proj_dk", "winner_dk")
# CRPS of each driver's DK dominator points (laps led, fastest laps), mean over drivers: how
# well the lap shares are forecast (a baseline's fixed dominator term scores its absolute error).
DOMINATOR = ("crps_dom_dk",)


def dominator_points(laps_led, fastest_laps) -> np.ndarray:
    """DraftKings points for laps led and fastest laps alone (core.rules' rates)."""
    led = np.asarray(laps_led, np.float64)
    fast = np.asarray(fastest_laps, np.float64)
    ones = np.ones_like(led)
    return rules.draftkings_points(ones, ones, led, fast) - rules.draftkings_points(
        ones, ones, 0 * led, 0 * fast
    )


def actual_dominator_points(g: pd.DataFrame) -> np.ndarray:
    """Each result row's actual dominator points (laps led missing: 0); all NaN when the race
    has no fastest laps recorded for someone (not 0 laps: no dominator score for the race)."""
    y = dominator_points(g["laps_led"].fillna(0), g["fastest_laps"].fillna(0))
    if g["fastest_laps"].isna().any():
        return np.full_like(y, np.nan, dtype=np.float64)
    return y


def front_and_winner(projection, y, start, actual: pd.DataFrame) -> dict:
    """FRONT_AND_WINNER of one race and method (driver order of `projection`)."""
    proj = np.asarray(projection, np.float64)
    front = np.asarray(start) <= 2
    won = actual["finish_position"].to_numpy() == 1
    return {
        "front_row_proj_dk": float(proj[front].mean()) if front.any() else np.nan,
        "front_row_dk": float(np.asarray(y)[front].mean()) if front.any() else np.nan,
        "winner_proj_dk": float(proj[won].mean()) if won.any() else np.nan,
        "winner_dk": float(np.asarray(y)[won].mean()) if won.any() else np.nan,
    }


def projection_accuracy(g: pd.DataFrame) -> dict:
    """Mean absolute error and rank correlation of the projected means against the actual DK
    points, each a mean over races (a race where the rank correlation is undefined is left
    out); nothing for per-race rows without them (a run scored before they existed)."""
    cols = PROJECTION_ACCURACY + FRONT_AND_WINNER + DOMINATOR
    return {c: float(g[c].mean()) for c in cols if c in g and g[c].notna().any()}


def money_summary(g: pd.DataFrame) -> dict:
    """Races graded for money, the mean cash rate of the lineups, the share of races where the
    best lineup cashed / reached the winning score, ownership MAEs (means over races)."""
    out: dict = {}
    if "money_cash_rate" in g and g["money_lineups"].notna().any():
        m = g[g["money_lineups"].notna()]
        out.update(
            money_races=len(m),
            money_cash_rate=float(m["money_cash_rate"].mean()),
            money_best_cashed=float((m["money_best_minus_cash"] >= 0).mean()),
            money_beat_winner=float(m["money_beat_winner"].mean()),
            money_best_minus_winner=float(m["money_best_minus_winner"].mean()),
        )
    for c in ("own_mae", "own_mae_defaults", f"own_mae_{SALARY_ONLY}"):
        if c in g and g[c].notna().any():
            out[c] = float(g[c].mean())
    return out


def log_factorial(n: int) -> float:
    return float(gammaln(n + 1))


# ---------------------------------------------------------------- money, ownership, error
MONEY_LINEUPS = 5  # lineups built per method and race: a handful, as a player's small portfolio
SIMULATED_FIELD = 2_000  # stand-in field from the real %Drafted where no contest facts exist
SIMULATED_FIELD_MAX = 20_000  # a stand-in field at its contest's size, at most this (memory, time)
SIMULATED_PAID = 0.2  # a GPP's paid share: the cash line where the contest's payouts are unknown
CASH_REAL = "contest"  # where the cash line and winning score came from
CASH_SIMULATED = "simulated from real %Drafted"


def projection_error(dk_samples: np.ndarray, y: np.ndarray) -> dict:
    """Projected mean minus actual DK points per driver: RMSE, the scenarios' own spread (root
    mean per-driver variance) and the error beyond that spread (sqrt(MSE - spread^2), 0 when the
    scenarios already spread as wide as the misses): the noise honest ROI needs on top. Beside
    them the figures a player compares with a vendor's sheet: the mean absolute error and the
    Spearman rank correlation of the projected means with the actual points."""
    x = np.asarray(dk_samples, np.float64)
    y = np.asarray(y, np.float64)
    proj = x.mean(axis=0)
    mse = float(np.mean((proj - y) ** 2))
    var = float(np.mean(x.var(axis=0)))
    return {
        "rmse_dk": float(np.sqrt(mse)),
        "scenario_sd": float(np.sqrt(var)),
        "excess_error_sd": float(np.sqrt(max(mse - var, 0.0))),
        "mae_dk": float(np.mean(np.abs(proj - y))),
        "rank_corr_dk": rank_correlation(proj, y),
    }


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation (Pearson's on average ranks, ties sharing their mean rank);
    NaN when either side is constant (a flat projection ranks nobody) or has fewer than two
    values."""
    from scipy.stats import rankdata

    ra = rankdata(np.asarray(a, np.float64))
    rb = rankdata(np.asarray(b, np.float64))
    if len(ra) < 2 or np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float(np.sum(ra * rb) / np.sqrt(np.sum(ra**2) * np.sum(rb**2)))


def build_lineups(projection, salaries, k: int = MONEY_LINEUPS) -> np.ndarray:
    """(k, 6) driver indices: the k best distinct DraftKings lineups by projected points
    (core/optimize.py, no steering beyond distinctness)."""
    from nascar_pipeline.core.optimize import optimize_lineups

    site = rules.DRAFTKINGS
    res = optimize_lineups(
        np.asarray(projection, np.float64),
        np.asarray(salaries, np.float64),
        site.roster_size,
        site.salary_cap,
        k=k,
    )
    return np.asarray(res.lineups, dtype=np.int64)


def contest_facts(contests: pd.DataFrame | None) -> dict | None:
    """The race's DraftKings contest with a cash line or winning score (the largest field when
    several): {contest_id, cash_line, winning_score, source}; None without one."""
    if contests is None or not len(contests) or "cash_line" not in contests:
        return None
    c = contests[contests["site"].astype("string").fillna("draftkings") == "draftkings"]
    c = c[c["cash_line"].notna() | c["winning_score"].notna()]
    if not len(c):
        return None
    row = c.sort_values("field_size", ascending=False, na_position="last").iloc[0]

    def num(v):
        return None if pd.isna(v) else float(v)

    return {
        "contest_id": str(row["contest_id"]),
        "cash_line": num(row["cash_line"]),
        "winning_score": num(row["winning_score"]),
        "source": CASH_REAL,
    }


def largest_contest(contests: pd.DataFrame | None) -> dict | None:
    """The race's DraftKings contest of the largest field (the first by contest_id among equal
    or unknown sizes), as a row dict; None without one. An unnamed lineup's stand-in contest
    where no contest has real facts (core/money_grading.py stand_in_contest_id)."""
    if contests is None or not len(contests) or "contest_id" not in contests:
        return None
    c = contests
    if "site" in c:
        c = c[c["site"].astype("string").fillna("draftkings") == "draftkings"]
    if not len(c):
        return None
    c = c.sort_values("contest_id", kind="stable")
    if "field_size" in c:
        size = pd.to_numeric(c["field_size"], errors="coerce")
        c = c.iloc[np.argsort(-size.fillna(-1).to_numpy(), kind="stable")]
    return c.iloc[0].to_dict()


def _int_or_none(v) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def paid_share(contest: Mapping) -> float | None:
    """The share of a contest's entries its payout table pays (a double-up about 0.45, a GPP
    about 0.2), from one row of the race's contests (field_size, payouts, entry_fee); None
    without both a field size and a payout table."""
    from nascar_pipeline.core.contests import contest_from_record

    c = contest_from_record(dict(contest))
    if not c.field_size or c.payouts is None:
        return None
    paid = int(np.count_nonzero(c.payout_table(c.field_size).prizes > 0))
    return min(paid, c.field_size) / c.field_size


def simulated_contest_facts(
    own_pct,
    salaries,
    points,
    seed: int = 0,
    field_size: int | None = None,
    paid: float | None = None,
) -> dict:
    """A stand-in cash line and winning score for a contest without real facts: a field drawn
    from the real %Drafted (core/slate.py draw_field, the assets' field), scored with the
    actual points. The cash line is the score at the contest's own paid share (`paid`: a
    double-up's cash line is near the median, not a GPP's; unknown: SIMULATED_PAID, the 80th
    percentile of a GPP); the winning score the best of a field of the contest's own size
    (`field_size`; unknown: SIMULATED_FIELD), at most SIMULATED_FIELD_MAX lineups, so a huge
    GPP's winner is the best of that many, which `note` says. Labelled simulated: a real
    contest's field is not this one."""
    from nascar_pipeline.core.ownership_model import DEFAULT_MIN_FIELD_SALARY
    from nascar_pipeline.core.race_scoring import lineup_points
    from nascar_pipeline.core.slate import draw_field

    size = int(field_size) if field_size and field_size > 0 else None
    n = min(size or SIMULATED_FIELD, SIMULATED_FIELD_MAX)
    known = paid is not None and 0 < paid <= 1
    share = float(paid) if known else SIMULATED_PAID
    draw = draw_field(
        np.asarray(own_pct, np.float64),
        np.asarray(salaries, np.float64),
        n,
        DEFAULT_MIN_FIELD_SALARY,
        np.random.default_rng(seed),
        setting="backtest simulated field",
    )
    pts = lineup_points(draw.lineups, points)
    if size is None:
        field = f"best of {n:,} simulated (field size unknown)"
    elif n < size:
        field = f"best of {n:,} simulated (field of {size:,} capped at {SIMULATED_FIELD_MAX:,})"
    else:
        field = f"best of {n:,} simulated (the contest's field)"
    pays = "its payout table" if known else "no payout table: a GPP's"
    return {
        "contest_id": None,
        "cash_line": float(np.quantile(pts, 1.0 - share)),
        "winning_score": float(pts.max()),
        "source": CASH_SIMULATED,
        "note": f"{field}; cash line at the top {share:.1%} ({pays})",
    }


def grade_money(
    salaries, projections: dict, actual_points, facts: dict, lineups: dict | None = None
) -> list[dict]:
    """One row per method: its lineups (given in `lineups`, else the MONEY_LINEUPS best by its
    projection) scored with the actual DK points against the contest facts."""
    from nascar_pipeline.core.race_scoring import grade_lineups, lineup_points

    lineups = dict(lineups or {})
    rows = []
    for method, proj in projections.items():
        idx = lineups.get(method)
        if idx is None:
            idx = build_lineups(proj, salaries)
        g = grade_lineups(
            lineup_points(idx, actual_points), facts["cash_line"], facts["winning_score"]
        )
        rows.append({"method": method, **g, "cash_source": facts["source"]})
    return rows


def baseline_projections(
    history: pd.DataFrame,
    driver_ids,
    start,
    laps: float,
    race_date: str,
    history_days: int | None = None,
    n_scenarios: int = 2_000,
    seed: int = 0,
) -> dict:
    """{method: (D,) mean DK points} of the start-position and trailing-average baselines for a
    race (fitted on `history`, the races before it, as in run_backtest)."""
    h = history.copy()
    h["race_date"] = h["race_date"].astype(str)
    h = h[h["finish_position"].notna() & (h["race_date"] < str(race_date))]
    recent = h
    if history_days:
        cut = str(pd.Timestamp(race_date) - pd.Timedelta(days=history_days))
        recent = h[h["race_date"] >= cut]
    slopes = fit_baselines(recent)
    ids = np.asarray(driver_ids)
    feats = trailing_features(h, ids)
    st = np.asarray(start, dtype=np.float64)
    st = np.where(np.isfinite(st), st, 20.0).astype(int)
    dom = feats["dom_per_lap"].to_numpy() * float(laps)
    out = {}
    for j, m in enumerate(MONEY_BASELINES):
        u = baseline_utilities(m, slopes, st, feats)
        out[m] = simulate_baseline(u, st, dom, n_scenarios, seed + j)[1].mean(axis=0)
    return out


SALARY_ONLY = "salary_only"


def ownership_errors(slate: pd.DataFrame, actual_pct, ours_pct=None) -> dict:
    """MAE (ownership points) against the real %Drafted of our ownership (`ours_pct`, e.g. the
    ownership asset's), the stated-defaults model and a salary-only share model, each through
    core/ownership_model.py project_field_ownership on `slate` (ownership_slate's columns).
    NaN where no real %Drafted."""
    from nascar_pipeline.core.ownership_features import FIELD_FEATURES
    from nascar_pipeline.core.ownership_fit import ownership_mae
    from nascar_pipeline.core.ownership_model import (
        DEFAULT_FIELD_MODEL,
        FieldOwnershipModel,
        project_field_ownership,
    )

    actual = np.asarray(actual_pct, np.float64)
    out = {"own_drivers": int(np.isfinite(actual).sum())}
    salary_only = FieldOwnershipModel(
        coefs={f: (1.0 if f == "salary" else 0.0) for f in FIELD_FEATURES},
        vendor_weight=0.0,
        source="salary only",
    )
    models = {"own_mae_defaults": DEFAULT_FIELD_MODEL, f"own_mae_{SALARY_ONLY}": salary_only}
    for name, model in models.items():
        try:
            own = project_field_ownership(slate, model).frame["own_pct"].to_numpy(float)
        except ValueError:  # a slate too small for the tier bounds to hold 600 %
            own = np.full(len(slate), np.nan)
        out[name] = ownership_mae(own, actual)
    out["own_mae"] = ownership_mae(ours_pct, actual) if ours_pct is not None else np.nan
    return out


# ---------------------------------------------------------------- runner
def history_from_tables(tables) -> pd.DataFrame:
    """Every race's results as snapshot-like history rows (core.race_inputs' history join,
    with no date cutoff)."""
    return race_history(tables)


def observed_dnf(g: pd.DataFrame) -> np.ndarray:
    """Whether each car of a race's rows did not run to the end (status other than running)."""
    if "status" not in g:
        return np.zeros(len(g), bool)
    return g["status"].astype("string").str.lower().fillna("running").ne("running").to_numpy()


def actual_dk_points(g: pd.DataFrame) -> np.ndarray:
    return rules.draftkings_points(
        g["start_position"].to_numpy(),
        g["finish_position"].to_numpy(),
        g["laps_led"].fillna(0).to_numpy(),
        g["fastest_laps"].fillna(0).to_numpy(),
    )


def race_money_and_ownership(
    g: pd.DataFrame, y: np.ndarray, mean_points: dict, contests: pd.DataFrame | None, seed: int = 0
) -> dict:
    """{method: {money_* and own_* fields}} for a race whose rows (`g`, driver order of `y`)
    carry real DraftKings salaries (graded on the priced drivers); {} otherwise. Contest facts from `contests` (this race's
    rows), else a field simulated from the real %Drafted, else no money."""
    if "salary" not in g or g["salary"].notna().sum() < rules.DRAFTKINGS.roster_size:
        return {}
    on_slate = g["salary"].notna().to_numpy()  # the slate: the starters DraftKings priced
    g, y = g[on_slate], np.asarray(y)[on_slate]
    mean_points = {m: np.asarray(p)[on_slate] for m, p in mean_points.items()}
    salaries = g["salary"].to_numpy(np.float64)
    own = (
        g["dk_own_pct"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if "dk_own_pct" in g
        else np.full(len(g), np.nan)
    )
    race_contests = (
        contests[contests["race_key"] == g["race_key"].iloc[0]] if contests is not None else None
    )
    facts = contest_facts(race_contests)
    if facts is None and np.isfinite(own).any():
        big = largest_contest(race_contests)  # the stand-in: the race's largest field, as stated
        size, share = (None, None) if big is None else (big.get("field_size"), paid_share(big))
        facts = simulated_contest_facts(
            np.nan_to_num(own), salaries, y, seed=seed, field_size=_int_or_none(size), paid=share
        )
    out: dict = {m: {} for m in mean_points}
    ours = next(m for m in (*MODEL_METHODS.values(), *mean_points) if m in mean_points)
    if facts is not None:
        graded = {
            m: p for m, p in mean_points.items() if m in (*MODEL_METHODS.values(), *MONEY_BASELINES)
        }
        for row in grade_money(salaries, graded, y, facts):
            m = row.pop("method")
            out[m].update({f"money_{k}": v for k, v in row.items()})
    if np.isfinite(own).any():
        slate = pd.DataFrame(
            {
                "driver_id": g["driver_id"].to_numpy(),
                "driver_name": g["driver_name"].astype(str).to_numpy()
                if "driver_name" in g
                else g["driver_id"].astype(str).to_numpy(),
                "salary": salaries,
                "projection": mean_points[ours],
                "start_position": g["start_position"].to_numpy(float),
            }
        )
        out[ours].update(ownership_errors(slate, own))
    return {m: v for m, v in out.items() if v}


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
    contests: pd.DataFrame | None = None,
    loop: pd.DataFrame | None = None,
    loop_modes: tuple = (False,),
    incidents=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling backtest (on_race(per_race, table) is called after each race; `done`: per-race rows
    of an interrupted run to resume from): for each race of `season` (in date order, the first `n_races`), fit on
    races strictly before it (warm start from the previous race's SVI fit), simulate it from its
    actual entry list and start positions, score the actual result. Returns (per_race, table).

    Every method's row also holds its projection error (projection_error). Where the race's
    history rows carry real DraftKings salaries: money (grade_money; `money_*` columns) against
    the race's contest facts in `contests` (the contests table), else against a field simulated
    from the real %Drafted (labelled in `money_cash_source`), and the ownership error against the
    real %Drafted (ownership_errors, on the model's row).

    `loop`: loop rows (LOOP_STATS_COLUMNS, Cup rows with the history's race_key) for the model
    with loop data and the feature PL; `loop_modes`: (False,), (True,) or (False, True): the
    model fitted without / with loop data's measurement model (methods "model" / "model_loop";
    with `model_config.form` both take the loop rows' running positions as form), each race both ways
    in one run for (False, True). `incidents`: the scenarios' incident layer (core/incidents.py;
    default OFF), the model's order scored by its mixture over incidents too."""
    import time
    from dataclasses import replace

    from nascar_pipeline.core.feature_pl import design, feature_table, fit_on_races
    from nascar_pipeline.core.incidents import OFF
    from nascar_pipeline.core.model import FitConfig, ModelConfig

    fit_config = fit_config or FitConfig(num_warmup=150, num_samples=200, num_chains=2)
    model_config = model_config or ModelConfig()
    incidents = incidents or OFF
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
    configs = {MODEL_METHODS[on]: replace(model_config, loop_data=on) for on in loop_modes}
    warm: dict = {}
    feats_all = feature_table(h, loop)
    rows = []
    done_keys = set()
    if done is not None and len(done):  # resume: keep the races already scored
        rows = done.to_dict(orient="records")
        done_keys = set(done["race_key"])
    for i, race in enumerate(races.itertuples(index=False)):
        if race.race_key in done_keys:
            continue
        t0 = time.perf_counter()
        before = h[h["race_date"] < race.race_date]
        log(
            f"[{i + 1}/{len(races)}] {race.race_key}: fitting on {before['race_key'].nunique()} races"
        )
        g = h[h["race_key"] == race.race_key].sort_values("driver_id").reset_index(drop=True)
        g["start_position"] = pd.to_numeric(g["start_position"], errors="coerce")
        laps = forecast_laps(race, before)
        actual = pd.DataFrame(
            {
                "finish_position": g["finish_position"].to_numpy(),
                # a start not recorded: no place differential (the true points are unknown)
                "dk_points": actual_dk_points(
                    g.assign(start_position=g["start_position"].fillna(g["finish_position"]))
                ),
                "dnf": observed_dnf(g),
            }
        )
        window = before[
            before["race_date"]
            >= str(pd.Timestamp(race.race_date) - pd.Timedelta(days=model_config.history_days))
        ]
        if g["start_position"].isna().any():  # the forecasts' start: the simulator's fallback
            g["start_position"] = forecast_starts(g, window)
        y = actual["dk_points"].to_numpy(np.float64)
        y_dom = actual_dominator_points(g)
        recs, mean_points, diags = [], {}, {}
        for method, mcfg in configs.items():
            t_fit = time.perf_counter()
            sc, diags[method] = _model_scenarios(
                before, race, g, laps, mcfg, fit_config, loop, warm, method, n_scenarios,
                seed + i, incidents,
            )  # fmt: skip
            t_fit = time.perf_counter() - t_fit
            recs.append(
                {
                    "method": method,
                    **score_race(
                        sc.finish_position,
                        sc.dk_points,
                        sc.utility,
                        actual,
                        dnf=(sc.dnf_prob, sc.dnf_penalty),
                        seed=seed + i,
                        incidents=sc.incidents,
                    ),
                    # the earlier scoring (P(dnf) folded into one utility of the fitted,
                    # unsharpened performance), for comparison
                    "order_loglik_folded": mixture_order_loglik(
                        _unsharpened(sc), actual["finish_position"].to_numpy()
                    ),
                    **projection_error(sc.dk_points, y),
                    "crps_dom_dk": float(
                        np.mean(crps_samples(dominator_points(sc.laps_led, sc.fastest_laps), y_dom))
                    ),
                    "rhat_max": float(diags[method]["rhat_max"]),
                    "ess_bulk_min": float(diags[method]["ess_bulk_min"]),
                    "divergence_rate": float(diags[method].get("divergence_rate", 0.0)),
                    "fit_sim_seconds": t_fit,  # fit + scenarios of this method
                }
            )
            mean_points[method] = np.asarray(sc.dk_points, np.float64).mean(axis=0)
        slopes = fit_baselines(window)
        feats = trailing_features(before, g["driver_id"].to_numpy())
        start = g["start_position"].to_numpy(int)
        field_dom = float(feats["dom_per_lap"].mean())
        beta = fit_on_races(h, feats_all, window["race_key"].unique())
        for j, m in enumerate(("uniform", *MONEY_BASELINES, "feature_pl")):
            u = (
                design(g, feats_all) @ beta
                if m == "feature_pl"
                else baseline_utilities(m, slopes, start, feats)
            )
            dom = (
                np.full(len(g), field_dom) if m == "uniform" else feats["dom_per_lap"].to_numpy()
            ) * float(laps)
            fin_s, dk_s = simulate_baseline(u, start, dom, n_scenarios, seed + 1000 * i + j)
            recs.append(
                {
                    "method": m,
                    **score_race(fin_s, dk_s, None, actual, u),
                    **projection_error(dk_s, y),
                    "crps_dom_dk": float(np.mean(np.abs(dom - y_dom))),  # a point forecast
                }
            )
            mean_points[m] = dk_s.mean(axis=0)
        for r in recs:
            r.update(front_and_winner(mean_points[r["method"]], y, start, actual))
        t_money = time.perf_counter()
        extra = race_money_and_ownership(g, y, mean_points, contests, seed=seed + i)
        for r in recs:
            r.update(extra.get(r["method"], {}))
        if extra:
            log(
                f"  {race.race_key}: money and ownership graded in {time.perf_counter() - t_money:.1f}s"
            )
        for r in recs:
            r.update(race_key=race.race_key, race_date=race.race_date, track_type=race.track_type)
        rows.extend(recs)
        by = {r["method"]: r for r in recs}
        models = "; ".join(
            f"{m} ll {by[m]['order_loglik']:.1f} crps {by[m]['crps_dk']:.2f} rmse "
            f"{by[m]['rmse_dk']:.1f} rhat {diags[m]['rhat_max']:.3f} ess "
            f"{diags[m]['ess_bulk_min']:.0f}"
            for m in configs
        )
        log(
            f"[{i + 1}/{len(races)}] {race.race_key}: {models} (start "
            f"{by['start_position']['order_loglik']:.1f}, feature PL "
            f"{by['feature_pl']['order_loglik']:.1f}, trailing "
            f"{by['trailing_avg_finish']['order_loglik']:.1f}, uniform "
            f"{by['uniform']['order_loglik']:.1f}) {time.perf_counter() - t0:.0f}s"
        )
        if on_race is not None:
            partial = pd.DataFrame(rows)
            on_race(partial, summarize(partial))
    per_race = pd.DataFrame(rows)
    return per_race, summarize(per_race)


# An earlier race at the track is of the race's length class when its laps run are within
# this share of the race's own (Darlington's Southern 500, 367 laps, and its 293-lap spring race;
# overtime adds a few laps, a rain-shortened race loses many).
LAPS_CLASS = 0.10


def forecast_laps(race, before: pd.DataFrame) -> int:
    """The laps a forecast made before `race` may use (the model's scenarios, the baselines'
    dominator term): its scheduled laps where the history has them (races.csv's optional
    scheduled_laps), else the median laps run of the earlier races at its track of its length
    class, else track_median_laps. The race's own laps run only choose the class (within
    LAPS_CLASS: which of the track's race lengths it was, what its scheduled distance says
    before the race); the count comes from earlier races, so overtime does not reach the
    forecast, and a rain-shortened race is forecast at the track's usual length. Its own laps
    are used only where no earlier race of its track type exists."""
    sched = _positive(getattr(race, "scheduled_laps", None))
    if sched is not None:
        return int(sched)
    own = _positive(getattr(race, "laps", None))
    if own is not None:
        earlier = before.drop_duplicates("race_key")
        at_track = earlier.loc[earlier["track_name"] == race.track_name, "laps"]
        at_track = pd.to_numeric(at_track, errors="coerce").astype(float)
        same_class = at_track[(at_track - own).abs() <= LAPS_CLASS * own]
        if len(same_class):
            return int(round(float(same_class.median())))
    laps = track_median_laps(before, race.track_name, race.track_type)
    if laps is None and own is None:
        raise ValueError(
            f"race {getattr(race, 'race_key', '?')}: no laps to forecast it over (no scheduled "
            "laps, no laps recorded, no earlier race of its track type)"
        )
    return int(round(own if laps is None else laps))


def track_median_laps(history: pd.DataFrame, track_name, track_type) -> float | None:
    """Median laps run of the races of `history` at the track, else at its track type
    (model.data.median_laps, the simulator's fallback); None without either."""
    from nascar_pipeline.core.model.data import median_laps

    by_track, by_type = median_laps(history)
    return by_track.get(str(track_name), by_type.get(str(track_type)))


def _positive(value) -> float | None:
    """A positive number from a cell (None, NA, text, 0 -> None)."""
    v = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    return float(v) if pd.notna(v) and v > 0 else None


def forecast_starts(g: pd.DataFrame, before: pd.DataFrame) -> np.ndarray:
    """Start positions of the field `g` (sorted by driver_id) for a forecast where some are not
    recorded: the simulator's fallback (resolve_start_positions: the missing ones ranked by
    each driver's recent mean start in `before`, the model's window), never the race's own
    result."""
    from nascar_pipeline.core.model.data import recent_starts
    from nascar_pipeline.core.simulate import resolve_start_positions

    return resolve_start_positions(g, {"recent_start": recent_starts(before)})[0].astype(int)


def _unsharpened(sc) -> np.ndarray:
    """The scenarios' utility with the incident layer's sharpening taken out: perf +
    penalty * P(dnf) of the fitted model."""
    a = sc.incidents.sharpen
    if a == 1.0:
        return sc.utility
    pen_p = np.asarray(sc.dnf_penalty, np.float64)[:, None] * sc.dnf_prob
    return (np.asarray(sc.utility, np.float64) - pen_p) / a + pen_p


def _model_scenarios(
    before, race, g, laps, mcfg, fit_config, loop, warm, method, n_scenarios, seed, incidents
):
    """(scenarios, diagnostics) of the model (config `mcfg`) fitted on `before` and simulated
    for the race's field `g` over `laps` (forecast_laps); `warm[method]` carries the warm start
    from race to race."""
    from nascar_pipeline.core.model import fit_model, prepare_history
    from nascar_pipeline.core.model.fit import remap_init
    from nascar_pipeline.core.simulate import simulate_race

    data = prepare_history(before, mcfg, target_date=race.race_date, loop=loop)
    init = remap_init(*warm[method], data) if method in warm else None
    fit = fit_model(data, fit_config, init=init)
    warm[method] = (fit.init_state, data)
    sc = simulate_race(
        fit.flat(),
        data,
        g,
        race.track_type,
        laps=laps,
        n_scenarios=n_scenarios,
        seed=seed,
        track_name=race.track_name,
        incidents=incidents,
    )
    return sc, fit.diagnostics


def track_type_table(per_race: pd.DataFrame, baseline: str = "start_position") -> pd.DataFrame:
    """Per track type (and "all"), one row per method: races, order log-likelihood per race and
    its gain over `baseline` (nats per race), DK-points CRPS and its change against the
    baseline (%), pooled 50 % / 90 % coverage (%) beside the randomized-PIT coverage and the
    intervals' own mass (pit_coverage, interval_mass), the projections' mean absolute error and
    rank correlation against the actual DK points (means over races)."""
    rows = []
    groups = [("all", per_race)] + list(per_race.groupby("track_type", sort=True))
    for tt, g in groups:
        base = g[g["method"] == baseline].set_index("race_key")
        for m, gm in g.groupby("method", sort=False):
            gm = gm.set_index("race_key")
            b = base.reindex(gm.index)
            w = gm["drivers"]
            rows.append(
                {
                    "track_type": tt,
                    "method": m,
                    "races": len(gm),
                    "order_ll": gm["order_loglik"].mean(),
                    f"ll_vs_{baseline}": (gm["order_loglik"] - b["order_loglik"]).mean(),
                    "crps_dk": gm["crps_dk"].mean(),
                    f"crps_vs_{baseline}_pct": 100
                    * (gm["crps_dk"].mean() / b["crps_dk"].mean() - 1),
                    "cover50_pct": 100 * float((gm["cover50"] * w).sum() / w.sum()),
                    "cover90_pct": 100 * float((gm["cover90"] * w).sum() / w.sum()),
                    **interval_masses(gm),
                    **{c: gm[c].mean() if c in gm else np.nan for c in PROJECTION_ACCURACY},
                }
            )
    out = pd.DataFrame(rows)
    rank = {m: i for i, m in enumerate(METHODS)}
    out["_m"] = out["method"].map(rank).fillna(len(METHODS))
    out["_t"] = out["track_type"] != "all"  # the season first, then each track type
    out = out.sort_values(["_t", "track_type", "_m"], kind="stable")
    return out.drop(columns=["_m", "_t"]).reset_index(drop=True)
