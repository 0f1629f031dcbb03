"""The race model: one NumPyro function, vectorized over padded races (no Python loops).

The generative story (performance, DNF, order, lap shares) is written once in
core/race_story.py; this module is its likelihood.

Latent ability of a driver in a race (track type t):
    ability = skill[d] + skill_track[d, t] + car_effect[car]     (car: season and car number)
    perf    = exp(log_scale[t]) * ability + start_effect[t] * start
skill, skill_track and car_effect are hierarchical and non-centred (sigma * z). `log_scale` lets a
track type be more random (superspeedways) than intermediates (fixed at 0 for intermediates).

Finishing order: exact Plackett-Luce over the whole field with utility perf + dnf_penalty * dnf.
Restricted to the cars that ran to the end this is exactly Plackett-Luce on perf (PL is closed
under marginalisation); the penalty places cars that dropped out behind, mostly. The likelihood is
a reverse cumulative logsumexp over slots in finishing order.

DNF: Bernoulli, logit = dnf_base[t] + dnf_start * start + dnf_ability * ability.

Laps led and fastest laps: Dirichlet-multinomial over the field (shares of the race's total),
concentration exp(base[t] + slope * perf) scaled by the fraction of the race the car completed;
fastest laps also follow laps led (log1p(20 * share led)). Totals always add up.

Loop data (only when the data carries its arrays: ModelConfig.loop_data; core/model/loop_data.py):
the normal score of each start's average running position ~ Normal(loop_a + loop_b * perf
centred in its race, sigma_loop); starts outside the window's Cup races (lower series,
exhibitions) ~ Normal(ext_a[series] + loop_b * skill, sqrt(sigma_loop^2 + sigma_ext[series]^2)).
With loop data three things change for mixing (measured on 2025 windows; see the constants
below): loop_b = loop_scale / sigma_skill (the slope per skill sd is sampled), the track effects
are contrasts around each driver's start-weighted mean over track types, and sigma_track has a
boundary-avoiding Gamma(2, 20) prior. Without those arrays the model, its sites and its
programs are exactly as before.

Trailing form (only when the data carries its array: ModelConfig.form; core/model/form.py):
ability += form[r, d] . form_beta: the start's trailing finish, trailing running position
(as its difference from the finish) and rookie flag, from the starts before it.

Lap shares given the realised order (only when the data carries finish_pos:
ModelConfig.lap_position): both concentrations add led_finish[t] * f(finish) + led_start[t] *
g(start) (fast_* likewise), f = 1 / finish - 0.1, g = -log(start) centred (race_story). A valid
conditional likelihood: finish and start are observed; the simulator draws the finish first.

Car effects as contrasts (only when the data carries its arrays: ModelConfig.car_contrasts;
data.car_groups): each car effect minus (1 - WITHIN_UNIFORM) x the weighted mean of its group
of drivers and cars linked by their starts. A group's level cannot be told apart from its
drivers' skills by the results (add k to the skills, take k from the cars), so the skills hold
it; the car effects keep what the results identify (one car against another of the group).

Organisation effects (only when the data carries their arrays: ModelConfig.team_effect;
data.team_arrays): ability += org_effect[org of the start], org_effect = sigma_org * z
(non-centred) as contrasts within each group of drivers and organisations linked by their
starts (the same _within_group, on the driver-organisation graph): a group's level trades
with its drivers' skills, the difference between two organisations is identified by the
drivers who drove for both. The organisation (a normalised team name) persists across
seasons, so a new car, a driver joining the organisation and a rookie in it start from its
level. The car effects are not centred within their organisation: an organisation's effect
and its cars' mean trade, split only by the priors (the likely reason the skills mix worse
with the flag on). Starts whose organisation cannot be inferred share one UNKNOWN_ORG level,
which also links their drivers' groups (the simulator does not give it to an entry).

Every race's log-likelihood is multiplied by its weight w (time decay; 0 for padding).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import gammaln

from nascar_pipeline.core.model.loop_data import EXT_SERIES
from nascar_pipeline.core.model.special import lgamma_pos
from nascar_pipeline.core.race_story import (
    concentration,
    dnf_logit,
    lap_position_term,
    lap_share_log_concentration,
    led_feature,
    order_utility,
    performance,
)
from nascar_pipeline.core.tables import TRACK_TYPES

N_TRACK_TYPES = len(TRACK_TYPES)
# Slopes of the lap shares on f(finish) = 1 / finish - 0.1 and g(start) (race_story
# finish_feature, position_feature: g = +0.5 for 1st, -0.5 for 40th), per track type. Weakly
# informative: a finish slope of 5 makes a winner's concentration exp(5 * 0.5) = 12 times a
# 2nd place's.
LAP_POSITION_PRIOR = dist.Normal(0.0, 5.0).expand([N_TRACK_TYPES]).to_event(1)
INTERMEDIATE = TRACK_TYPES.index("intermediate")  # the track type whose log_scale is fixed at 0
_NEG = -1e4


def dirichlet_multinomial_ll(counts, alpha, mask):
    """log P(counts | total, alpha) without the multinomial coefficient (constant in alpha),
    summed over each row's masked slots. counts, alpha, mask: (R, N). Returns (R,).
    The dense reference form; the model uses `dirichlet_multinomial_weighted` (same value)."""
    a = jnp.where(mask > 0, alpha, 1.0)
    total = jnp.sum(counts * mask, axis=-1)
    a_sum = jnp.maximum(jnp.sum(a * mask, axis=-1), 1e-3)  # empty (padding) races: 0 ll
    per_slot = (gammaln(counts + a) - gammaln(a)) * mask
    return gammaln(a_sum) - gammaln(total + a_sum) + jnp.sum(per_slot, axis=-1)


def dirichlet_multinomial_weighted(counts, alpha, mask, idx, cnt, on, weight):
    """sum_r weight[r] * dirichlet_multinomial_ll(counts, alpha, mask)[r], with the per-slot
    lgamma terms evaluated only at the non-zero counts (flat indices `idx`, counts `cnt`, mask
    `on`; see data.sparse_counts): a zero count adds lgamma(a) - lgamma(a) = 0. About 2.5x fewer
    lgamma/digamma evaluations, the costliest part of the gradient; those use core/model/special.py
    (every argument is positive), 3x cheaper than jax.scipy.special's."""
    a = jnp.where(mask > 0, alpha, 1.0)
    total = jnp.sum(counts * mask, axis=-1)
    a_sum = jnp.maximum(jnp.sum(a * mask, axis=-1), 1e-3)
    per_race = lgamma_pos(a_sum) - lgamma_pos(total + a_sum)
    a_k = a.reshape(-1)[idx]
    per_slot = on * (lgamma_pos(cnt + a_k) - lgamma_pos(a_k))
    race_of = idx // counts.shape[-1]
    return jnp.sum(weight * per_race) + jnp.sum(weight[race_of] * per_slot)


def plackett_luce_ll(util, mask):
    """Exact Plackett-Luce log-probability of the slot order (slot 0 first), masked. (R,)."""
    u = jnp.where(mask > 0, util, _NEG)
    m = jax.lax.stop_gradient(jnp.max(u, axis=-1, keepdims=True))
    n = u.shape[-1]
    upper = jnp.triu(jnp.ones((n, n), u.dtype))  # tail[i] = sum_{j >= i} exp(u_j - m)
    tail = jnp.log(jnp.exp(u - m) @ upper.T + 1e-30) + m
    return jnp.sum((u - tail) * mask, axis=-1)


def race_model(
    drv,
    car,
    mask,
    start,
    dnf,
    frac,
    led,
    fast,
    fast_ok,
    tt,
    w,
    drv_real,
    led_idx,
    led_cnt,
    led_on,
    fast_idx,
    fast_cnt,
    fast_on,
    n_drivers,
    n_cars,
    loop_y=None,
    loop_on=None,
    ext_drv=None,
    ext_series=None,
    ext_y=None,
    ext_w=None,
    form=None,
    finish_pos=None,
    car_group=None,
    car_weight=None,
    org=None,
    org_group=None,
    org_weight=None,
    n_orgs=0,
):
    T = N_TRACK_TYPES
    centred = set(LOOP_CENTRED) if loop_y is not None else set()
    # --- skills: hierarchical, non-centred (centred with loop data: LOOP_CENTRED) ------------
    sigma_skill = numpyro.sample("sigma_skill", dist.HalfNormal(1.0))
    raw = _effect("skill_z", sigma_skill, [n_drivers], "skill" in centred)
    # Centred over the real drivers: finishing order only sees differences in skill, so the common
    # level of all skills is a ridge shared with the DNF, laps-led and fastest-lap intercepts.
    # Left free, it mixed slowly (R-hat > 1.01 on the most-raced drivers' skills); pinned at 0,
    # a skill is relative to the average driver of the window.
    level = jnp.sum(raw * drv_real) / jnp.maximum(jnp.sum(drv_real), 1.0)
    skill = numpyro.deterministic("skill", raw - level * drv_real)
    sigma_track = numpyro.sample(
        "sigma_track",
        LOOP_SIGMA_TRACK_PRIOR
        if loop_y is not None and LOOP_SIGMA_TRACK_PRIOR
        else dist.HalfNormal(0.5),
    )
    track_raw = _effect("skill_track_z", sigma_track, [n_drivers, T], "skill_track" in centred)
    if loop_y is not None and LOOP_TRACK_WITHIN_DRIVER:
        track_raw = _within_driver(track_raw, drv, tt, mask, w)
    skill_track = numpyro.deterministic("skill_track", track_raw)
    sigma_car = numpyro.sample("sigma_car", dist.HalfNormal(0.25))
    car_raw = _effect("car_z", sigma_car, [n_cars], "car_effect" in centred)
    if car_group is not None:  # contrasts within the driver-car groups (ModelConfig.car_contrasts)
        car_raw = _within_group(car_raw, car_group, car_weight)
    car_effect = numpyro.deterministic("car_effect", car_raw)
    org_effect = None
    if org is not None:  # organisation effects (ModelConfig.team_effect; data.team_arrays)
        sigma_org = numpyro.sample("sigma_org", SIGMA_ORG_PRIOR)
        org_raw = _effect("org_z", sigma_org, [n_orgs], "org_effect" in centred)
        org_effect = numpyro.deterministic(
            "org_effect", _within_group(org_raw, org_group, org_weight)
        )
    # --- race-type effects -------------------------------------------------------------------
    log_scale_other = numpyro.sample(
        "log_scale_other", dist.Normal(0.0, 0.5).expand([T - 1]).to_event(1)
    )
    log_scale = jnp.insert(log_scale_other, INTERMEDIATE, 0.0)
    start_effect = numpyro.sample("start_effect", dist.Normal(0.0, 2.0).expand([T]).to_event(1))
    dnf_penalty = numpyro.sample("dnf_penalty", dist.Normal(-3.0, 2.0))
    dnf_base = numpyro.sample("dnf_base", dist.Normal(-2.0, 1.0).expand([T]).to_event(1))
    dnf_start = numpyro.sample("dnf_start", dist.Normal(0.0, 1.0))
    dnf_ability = numpyro.sample("dnf_ability", dist.Normal(0.0, 1.0))
    led_base = numpyro.sample("led_base", dist.Normal(-2.0, 2.0).expand([T]).to_event(1))
    led_perf = numpyro.sample("led_perf", dist.Normal(1.0, 1.0))
    fast_base = numpyro.sample("fast_base", dist.Normal(-1.0, 2.0).expand([T]).to_event(1))
    fast_perf = numpyro.sample("fast_perf", dist.Normal(1.0, 1.0))
    fast_led = numpyro.sample("fast_led", dist.Normal(0.0, 1.0))

    # --- per start -----------------------------------------------------------------------------
    ability = skill[drv] + skill_track[drv, tt[:, None]] + car_effect[car]  # (R, N)
    if org_effect is not None:
        ability = ability + org_effect[org]
    if form is not None:  # trailing form (core/model/form.py)
        form_beta = numpyro.sample(
            "form_beta", dist.Normal(0.0, 1.0).expand([form.shape[-1]]).to_event(1)
        )
        ability = ability + form @ form_beta
    perf = performance(ability, jnp.exp(log_scale[tt])[:, None], start_effect[tt][:, None], start)

    order_ll = plackett_luce_ll(order_utility(perf, dnf, dnf_penalty), mask)
    numpyro.factor("finishing_order", jnp.sum(w * order_ll))

    logit = dnf_logit(dnf_base[tt][:, None], dnf_start, start, dnf_ability, ability)
    # Bernoulli log-likelihood: dnf*log(s) + (1-dnf)*log(1-s) = dnf*logit - softplus(logit).
    dnf_ll = jnp.sum(mask * (dnf * logit - jax.nn.softplus(logit)), axis=-1)
    numpyro.factor("dnf", jnp.sum(w * dnf_ll))

    led_extra, fast_extra = 0.0, 0.0
    if finish_pos is not None:  # lap shares given the realised order (ModelConfig.lap_position)
        led_extra = _lap_position("led", finish_pos, start, tt)
        fast_extra = _lap_position("fast", finish_pos, start, tt)
    alpha_led = concentration(
        lap_share_log_concentration(
            led_base[tt][:, None], led_perf, perf, frac, extra=led_extra, xp=jnp
        ),
        jnp,
    )
    numpyro.factor(
        "laps_led",
        dirichlet_multinomial_weighted(led, alpha_led, mask, led_idx, led_cnt, led_on, w),
    )

    led_share = led / jnp.maximum(jnp.sum(led, axis=-1, keepdims=True), 1.0)
    alpha_fast = concentration(
        lap_share_log_concentration(
            fast_base[tt][:, None],
            fast_perf,
            perf,
            frac,
            extra=fast_led * led_feature(led_share, jnp) + fast_extra,
            xp=jnp,
        ),
        jnp,
    )
    numpyro.factor(
        "fastest_laps",
        dirichlet_multinomial_weighted(
            fast, alpha_fast, mask, fast_idx, fast_cnt, fast_on, w * fast_ok
        ),
    )
    if loop_y is not None:
        loop_likelihood(
            perf, skill, sigma_skill, w, loop_y, loop_on, ext_drv, ext_series, ext_y, ext_w
        )


# Mixing with loop data (2025 Sonoma window, 2 chains x (150 + 200); plain loop model: R-hat
# 1.047, sigma_skill bulk ESS 15, sigma_track 51, skill_track 99 of 400 draws). Tried: sampling
# skill centred (worse: ESS 7, loop_b 3) and skill_track centred (worse: sigma_track R-hat 1.84,
# a funnel: a driver-at-track-type cell has few starts). Kept, all three together (sigma_skill
# ESS 51, sigma_track 79, skill_track 125; at 4 x (300 + 400): R-hat 1.008 / 1.011, bulk ESS
# 567 / 468 on Sonoma / Dover):
# - LOOP_SLOPE_PER_SKILL_SD: the loop data pin loop_b * skill tightly, the finishing order the
#   split between them loosely: sample the slope per skill sd, loop_b = loop_scale / sigma_skill;
# - LOOP_TRACK_WITHIN_DRIVER: a driver's ability over his usual mix of tracks is pinned, and
#   skill and all his track effects traded along a ridge; the track effects are contrasts around
#   his start-weighted mean over track types (skill holds the level);
# - LOOP_SIGMA_TRACK_PRIOR: sigma_track's posterior sits near 0 (0.04-0.08) and a half-normal
#   let log(sigma_track) wander far down; Gamma(2, 20) (mean 0.1) vanishes at 0 like the
#   boundary-avoiding priors for hierarchical scales.
# LOOP_CENTRED names effects sampled centred (effect ~ Normal(0, sigma)) with loop data: none.
LOOP_CENTRED: tuple = ()
LOOP_SLOPE_PER_SKILL_SD = True
LOOP_TRACK_WITHIN_DRIVER = True
WITHIN_UNIFORM = 0.1  # the uniform part of the weights (a one-track driver: no exact-0 effect)
LOOP_SIGMA_TRACK_PRIOR = dist.Gamma(2.0, 20.0)
# Organisations differ by about as much as cars (sigma_car ~ HalfNormal(0.25)) or more (a
# top organisation against a one-car team): a wider half-normal.
SIGMA_ORG_PRIOR = dist.HalfNormal(0.5)


def _within_driver(track, drv, tt, mask, w):
    """track (D, T) minus each driver's mean over track types weighted by his (time-decayed)
    starts in the window; uniform weights for a driver without starts."""
    D, T = track.shape
    starts = (
        jnp.zeros((D, T)).at[drv, jnp.broadcast_to(tt[:, None], drv.shape)].add(mask * w[:, None])
    )
    total = jnp.sum(starts, axis=-1, keepdims=True)
    share = jnp.where(total > 0, starts / jnp.maximum(total, 1e-12), 1.0 / T)
    # A driver of one track type keeps a small track effect there, not an exact 0 (a constant
    # has no R-hat: the gate would read it as unconverged).
    share = (1.0 - WITHIN_UNIFORM) * share + WITHIN_UNIFORM / T
    return track - jnp.sum(share * track, axis=-1, keepdims=True)


def _lap_position(name: str, finish_pos, start, tt):
    """`name`_finish[t] * f(finish) + `name`_start[t] * g(start) (race_story.lap_position_term)."""
    finish_slope = numpyro.sample(f"{name}_finish", LAP_POSITION_PRIOR)
    start_slope = numpyro.sample(f"{name}_start", LAP_POSITION_PRIOR)
    return lap_position_term(
        finish_slope[tt][:, None], start_slope[tt][:, None], finish_pos, start, jnp
    )


def _within_group(effect, group, weight):
    """effect (C,) minus its group's weighted mean (data.car_groups): the level a group's
    results cannot tell apart from its drivers' skills goes to the skills. A car alone in its
    group (a driver who kept one car) keeps WITHIN_UNIFORM of its effect, not an exact 0,
    for the reason _within_driver gives."""
    n = effect.shape[0]
    total = jax.ops.segment_sum(weight * effect, group, num_segments=n)
    mean = total / jnp.maximum(jax.ops.segment_sum(weight, group, num_segments=n), 1e-12)
    return effect - (1.0 - WITHIN_UNIFORM) * mean[group]


def _effect(name: str, sigma, shape: list, centred: bool):
    """A hierarchical effect of scale `sigma`: sigma * z with z ~ Normal(0, 1) (non-centred),
    or the effect itself ~ Normal(0, sigma) (centred). The site keeps the name `name` either
    way, so warm starts re-index it by driver / car alike (fit.remap_init)."""
    if centred:
        return numpyro.sample(name, dist.Normal(0.0, sigma).expand(shape).to_event(len(shape)))
    z = numpyro.sample(name, dist.Normal(0.0, 1.0).expand(shape).to_event(len(shape)))
    return sigma * z


def loop_likelihood(
    perf, skill, sigma_skill, w, loop_y, loop_on, ext_drv, ext_series, ext_y, ext_w
):
    """Loop data's measurement model (see the module docstring)."""
    loop_a = numpyro.sample("loop_a", dist.Normal(0.0, 1.0))
    if LOOP_SLOPE_PER_SKILL_SD:
        # The loop data pin loop_b * skill (skill = sigma_skill * z) tightly, the finishing
        # order their split only loosely: sampling loop_b itself left a ridge along
        # loop_b * sigma_skill = const. The slope per skill sd (a driver one sd faster runs
        # loop_scale normal-score units higher) is what the data measure; loop_b follows.
        loop_scale = numpyro.sample("loop_scale", dist.Normal(0.5, 0.5))
        loop_b = numpyro.deterministic("loop_b", loop_scale / sigma_skill)
    else:
        loop_b = numpyro.sample("loop_b", dist.Normal(1.0, 1.0))
    sigma_loop = numpyro.sample("sigma_loop", dist.HalfNormal(1.0))
    n_on = jnp.maximum(jnp.sum(loop_on, axis=-1, keepdims=True), 1.0)
    centred = perf - jnp.sum(perf * loop_on, axis=-1, keepdims=True) / n_on
    ll = dist.Normal(loop_a + loop_b * centred, sigma_loop).log_prob(loop_y) * loop_on
    numpyro.factor("loop_running_position", jnp.sum(w * jnp.sum(ll, axis=-1)))
    S = len(EXT_SERIES)
    ext_a = numpyro.sample("ext_a", dist.Normal(0.0, 1.0).expand([S]).to_event(1))
    sigma_ext = numpyro.sample("sigma_ext", dist.HalfNormal(1.0).expand([S]).to_event(1))
    scale = jnp.sqrt(sigma_loop**2 + sigma_ext[ext_series] ** 2)
    ext_ll = dist.Normal(ext_a[ext_series] + loop_b * skill[ext_drv], scale).log_prob(ext_y)
    numpyro.factor("loop_other_series", jnp.sum(ext_w * ext_ll))


# Sites kept from a fit (the simulator needs these; the z's are not stored).
POSTERIOR_SITES = (
    "sigma_skill",
    "skill",
    "sigma_track",
    "skill_track",
    "sigma_car",
    "car_effect",
    # organisation effects (present only when the fit used them: ModelConfig.team_effect)
    "sigma_org",
    "org_effect",
    "log_scale_other",
    "start_effect",
    "dnf_penalty",
    "dnf_base",
    "dnf_start",
    "dnf_ability",
    "led_base",
    "led_perf",
    "fast_base",
    "fast_perf",
    "fast_led",
    # loop data (present only when the fit used it)
    "loop_a",
    "loop_b",
    "sigma_loop",
    "ext_a",
    "sigma_ext",
    # trailing form (present only when the fit used it)
    "form_beta",
    # lap shares given the realised finish and start (present only when the fit used them)
    "led_finish",
    "led_start",
    "fast_finish",
    "fast_start",
)
LAP_POSITION_SITES = ("led_finish", "led_start", "fast_finish", "fast_start")
