"""Posterior predictive race scenarios: posterior draws + an entry list -> S simulated races.

Each scenario takes one posterior draw (drawn with replacement) and simulates, vectorized in JAX:
1. DNF per car: Bernoulli(sigmoid(dnf_base[t] + dnf_start * start + dnf_ability * ability)).
2. Finishing order: Gumbel-max sampling of Plackett-Luce over the field with utility
   perf + dnf_penalty * dnf (the model's likelihood), so every scenario is a permutation 1..D;
   with `incidents` (core/incidents.py) sharpen * perf + dnf_penalty * dnf - cost * incident,
   incident ~ Bernoulli(rate) for each car that runs to the end.
3. Laps completed: a running car finishing P-th completes laps - round(laps * down[P]) (down: the
   median fraction of laps down at that position in history); a DNF car completes
   floor(laps * Beta(a, b)) < laps (a, b: moments of history's DNF fractions).
4. Laps led: shares ~ Dirichlet(exp(led_base[t] + led_perf * perf) * fraction completed), counts
   ~ Multinomial(laps, shares); a car never leads more laps than it completed (any excess goes to
   the winner), so laps led sum to the laps run.
5. Fastest laps: total F = round(laps * phi), phi ~ Normal(mean, sd) of history's fastest laps
   per lap at the track type (about 0.77; clipped to [0.2, 0.95]); shares ~ Dirichlet(exp(fast_base
   + fast_perf * perf + fast_led * log1p(20 * share led)) * fraction completed); counts ~
   Multinomial(F, shares), capped at laps completed likewise.
   With a fit conditioned on the realised order (sites led_finish, led_start, fast_finish,
   fast_start: ModelConfig.lap_position) both concentrations add finish_slope * f(finish) +
   start_slope * g(start) (race_story.lap_position_term), the scenario's own finish from step 2:
   the car that wins a scenario leads its laps.
6. DraftKings and FanDuel points from nascar_pipeline.core.rules (the one scoring definition).

Drivers without history (partial pooling, never an error): skill ~ Normal(mean skill of the
drivers with few starts in the window (< 10), sigma_skill), track offset ~ Normal(0, sigma_track);
an unknown car (season and car number, e.g. the first race of a season) gets car effect
~ Normal(0, sigma_car). With organisation effects (sites sigma_org, org_effect:
ModelConfig.team_effect) each entry adds its organisation's effect: its team's, else its car
number's latest in the history; an organisation the fit has not seen ~ Normal(0, sigma_org).
A fit with trailing form (site form_beta; core/model/form.py) adds to each entry's ability
form . form_beta, his form after the last history race (HistoryData.stats["form_now"]; a driver
never seen: the rookie row).

Start positions: the entry list's start_position where every entry has one (qualifying known).
Fallback when some or all are missing: the missing ones are ordered by the driver's mean start
over his last 10 history starts (drivers with none last, then by driver_id) and given the start
positions not taken, in that order. `ScenarioSet.start_imputed` says whether the fallback was used.

race_scenarios Parquet layout (contract): a long table sorted by (scenario, driver_id), one row
per driver per scenario, columns
    scenario int32, driver_id int64, start_position int16, finish_position int16, dnf bool,
    laps_completed int16, laps_led int16, fastest_laps int16, dk_points float32, fd_points float32.
`scenario_points_matrix(df, site)` turns it back into (driver_ids, S x D float32 matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from nascar_pipeline.core import rules
from nascar_pipeline.core.incidents import OFF, Incidents
from nascar_pipeline.core.model.data import (
    DEFAULT_FAST_FRAC,
    FIELD_SIZE,
    UNKNOWN_ORG,
    HistoryData,
    car_key,
    org_name,
    scale_start,
)
from nascar_pipeline.core.model.form import entry_form
from nascar_pipeline.core.model.model import INTERMEDIATE
from nascar_pipeline.core.race_story import (
    concentration,
    dnf_logit,
    draw_dnf,
    finish_positions,
    lap_position_term,
    lap_share_log_concentration,
    led_feature,
    order_utility,
    performance,
)
from nascar_pipeline.core.tables import TRACK_TYPES, track_type_index

SCENARIO_COLUMNS = {
    "scenario": "int32",
    "driver_id": "int64",
    "start_position": "int16",
    "finish_position": "int16",
    "dnf": "bool",
    "laps_completed": "int16",
    "laps_led": "int16",
    "fastest_laps": "int16",
    "dk_points": "float32",
    "fd_points": "float32",
}
LOW_HISTORY_STARTS = 10
_NEG = -1e9


@dataclass
class ScenarioSet:
    """S x D arrays (columns in driver_id order) for one race."""

    driver_ids: np.ndarray  # (D,) int64, ascending
    start_position: np.ndarray  # (D,) int16
    finish_position: np.ndarray  # (S, D) int16, each row a permutation of 1..D
    dnf: np.ndarray  # (S, D) bool
    laps_completed: np.ndarray  # (S, D) int16
    laps_led: np.ndarray  # (S, D) int16
    fastest_laps: np.ndarray  # (S, D) int16
    dk_points: np.ndarray  # (S, D) float32
    fd_points: np.ndarray  # (S, D) float32
    utility: np.ndarray  # (S, D) float32: sharpen * perf + dnf_penalty * P(dnf) of the draw
    laps: int
    track_type: str
    start_imputed: bool
    # The DNF part of `utility`, for scoring an observed order by the model's own mixture
    # over DNFs (core/backtest.py order_loglik_dnf_mixture); None when read back from storage.
    dnf_prob: np.ndarray | None = None  # (S, D) float32: P(dnf) of each car in the draw
    dnf_penalty: np.ndarray | None = None  # (S,) float32: the draw's DNF utility penalty
    incidents: Incidents = OFF  # the order's calibration the scenarios were drawn with

    @property
    def n_scenarios(self) -> int:
        return int(self.finish_position.shape[0])

    def to_frame(self) -> pd.DataFrame:
        S, D = self.finish_position.shape
        df = pd.DataFrame(
            {
                "scenario": np.repeat(np.arange(S, dtype=np.int32), D),
                "driver_id": np.tile(self.driver_ids.astype(np.int64), S),
                "start_position": np.tile(self.start_position.astype(np.int16), S),
                "finish_position": self.finish_position.reshape(-1).astype(np.int16),
                "dnf": self.dnf.reshape(-1).astype(bool),
                "laps_completed": self.laps_completed.reshape(-1).astype(np.int16),
                "laps_led": self.laps_led.reshape(-1).astype(np.int16),
                "fastest_laps": self.fastest_laps.reshape(-1).astype(np.int16),
                "dk_points": self.dk_points.reshape(-1).astype(np.float32),
                "fd_points": self.fd_points.reshape(-1).astype(np.float32),
            }
        )
        return df.astype(SCENARIO_COLUMNS)


def scenario_points_matrix(
    df: pd.DataFrame, site: str = "draftkings"
) -> tuple[np.ndarray, np.ndarray]:
    """race_scenarios long table -> (driver_ids ascending, float32 matrix S x D of the site's
    points)."""
    col = "dk_points" if rules.get_site(site).name == "draftkings" else "fd_points"
    wide = df.pivot(index="scenario", columns="driver_id", values=col).sort_index(axis=1)
    return wide.columns.to_numpy(dtype=np.int64), wide.to_numpy(dtype=np.float32)


def scenarios_from_frame(df: pd.DataFrame) -> ScenarioSet:
    """race_scenarios long table -> ScenarioSet (utility is not stored: NaN)."""
    df = df.sort_values(["scenario", "driver_id"])
    ids = np.sort(df["driver_id"].unique()).astype(np.int64)
    D = len(ids)
    S = int(df["scenario"].nunique())

    def m(col, dtype):
        return df[col].to_numpy().reshape(S, D).astype(dtype)

    lc = m("laps_completed", np.int16)
    return ScenarioSet(
        driver_ids=ids,
        start_position=m("start_position", np.int16)[0],
        finish_position=m("finish_position", np.int16),
        dnf=m("dnf", bool),
        laps_completed=lc,
        laps_led=m("laps_led", np.int16),
        fastest_laps=m("fastest_laps", np.int16),
        dk_points=m("dk_points", np.float32),
        fd_points=m("fd_points", np.float32),
        utility=np.full((S, D), np.nan, np.float32),
        laps=int(lc.max()),
        track_type="",
        start_imputed=False,
    )


def resolve_start_positions(entries: pd.DataFrame, history_stats: dict) -> tuple[np.ndarray, bool]:
    """Start positions for entries (sorted by driver_id); the documented fallback fills gaps."""
    sp = (
        pd.to_numeric(entries["start_position"], errors="coerce")
        if "start_position" in entries.columns
        else pd.Series([np.nan] * len(entries))
    )
    sp = sp.to_numpy(dtype=float)
    D = len(entries)
    known = ~np.isnan(sp)
    valid = known.all() and len(set(sp.astype(int))) == D and sp.min() >= 1 and sp.max() <= D
    if valid:
        return sp.astype(np.int16), False
    recent = history_stats.get("recent_start", {})
    ids = entries["driver_id"].to_numpy(dtype=np.int64)
    taken = set(int(x) for x in sp[known] if 1 <= x <= D)
    keep = known & np.isin(sp, list(taken))
    _, first = np.unique(sp[keep], return_index=True)  # duplicates in known: keep the first
    keep_idx = np.flatnonzero(keep)[first]
    out = np.zeros(D, dtype=np.int16)
    out[keep_idx] = sp[keep_idx].astype(np.int16)
    free = [p for p in range(1, D + 1) if p not in set(out[keep_idx].tolist())]
    missing = [i for i in range(D) if out[i] == 0]
    missing.sort(key=lambda i: (recent.get(int(ids[i]), 1e9), int(ids[i])))
    for i, p in zip(missing, free):
        out[i] = p
    return out, True


def _race_laps(laps, track_name, track_type, stats) -> int:
    if laps is not None and not pd.isna(laps) and int(laps) > 0:
        return int(laps)
    by_track = stats.get("laps_by_track", {})
    if track_name is not None and str(track_name) in by_track:
        return int(round(by_track[str(track_name)]))
    return int(round(stats.get("laps_by_type", {}).get(track_type, 267)))


@partial(jax.jit, static_argnames=("n_scenarios",))
def _simulate_kernel(
    key,
    post,
    d_idx,
    d_known,
    c_idx,
    c_known,
    low_mask,
    start_s,
    mask,
    tt,
    laps,
    down,
    dnf_beta,
    fast_frac,
    form_x,
    incident,
    n_scenarios,
    o_idx=None,
    o_known=None,
):
    S = n_scenarios
    N = start_s.shape[0]
    k = jax.random.split(key, 12)
    n_draws = post["skill"].shape[0]
    draw = jax.random.randint(k[0], (S,), 0, n_draws)
    p = jax.tree.map(lambda x: x[draw], post)

    low_w = low_mask / jnp.maximum(jnp.sum(low_mask), 1.0)
    mu_new = jnp.where(jnp.sum(low_mask) > 0, p["skill"] @ low_w, 0.0)  # (S,)
    z = jax.random.normal(k[1], (3, S, N))
    skill = jnp.where(
        d_known,
        jnp.take_along_axis(p["skill"], d_idx[None].repeat(S, 0), 1),
        mu_new[:, None] + p["sigma_skill"][:, None] * z[0],
    )
    st = p["skill_track"][:, :, tt]  # (S, Dp)
    skill_track = jnp.where(
        d_known,
        jnp.take_along_axis(st, d_idx[None].repeat(S, 0), 1),
        p["sigma_track"][:, None] * z[1],
    )
    car = jnp.where(
        c_known,
        jnp.take_along_axis(p["car_effect"], c_idx[None].repeat(S, 0), 1),
        p["sigma_car"][:, None] * z[2],
    )
    ability = skill + skill_track + car
    if "org_effect" in p:  # organisation effects (ModelConfig.team_effect): static keys
        ability = ability + jnp.where(
            o_known,
            jnp.take_along_axis(p["org_effect"], o_idx[None].repeat(S, 0), 1),
            p["sigma_org"][:, None] * jax.random.normal(k[10], (S, N)),
        )
    if "form_beta" in p:  # trailing form (core/model/form.py): static keys, one program each
        ability = ability + p["form_beta"] @ form_x.T
    log_scale = jnp.insert(p["log_scale_other"], INTERMEDIATE, 0.0, axis=1)[:, tt]
    perf = performance(
        ability, jnp.exp(log_scale)[:, None], p["start_effect"][:, tt][:, None], start_s
    )

    logit = dnf_logit(
        p["dnf_base"][:, tt][:, None],
        p["dnf_start"][:, None],
        start_s,
        p["dnf_ability"][:, None],
        ability,
    )
    dnf = draw_dnf(logit, jax.random.uniform(k[2], (S, N)), jnp) & mask
    penalty = p["dnf_penalty"][:, None]
    # Incidents (core/incidents.py): the order's performance sharpened, a running car's
    # incident costs utility. Off: None, the program as without the layer (a multiply by 1
    # would still change XLA's fused multiply-adds in the last bit).
    order_perf = perf
    util = order_utility(perf, dnf, penalty)
    if incident is not None:
        order_perf = incident[0] * perf
        hit = (jax.random.uniform(k[11], (S, N)) < incident[1]) & mask & ~dnf
        util = order_utility(order_perf, dnf, penalty) - incident[2] * hit
    util = jnp.where(mask, util, _NEG)
    finish = finish_positions(util, jax.random.gumbel(k[3], (S, N)), jnp)
    # For scoring an observed order: DNF risk folded into the utility (a proper PL per draw).
    util_expected = order_utility(order_perf, jax.nn.sigmoid(logit), penalty)

    lapsf = laps.astype(jnp.float32)
    run_lc = lapsf - jnp.round(down[jnp.clip(finish - 1, 0, down.shape[0] - 1)] * lapsf)
    frac = jax.random.beta(k[4], dnf_beta[0], dnf_beta[1], (S, N))
    dnf_lc = jnp.clip(jnp.floor(frac * lapsf), 0.0, lapsf - 1.0)
    lc = jnp.where(dnf, dnf_lc, run_lc) * mask
    # Excess laps (a car cannot lead more laps than it completed) go to the best-placed car that
    # ran to the end (it completed every lap).
    fin_running = jnp.where(dnf | ~mask, 10_000, finish)
    winner = fin_running == jnp.min(fin_running, axis=1, keepdims=True)
    share_done = lc / lapsf

    def allocate(key_g, key_m, log_alpha, total):
        g = jnp.where(mask, jax.random.loggamma(key_g, concentration(log_alpha, jnp)), _NEG)
        shares = jax.nn.softmax(g, axis=1)
        counts = jax.random.multinomial(key_m, total, shares)
        counts = jnp.where(mask, counts, 0.0)
        capped = jnp.minimum(counts, lc)
        excess = jnp.sum(counts - capped, axis=1, keepdims=True)
        return capped + winner * excess

    led_extra, fast_extra = 0.0, 0.0
    if "led_finish" in p:  # lap shares given this scenario's finish (ModelConfig.lap_position)
        led_extra, fast_extra = (
            lap_position_term(
                p[f"{n}_finish"][:, tt][:, None],
                p[f"{n}_start"][:, tt][:, None],
                finish,
                start_s,
                jnp,
            )
            for n in ("led", "fast")
        )
    led = allocate(
        k[5],
        k[6],
        lap_share_log_concentration(
            p["led_base"][:, tt][:, None],
            p["led_perf"][:, None],
            perf,
            share_done,
            extra=led_extra,
            xp=jnp,
        ),
        lapsf,
    )
    phi = jnp.clip(fast_frac[0] + fast_frac[1] * jax.random.normal(k[7], (S,)), 0.2, 0.95)
    n_fast = jnp.round(phi * lapsf)
    fast = allocate(
        k[8],
        k[9],
        lap_share_log_concentration(
            p["fast_base"][:, tt][:, None],
            p["fast_perf"][:, None],
            perf,
            share_done,
            extra=p["fast_led"][:, None] * led_feature(led / lapsf, jnp) + fast_extra,
            xp=jnp,
        ),
        n_fast,
    )
    return finish, dnf, lc, led, fast, util_expected, jax.nn.sigmoid(logit), penalty[:, 0]


def entry_orgs(e: pd.DataFrame, data: HistoryData, n: int):
    """(o_idx, o_known) (n,) of the entries' organisations in the fit (data.org_names): the
    entry's team (org_name), else its car number's latest organisation in the history
    (stats["car_org"]) if that was in the entry's season or the one before, the fit's own rule
    for a start without a team (data.start_orgs: a number unused for a while has often changed
    hands); not in the fit, or still UNKNOWN_ORG -> unknown (drawn from sigma_org: the fit's
    UNKNOWN_ORG level pools unrelated starts, not a team)."""
    if not data.org_names:
        raise ValueError(
            "the posterior has organisation effects but the history data has none (prepare "
            "the history with ModelConfig(team_effect=True))"
        )
    team = e["team"] if "team" in e.columns else pd.Series(pd.NA, index=e.index)
    org = org_name(team.reset_index(drop=True)).to_numpy(dtype=object)
    car_org = (data.stats or {}).get("car_org", {})
    car_season = (data.stats or {}).get("car_org_season", {})
    season = _entry_season(e)
    if season is not None:  # the car number's organisation of an older season is not used
        car_org = {c: o for c, o in car_org.items() if car_season.get(c, season) >= season - 1}
    cars = e["car_number"].astype(str).to_numpy() if "car_number" in e.columns else None
    oi = data.org_index()
    o_idx = np.zeros(n, np.int32)
    o_known = np.zeros(n, bool)
    for j, o in enumerate(org):
        if o == UNKNOWN_ORG and cars is not None:
            o = car_org.get(cars[j], UNKNOWN_ORG)
        if o in oi and o != UNKNOWN_ORG:
            o_idx[j], o_known[j] = oi[o], True
    return o_idx, o_known


def _entry_season(e: pd.DataFrame) -> int | None:
    """The entries' season (their `season`, else the year of their race_date); None unknown."""
    for col in ("season", "race_date"):
        if col in e.columns:
            v = pd.to_numeric(e[col].astype("string").str[:4], errors="coerce").dropna()
            if len(v):
                return int(v.max())
    return None


def simulate_race(
    posterior: dict,
    data: HistoryData,
    entries: pd.DataFrame,
    track_type: str,
    laps: int | None = None,
    n_scenarios: int = 10_000,
    seed: int = 0,
    track_name: str | None = None,
    incidents: Incidents = OFF,
) -> ScenarioSet:
    """Simulate `n_scenarios` races for `entries` (driver_id, car_number, start_position, ...).

    posterior: site -> (draws, ...) arrays (FitResult.flat()); data: the HistoryData of the fit
    (index maps, empirical stats). laps: the race's scheduled laps (fallback: median laps at the
    track in history, else at the track type). incidents: the finishing order's calibration
    (core/incidents.py; OFF: the model's Plackett-Luce as fitted; resolved for the track type,
    the ScenarioSet keeps the setting its race was drawn with)."""
    e = entries.drop_duplicates("driver_id").sort_values("driver_id").reset_index(drop=True)
    D = len(e)
    if D == 0:
        raise ValueError("the entry list is empty: nothing to simulate")
    if D > FIELD_SIZE:
        raise ValueError(f"{D} entries exceed the field size {FIELD_SIZE}")
    t = TRACK_TYPES[track_type_index(track_type)]
    incidents = incidents.for_track_type(t)  # TUNED leaves some track types off
    tt = TRACK_TYPES.index(t)
    laps_i = _race_laps(laps, track_name, t, data.stats)
    start, imputed = resolve_start_positions(e, data.stats)

    N = FIELD_SIZE
    di, ci = data.driver_index(), data.car_index()
    ids = e["driver_id"].to_numpy(dtype=np.int64)
    if "car_number" in e.columns:
        season = (
            e["season"]
            if "season" in e.columns
            else e["race_date"].astype("string").str[:4]
            if "race_date" in e.columns
            else pd.Series(["?"] * D)
        )
        cars = car_key(season.reset_index(drop=True), e["car_number"]).to_numpy()
    else:
        cars = np.array(["?"] * D)
    d_idx = np.zeros(N, np.int32)
    d_known = np.zeros(N, bool)
    c_idx = np.zeros(N, np.int32)
    c_known = np.zeros(N, bool)
    for j in range(D):
        if int(ids[j]) in di:
            d_idx[j], d_known[j] = di[int(ids[j])], True
        if cars[j] in ci:
            c_idx[j], c_known[j] = ci[cars[j]], True
    low = np.zeros(data.n_drivers_padded, np.float32)
    low[: data.n_drivers] = (data.starts < LOW_HISTORY_STARTS) & (data.starts > 0)
    mask = np.zeros(N, bool)
    mask[:D] = True
    start_s = np.zeros(N, np.float32)
    start_s[:D] = scale_start(start)
    stats = data.stats or {}
    down = np.asarray(stats.get("laps_down", [0.0] * N), np.float32)
    beta = np.asarray(stats.get("dnf_frac_beta", (1.2, 0.8)), np.float32)
    ff = np.asarray(stats.get("fast_frac", {}).get(t, DEFAULT_FAST_FRAC), np.float32)
    # float32 on the host: a device-side cast would be one more small program per site to load.
    post = {k: np.asarray(v, np.float32) for k, v in posterior.items()}
    form_x = np.zeros((N, 0), np.float32)
    if "form_beta" in post:
        if "form_now" not in stats:
            raise ValueError(
                "the posterior has trailing-form coefficients but the history data has no "
                "form (prepare the history with ModelConfig(form=True))"
            )
        form_x = entry_form(stats["form_now"], ids, t, N)
    org_args = {}
    if "org_effect" in post:
        org_args = dict(zip(("o_idx", "o_known"), entry_orgs(e, data, N)))

    out = _simulate_kernel(
        jax.random.PRNGKey(seed),
        post,
        d_idx,
        d_known,
        c_idx,
        c_known,
        low,
        start_s,
        mask,
        np.int32(tt),
        np.int32(laps_i),
        down,
        beta,
        ff,
        form_x,
        None if incidents.off else np.asarray(incidents.as_tuple(), np.float32),
        n_scenarios=int(n_scenarios),
        **org_args,
    )
    finish, dnf, lc, led, fast, util, p_dnf = (np.asarray(x)[:, :D] for x in out[:7])
    finish = finish.astype(np.int16)
    st = np.broadcast_to(start[None, :], finish.shape)
    dk = rules.draftkings_points(st, finish, led, fast).astype(np.float32)
    fd = rules.fanduel_points(st, finish, led, lc).astype(np.float32)
    return ScenarioSet(
        driver_ids=ids,
        start_position=start.astype(np.int16),
        finish_position=finish,
        dnf=dnf.astype(bool),
        laps_completed=lc.astype(np.int16),
        laps_led=led.astype(np.int16),
        fastest_laps=fast.astype(np.int16),
        dk_points=dk,
        fd_points=fd,
        utility=util.astype(np.float32),
        laps=laps_i,
        track_type=t,
        start_imputed=imputed,
        dnf_prob=p_dnf.astype(np.float32),
        dnf_penalty=np.asarray(out[7], np.float32),
        incidents=incidents,
    )


def scenario_sanity(sc: ScenarioSet) -> tuple[bool, dict]:
    """Every row a permutation of 1..D; laps led sum to laps; fastest laps within [0.15, 0.96] of
    laps and never above laps completed; points within the rules' bounds."""
    S, D = sc.finish_position.shape
    perm_ok = bool(np.all(np.sort(sc.finish_position, axis=1) == np.arange(1, D + 1)[None]))
    led_tot = sc.laps_led.astype(np.int64).sum(axis=1)
    fast_tot = sc.fastest_laps.astype(np.int64).sum(axis=1)
    led_ok = bool(np.all(led_tot == sc.laps))
    fast_ok = bool(np.all((fast_tot >= 0.15 * sc.laps) & (fast_tot <= 0.96 * sc.laps)))
    cap_ok = bool(
        np.all(sc.laps_led <= sc.laps_completed)
        and np.all(sc.fastest_laps <= sc.laps_completed)
        and np.all(sc.laps_completed <= sc.laps)
        and np.all(sc.laps_completed >= 0)
    )
    dk_hi, fd_hi = (rules.max_points_bound(s, D, sc.laps) for s in rules.SITES)
    dk_lo, fd_lo = (rules.min_points_bound(s, D) for s in rules.SITES)
    pts_ok = bool(
        np.all((sc.dk_points >= dk_lo - 1e-3) & (sc.dk_points <= dk_hi + 1e-3))
        and np.all((sc.fd_points >= fd_lo - 1e-3) & (sc.fd_points <= fd_hi + 1e-3))
    )
    details = {
        "scenarios": S,
        "drivers": D,
        "permutations": perm_ok,
        "laps_led_sum": led_ok,
        "fastest_laps_total": fast_ok,
        "lap_caps": cap_ok,
        "points_in_bounds": pts_ok,
        "mean_fastest_frac": float(fast_tot.mean() / sc.laps),
    }
    return perm_ok and led_ok and fast_ok and cap_ok and pts_ok, details
