"""What race_model_fit does when a fit fails the convergence gate, as pure functions.

- `escalation_plan(base, max_refits, refit_scale)`: the fit settings of every attempt. Attempt 1
  is the configured fit; attempt 2 runs `refit_scale` times the warm-up and the draws with a new
  seed (most failures at production settings are R-hat just above 1.01: longer chains fix
  them); attempts 3.. keep the longer chains with yet another seed. Bounded by `max_refits`.
- `drop_form_after(diag, draws, longer_failed)`: whether a failed attempt says longer chains
  will not mend the fit: it failed badly (R-hat past SEVERE_RHAT, or divergences past
  SEVERE_DIVERGENCES: a ridge or funnel in the posterior, not a slow chain), or it already ran
  the longer chains (attempt 2 on) and still failed. race_model_fit then fits the remaining
  attempts without the trailing-form term. The second rule: on the demo world's 2026 season
  six races failed all three attempts with form (R-hat 1.006-1.045, bulk ESS 89-367, the
  longer chains no better than the first), while 21 others passed at once without it. Why form: on the demo world's 2026 season the form
  coefficient of the trailing finish traded with the skills' scale (the trailing finish is
  89 % between-driver variance there: a synthetic driver's ability never changes), and every
  attempt from the 6th race on failed (R-hat 1.11-2.19, up to 47 % divergences) while the same
  races without form passed at once (Richmond R-hat 1.003, bulk ESS 1,237, 0 divergences).
  The gate is not loosened: the form-free fit must pass it like any other.
- `remap_posterior(posterior, old_ids, old_cars, new)`: an earlier race's posterior draws laid
  out on this race's driver and car indices, so the simulator can use the last good fit when
  every attempt fails (the "stale model" fallback). Drivers and cars the earlier fit knew keep
  their draws; ones it did not know get draws from the model's hierarchical prior given each
  draw's scales (skill ~ Normal(0, sigma_skill), track offset ~ Normal(0, sigma_track),
  car ~ Normal(0, sigma_car)), the same partial pooling the simulator applies to unseen drivers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nascar_pipeline.core.model.data import HistoryData
from nascar_pipeline.core.model.fit import FitConfig

SEED_STEP = 1000  # seeds of successive attempts: far apart, so no two attempts share a stream
# A failure past these is a posterior's shape, not a chain's length (the production failures
# that longer chains mend sit just above the gate: R-hat 1.010-1.015, divergences under 1 %).
SEVERE_RHAT = 1.05
SEVERE_DIVERGENCES = 0.05
SEVERE_MIN_DRAWS = 100  # per chain: below it a high R-hat says the chains are short, no more


def escalation_plan(base: FitConfig, max_refits: int, refit_scale: float) -> list[FitConfig]:
    """The settings of attempt 1 (base) and of up to `max_refits` re-fits."""
    plan = [base]
    longer = replace(
        base,
        num_warmup=max(int(round(base.num_warmup * refit_scale)), base.num_warmup),
        num_samples=max(int(round(base.num_samples * refit_scale)), base.num_samples),
    )
    for k in range(1, max(max_refits, 0) + 1):
        plan.append(replace(longer, seed=base.seed + k * SEED_STEP))
    return plan


def drop_form_after(diag: dict, draws_per_chain: int, longer_failed: bool = False) -> bool:
    """A failed attempt of at least SEVERE_MIN_DRAWS draws per chain whose R-hat or divergence
    rate says the posterior has a ridge or a funnel, or that already ran the longer chains
    (`longer_failed`: the remedy for a slow chain was tried; see the module docstring): the
    remaining attempts fit without trailing form."""
    if draws_per_chain < SEVERE_MIN_DRAWS:
        return False
    if longer_failed:
        return True
    rhat = float(diag.get("rhat_max", np.inf))
    return not rhat <= SEVERE_RHAT or float(diag.get("divergence_rate", 1.0)) > SEVERE_DIVERGENCES


_BY_DRIVER = {"skill": "sigma_skill", "skill_track": "sigma_track"}
_BY_CAR = {"car_effect": "sigma_car"}
_BY_ORG = {"org_effect": "sigma_org"}


def remap_posterior(
    posterior: dict, old_ids, old_cars, new: HistoryData, seed: int = 0, old_orgs=None
) -> tuple[dict, dict]:
    """(posterior on `new`'s indices, counts {"drivers_kept", "drivers_from_prior",
    "cars_kept", "cars_from_prior"}). Arrays are (chains, draws, ...) in and out; sites not
    indexed by driver or car are copied."""
    rng = np.random.default_rng(seed)
    old_driver = {int(d): i for i, d in enumerate(old_ids)}
    old_car = {str(c): i for i, c in enumerate(old_cars)}
    new_drivers = [old_driver.get(int(d)) for d in new.driver_ids]
    new_cars = [old_car.get(str(c)) for c in new.car_numbers]
    # organisation effects (ModelConfig.team_effect): by organisation name, when recorded
    old_org = {str(o): i for i, o in enumerate(old_orgs or [])}
    new_orgs = [old_org.get(str(o)) for o in getattr(new, "org_names", [])]
    out = {}
    for site, x in posterior.items():
        x = np.asarray(x)
        if (site in _BY_ORG or site in _BY_ORG.values()) and not new_orgs:
            continue  # this race's model has no organisation effects: the sites do not apply
        if site in _BY_DRIVER:
            index, size, scale = new_drivers, new.n_drivers_padded, _BY_DRIVER[site]
        elif site in _BY_CAR:
            index, size, scale = new_cars, new.n_cars_padded, _BY_CAR[site]
        elif site in _BY_ORG and old_orgs is not None:
            index, size, scale = new_orgs, new.n_orgs_padded, _BY_ORG[site]
        else:
            out[site] = x
            continue
        y = np.zeros(x.shape[:2] + (size,) + x.shape[3:], x.dtype)
        sigma = np.asarray(posterior[scale], x.dtype)  # (chains, draws)
        for j, i in enumerate(index):
            if i is not None:
                y[:, :, j] = x[:, :, i]
            else:
                noise = rng.standard_normal(x.shape[:2] + x.shape[3:]).astype(x.dtype)
                sig = sigma.reshape(sigma.shape + (1,) * (x.ndim - 3))
                y[:, :, j] = sig * noise
        out[site] = y
    counts = {
        "drivers_kept": sum(i is not None for i in new_drivers),
        "drivers_from_prior": sum(i is None for i in new_drivers),
        "cars_kept": sum(i is not None for i in new_cars),
        "cars_from_prior": sum(i is None for i in new_cars),
    }
    return out, counts
