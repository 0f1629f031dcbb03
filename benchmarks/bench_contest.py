"""Benchmarks 7b and 7c: contest simulation speed on a real DraftKings slate.

7b: 150 of our lineups against a 10,000-lineup field over 10,000 scenarios (target <= 20 s, 2 cores).
7c: how the time grows with the field size and with the number of scenarios (three sizes each).
Scenarios: each driver's points drawn around the slate's projection (a stand-in for the model's
race_scenarios, same shape (S, D) float32); the field is drawn from the slate's projected ownership.

Run: .venv/bin/python benchmarks/bench_contest.py [--slate SUBSTRING] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core.contest import default_gpp_payouts, generate_field, simulate_contest
from nascar_pipeline.core.optimize import optimize_lineups

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))


def scenarios(proj: np.ndarray, S: int, rng) -> np.ndarray:
    pts = proj[None, :] + rng.normal(0, 1, (S, proj.size)) * (0.6 * proj + 5.0)[None, :]
    return (np.round(np.maximum(pts, -20.0) * 20) / 20).astype(np.float32)


def run(proj, sal, own, ours, S, F, rng):
    pts = scenarios(proj, S, rng)
    t0 = time.perf_counter()
    field = generate_field(own, sal, 6, 50_000, F, min_salary=46_000, rng=rng)
    t1 = time.perf_counter()
    res = simulate_contest(pts, ours, field, default_gpp_payouts(F + len(ours), 20.0))
    summ = res.summary()
    t2 = time.perf_counter()
    assert np.isfinite(summ["portfolio"]["roi"])
    return t1 - t0, t2 - t1, summ


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slate", default="brickyard")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument(
        "--portfolio",
        action="store_true",
        help="also compare an MCMC + greedy portfolio with the projection-only one",
    )
    args = ap.parse_args()
    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    slate = next(s for s in df.slate.unique() if args.slate in s)
    g = df[df.slate == slate].reset_index(drop=True)
    sal = g.salary.to_numpy()
    proj = g.proj_points.to_numpy(dtype=float)
    own = g.proj_own.to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    ours = optimize_lineups(proj, sal, 6, 50_000, k=150, max_shared=3).lineups
    print(f"slate {slate}: {len(g)} drivers, {os.cpu_count()} cores; our lineups: {len(ours)}")
    scale = 10 if args.quick else 1
    S, F = 10_000 // scale, 10_000 // scale
    tf, ts, summ = run(proj, sal, own, ours, S, F, rng)
    p = summ["portfolio"]
    print(
        f"\n7b: {len(ours)} lineups vs field {F} over {S} scenarios: field {tf:.2f} s + "
        f"simulation {ts:.2f} s = {tf + ts:.2f} s  (portfolio ROI {p['roi']:+.3f}, "
        f"p_profit {p['p_profit']:.3f})"
    )
    print("\n7c: time vs field size (scenarios fixed at %d)" % S)
    print(f"{'field':>8s} {'scenarios':>9s} {'field s':>8s} {'sim s':>8s} {'total s':>8s}")
    for F2 in (1_000 // scale, 10_000 // scale, 50_000 // scale):
        tf, ts, _ = run(proj, sal, own, ours, S, F2, rng)
        print(f"{F2:8d} {S:9d} {tf:8.2f} {ts:8.2f} {tf + ts:8.2f}")
    print("\n7c: time vs scenarios (field fixed at %d)" % F)
    print(f"{'field':>8s} {'scenarios':>9s} {'field s':>8s} {'sim s':>8s} {'total s':>8s}")
    for S2 in (1_000 // scale, 10_000 // scale, 50_000 // scale):
        tf, ts, _ = run(proj, sal, own, ours, S2, F, rng)
        print(f"{F:8d} {S2:9d} {tf:8.2f} {ts:8.2f} {tf + ts:8.2f}")
    if args.portfolio:
        compare_portfolios(proj, sal, own, rng, n=20, quick=args.quick)
    return 0


def compare_portfolios(proj, sal, own, rng, n=20, quick=False, sel_cap=100 * 20.0, S_sel_full=2000):
    """Same field, same payouts: 20 lineups chosen by projection (exact, <= 4 shared) against 20
    chosen by MCMC + greedy marginal payout (<= 4 shared, exposure <= 60 %; sampler on 1,000
    scenarios, greedy on 2,000 others, prizes capped at 100 fees in both), both scored on 4,000
    scenarios neither saw, with the real (uncapped) payout table."""
    from nascar_pipeline.core.portfolio import FieldObjective, greedy_portfolio, mh_sample

    S_obj, S_sel, S_eval = (300, 300, 1000) if quick else (1000, S_sel_full, 4000)
    pts = scenarios(proj, S_obj + S_sel + S_eval, rng)
    F = 10_000
    field = generate_field(own, sal, 6, 50_000, F, min_salary=46_000, rng=rng)
    table = default_gpp_payouts(F + n, 20.0)
    t0 = time.perf_counter()
    exact = optimize_lineups(proj, sal, 6, 50_000, k=100, min_salary=45_000)
    base = optimize_lineups(
        proj, sal, 6, 50_000, k=n, max_shared=4, max_exposure=0.6, min_salary=45_000
    ).lineups
    obj = FieldObjective.build(pts[:S_obj], field, table, n_ours=n, prize_cap=100 * 20.0)
    mh = mh_sample(
        lambda L: obj.value(L) / 20.0,
        sal,
        6,
        50_000,
        min_salary=45_000,
        n_chains=6,
        n_temps=4,
        steps=150 if quick else 600,
        init=exact.lineups[:6],
        rng=rng,
    )
    fc = np.unique(field, axis=0)
    fc = fc[sal[fc].sum(axis=1) >= 45_000][:3000]
    sel = FieldObjective.build(
        pts[S_obj : S_obj + S_sel], field, table, n_ours=n, prize_cap=sel_cap
    )
    port = greedy_portfolio(
        sel, np.vstack([mh.lineups, exact.lineups, fc]), n, max_exposure=0.6, max_overlap=4
    )
    t_build = time.perf_counter() - t0
    ev = pts[S_obj + S_sel :]
    print(
        f"\nportfolio of {n} vs field {F}, {len(ev)} held-out scenarios "
        f"(MCMC: acceptance by temperature {np.round(mh.acceptance, 3).tolist()}, "
        f"{mh.info['distinct']} distinct lineups; built in {t_build:.1f} s)"
    )
    print(
        f"{'portfolio':24s} {'ROI':>7s} {'p_profit':>8s} {'any cash %':>10s} {'any win %':>9s} "
        f"{'mean proj':>9s}"
    )
    for name, L in (("projection (exact)", base), ("MCMC + greedy payout", port.lineups)):
        p = simulate_contest(ev, L, field, table).summary()["portfolio"]
        print(
            f"{name:24s} {p['roi']:+7.3f} {p['p_profit']:8.3f} {p['any_cash_pct']:10.1f} "
            f"{p['any_win_pct']:9.2f} {proj[L].sum(axis=1).mean():9.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
