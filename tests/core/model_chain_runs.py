"""Fits for tests/core/test_model_chains.py, run in a fresh process (python -m
tests.core.model_chain_runs CACHE_DIR): host devices and the compilation cache can only be set
before JAX starts, and a pytest process has usually started it.

Two consecutive "races" of one synthetic season (history windows of different sizes, the same
bucketed shapes): the first fit compiles, the second must compile nothing new. The second race
is then fitted again with sequential chains, same seed. Prints one JSON line: RESULT {...}."""

from __future__ import annotations

import json
import sys

SETTINGS = dict(num_warmup=150, num_samples=150, num_chains=4, svi_steps=200, seed=7)


def _summary(fit) -> dict:
    """Per-site posterior means and their Monte-Carlo standard errors (sd / sqrt(bulk ESS))."""
    import numpy as np
    from numpyro.diagnostics import effective_sample_size

    out = {}
    for site in ("sigma_skill", "skill", "dnf_penalty", "led_perf", "start_effect"):
        x = np.asarray(fit.posterior[site], np.float64)
        x = x.reshape(x.shape[:2] + (-1,))
        real = x[..., : fit.data.n_drivers] if site == "skill" else x
        mean = real.mean(axis=(0, 1))
        sd = real.std(axis=(0, 1))
        ess = np.maximum(effective_sample_size(real), 1.0)
        out[site] = {"mean": mean.tolist(), "mcse": (sd / np.sqrt(ess)).tolist()}
    return out


def main(cache_dir: str) -> int:
    from nascar_pipeline.core.jax_setup import configure_jax

    decided = configure_jax(cache_dir, host_devices=2)
    from nascar_pipeline.core.model import FitConfig, fit_model, prepare_history
    from nascar_pipeline.core.model.fit import compile_clock
    from tests.support.synthetic_history import synthetic_history

    hist, _ = synthetic_history(n_drivers=16, n_races=14, seed=11)
    dates = sorted(hist["race_date"].astype(str).unique())
    windows = [prepare_history(hist, target_date=d) for d in (dates[-2], dates[-1])]
    result = {"configured": decided, "fits": []}
    for data, method in ((windows[0], "auto"), (windows[1], "auto"), (windows[1], "sequential")):
        clock = compile_clock()
        misses, programs = clock.misses, clock.programs
        fit = fit_model(data, FitConfig(chain_method=method, **SETTINGS))
        result["fits"].append(
            {
                "races": data.n_races,
                "shapes": {k: list(v.shape) for k, v in data.arrays.items()},
                "chain_method": fit.chain_method,
                "devices": fit.devices,
                "new_compiles": clock.misses - misses,
                "programs": clock.programs - programs,
                "timings": fit.timings,
                "rhat_max": float(fit.diagnostics["rhat_max"]),
                "summary": _summary(fit),
            }
        )
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
