"""The player's projections moved into the scenarios (core/user_numbers.py): the tilt hits the
blended means, every resampled scenario is one of the simulated races (a valid race, scored
exactly), weight 0 and no numbers leave the scenarios untouched, and targets too far for the
scenarios are moved only as far as the effective sample size allows."""

from __future__ import annotations

import numpy as np
import pytest

from nascar_pipeline.core import rules
from nascar_pipeline.core.simulate import ScenarioSet, scenario_sanity
from nascar_pipeline.core.user_numbers import (
    blended_targets,
    effective_sample_size,
    move_to_targets,
    resample_scenario_set,
    tilt_weights,
)

D, LAPS = 24, 200


def cheap_races(S=4000, seed=0) -> ScenarioSet:
    """S valid races without the model: Plackett-Luce orders by a fixed skill, laps led and
    fastest laps multinomial toward the front, points by the rules."""
    rng = np.random.default_rng(seed)
    skill = np.linspace(1.5, -1.5, D)
    start = rng.permutation(D) + 1
    util = skill[None, :] + rng.gumbel(size=(S, D))
    finish = np.empty((S, D), np.int16)
    finish[np.arange(S)[:, None], np.argsort(-util, axis=1)] = np.arange(1, D + 1)
    front = np.exp(-0.25 * (finish - 1.0))
    led = np.stack([rng.multinomial(LAPS, p / p.sum()) for p in front]).astype(np.int16)
    fast = np.stack([rng.multinomial(150, p / p.sum()) for p in front]).astype(np.int16)
    st = np.broadcast_to(start[None, :], (S, D))
    return ScenarioSet(
        driver_ids=np.arange(100, 100 + D, dtype=np.int64),
        start_position=start.astype(np.int16),
        finish_position=finish,
        dnf=np.zeros((S, D), bool),
        laps_completed=np.full((S, D), LAPS, np.int16),
        laps_led=led,
        fastest_laps=fast,
        dk_points=rules.draftkings_points(st, finish, led, fast).astype(np.float32),
        fd_points=rules.fanduel_points(st, finish, led, np.full((S, D), LAPS)).astype(np.float32),
        utility=util.astype(np.float32),
        laps=LAPS,
        track_type="intermediate",
        start_imputed=False,
    )


@pytest.fixture(scope="module")
def races():
    return cheap_races()


def _user(model_mean, rng, spread=4.0, factor=1.3, given=None):
    """A vendor-like set of projections: the model's means plus disagreement, on a larger scale
    (vendors' projections sum above what a race can score)."""
    u = np.clip(model_mean + rng.normal(0, spread, len(model_mean)), 0, None) * factor
    if given is not None:
        u[~given] = np.nan
    return u


def test_tilt_hits_the_blended_means(races):
    P = races.dk_points.astype(float)
    m = P.mean(0)
    u = _user(m, np.random.default_rng(1))
    tilt = move_to_targets(P, u, 0.5, seed=3)
    assert tilt.moved and tilt.reached == 1.0
    target, scale = blended_targets(m, u, 0.5)
    assert scale == pytest.approx(m.sum() / u.sum()) and 0.7 < scale < 0.8
    np.testing.assert_allclose(tilt.achieved, target, atol=1e-3)  # the weighted means exactly
    sd = P.std(0)
    # the resampled set's means within the resampling noise of the targets
    assert np.all(np.abs(tilt.moved_mean - target) < 0.1 * sd + 0.3)
    assert tilt.ess > 0.3 * len(P) and "ESS" in tilt.message
    # the blend sits between the model's means and the (scaled) user's
    lo, hi = np.minimum(m, scale * u), np.maximum(m, scale * u)
    assert np.all((target >= lo - 1e-9) & (target <= hi + 1e-9))


def test_drivers_without_a_number_keep_the_model_mean(races):
    P = races.dk_points.astype(float)
    m = P.mean(0)
    given = np.arange(D) % 3 == 0
    tilt = move_to_targets(P, _user(m, np.random.default_rng(2), given=given), 1.0)
    np.testing.assert_allclose(tilt.achieved[~given], m[~given], atol=1e-3)
    assert not np.allclose(tilt.achieved[given], m[given], atol=0.5)


def test_resampling_keeps_the_dnf_scoring_parts_with_their_race(races):
    """dnf_prob (S, D) and the per-scenario dnf_penalty (S,) move with their scenario."""
    import dataclasses

    rng = np.random.default_rng(3)
    S = races.n_scenarios
    with_dnf = dataclasses.replace(
        races, dnf_prob=rng.random((S, D)), dnf_penalty=rng.normal(-3.0, 0.2, S)
    )
    idx = rng.integers(0, S, S)
    moved = resample_scenario_set(with_dnf, idx)
    np.testing.assert_array_equal(moved.dnf_penalty, with_dnf.dnf_penalty[idx])
    np.testing.assert_array_equal(moved.dnf_prob, with_dnf.dnf_prob[idx])


def test_every_resampled_scenario_is_a_simulated_race(races):
    P = races.dk_points.astype(float)
    tilt = move_to_targets(P, _user(P.mean(0), np.random.default_rng(4)), 0.7, seed=1)
    moved = resample_scenario_set(races, tilt.indices)
    ok, details = scenario_sanity(moved)
    assert ok, details
    assert moved.n_scenarios == races.n_scenarios
    # each row is one of the input races, whole: order, laps led, points together
    for j in np.random.default_rng(0).choice(len(tilt.indices), 50, replace=False):
        src = tilt.indices[j]
        for name in ("finish_position", "laps_led", "fastest_laps", "dk_points", "fd_points"):
            np.testing.assert_array_equal(getattr(moved, name)[j], getattr(races, name)[src])
    assert np.all(moved.laps_led.sum(axis=1) == LAPS)
    assert np.all((moved.finish_position == 1).sum(axis=1) == 1)
    st = np.broadcast_to(moved.start_position[None, :], moved.finish_position.shape)
    exact = rules.draftkings_points(st, moved.finish_position, moved.laps_led, moved.fastest_laps)
    np.testing.assert_array_equal(moved.dk_points, exact.astype(np.float32))
    # copies of a race are next to each other: a prefix (the portfolio's scenarios) and the
    # rest (the contest's held-out ones) share at most the race at the boundary
    for cut in (500, 1000, 3000):
        assert len(set(tilt.indices[:cut]) & set(tilt.indices[cut:])) <= 1
    # and a prefix is a fair sample: its means near the moved set's
    sd = moved.dk_points.std(0)
    assert np.all(np.abs(moved.dk_points[:2000].mean(0) - tilt.moved_mean) < 0.15 * sd + 0.5)


def test_weight_zero_and_no_numbers_leave_the_scenarios_untouched(races):
    P = races.dk_points.astype(float)
    u = _user(P.mean(0), np.random.default_rng(5))
    for tilt in (move_to_targets(P, u, 0.0), move_to_targets(P, np.full(D, np.nan), 0.5)):
        assert not tilt.moved and tilt.indices is None and tilt.ess == len(P)
        assert "untouched" in tilt.message
    with pytest.raises(ValueError):
        move_to_targets(P, u, 1.5)


def test_targets_too_far_move_as_far_as_the_ess_allows(races):
    P = races.dk_points.astype(float)
    m = P.mean(0)
    u = m.copy()
    u[-1] = 70.0  # the slowest car as the favourite: far beyond what the races show
    u[0] = max(m[0] - 30, 0)
    tilt = move_to_targets(P, u, 1.0, min_ess_fraction=0.2)
    assert tilt.moved and 0.0 < tilt.reached < 1.0
    assert tilt.ess >= 0.2 * len(P)
    assert "of the way" in tilt.message and "min_ess_fraction" in tilt.message
    partial = m + tilt.reached * (tilt.target - m)
    np.testing.assert_allclose(tilt.achieved, partial, atol=1e-3)
    assert tilt.achieved[-1] > m[-1] + 1.0  # moved, if not all the way
    # numbers off a race's total without the rescaling: out of reach, nothing moves
    off = move_to_targets(P, u, 1.0, min_ess_fraction=0.2, rescale=False)
    assert not off.moved and off.reached == 0.0 and "untouched" in off.message


def test_unreachable_target_does_not_converge():
    P = cheap_races(S=500, seed=1).dk_points.astype(float)
    t = P.mean(0)
    t[0] = P[:, 0].max() + 5  # above every scenario: no reweighting reaches it
    w, _, ok = tilt_weights(P, t, max_iter=30)
    assert not ok and effective_sample_size(w) < len(P)
