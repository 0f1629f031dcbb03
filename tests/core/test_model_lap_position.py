"""Laps led and fastest laps given the race's realised finish and start (ModelConfig.lap_position,
race_story.lap_position_term): the flag off leaves the data and the fit-cache key as they were,
the simulator ties a scenario's laps led to its own winner and pole sitter and keeps its sanity,
and one slow fit recovers the slopes of a synthetic world drawn with them."""

import numpy as np
import pytest

from nascar_pipeline.core import race_story as story
from nascar_pipeline.core.model import ModelConfig, prepare_history
from nascar_pipeline.core.model.data import LAP_POSITION_FEATURE, scale_start
from nascar_pipeline.core.model.model import LAP_POSITION_SITES, POSTERIOR_SITES
from nascar_pipeline.core.tables import TRACK_TYPES
from tests.support.synthetic_history import synthetic_history

WIDE = dict(half_life_days=1e9, history_days=100_000)
T = len(TRACK_TYPES)


def test_position_features():
    pos = np.array([1, 2, 5, 10, 40, 43])
    np.testing.assert_allclose(story.position_feature(pos), -scale_start(pos), atol=1e-6)
    assert story.position_feature(1) == pytest.approx(0.5)
    assert story.position_feature(40) == pytest.approx(-0.5)
    # The finish's feature falls fastest at the front: 1st vs 2nd 0.5, 10th vs 40th 0.075.
    f = story.finish_feature(np.array([1, 2, 10, 40]))
    np.testing.assert_allclose(f, [0.9, 0.4, 0.0, -0.075], atol=1e-6)


def test_flag_off_leaves_data_and_cache_key_as_before():
    hist, _ = synthetic_history(n_drivers=6, n_races=4, seed=2)
    off = prepare_history(hist, ModelConfig())
    assert "finish_pos" not in off.arrays
    assert "lap_position" not in ModelConfig().as_dict()
    on = prepare_history(hist, ModelConfig(lap_position=True))
    assert ModelConfig(lap_position=True).as_dict()["lap_position"] == LAP_POSITION_FEATURE
    # Slots are in finishing order: the winner's slot holds 1, padding 0.
    fp, mask = on.arrays["finish_pos"], on.arrays["mask"]
    assert fp[0, 0] == 1.0 and fp[0, 5] == 6.0
    assert (fp[mask == 0] == 0).all()
    assert set(LAP_POSITION_SITES) <= set(POSTERIOR_SITES)


def test_synthetic_world_without_slopes_is_unchanged():
    """The generator's default draws the frames it drew before the argument existed."""
    a, _ = synthetic_history(n_drivers=8, n_races=6, seed=5)
    b, _ = synthetic_history(n_drivers=8, n_races=6, seed=5, lap_position=(0.0, 0.0, 0.0, 0.0))
    assert a.equals(b)
    c, _ = synthetic_history(n_drivers=8, n_races=6, seed=5, lap_position=(6.0, 0.0, 0.0, 0.0))
    assert not a["laps_led"].equals(c["laps_led"])
    # Only the lap shares move in a race (later races differ: the Dirichlet draws consume the
    # random stream by their concentrations).
    first = a["race_key"] == a["race_key"].iloc[0]
    assert a.loc[first, "finish_position"].equals(c.loc[first, "finish_position"])


def _posterior(data, led_finish=0.0, led_start=0.0, draws=4):
    """Every driver alike (no skill, no start effect, no DNF): only the lap-position terms
    can tie laps led to a car."""
    z = np.zeros(draws, np.float32)
    post = {
        "skill": np.zeros((draws, data.n_drivers_padded), np.float32),
        "skill_track": np.zeros((draws, data.n_drivers_padded, T), np.float32),
        "car_effect": np.zeros((draws, data.n_cars_padded), np.float32),
        "sigma_skill": z + 0.1, "sigma_track": z + 0.1, "sigma_car": z + 0.1,
        "log_scale_other": np.zeros((draws, T - 1), np.float32),
        "start_effect": np.zeros((draws, T), np.float32),
        "dnf_penalty": z - 3.0, "dnf_base": np.full((draws, T), -20.0, np.float32),
        "dnf_start": z, "dnf_ability": z,
        "led_base": np.full((draws, T), -1.0, np.float32), "led_perf": z,
        "fast_base": np.zeros((draws, T), np.float32), "fast_perf": z, "fast_led": z,
    }  # fmt: skip
    if led_finish or led_start:
        post.update(
            led_finish=np.full((draws, T), led_finish, np.float32),
            led_start=np.full((draws, T), led_start, np.float32),
            fast_finish=np.full((draws, T), 3.0, np.float32),
            fast_start=np.zeros((draws, T), np.float32),
        )
    return post


@pytest.fixture(scope="module")
def field():
    hist, _ = synthetic_history(n_drivers=20, n_races=4, seed=2)
    data = prepare_history(hist, ModelConfig(lap_position=True, **WIDE))
    entries = hist[hist["race_key"] == data.race_keys[-1]].copy()
    return data, entries


def _simulate(data, entries, post):
    from nascar_pipeline.core.simulate import simulate_race

    return simulate_race(post, data, entries, "short", laps=300, n_scenarios=2000, seed=4)


def test_a_scenario_s_winner_leads_its_laps(field):
    from nascar_pipeline.core.simulate import scenario_sanity

    data, entries = field
    flat = _simulate(data, entries, _posterior(data))
    tied = _simulate(data, entries, _posterior(data, led_finish=8.0))
    for sc in (flat, tied):
        ok, details = scenario_sanity(sc)
        assert ok, details

    def winner_share(sc):
        won = sc.finish_position == 1
        return float((sc.laps_led * won).sum() / sc.laps_led.sum())

    # Without the term the winner leads like anyone (1/20 of the laps in expectation).
    assert winner_share(flat) < 0.1
    assert winner_share(tied) > 0.3
    # The fastest-lap term (fast_finish 3) gives the winner more fastest laps as well.
    won = tied.finish_position == 1
    assert (tied.fastest_laps * won).sum() / tied.fastest_laps.sum() > 1.5 / 20


def test_a_pole_sitter_leads_more_with_the_start_term(field):
    data, entries = field
    sc = _simulate(data, entries, _posterior(data, led_start=8.0))
    led = sc.laps_led.mean(axis=0)
    pole = int(np.flatnonzero(sc.start_position == 1)[0])
    last = int(np.argmax(sc.start_position))
    assert led[pole] > 3 * led[last], (led[pole], led[last])
    # The finish is untouched by the lap terms: all cars alike, the pole wins about 1 in 20.
    assert (sc.finish_position[:, pole] == 1).mean() < 0.1


@pytest.mark.slow
def test_recovery_of_the_lap_position_slopes():
    """A world drawn with led_finish 6, led_start 3, fast_finish 3, fast_start 0: the
    posterior means pooled over track types land near the truth, and the 90 % interval of
    each pooled slope covers it."""
    from nascar_pipeline.core.model import FitConfig, fit_model

    truth = {"led_finish": 6.0, "led_start": 3.0, "fast_finish": 3.0, "fast_start": 0.0}
    hist, _ = synthetic_history(
        n_drivers=20, n_races=40, seed=6, lap_position=tuple(truth.values())
    )
    data = prepare_history(hist, ModelConfig(lap_position=True, **WIDE))
    fit = fit_model(data, FitConfig(num_warmup=150, num_samples=150, num_chains=2, seed=1))
    post = fit.flat()
    report = {}
    for site, value in truth.items():
        pooled = post[site].mean(axis=1)  # every track type has 10 races of the same truth
        lo, hi = np.quantile(pooled, [0.05, 0.95])
        report[site] = (round(float(pooled.mean()), 2), round(float(lo), 2), round(float(hi), 2))
        assert lo <= value <= hi, (site, value, report)
    print(f"lap-position recovery (mean, 5 %, 95 %): {report}")
    assert "led_finish" in fit.diagnostics["per_site"]  # reported beside the gated skills
