"""One run race of the demo world, by the model's generative story (core/race_story.py)
with the world's own parameters, tuned so its statistics match the real 2019-2025 history."""

from __future__ import annotations

import numpy as np

from nascar_pipeline.core.race_story import (
    dnf_logit,
    draw_dnf,
    finish_positions,
    order_utility,
    performance,
)

# Per track type, in TRACK_TYPES order (superspeedway, intermediate, short, road). Tuned so the
# world's statistics match the real 2019-2025 history (see tests/sources/test_demo_world.py).
DNF_RATE = np.array([0.26, 0.135, 0.10, 0.09])
PACE_SCALE = np.array([0.50, 1.20, 1.20, 1.10])  # weight of strength vs Gumbel noise
START_EFFECT = np.array([0.30, 0.45, 0.45, 0.50])  # pace bonus of starting up front
QUALI_NOISE = np.array([1.20, 1.00, 1.00, 1.00])  # qualifying noise (sd, strength units)
LEAD_SHAPE = np.array([2.20, 1.10, 1.00, 0.90])  # Gamma shape of the top runner's lead weight
LEAD_SLOPE = np.array([0.65, 0.74, 0.76, 0.76])  # how fast lead weight falls with pace
FAST_SHAPE = np.array([2.0, 2.0, 2.0, 2.0])
FAST_SLOPE = np.array([0.35, 0.60, 0.60, 0.65])
LAPS_DOWN_SCALE = np.array([10.0, 7.0, 8.0, 1.5])  # laps down of the last running car
LAPS_DOWN_POWER = np.array([12.0, 9.0, 5.5, 14.0])  # how fast laps down rise to the back
DNF_STATUSES = (
    "accident",
    "engine",
    "dvp",
    "suspension",
    "electrical",
    "brakes",
    "steering",
    "transmission",
)
DNF_STATUS_P = np.array([0.72, 0.09, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02])
FAST_LAP_SHARE_MEAN, FAST_LAP_SHARE_CONC = 0.79, 40.0
# A DNF car's utility penalty: far below any pace, plus a step per lap completed, so DNF cars
# finish behind every running car and among themselves by laps completed (|pace| << 100).
DNF_BEHIND, LAPS_COMPLETED_ORDER = -1e6, 100.0
# Caps on one car's share of a race's laps led / fastest laps (real maxima 2019-2025: 0.93, 0.45).
MAX_LEAD_SHARE, MAX_FAST_SHARE = 0.92, 0.42


def _alloc(total: int, weights: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split `total` laps in proportion to `weights` (largest remainder), each at most `cap`;
    laps over a cap go to the uncapped cars in proportion to their weights."""
    n = len(weights)
    out = np.zeros(n, dtype=np.int64)
    w = weights.astype(float).copy()
    remaining = int(min(total, cap.sum()))
    for _ in range(n + 1):
        if remaining <= 0 or w.sum() <= 0:
            break
        share = remaining * w / w.sum()
        share = np.minimum(share, cap - out)
        base = np.floor(share).astype(np.int64)
        left = remaining - int(base.sum())
        frac = np.where(cap - out - base > 0, share - base, -1.0)
        if left > 0:
            top = np.argsort(-frac, kind="stable")[:left]
            top = top[frac[top] >= 0]
            base[top] += 1
        out += base
        remaining -= int(base.sum())
        w = np.where(out >= cap, 0.0, w)
        if int(base.sum()) == 0:
            break
    if remaining > 0:  # leftovers from float edge cases: hand them to whoever has room
        for i in np.argsort(-weights, kind="stable"):
            room = int(cap[i] - out[i])
            take = min(room, remaining)
            out[i] += take
            remaining -= take
            if remaining == 0:
                break
    return out


def _lap_weights(rng, shape, slope, rel_pace, running_frac, floor=0.0):
    """Gamma weights of each car's share of laps led (or fastest laps): concentration
    shape * exp(slope * relative pace) (the story's `lap_share_log_concentration` at a full race),
    scaled by the share of the race the car ran. `floor` keeps every running car a chance."""
    return rng.gamma(shape * np.exp(slope * rel_pace) + floor) * running_frac


def qualify(rng: np.random.Generator, strength: np.ndarray, tt: int) -> np.ndarray:
    """Start positions (1 = pole) from strength plus qualifying noise."""
    n = len(strength)
    q = strength + rng.normal(0.0, QUALI_NOISE[tt], n)
    start = np.empty(n, dtype=np.int64)
    start[np.argsort(-q, kind="stable")] = np.arange(1, n + 1)
    return start


def simulate_race(
    rng: np.random.Generator, strength: np.ndarray, tt: int, laps: int
) -> dict[str, np.ndarray]:
    """Simulate one run race for cars with latent `strength` (one per car), by the model's
    generative story (core/race_story.py) with the world's own parameters."""
    n = len(strength)
    z = (strength - strength.mean()) / (strength.std() + 1e-9)
    start = qualify(rng, strength, tt)
    # Race performance: strength and track position (start covariate: 1 at pole, 0 at the back).
    front = 1.0 - (start - 1) / max(n - 1, 1)
    perf = performance(strength, PACE_SCALE[tt], START_EFFECT[tt], front)
    gumbel = rng.gumbel(size=n)
    pace = perf + gumbel  # realized pace: what laps led and fastest laps follow
    # DNFs: weaker cars fail a bit more often; rate by track type.
    base_logit = np.log(DNF_RATE[tt] / (1 - DNF_RATE[tt]))
    dnf = draw_dnf(dnf_logit(base_logit, 0.0, front, -0.25, z), rng.random(n))
    laps_completed = np.full(n, laps, dtype=np.int64)
    n_dnf = int(dnf.sum())
    laps_completed[dnf] = np.minimum(np.floor(laps * rng.beta(1.5, 1.0, n_dnf)), laps - 1)
    # Plackett-Luce by Gumbel-max with a DNF penalty so large that every DNF car finishes
    # behind the running cars, ordered among themselves by laps completed (then pace).
    dnf_penalty = DNF_BEHIND + LAPS_COMPLETED_ORDER * laps_completed
    finish = finish_positions(order_utility(perf, dnf, dnf_penalty), gumbel)
    order = np.argsort(finish)
    # Lapped running cars at the back: Poisson laps down, steeply rising towards the back of
    # the running order (about 1/3 of running cars lapped at intermediates, 1/2 at short
    # tracks, 1/7 on road courses, as in the real history), non-decreasing down the order.
    n_run = n - n_dnf
    rel_pos = np.minimum(finish, n_run) / max(n_run, 1)
    lam = LAPS_DOWN_SCALE[tt] * rel_pos ** LAPS_DOWN_POWER[tt] * rng.lognormal(0.0, 0.7, n)
    laps_down = np.where(finish <= 3, 0, np.minimum(rng.poisson(lam), laps // 5))
    run_laps = np.where(dnf, laps_completed, laps - laps_down)
    run_sorted = run_laps[order]
    run_sorted[:n_run] = np.minimum.accumulate(run_sorted[:n_run])
    run_laps[order] = run_sorted
    # A DNF car ranks behind every running car, so it completed fewer laps than the last one
    # (a monotone clip: the order among DNF cars stands).
    if n_run and n_dnf:
        run_laps[dnf] = np.minimum(run_laps[dnf], run_sorted[n_run - 1] - 1)
    laps_completed = np.maximum(run_laps, 0)
    running_frac = laps_completed / laps
    # Laps led: Dirichlet weights falling with pace, scaled by the share of laps a car ran.
    # The world draws each car's weight from the race-long concentration and then scales it
    # by the share it ran; the model (core/race_story.py) puts that share inside the
    # concentration. Same mean, a little more spread here: the world is data the model has to
    # fit, not its own draws, and its tuned statistics and the tests' seeds (whose fits are
    # known to converge) depend on this form.
    w_lead = _lap_weights(
        rng, LEAD_SHAPE[tt], LEAD_SLOPE[tt], pace - pace.max(), running_frac, floor=1e-3
    )
    w_lead[finish == 1] += 0.02 * w_lead.sum()  # the winner leads at least the last lap
    laps_led = _alloc(laps, w_lead, np.minimum(laps_completed, int(MAX_LEAD_SHARE * laps)))
    if laps_led[finish == 1].sum() == 0:
        donor = int(np.argmax(laps_led))
        laps_led[donor] -= 1
        laps_led[finish == 1] += 1
    # Fastest laps: about 4/5 of laps, flatter shares than laps led.
    share = rng.beta(
        FAST_LAP_SHARE_MEAN * FAST_LAP_SHARE_CONC, (1 - FAST_LAP_SHARE_MEAN) * FAST_LAP_SHARE_CONC
    )
    w_fast = _lap_weights(rng, FAST_SHAPE[tt], FAST_SLOPE[tt], pace - pace.mean(), running_frac)
    fastest = _alloc(
        int(round(share * laps)), w_fast, np.minimum(laps_completed, int(MAX_FAST_SHARE * laps))
    )
    status = np.full(n, "running", dtype=object)
    status[dnf] = rng.choice(DNF_STATUSES, size=n_dnf, p=DNF_STATUS_P / DNF_STATUS_P.sum())
    return {
        "start": start,
        "finish": finish,
        "laps_completed": laps_completed,
        "laps_led": laps_led,
        "fastest_laps": fastest,
        "status": status,
    }


def laps_run(rng: np.random.Generator, scheduled: int, tt: int) -> int:
    u = rng.random()
    if u < 0.03:  # shortened by rain
        return int(scheduled * rng.uniform(0.55, 0.9))
    if u < 0.18:  # overtime
        return scheduled + int(rng.integers(1, 4 if tt == 3 else 12))
    return scheduled
