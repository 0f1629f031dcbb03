"""Ownership projections: totals, bounds, overrides, the exact optimal-lineup DP, fitting, real slates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.optimize import brute_force_lineups
from nascar_pipeline.core.ownership import (
    feature_matrix,
    fit_ownership_model,
    model_ownership,
    normalize_ownership,
    optimal_lineups_dp,
    project_ownership,
    spearman,
)


def _slate(n=36, seed=0):
    rng = np.random.default_rng(seed)
    sal = np.sort(rng.integers(45, 140, size=n))[::-1] * 100
    proj = sal / 1000 * 4.2 + rng.normal(0, 5, size=n)
    start = rng.permutation(n) + 1
    return sal, proj, start


def test_totals_and_bounds_draftkings_and_fanduel():
    sal, proj, start = _slate()
    rng = np.random.default_rng(0)
    pts = proj[None, :] + rng.normal(0, 12, size=(300, len(proj)))
    for roster in (6, 5):
        r = project_ownership(sal, proj, roster, 50_000, start_position=start, points=pts)
        assert r.ownership.sum() == pytest.approx(100.0 * roster)
        assert r.ownership.min() >= 0 and r.ownership.max() <= 100.0 + 1e-9
        assert r.optimal.sum() == pytest.approx(100.0 * roster)
        assert r.model.sum() == pytest.approx(100.0 * roster)


def test_cap_at_100_water_fills():
    x = np.array([1000.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    out = normalize_ownership(x, 600.0)
    assert out[0] == pytest.approx(100.0)
    assert out.sum() == pytest.approx(600.0) and out.max() <= 100.0 + 1e-9
    # steep model: several drivers capped
    steep = model_ownership(feature_matrix(*_slate()[:2]), {"projection": 8.0})
    assert steep.max() == pytest.approx(100.0) and steep.sum() == pytest.approx(600.0)


def test_overrides_pin_and_renormalize():
    sal, proj, start = _slate()
    r = project_ownership(sal, proj, 6, 50_000, overrides={0: 0.0, 5: 55.0})
    assert r.ownership[0] == 0.0 and r.ownership[5] == 55.0
    assert r.ownership.sum() == pytest.approx(600.0)
    with pytest.raises(ValueError):
        project_ownership(sal, proj, 6, 50_000, overrides={0: 120.0})


def test_optimal_lineup_dp_matches_brute_force():
    rng = np.random.default_rng(3)
    sal = rng.integers(45, 120, size=12) * 100
    pts = rng.normal(30, 15, size=(40, 12))
    L = optimal_lineups_dp(pts, sal, 6, 50_000)
    for s in range(40):
        best = brute_force_lineups(pts[s], sal, 6, 50_000).objective[0]
        assert pts[s][L[s]].sum() == pytest.approx(best)
        assert sal[L[s]].sum() <= 50_000 and len(set(L[s])) == 6


def test_fit_recovers_coefficients():
    truth = {"projection": 1.2, "value": 0.3, "salary": 0.2, "start_position": 0.0, "form": 0.0}
    slates = []
    for seed in range(8):
        sal, proj, start = _slate(seed=seed)
        X = feature_matrix(sal, proj, start)
        eta = X @ np.array(
            [truth[k] for k in ("projection", "value", "salary", "start_position", "form")]
        )
        w = np.exp(eta - eta.max())
        slates.append((X, 600 * w / w.sum()))
    fitted = fit_ownership_model(slates, ridge=1e-4)
    assert fitted["projection"] == pytest.approx(1.2, abs=0.1)


def test_real_slates_rank_agreement(shared_data):
    df = pd.read_csv(shared_data / "draftkings" / "slates_2026.csv")
    assert df["slate"].nunique() == 6
    for _, g in df.groupby("slate"):
        r = project_ownership(g.salary.values, g.proj_points.values, 6, 50_000)
        assert r.ownership.sum() == pytest.approx(600.0)
        assert spearman(r.ownership, g.proj_own.values) > 0.7


def test_per_driver_caps_water_fill_and_overrides_may_exceed_them():
    caps = np.array([25.0, 25.0, 50.0, 50.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0])
    x = np.array([100.0, 100.0, 1, 1, 1, 1, 1, 1, 1, 1])
    out = normalize_ownership(x, 600.0, caps)
    assert out[:2] == pytest.approx([25.0, 25.0])
    assert out.sum() == pytest.approx(600.0) and (out <= caps + 1e-9).all()
    pinned = normalize_ownership(x, 600.0, caps, fixed={0: 60.0})
    assert pinned[0] == 60.0 and pinned.sum() == pytest.approx(600.0)
    with pytest.raises(ValueError, match="within their caps"):
        normalize_ownership(x, 600.0, np.full(10, 50.0))
