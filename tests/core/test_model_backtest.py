"""Backtest metrics and baselines (pure; fast)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core import backtest as bt


def test_pl_loglik_is_a_distribution_over_orders():
    u = np.array([0.3, -1.0, 1.2, 0.0])
    total = sum(
        np.exp(bt.pl_loglik(u, np.argsort(p) + 1)) for p in itertools.permutations(range(4))
    )
    assert total == pytest.approx(1.0)
    # Uniform utilities: every order has probability 1 / D!.
    assert bt.pl_loglik(np.zeros(5), np.array([3, 1, 2, 5, 4])) == pytest.approx(
        -bt.log_factorial(5)
    )


def test_mixture_loglik_and_brier():
    fin = np.array([1, 2, 3])
    same = np.tile(np.array([2.0, 1.0, 0.0]), (50, 1))
    assert bt.mixture_order_loglik(same, fin) == pytest.approx(bt.pl_loglik(same[0], fin))
    samples = np.array([[1, 11, 2], [12, 1, 2]])
    # P(top10) = (0.5, 0.5, 1.0) vs actual (1, 0, 1): ((0.5)^2 + 0.5^2 + 0) / 3.
    assert bt.brier_top10(samples, np.array([3, 12, 4])) == pytest.approx(0.5 / 3)


def test_crps_and_coverage():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 1))
    # CRPS of N(0, 1) at 0 is (sqrt(2) - 1) / sqrt(pi) = 0.2337.
    assert bt.crps_samples(x, np.array([0.0]))[0] == pytest.approx(0.2337, abs=0.01)
    # Point mass: CRPS = |x - y|.
    assert bt.crps_samples(np.full((10, 1), 3.0), np.array([1.0]))[0] == pytest.approx(2.0)
    y = rng.normal(size=(1, 4000))
    xs = rng.normal(size=(4000, 4000)).astype(np.float32)
    assert bt.coverage(xs, y[0], 0.9).mean() == pytest.approx(0.9, abs=0.02)


def test_summarize_pools_coverage():
    per_race = pd.DataFrame(
        [
            {
                "method": "model",
                "drivers": 10,
                "order_loglik": -50.0,
                "brier_top10": 0.1,
                "crps_dk": 9.0,
                "cover50": 0.4,
                "cover90": 0.9,
            },
            {
                "method": "model",
                "drivers": 30,
                "order_loglik": -70.0,
                "brier_top10": 0.2,
                "crps_dk": 11.0,
                "cover50": 0.6,
                "cover90": 0.8,
            },
            {
                "method": "uniform",
                "drivers": 10,
                "order_loglik": -60.0,
                "brier_top10": 0.3,
                "crps_dk": 12.0,
                "cover50": 0.5,
                "cover90": 0.9,
            },
        ]
    )
    t = bt.summarize(per_race).set_index("method")
    assert t.loc["model", "order_loglik_per_race"] == -60.0
    assert t.loc["model", "cover50_pct"] == pytest.approx(55.0)
    assert list(t.index) == ["model", "uniform"]
