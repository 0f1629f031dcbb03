"""Exact optimizer: brute-force agreement, cap and roster, locks, excludes, exposures, overlap."""

from __future__ import annotations

import numpy as np
import pytest

from nascar_pipeline.core.optimize import (
    InfeasibleError,
    brute_force_lineups,
    optimize_lineups,
    validate_lineups,
)


def _pool(n=12, seed=0):
    rng = np.random.default_rng(seed)
    sal = rng.integers(45, 120, size=n) * 100
    pts = np.round(sal / 1000 * 4.5 + rng.normal(0, 6, size=n), 2)
    return pts, sal


@pytest.mark.parametrize("method", ["milp", "enumerate"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_k_best_equals_brute_force(seed, method):
    pts, sal = _pool(seed=seed)
    k = 25
    ours = optimize_lineups(pts, sal, 6, 50_000, k=k, method=method)
    brute = brute_force_lineups(pts, sal, 6, 50_000, k=k)
    assert len(ours.lineups) == k
    np.testing.assert_allclose(ours.objective, brute.objective, atol=1e-6)
    assert len({tuple(r) for r in ours.lineups.tolist()}) == k
    assert validate_lineups(ours.lineups, sal, 6, 50_000) == []


@pytest.mark.parametrize("method", ["milp", "enumerate"])
def test_locks_excludes_floor_match_brute_force(method):
    pts, sal = _pool(seed=3)
    kw = dict(locks=[2], excludes=[int(np.argmax(pts))], min_salary=47_000)
    ours = optimize_lineups(pts, sal, 6, 50_000, k=10, method=method, **kw)
    brute = brute_force_lineups(pts, sal, 6, 50_000, k=10, **kw)
    np.testing.assert_allclose(ours.objective, brute.objective, atol=1e-6)
    assert all(2 in r for r in ours.lineups.tolist())
    assert all(int(np.argmax(pts)) not in r for r in ours.lineups.tolist())
    assert validate_lineups(ours.lineups, sal, 6, 50_000, min_salary=47_000) == []


@pytest.mark.parametrize("method", ["milp", "enumerate"])
def test_exposure_and_overlap_honored(method):
    pts, sal = _pool(n=20, seed=4)
    k = 20
    res = optimize_lineups(pts, sal, 6, 50_000, k=k, max_exposure=0.5, max_shared=3, method=method)
    L = res.lineups
    assert validate_lineups(L, sal, 6, 50_000) == []
    counts = np.bincount(L.ravel(), minlength=20)
    assert counts.max() <= 0.5 * k
    for i in range(len(L)):
        for j in range(i):
            assert len(set(L[i]) & set(L[j])) <= 3
    # the first lineup is still the true optimum
    assert res.objective[0] == pytest.approx(brute_force_lineups(pts, sal, 6, 50_000).objective[0])


def test_milp_and_enumeration_agree_under_overlap():
    pts, sal = _pool(n=16, seed=6)
    kw = dict(k=15, max_shared=2, max_exposure=0.6)
    a = optimize_lineups(pts, sal, 6, 50_000, method="milp", **kw)
    b = optimize_lineups(pts, sal, 6, 50_000, method="enumerate", **kw)
    np.testing.assert_allclose(a.objective, b.objective, atol=1e-6)


def test_fanduel_roster_and_infeasible():
    pts, sal = _pool(seed=5)
    res = optimize_lineups(pts, sal, 5, 50_000, k=5)
    assert res.lineups.shape == (5, 5)
    assert validate_lineups(res.lineups, sal, 5, 50_000) == []
    for method in ("milp", "enumerate"):
        with pytest.raises(InfeasibleError):
            optimize_lineups(pts, sal, 6, 50_000, min_salary=10**7, method=method)


def test_stops_when_pool_exhausted():
    pts = np.arange(7, dtype=float)
    sal = np.full(7, 5000)
    for method in ("milp", "enumerate"):
        res = optimize_lineups(pts, sal, 6, 50_000, k=10, method=method)
        assert len(res.lineups) == 7 and res.stopped_early


def test_milp_waits_for_the_solver_lock():
    """Every MILP solve takes SOLVER_LOCK (HiGHS is not safe for solves side by side in threads):
    one held elsewhere holds it back; the lock is re-entrant, so a holder's own solve runs."""
    import threading

    from nascar_pipeline.core.highs_banner import SOLVER_LOCK

    pts, sal = _pool()
    done = threading.Event()

    def solve():
        optimize_lineups(pts, sal, 6, 50_000, k=2, method="milp")
        done.set()

    with SOLVER_LOCK:
        optimize_lineups(pts, sal, 6, 50_000, k=2, method="milp")  # re-entrant: no deadlock
        worker = threading.Thread(target=solve)
        worker.start()
        assert not done.wait(0.3)  # held back while another thread solves
    worker.join(30)
    assert done.is_set()
