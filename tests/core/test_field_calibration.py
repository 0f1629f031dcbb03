"""The stand-in for the model's scenarios on real slates (core/field_calibration.py)."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core import rules
from nascar_pipeline.core.field_calibration import (
    OFF_SCRIPT_GRID,
    _crossing,
    fit_stand_in,
    race_pools,
    race_shape,
    race_total_points,
    top_scores,
)


def _history(n_races=12, D=24, laps=90, seed=0):
    """Road-course-like history: finish follows the grid loosely, the leader leads most laps,
    a few retire."""
    rng = np.random.default_rng(seed)
    rows, races = [], []
    for r in range(n_races):
        start = rng.permutation(D) + 1
        finish = np.argsort(np.argsort(start + rng.normal(0, 8, D))) + 1
        led = np.zeros(D)
        led[np.argmin(finish)] = laps * 0.6
        led[np.argmin(start)] += laps * 0.4
        fast = np.round(rng.dirichlet(np.full(D, 0.3)) * laps * 0.8)
        status = np.where(rng.random(D) < 0.1, "accident", "running")
        for i in range(D):
            rows.append((r, i, start[i], finish[i], led[i], fast[i], status[i]))
        races.append((r, laps, "road"))
    res = pd.DataFrame(
        rows,
        columns=[
            "race_id",
            "driver_id",
            "start_position",
            "finish_position",
            "laps_led",
            "fastest_laps",
            "status",
        ],
    )
    return res, pd.DataFrame(races, columns=["race_id", "laps", "track_type"])


def test_pools_cover_every_cell_and_measure_the_races():
    res, races = _history()
    p = race_pools(res, races, "road")
    assert (p.cell_count > 0).all()
    assert p.n_races == 12 and 0.0 < p.dnf_rate < 0.3
    assert 0.2 < p.order_corr < 0.9
    assert np.all((p.fast_total > 0.5) & (p.fast_total < 1.0))
    with pytest.raises(ValueError):
        race_pools(res, races, "superspeedway")


def test_stand_in_scales_to_the_race_total_and_matches_the_means():
    res, races = _history()
    pools = race_pools(res, races, "road")
    D, laps = 24, 90
    proj = np.linspace(44, 26, D)  # inflated like a vendor's: more than a race pays out
    start = np.arange(1, D + 1)
    si = fit_stand_in(proj, start, laps, pools, np.random.default_rng(1), off_script=0.0)
    total = race_total_points(D, laps, pools)
    assert si.scale == pytest.approx(total / proj.sum()) and si.scale < 1
    mid = slice(2, D - 2)  # the extremes may be out of reach (documented)
    np.testing.assert_allclose(si.reached[mid], si.target[mid], atol=2.5)
    si = fit_stand_in(proj, start, laps, pools, np.random.default_rng(1))
    assert min(OFF_SCRIPT_GRID) <= si.off_script <= max(OFF_SCRIPT_GRID)
    sc = si.scenarios(300, np.random.default_rng(2))
    assert sc.points.shape == (300, D)
    # place differentials cancel: every race pays the finishing points, the laps and its fast laps
    fin = rules.dk_finish_points(np.arange(1, D + 1)).sum()
    paid = fin + 0.25 * sc.laps_led.sum(1) + 0.45 * sc.fastest_laps.sum(1)
    np.testing.assert_allclose(sc.points.sum(1), paid, atol=0.05 * D)
    assert np.all(np.abs(sc.laps_led.sum(1) - laps) <= D / 2)
    # the off-script share is interpolated to the real start-finish correlation (loosely here;
    # test_off_script_share_interpolates... checks it closely)
    shape = race_shape(sc.points, sc.finish, start, sc.laps_led, sc.fastest_laps, laps)
    assert abs(shape["corr"] - pools.order_corr) < 0.12


def test_race_shape_of_one_real_like_race_without_fastest_laps():
    start = np.array([3, 1, 2, 4])
    finish = np.array([1, 2, 3, 4])
    led = np.array([60, 30, 0, 0])
    pts = rules.draftkings_points(start, finish, led, np.zeros(4))
    s = race_shape(pts, finish, start, led, np.zeros(4), 90)
    assert s["pts_max"] == pytest.approx(pts.max())
    assert s["led_1st"] == pytest.approx(60 / 90)
    assert s["led_n"] == 2
    assert np.isnan(s["fast_1st"])  # no fastest laps: nothing to share, no warning


def test_top_scores_sum_the_best_per_race():
    pts = np.array([[10.0, 50.0, 30.0, 20.0], [5.0, 1.0, 2.0, 70.0]])
    t = top_scores(pts, ks=(1, 2, 3))
    np.testing.assert_allclose(t["top1"], [50.0, 70.0])
    np.testing.assert_allclose(t["top2"], [80.0, 75.0])
    np.testing.assert_allclose(t["top3"], [100.0, 77.0])
    assert top_scores(pts[0])["top1"].shape == (1,)  # one race as a vector


def test_stand_in_keeps_a_real_race_concentration_of_laps_led():
    """In every real race of _history one driver leads 60 % or more of the laps (the winner 60 %,
    the pole sitter 40 %, both one car when the pole sitter wins) and at most two lead: drawing
    each driver's share on its own and normalizing spread the laps over many leaders."""
    res, races = _history()
    pools = race_pools(res, races, "road")
    D, laps = 24, 90
    si = fit_stand_in(
        np.linspace(44, 26, D),
        np.arange(1, D + 1),
        laps,
        pools,
        np.random.default_rng(1),
        off_script=0.1,
    )
    sc = si.scenarios(400, np.random.default_rng(2))
    lead = np.sort(sc.laps_led, axis=1)[:, ::-1]
    assert lead[:, 0].min() >= 0.6 * laps - 1
    assert ((sc.laps_led > 0).sum(axis=1) <= 2).all()
    np.testing.assert_allclose(sc.laps_led.sum(axis=1), laps, atol=1)
    # fastest laps: each scenario's total is one real race's (up to rounding)
    real = pools.fast_total * laps
    assert np.abs(sc.fastest_laps.sum(axis=1)[:, None] - real[None, :]).min(axis=1).max() <= D / 2


def test_off_script_share_interpolates_the_real_correlation():
    grid = np.array([0.0, 0.1, 0.2, 0.4])
    corr = np.array([0.7, 0.6, 0.5, 0.3])  # falls with the share
    assert _crossing(grid, corr, 0.55) == pytest.approx(0.15)
    assert _crossing(grid, corr, 0.4) == pytest.approx(0.3)
    assert _crossing(grid, corr, 0.9) == 0.0  # not bracketed: the nearest end
    assert _crossing(grid, corr, 0.1) == 0.4


def test_stand_in_gives_the_dominator_his_fastest_laps_too():
    """In every real race here the driver who leads most laps (a random top-10 finisher, 70 %
    of the laps) also sets most fastest laps (50 % of the laps; nobody else more than 28 %):
    the stand-in hands out each real driver's (laps led, fastest laps) pair together, so its
    leader of most laps has the most fastest laps in every race."""
    res, races = _history()
    rng = np.random.default_rng(3)
    laps = 90
    for _, d in res.groupby("race_id"):
        idx = d.index.to_numpy()
        top10 = idx[d["finish_position"].to_numpy() <= 10]
        lead, second = rng.choice(top10, 2, replace=False)
        res.loc[idx, "laps_led"] = 0.0
        res.loc[idx, "fastest_laps"] = np.round(rng.dirichlet(np.full(len(idx), 0.5)) * 0.28 * laps)
        res.loc[[lead, second], "laps_led"] = [0.7 * laps, 0.3 * laps]
        res.loc[[lead, second], "fastest_laps"] = [0.5 * laps, 0.02 * laps]
    pools = race_pools(res, races, "road")
    D = 24
    si = fit_stand_in(
        np.linspace(44, 26, D),
        np.arange(1, D + 1),
        laps,
        pools,
        np.random.default_rng(1),
        off_script=0.1,
    )
    sc = si.scenarios(400, np.random.default_rng(2))
    S = np.arange(400)
    top_led = np.argmax(sc.laps_led, axis=1)
    assert (sc.fastest_laps[S, top_led] == sc.fastest_laps.max(axis=1)).all()
