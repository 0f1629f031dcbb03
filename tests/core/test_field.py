"""The realistic contest field (core/field.py) and honest ROI (core/honest_roi.py)."""

import numpy as np
import pytest

from nascar_pipeline.core.contest import default_gpp_payouts, simulate_contest
from nascar_pipeline.core.field import FieldParams, build_field, field_stats
from nascar_pipeline.core.field_calibration import contest_band, dk_points_scenarios
from nascar_pipeline.core.honest_roi import honest_contest, perturb_points
from nascar_pipeline.core.optimize import validate_lineups

CAP = 50_000
FAST = FieldParams(pool_size=6_000)


def _slate(seed=3, D=36):
    """A DraftKings-like slate: salaries $4,500-$11,000, ownership rising with salary and value."""
    rng = np.random.default_rng(seed)
    sal = np.sort(rng.integers(45, 111, size=D))[::-1] * 100
    proj = sal / 1000 * 4.2 + rng.normal(0, 5, D)
    base = np.exp(proj / 25.0)

    def own_for(k):  # ownership tilted by salary^k, at most 60 %
        o = base * (sal / 1000.0) ** k
        return np.minimum(o / o.sum() * 600, 60)

    # the tilt at which an average lineup costs $49,300, as in real fields
    ks = np.linspace(-6.0, 6.0, 1201)
    k = ks[np.argmin([abs((own_for(k) / 100 * sal).sum() - 49_300) for k in ks])]
    own = own_for(k)
    return sal.astype(float), proj, own


def test_normal_slate_matches_ownership_and_spends_the_cap():
    sal, proj, own = _slate()
    fb = build_field(
        own,
        sal,
        6,
        CAP,
        3000,
        field_min_salary=46_000,
        projections=proj,
        rng=np.random.default_rng(0),
        params=FAST,
    )
    assert validate_lineups(fb.lineups, sal, 6, CAP, min_salary=46_000) == []
    st = field_stats(fb.lineups, sal, target=own)
    assert st["own_mae"] < 2.5, st  # percentage points, vs the input ownership
    assert 48_800 <= st["salary_median"] <= 49_800, st
    assert st["share_below_47k"] < 0.08, st
    assert fb.warnings == [] or all("tempered" not in w for w in fb.warnings)


def test_duplicates_at_a_plausible_rate():
    sal, proj, own = _slate()
    fb = build_field(
        own, sal, 6, CAP, 3000, projections=proj, rng=np.random.default_rng(1), params=FAST
    )
    st = field_stats(fb.lineups, sal)
    # the optimizer users' share: the configured one, or less where their lineups would own a
    # driver beyond OPTIMIZER_ROOM of his target (here the projections disagree with ownership)
    share = fb.diagnostics["optimizer_share"]
    assert 0.05 <= share <= FAST.optimizer_share
    assert fb.n_optimizer == round(share * 3000)
    # popular lineups repeat, but most of the field is not one lineup
    assert st["max_copies"] >= 10
    assert 0.2 <= st["unique_share"] <= 0.95, st


def test_degenerate_ownership_still_gets_a_field_with_a_warning():
    sal, proj, own = _slate()
    bad = np.full(sal.size, 1.0)
    cheapest = np.argsort(sal)[:5]
    bad[cheapest] = [79, 50, 50, 50, 50]  # the Indianapolis failure: back-markers at tens of %
    names = [f"Driver {i}" for i in range(sal.size)]
    fb = build_field(
        bad,
        sal,
        6,
        CAP,
        2000,
        field_min_salary=46_000,
        projections=proj,
        names=names,
        rng=np.random.default_rng(2),
        params=FAST,
    )
    assert fb.lineups.shape == (2000, 6)
    assert validate_lineups(fb.lineups, sal, 6, CAP, min_salary=fb.floor_used) == []
    assert any("tempered" in w for w in fb.warnings), fb.warnings
    assert any(f"Driver {cheapest[0]}" in w for w in fb.warnings)
    assert np.median(sal[fb.lineups].sum(axis=1)) >= 48_000


def test_infeasible_floor_is_lowered_with_a_warning():
    sal = np.linspace(4_500, 7_000, 30).round(-2)  # the dearest six cost $41,000
    own = np.full(30, 20.0)
    fb = build_field(
        own, sal, 6, CAP, 500, field_min_salary=46_000, rng=np.random.default_rng(3), params=FAST
    )
    assert fb.floor_used < 46_000
    assert any("field_min_salary" in w for w in fb.warnings)
    assert validate_lineups(fb.lineups, sal, 6, CAP, min_salary=fb.floor_used) == []


def test_deterministic_for_a_seed():
    sal, proj, own = _slate()
    a = build_field(
        own, sal, 6, CAP, 800, projections=proj, rng=np.random.default_rng(9), params=FAST
    )
    b = build_field(
        own, sal, 6, CAP, 800, projections=proj, rng=np.random.default_rng(9), params=FAST
    )
    np.testing.assert_array_equal(a.lineups, b.lineups)
    assert a.warnings == b.warnings


def test_contest_band_and_scenarios():
    sal, proj, own = _slate()
    rng = np.random.default_rng(4)
    pts = dk_points_scenarios(proj, np.arange(1, sal.size + 1), 200, 50, rng)
    assert pts.shape == (50, sal.size)
    fb = build_field(own, sal, 6, CAP, 400, projections=proj, rng=rng, params=FAST)
    band = contest_band(pts, fb.lineups)
    assert np.all(band.win >= band.p80)
    out = band.inside(float(np.median(band.win)), float(np.median(band.p80)))
    assert out["win_inside"] and out["p80_inside"]


def test_honest_roi_is_below_the_roi_on_the_portfolio_own_scenarios():
    sal, proj, own = _slate()
    rng = np.random.default_rng(5)
    pts = dk_points_scenarios(proj, np.arange(1, sal.size + 1), 200, 400, rng)
    field = build_field(own, sal, 6, CAP, 1000, projections=proj, rng=rng, params=FAST).lineups
    # a portfolio picked for its mean score on these very scenarios (over-fitted to them)
    cand = np.unique(field, axis=0)
    best = cand[np.argsort(-pts.mean(axis=0)[cand].sum(axis=1))[:10]]
    table = default_gpp_payouts(1010, 20.0)
    raw = simulate_contest(pts, best, field, table).summary()["portfolio"]["roi"]
    honest = honest_contest(
        pts, best, field, table, np.random.default_rng(6), error_sd=15.0, shrink=0.5, salaries=sal
    ).summary()["portfolio"]["roi"]
    assert honest < raw
    p = perturb_points(pts, np.random.default_rng(0), error_sd=0.0)
    np.testing.assert_allclose(p, pts, atol=1e-4)
    with pytest.raises(ValueError):
        perturb_points(pts, rng, shrink=0.5)


def test_default_field_path_never_fails_on_all_weight_on_min_price_drivers():
    """core/slate.py draw_field (the default field of every asset): the whole ownership on the
    six cheapest drivers (their lineup is far under the floor) still gets a DraftKings-valid
    field, every adjustment a warning, the first naming the setting and its floor."""
    from nascar_pipeline.core.slate import draw_field

    sal, _, _ = _slate()
    own = np.zeros(sal.size)
    own[np.argsort(sal)[:6]] = 100.0  # 600 % on the six cheapest: one $27,000-$30,000 lineup
    setting = "contest_simulation run config field_min_salary"
    drawn = draw_field(own, sal, 1500, 46_000, np.random.default_rng(8), setting=setting)
    L = drawn.lineups
    assert L.shape == (1500, 6)
    assert validate_lineups(L, sal, 6, CAP) == []  # 6 distinct drivers under the $50,000 cap
    assert drawn.warnings[0].startswith(f"the field under {setting} 46,000")
    assert any("tempered" in w for w in drawn.warnings[1:]), drawn.warnings
    assert np.median(sal[L].sum(axis=1)) >= 47_000  # spent like a real field, not like the input


def test_field_model_is_cached_and_independent_of_the_callers_generator():
    """The fitted model (pool, weights, warnings) is a pure function of the inputs: a second
    build reuses it, whatever generator the caller passes; only the drawn entries differ."""
    from nascar_pipeline.core.field import field_model

    sal, proj, own = _slate()
    a = build_field(own, sal, 6, CAP, 500, rng=np.random.default_rng(1), params=FAST)
    m = field_model(own, sal, 6, CAP, params=FAST)
    assert field_model(own, sal, 6, CAP, params=FAST) is m
    b = build_field(own, sal, 6, CAP, 500, rng=np.random.default_rng(2), params=FAST)
    np.testing.assert_array_equal(a.target_ownership, b.target_ownership)
    assert not np.array_equal(a.lineups, b.lineups)
    with pytest.raises(ValueError):
        m.pool[0, 0] = 1  # the cached model is read-only


def test_threads_that_miss_together_fit_the_field_model_once(monkeypatch):
    """Contests searched in threads ask for the same slate's model at once: one fits it, the
    others wait for it (no repeated fit)."""
    import threading
    import time
    from collections import OrderedDict

    from nascar_pipeline.core import field

    monkeypatch.setattr(field, "_MODEL_CACHE", OrderedDict())
    fits = []

    def slow_fit(*args):
        fits.append(args)
        time.sleep(0.2)  # long enough for every thread to miss the cache meanwhile
        return object()

    monkeypatch.setattr(field, "_fit_model", slow_fit)
    sal, proj, own = _slate()
    start = threading.Barrier(4)
    got = [None] * 4

    def ask(i):
        start.wait()
        got[i] = field.field_model(own, sal, 6, CAP, params=FAST)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(fits) == 1
    assert all(m is got[0] for m in got) and got[0] is not None
    assert not field._FITTING  # nothing left behind for the next slate
