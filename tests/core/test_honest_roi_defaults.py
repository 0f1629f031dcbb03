"""contest_simulation's honest defaults come from core/honest_roi.py (one place, measured by
benchmarks/bench_optimizer.py --honest), and the shrink does what the defaults' docstrings say."""

import numpy as np
import pytest

from nascar_pipeline.core.honest_roi import (
    DEFAULT_ERROR_SD,
    DEFAULT_SHRINK,
    perturb_points,
    salary_baseline,
)


def test_contest_simulation_uses_the_measured_defaults():
    from nascar_pipeline.assets.contest import ContestConfig

    cfg = ContestConfig()
    assert cfg.honest_shrink == DEFAULT_SHRINK
    assert (
        cfg.honest_error_sd is None
    )  # honest_contest's DEFAULT_ERROR_SD, what it was measured with
    assert 0.0 < DEFAULT_SHRINK <= 1.0 and DEFAULT_ERROR_SD > 0


def test_shrink_moves_each_mean_that_share_toward_salary_and_keeps_the_spread():
    rng = np.random.default_rng(0)
    sal = np.array([10_500, 9_800, 9_000, 8_100, 7_400, 6_600, 5_900, 5_200], dtype=float)
    mean = np.array([70, 40, 55, 30, 45, 20, 35, 10], dtype=float)  # off the salary line
    pts = mean[None, :] + rng.normal(0, 15, (4000, sal.size))
    out = perturb_points(pts, rng, error_sd=0.0, shrink=DEFAULT_SHRINK, salaries=sal)
    base = salary_baseline(pts, sal)
    m = pts.mean(axis=0)
    np.testing.assert_allclose(out.mean(axis=0), m + DEFAULT_SHRINK * (base - m), atol=0.03)
    # each scenario's deviation from the driver's mean is kept (up to DK's 0.05 rounding)
    np.testing.assert_allclose(out - out.mean(axis=0), pts - m, atol=0.03)
    with pytest.raises(ValueError):
        perturb_points(pts, rng, shrink=1.5, salaries=sal)
