"""Convergence diagnostics (numpyro.diagnostics): split R-hat, bulk ESS, divergences.

`summarize_convergence(posterior, diverging, n_drivers)` -> dict of worst-case figures over the
skill parameters (skill and skill_track of the real drivers; hyperparameters are reported in the
race_model_fit summary, not gated);
`convergence_check(diag)` -> (passed, reasons), the rule the blocking asset check applies:
R-hat <= 1.01, bulk ESS >= 400 for every skill parameter, divergences <= 1 % of draws.
"""

from __future__ import annotations

import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

SKILL_SITES = ("skill", "skill_track")  # driver-level skill parameters (real drivers)
# Reported beside the gated sites in `per_site` (not gated: the gate stays as it was), so a
# poorly mixing trailing-form coefficient (core/model/form.py) shows beside the skills (its
# R-hat and ESS are also in race_model_fit's posterior summary rows). The lap-position slopes
# (ModelConfig.lap_position) likewise, and the car effects (contrasts within the driver-car
# groups with ModelConfig.car_contrasts; sigma_car mixed slowly without them), and the
# organisation effects (ModelConfig.team_effect).
REPORTED_SITES = ("form_beta", "led_finish", "led_start", "fast_finish", "fast_start",
                  "sigma_car", "car_effect", "sigma_org", "org_effect")  # fmt: skip
RHAT_MAX = 1.01
ESS_MIN = 400.0
DIVERGENCE_MAX = 0.01


def _real(name: str, x: np.ndarray, n_drivers: int) -> np.ndarray:
    """(chains, draws, ...) restricted to real drivers, flattened to (chains, draws, k)."""
    if name in ("skill", "skill_track"):
        x = x[:, :, :n_drivers]
    return x.reshape(x.shape[0], x.shape[1], -1)


def rhat_and_ess(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split R-hat and bulk ESS of (chains, draws, k) as the gate reads them: under 4 draws or
    an undefined R-hat, inf; an ESS that is undefined or negative, 0. The autocorrelation
    estimator breaks down on very short or alternating chains and can return a negative ESS (a
    2 x (50 + 50) run reported -1,506; the same is known of PyMC's and MCMCChains'
    estimators): no effective draws."""
    if x.shape[1] < 4:
        return np.full(x.shape[2], np.inf), np.zeros(x.shape[2])
    rhat = np.nan_to_num(np.asarray(split_gelman_rubin(x)), nan=np.inf)
    ess = np.maximum(np.nan_to_num(np.asarray(effective_sample_size(x)), nan=0.0), 0.0)
    return rhat, ess


def per_parameter(posterior: dict, n_drivers: int, sites=SKILL_SITES) -> dict:
    """{site: (rhat array, ess array)} over the site's real elements."""
    return {
        name: rhat_and_ess(_real(name, np.asarray(posterior[name], dtype=np.float64), n_drivers))
        for name in sites
        if name in posterior
    }


def summarize_convergence(
    posterior: dict, diverging: np.ndarray, n_drivers: int, num_steps: np.ndarray | None = None
) -> dict:
    pp = per_parameter(posterior, n_drivers)
    rhat_max = max((float(np.max(r)) for r, _ in pp.values() if r.size), default=np.inf)
    ess_min = min((float(np.min(e)) for _, e in pp.values() if e.size), default=0.0)
    div = np.asarray(diverging)
    n_draws = int(div.size)
    d = {
        "chains": int(div.shape[0]) if div.ndim == 2 else 1,
        "draws": n_draws,
        "rhat_max": rhat_max,
        "ess_bulk_min": ess_min,
        "divergences": int(div.sum()),
        "divergence_rate": float(div.sum() / max(n_draws, 1)),
        "per_site": {
            k: {"rhat_max": float(np.max(r)), "ess_bulk_min": float(np.min(e))}
            for k, (r, e) in {**pp, **per_parameter(posterior, n_drivers, REPORTED_SITES)}.items()
        },
    }
    if num_steps is not None:
        d["mean_leapfrog_steps"] = float(np.mean(num_steps))
    return d


def convergence_check(
    diag: dict,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    divergence_max: float = DIVERGENCE_MAX,
) -> tuple[bool, list[str]]:
    reasons = []
    if not diag.get("rhat_max", np.inf) <= rhat_max:
        reasons.append(f"R-hat {diag.get('rhat_max'):.4f} > {rhat_max}")
    if not diag.get("ess_bulk_min", 0.0) >= ess_min:
        reasons.append(f"bulk ESS {diag.get('ess_bulk_min'):.0f} < {ess_min:.0f}")
    if not diag.get("divergence_rate", 1.0) <= divergence_max:
        reasons.append(
            f"divergences {100 * diag.get('divergence_rate', 1.0):.2f} % > "
            f"{100 * divergence_max:.0f} %"
        )
    return (not reasons), reasons
