"""The gate-failure escalation's pure parts: the attempts' settings and the stale fallback's
remapping of an earlier race's posterior onto this race's drivers and cars."""

from __future__ import annotations

import numpy as np

from nascar_pipeline.core.model.escalation import drop_form_after, escalation_plan, remap_posterior
from nascar_pipeline.core.model.fit import FitConfig


def test_escalation_plan_is_bounded_longer_and_reseeded():
    base = FitConfig(num_warmup=400, num_samples=500, num_chains=4, seed=7)
    plan = escalation_plan(base, max_refits=2, refit_scale=2.0)
    assert [(c.num_warmup, c.num_samples, c.seed) for c in plan] == [
        (400, 500, 7),
        (800, 1000, 1007),
        (800, 1000, 2007),
    ]
    assert {c.num_chains for c in plan} == {4}
    assert escalation_plan(base, max_refits=0, refit_scale=2.0) == [base]
    # A scale below 1 never shortens the chains.
    assert escalation_plan(base, 1, 0.5)[1].num_samples == 500


def test_only_a_failure_longer_chains_do_not_mend_drops_the_form_term():
    # production failures that longer chains mend: just above the gate
    assert not drop_form_after({"rhat_max": 1.012, "divergence_rate": 0.0}, 500)
    assert not drop_form_after({"rhat_max": 1.009, "divergence_rate": 0.02}, 500)
    # the demo world's 2026 failures: a ridge (R-hat 1.11, no divergences), a funnel
    assert drop_form_after({"rhat_max": 1.1126, "divergence_rate": 0.0}, 500)
    assert drop_form_after({"rhat_max": 1.0306, "divergence_rate": 0.4095}, 500)
    # a fit whose diagnostics could not be computed counts as failed badly
    assert drop_form_after({"rhat_max": float("nan"), "divergence_rate": 0.0}, 500)
    # short chains: a high R-hat says only that the chains are short
    assert not drop_form_after({"rhat_max": 1.8, "divergence_rate": 0.4}, 50)


def test_a_failure_of_the_longer_chains_drops_the_form_term():
    # the demo world's stale races: mild failures that the longer chains did not mend
    mild = {"rhat_max": 1.0255, "divergence_rate": 0.0}
    assert not drop_form_after(mild, 500)
    assert drop_form_after(mild, 1000, longer_failed=True)
    # still not on chains too short to say anything
    assert not drop_form_after(mild, 50, longer_failed=True)


class _Data:
    def __init__(self, driver_ids, car_numbers, dp, cp):
        self.driver_ids = np.asarray(driver_ids)
        self.car_numbers = list(car_numbers)
        self.n_drivers_padded = dp
        self.n_cars_padded = cp


def test_remap_keeps_known_drivers_and_draws_new_ones_from_the_prior():
    chains, draws, T = 2, 50, 4
    rng = np.random.default_rng(0)
    posterior = {
        "skill": rng.normal(size=(chains, draws, 8)).astype(np.float32),
        "skill_track": rng.normal(size=(chains, draws, 8, T)).astype(np.float32),
        "car_effect": rng.normal(size=(chains, draws, 4)).astype(np.float32),
        "sigma_skill": np.full((chains, draws), 0.5, np.float32),
        "sigma_track": np.full((chains, draws), 0.2, np.float32),
        "sigma_car": np.full((chains, draws), 0.1, np.float32),
        "dnf_penalty": rng.normal(size=(chains, draws)).astype(np.float32),
    }
    old_ids, old_cars = [10, 20, 30], ["2026-5", "2026-9"]
    new = _Data([20, 30, 40], ["2026-9", "2027-1"], dp=16, cp=8)
    out, counts = remap_posterior(posterior, old_ids, old_cars, new)
    assert counts == {
        "drivers_kept": 2,
        "drivers_from_prior": 1,
        "cars_kept": 1,
        "cars_from_prior": 1,
    }
    assert out["skill"].shape == (chains, draws, 16)
    assert out["skill_track"].shape == (chains, draws, 16, T)
    assert out["car_effect"].shape == (chains, draws, 8)
    np.testing.assert_array_equal(out["skill"][:, :, 0], posterior["skill"][:, :, 1])  # driver 20
    np.testing.assert_array_equal(out["skill"][:, :, 1], posterior["skill"][:, :, 2])  # driver 30
    np.testing.assert_array_equal(out["car_effect"][:, :, 0], posterior["car_effect"][:, :, 1])
    new_driver = out["skill"][:, :, 2]
    assert 0.3 < new_driver.std() < 0.7  # sigma_skill = 0.5
    assert np.all(out["skill"][:, :, 3:] == 0)  # padding
    np.testing.assert_array_equal(out["dnf_penalty"], posterior["dnf_penalty"])
