"""How far the player's projections can move the scenarios (core/user_numbers.py): effective
sample size, the fraction of the way reached, the error of the resampled means and the time, by
disagreement between the player's numbers and the model's and by blend weight.

The player's numbers are the model's means plus normal disagreement of `sd` points a driver,
times 1.3 (vendor projections sum 13-33 % above what a race can score; they are scaled back).
Scenarios: a race_scenarios Parquet (`--scenarios PATH`, e.g. a demo build's
`<home>/storage/race_scenarios/<race>.parquet`), else 10,000 races of a 38-car synthetic field
simulated from a fixed posterior (no MCMC).

    .venv/bin/python benchmarks/bench_user_numbers.py [--scenarios PATH] [--floor 0.1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_points(n_scenarios: int = 10_000) -> np.ndarray:
    from nascar_pipeline.core.model import prepare_history
    from nascar_pipeline.core.simulate import simulate_race
    from tests.core.test_model_scenarios import _fake_posterior
    from tests.support.synthetic_history import synthetic_history

    hist, _ = synthetic_history(n_drivers=38, n_races=12, seed=2)
    data = prepare_history(hist)
    last = hist[hist.race_key == hist.race_key.iloc[-1]]
    entries = last[["driver_id", "driver_name", "car_number", "start_position"]]
    sc = simulate_race(
        _fake_posterior(data, n_draws=50), data, entries, "intermediate", laps=267,
        n_scenarios=n_scenarios, seed=1,
    )  # fmt: skip
    return sc.dk_points.astype(float)


def parquet_points(path: str) -> np.ndarray:
    from nascar_pipeline.core.simulate import scenario_points_matrix

    _, points = scenario_points_matrix(pd.read_parquet(path), "draftkings")
    return np.asarray(points, float)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", help="a race_scenarios Parquet (default: synthetic)")
    ap.add_argument("--floor", type=float, default=0.10, help="min_ess_fraction")
    ap.add_argument("--repeats", type=int, default=3, help="draws of the player's numbers")
    args = ap.parse_args(argv)
    from nascar_pipeline.core.jax_setup import configure_jax
    from nascar_pipeline.settings import get_settings

    configure_jax(get_settings().jax_cache_dir)  # before JAX starts: the persistent cache
    from nascar_pipeline.core.user_numbers import move_to_targets

    P = parquet_points(args.scenarios) if args.scenarios else synthetic_points()
    S, D = P.shape
    m = P.mean(0)
    print(f"scenarios: {args.scenarios or 'synthetic 38-car field'}: {S:,} x {D} drivers; "
          f"DK points sd per driver {P.std(0).mean():.1f}, total {m.sum():.1f}; "
          f"ESS floor {args.floor:g} ({args.floor * S:,.0f})")  # fmt: skip
    print("sd  weight  ESS/S  reached  |moved-target| mean/max  seconds")
    for sd in (2, 4, 8, 12):
        for weight in (0.25, 0.5, 0.75, 1.0):
            rows = []
            for r in range(args.repeats):
                rng = np.random.default_rng(100 * sd + r)
                user = np.clip(m + rng.normal(0, sd, D), 0, None) * 1.3
                t0 = time.perf_counter()
                tilt = move_to_targets(P, user, weight, min_ess_fraction=args.floor, seed=r)
                secs = time.perf_counter() - t0
                goal = m + tilt.reached * (tilt.target - m)
                err = np.abs(tilt.moved_mean - goal)
                rows.append((tilt.ess / S, tilt.reached, err.mean(), err.max(), secs))
            a = np.array(rows).mean(axis=0)
            print(f"{sd:>2}  {weight:>6.2f}  {a[0]:5.2f}  {a[1]:7.2f}  "
                  f"{a[2]:10.2f} / {a[3]:4.2f}  {a[4]:7.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
