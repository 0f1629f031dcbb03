"""Contest simulation: a hand-computed tiny contest, ties, duplicates, field validity, chunking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nascar_pipeline.core.contest import (
    default_gpp_payouts,
    duplicate_counts,
    generate_field,
    payout_rows,
    payout_table_from_json,
    simulate_contest,
)
from nascar_pipeline.core.optimize import validate_lineups

PAYOUTS = json.dumps(
    [
        {"min_place": 1, "max_place": 1, "prize": 100.0},
        {"min_place": 2, "max_place": 2, "prize": 50.0},
        {"min_place": 3, "max_place": 3, "prize": 20.0},
    ]
)


def _tiny():
    # 4 drivers, 2-driver lineups, 2 scenarios
    points = np.array([[10.0, 20.0, 30.0, 5.0], [30.0, 10.0, 10.0, 10.0]], dtype=np.float32)
    ours = np.array([[0, 1], [0, 2], [1, 2]])  # A, B, C
    field = np.array([[0, 3], [1, 3]])  # f1, f2
    return points, ours, field


def test_hand_computed_tiny_contest():
    points, ours, field = _tiny()
    table = payout_table_from_json(PAYOUTS, entry_fee=10.0)
    res = simulate_contest(points, ours, field, table)
    # scenario 0: A 30, B 40, C 50, f1 15, f2 25 -> C 1st (100), B 2nd (50), A 3rd (20)
    # scenario 1: A 40, B 40, C 20, f1 40, f2 20 -> A, B, f1 tie for 1st-3rd: (100+50+20)/3 each;
    #             C and f2 tie for 4th-5th: 0
    split = 170.0 / 3.0
    np.testing.assert_allclose(res.payout, [[20.0, 50.0, 100.0], [split, split, 0.0]])
    np.testing.assert_allclose(res.rank, [[3.0, 2.0, 1.0], [2.0, 2.0, 4.5]])
    s = res.summary()
    per = s["per_lineup"]
    np.testing.assert_allclose(
        per["roi"], [(20 + split) / 2 / 10 - 1, (50 + split) / 2 / 10 - 1, 4.0]
    )
    np.testing.assert_allclose(per["cash_pct"], [100.0, 100.0, 50.0])
    np.testing.assert_allclose(per["win_pct"], [50.0, 50.0, 50.0])  # a shared first place counts
    np.testing.assert_allclose(per["top1_pct"], [50.0, 50.0, 50.0])  # top 1 % of 5 = place 1
    np.testing.assert_allclose(per["mean_rank"], [2.5, 2.0, 2.75])
    np.testing.assert_array_equal(per["sim_duplicates"], [0, 0, 0])
    port = s["portfolio"]
    assert port["total_cost"] == 30.0
    assert port["mean_total_payout"] == pytest.approx((170 + 2 * split) / 2)
    np.testing.assert_allclose(s["roi_distribution"], [170 / 30 - 1, 2 * split / 30 - 1])


def test_duplicates_tie_and_split():
    points, ours, _ = _tiny()
    field = np.array([[2, 1], [1, 2], [0, 3]])  # two copies of our lineup C (order-free)
    table = payout_table_from_json(PAYOUTS, entry_fee=10.0)
    res = simulate_contest(points, ours, field, table)
    np.testing.assert_array_equal(res.duplicates, [0, 0, 2])
    # scenario 0: C (50) ties with 2 field copies for places 1-3
    assert res.payout[0, 2] == pytest.approx(170.0 / 3.0)
    assert duplicate_counts(np.array([[3, 0]]), field).tolist() == [1]


@pytest.mark.parametrize("step", [0.01, 0.05])  # 0.05: counting path; 0.01: sorting path
def test_chunking_does_not_change_results(step):
    rng = np.random.default_rng(1)
    pts = (np.round(rng.normal(30, 15, size=(301, 30)) / step) * step).astype(np.float32)
    sal = rng.integers(50, 110, size=30) * 100
    own = rng.uniform(1, 40, size=30)
    field = generate_field(own, sal, 6, 50_000, 500, min_salary=45_000, rng=rng)
    ours = field[:7]
    table = default_gpp_payouts(507, 5.0)
    a = simulate_contest(pts, ours, field, table, chunk_elems=10**8)
    b = simulate_contest(pts, ours, field, table, chunk_elems=2_000)
    np.testing.assert_allclose(a.payout, b.payout)
    np.testing.assert_array_equal(a.better, b.better)
    # brute-force ranks for a few scenarios
    P = pts.astype(np.float64)
    for s in range(5):
        all_scores = np.concatenate(
            [np.round(P[s][field].sum(1), 4), np.round(P[s][ours].sum(1), 4)]
        )
        for i in range(len(ours)):
            x = np.round(P[s][ours[i]].sum(), 4)
            assert a.better[s, i] == int((all_scores > x + 1e-6).sum())
            assert a.tied[s, i] == int((np.abs(all_scores - x) <= 1e-6).sum())


def test_field_valid_and_follows_ownership():
    rng = np.random.default_rng(2)
    sal = rng.integers(45, 115, size=36) * 100
    own = rng.gamma(1.5, 1.0, size=36)
    own = own / own.sum() * 600
    own = np.minimum(own, 90)
    field = generate_field(own, sal, 6, 50_000, 4000, min_salary=48_000, rng=rng)
    assert validate_lineups(field, sal, 6, 50_000, min_salary=48_000) == []
    realized = np.bincount(field.ravel(), minlength=36) / len(field) * 100
    # calibrated toward the projection (the cap and the floor make an exact match impossible)
    assert np.corrcoef(realized, own)[0, 1] > 0.9


def test_default_payouts_shape():
    t = default_gpp_payouts(10_000, 20.0)
    assert t.source == "default"
    assert np.all(np.diff(t.prizes) <= 0)
    assert t.total <= 0.85 * 20 * 10_000 + 1e-6
    assert t.prizes.size == 2200 and t.prizes[-1] >= 30.0
    rows = payout_rows(t)
    again = payout_table_from_json(rows, 20.0)
    np.testing.assert_allclose(again.prizes, t.prizes)


# ----------------------------------------------------------------------------- streamed == reference


def _reference_contest(points, ours, field, table):
    """Unstreamed reference: every entry scored in every scenario (1e-4 quantized sums, as the
    contest's conventions say), ranks and tie splits counted directly, duplicates kept as rows."""
    P = np.round(np.asarray(points, dtype=np.float64) * 10_000.0)
    scores = np.concatenate([P[:, field].sum(axis=2), P[:, ours].sum(axis=2)], axis=1)
    mine = P[:, ours].sum(axis=2)
    better = (scores[:, None, :] > mine[:, :, None]).sum(axis=2)
    tied = (scores[:, None, :] == mine[:, :, None]).sum(axis=2)
    cum = table.prize_cumsum(scores.shape[1])
    payout = np.array(
        [
            [(cum[b + t] - cum[b]) / t for b, t in zip(br, tr, strict=True)]
            for br, tr in zip(better, tied, strict=True)
        ]
    )
    return better, tied, payout


def _tied_world(step, rng):
    """Points on a coarse grid (many ties), a field full of duplicates (also of our lineups, driver
    order shuffled), negative points included."""
    D, R = 12, 4
    pts = (rng.integers(-4, 12, size=(157, D)) * step).astype(np.float32)
    base = np.array([rng.choice(D, R, replace=False) for _ in range(25)])
    ours = base[:9]
    field = base[rng.integers(0, len(base), size=400)]
    field = np.array([rng.permutation(row) for row in field])
    return pts, ours, field


def _count_calls(monkeypatch, name):
    from nascar_pipeline.core import contest_ranks

    calls = []
    real = getattr(contest_ranks, name)

    def counted(*args):
        calls.append(args[1:3])
        return real(*args)

    monkeypatch.setattr(contest_ranks, name, counted)
    return calls


@pytest.mark.parametrize("step", [0.05, 0.01, 1.0])  # DraftKings grid, a finer grid, whole points
def test_streamed_equals_reference_with_ties_and_duplicates(step, monkeypatch):
    chunks = _count_calls(monkeypatch, "_hist_chunk")
    rng = np.random.default_rng(7)
    pts, ours, field = _tied_world(step, rng)
    table = default_gpp_payouts(len(field) + len(ours), 5.0)
    better, tied, payout = _reference_contest(pts, ours, field, table)
    assert (tied > 1).mean() > 0.5  # the ties are really there
    assert duplicate_counts(ours, field).min() > 0  # and our lineups are duplicated in the field
    for chunk_elems, workers in [(None, 1), (None, 2), (10_000, 2), (40, 1), (10**9, 2)]:
        res = simulate_contest(pts, ours, field, table, chunk_elems=chunk_elems, workers=workers)
        np.testing.assert_array_equal(res.better, better)
        np.testing.assert_array_equal(res.tied, tied)
        np.testing.assert_array_equal(res.payout, payout)
        np.testing.assert_array_equal(res.rank, better + (tied + 1) / 2.0)
    assert len(chunks) > 10  # the histogram path, over many chunks (chunk_elems=40: one each)


def test_streamed_equals_reference_on_a_fine_grid(monkeypatch):
    # points not on a coarse grid: score ranges too wide for a histogram, the sorting path
    chunks = _count_calls(monkeypatch, "_sorted_chunk")
    rng = np.random.default_rng(8)
    _, ours, field = _tied_world(0.05, rng)
    pts = rng.normal(20, 15, size=(61, 12)).astype(np.float32)
    pts[:, 3] = pts[:, 5]  # still some exact ties between lineups
    table = default_gpp_payouts(len(field) + len(ours), 5.0)
    better, tied, payout = _reference_contest(pts, ours, field, table)
    for workers in (1, 2):
        res = simulate_contest(pts, ours, field, table, chunk_elems=5_000, workers=workers)
        np.testing.assert_array_equal(res.better, better)
        np.testing.assert_array_equal(res.tied, tied)
        np.testing.assert_array_equal(res.payout, payout)
    assert len(chunks) > 2


def test_streamed_without_a_field():
    rng = np.random.default_rng(9)
    pts, ours, _ = _tied_world(0.05, rng)
    empty = np.zeros((0, ours.shape[1]), dtype=np.int64)
    table = default_gpp_payouts(len(ours), 5.0)
    better, tied, payout = _reference_contest(pts, ours, empty, table)
    res = simulate_contest(pts, ours, empty, table)
    np.testing.assert_array_equal(res.better, better)
    np.testing.assert_array_equal(res.tied, tied)
    np.testing.assert_array_equal(res.payout, payout)


def test_streamed_exact_at_the_top_of_the_float32_range(monkeypatch):
    # whole 1e-4 points spread so wide that a scenario needs about 1e6 histogram bins: chunks are
    # capped so that the product's values stay below 2**24, where float32 is still exact
    chunks = _count_calls(monkeypatch, "_hist_chunk")
    rng = np.random.default_rng(10)
    _, ours, field = _tied_world(0.05, rng)
    pts = rng.integers(-60_000, 190_000, size=(40, 12)) / 10_000.0
    pts[:, 3] = pts[:, 5]
    table = default_gpp_payouts(len(field) + len(ours), 5.0)
    better, tied, payout = _reference_contest(pts, ours, field, table)
    res = simulate_contest(pts, ours, field, table, workers=2)
    np.testing.assert_array_equal(res.better, better)
    np.testing.assert_array_equal(res.tied, tied)
    np.testing.assert_array_equal(res.payout, payout)
    assert len(chunks) >= 4  # several chunks: about 9 scenarios fill the exact float32 range


def test_points_must_be_finite():
    pts, ours, field = _tied_world(0.05, np.random.default_rng(11))
    pts[3, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        simulate_contest(pts, ours, field, default_gpp_payouts(len(field) + len(ours), 5.0))


def test_field_floor_error_names_the_setting():
    sal = np.linspace(4_500, 7_000, 30).round(-2)  # the dearest six cost $41,000
    with pytest.raises(ValueError, match="field_min_salary"):
        generate_field(np.ones(30), sal, 6, 50_000, 10, min_salary=46_000, max_rounds=2)
