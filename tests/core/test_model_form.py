"""Trailing form as covariates of ability (ModelConfig.form, core/model/form.py): the arrays
come from earlier starts only, a driver never seen gets the rookie row, the flag off leaves the
data and the fit-cache key as they were, the simulator refuses a form posterior without form,
and one slow fit recovers the form effect of a world whose skills drift."""

import numpy as np
import pytest

from nascar_pipeline.core.model import ModelConfig, prepare_history
from nascar_pipeline.core.model.form import FORM_CENTRE, ROOKIE_FORM, entry_form
from nascar_pipeline.core.tables import TRACK_TYPES
from tests.support.synthetic_history import synthetic_history

WIDE = dict(half_life_days=1e9, history_days=100_000)


def test_form_arrays_come_from_earlier_starts_only():
    hist, _ = synthetic_history(n_drivers=6, n_races=5, seed=1)
    data = prepare_history(hist, ModelConfig(form=True, **WIDE))
    form, a = data.arrays["form"], data.arrays
    assert form.shape == a["drv"].shape + (len(ROOKIE_FORM),)
    first = a["mask"][0] > 0
    np.testing.assert_allclose(form[0][first], np.tile(ROOKIE_FORM, (first.sum(), 1)))
    # Race 2: one earlier start per driver, so the trailing finish is race 1's finish / 10.
    keys = data.race_keys
    r1 = hist[hist["race_key"] == keys[0]].set_index("driver_id")["finish_position"]
    for j in np.flatnonzero(a["mask"][1] > 0):
        d = int(data.driver_ids[a["drv"][1, j]])
        assert form[1, j, 0] == pytest.approx(r1[d] / 10.0 - FORM_CENTRE[0])
        assert form[1, j, 4] == 0.0  # no longer a rookie
    # No loop rows: the running position falls back to the finish, so its difference is 0
    # (not a second copy of the finish column: see core/model/form.py).
    assert (form[..., 2:4] == 0).all()
    assert (form[a["mask"] == 0] == 0).all()  # padding
    now = data.stats["form_now"]
    assert set(now) == set(TRACK_TYPES)
    assert set(now["intermediate"]) == set(int(d) for d in data.driver_ids)


def test_entry_form_gives_a_driver_never_seen_the_rookie_row():
    now = {"road": {7: [0.1, 0.2, 0.3, 0.4, 0.0]}}
    x = entry_form(now, [7, 99], "road", 4)
    np.testing.assert_allclose(x[0], [0.1, 0.2, 0.3, 0.4, 0.0])
    np.testing.assert_allclose(x[1], ROOKIE_FORM)
    assert (x[2:] == 0).all()


def test_flag_off_leaves_data_and_cache_key_as_before():
    hist, _ = synthetic_history(n_drivers=6, n_races=4, seed=2)
    off = prepare_history(hist, ModelConfig())
    assert "form" not in off.arrays and "form_now" not in off.stats
    assert "form" not in ModelConfig().as_dict()
    assert ModelConfig(form=True).as_dict()["form"] is True


def test_simulator_refuses_form_coefficients_without_form_data():
    from nascar_pipeline.core.simulate import simulate_race

    hist, _ = synthetic_history(n_drivers=6, n_races=4, seed=2)
    data = prepare_history(hist, ModelConfig())
    entries = hist[hist["race_key"] == data.race_keys[-1]]
    post = {"form_beta": np.zeros((2, 5))}
    with pytest.raises(ValueError, match="trailing-form coefficients"):
        simulate_race(post, data, entries, "intermediate", laps=200, n_scenarios=10)


@pytest.mark.slow
def test_recovery_of_the_form_effect_when_skills_drift():
    """Skills walk (sd 0.25 per race) on top of fixed skills: a driver's trailing finish then
    says where his skill is now. The fitted trailing-finish coefficients (better finish =
    lower number) sum below 0 with 95 % posterior probability, and the scenarios of a next race
    run with the drivers' latest form."""
    from nascar_pipeline.core.model import FitConfig, fit_model
    from nascar_pipeline.core.simulate import simulate_race

    hist, _ = synthetic_history(n_drivers=20, n_races=40, seed=4, form_sd=0.25)
    data = prepare_history(hist, ModelConfig(form=True, **WIDE))
    fit = fit_model(data, FitConfig(num_warmup=150, num_samples=150, num_chains=2, seed=2))
    beta = fit.flat()["form_beta"]
    position_sum = beta[:, :2].sum(axis=1)  # the trailing finishes (no loop data here)
    print(
        f"form recovery: finish betas {beta[:, :2].mean(axis=0).round(2)}, sum "
        f"{position_sum.mean():.2f} (P<0 {np.mean(position_sum < 0):.2f}), R-hat "
        f"{fit.diagnostics['rhat_max']:.3f}"
    )
    assert np.mean(position_sum < 0) >= 0.95
    assert "form_beta" in fit.diagnostics["per_site"]  # reported beside the gated skills
    entries = hist[hist["race_key"] == data.race_keys[-1]]
    sc = simulate_race(fit.flat(), data, entries, "intermediate", laps=200, n_scenarios=200)
    assert sc.finish_position.shape == (200, 20)


def test_running_position_enters_as_its_difference_from_the_finish():
    """With loop rows the running-position columns carry arp - finish (same span as the
    feature PL's columns; 0 where a driver has no loop data)."""
    from nascar_pipeline.core.tables import conform

    hist, _ = synthetic_history(n_drivers=6, n_races=3, seed=3)
    first = hist[hist["race_key"] == sorted(hist["race_key"].unique())[0]]
    loop = conform(
        "loop_stats",
        first.assign(series="cup", start_of_day=1, avg_running_position=5.0)[
            ["series", "race_key", "race_id", "race_date", "track_name", "driver_id",
             "start_of_day", "avg_running_position"]
        ],
    )  # fmt: skip
    data = prepare_history(hist, ModelConfig(form=True, **WIDE), loop=loop)
    a, form = data.arrays, data.arrays["form"]
    r1 = first.set_index("driver_id")["finish_position"]
    for j in np.flatnonzero(a["mask"][1] > 0):
        d = int(data.driver_ids[a["drv"][1, j]])
        assert form[1, j, 2] == pytest.approx((5.0 - r1[d]) / 10.0)


def _flat_posterior(data, form_beta, draws=4):
    """Every site at 0 (no DNFs: a very low DNF intercept), the form coefficients given."""
    T = len(TRACK_TYPES)
    z = np.zeros(draws, np.float32)
    return {
        "skill": np.zeros((draws, data.n_drivers_padded), np.float32),
        "skill_track": np.zeros((draws, data.n_drivers_padded, T), np.float32),
        "car_effect": np.zeros((draws, data.n_cars_padded), np.float32),
        "sigma_skill": z + 0.1, "sigma_track": z + 0.1, "sigma_car": z + 0.1,
        "log_scale_other": np.zeros((draws, T - 1), np.float32),
        "start_effect": np.zeros((draws, T), np.float32),
        "dnf_penalty": z - 3.0, "dnf_base": np.full((draws, T), -20.0, np.float32),
        "dnf_start": z, "dnf_ability": z,
        "led_base": np.zeros((draws, T), np.float32), "led_perf": z,
        "fast_base": np.zeros((draws, T), np.float32), "fast_perf": z, "fast_led": z,
        "form_beta": np.tile(np.asarray(form_beta, np.float32), (draws, 1)),
    }  # fmt: skip


def test_simulator_applies_each_entry_its_own_form():
    """Only the form moves ability: the entry whose trailing finish is best wins nearly every
    scenario, whatever his place in the entry list."""
    from nascar_pipeline.core.simulate import simulate_race

    hist, _ = synthetic_history(n_drivers=6, n_races=4, seed=2)
    data = prepare_history(hist, ModelConfig(form=True, **WIDE))
    entries = hist[hist["race_key"] == data.race_keys[-1]].copy()
    ids = sorted(int(d) for d in entries["driver_id"])
    best = ids[3]
    rows = {d: [2.0, 2.0, 0.0, 0.0, 0.0] for d in ids}  # finish / 10 - 2: 40th ...
    rows[best] = [-1.9, -1.9, 0.0, 0.0, 0.0]  # ... and 1st
    data.stats["form_now"] = {"intermediate": rows}
    post = _flat_posterior(data, [-5.0, -5.0, 0.0, 0.0, 0.0])
    sc = simulate_race(post, data, entries, "intermediate", laps=200, n_scenarios=400, seed=3)
    wins = (sc.finish_position == 1).mean(axis=0)
    assert wins[list(sc.driver_ids).index(best)] > 0.95, dict(zip(sc.driver_ids, wins))
