"""Contest simulation speed and memory on a real DraftKings slate.

Issue 14 item 4 (default run): 150 of our lineups against fields of 10,000, 50,000 and 200,000 entries
over 10,000 scenarios, today's streamed implementation (core.contest.simulate_contest) beside the one
it replaced (a verbatim copy below: `simulate_contest_before`), each case in its own subprocess so
the peak resident memory (VmHWM, reset just before the simulation) of one case never mixes with
another's. The before-version is
skipped at 200,000 (it would take minutes on 2 cores; its time grows linearly with the field).
Both versions' results are compared exactly (better, tied, payout) where both ran.
Target: 200,000 field <= 60 s and <= 4 GiB resident.

--growth: benchmarks 7b and 7c (time vs field size and vs scenarios, streamed version).
--portfolio: projection-only vs MCMC + greedy portfolio on the same field.
Scenarios: each driver's points drawn around the slate's projection (a stand-in for the model's
race_scenarios, same shape (S, D) float32, multiples of 0.05); the field is drawn from the slate's
projected ownership with the production generator.

Run: .venv/bin/python benchmarks/bench_contest.py [--slate SUBSTRING] [--quick] [--growth]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core.contest import (
    default_gpp_payouts,
    duplicate_counts,
    generate_field,
    incidence,
    quantize_points,
    simulate_contest,
    tie_split_payout,
)
from nascar_pipeline.core.contest_ranks import usable_cores
from nascar_pipeline.core.optimize import optimize_lineups

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))
QUANT = 10_000.0
GIB = 1024**3


def scenarios(proj: np.ndarray, S: int, rng) -> np.ndarray:
    pts = proj[None, :] + rng.normal(0, 1, (S, proj.size)) * (0.6 * proj + 5.0)[None, :]
    return (np.round(np.maximum(pts, -20.0) * 20) / 20).astype(np.float32)


# ----------------------------------------------------------------------------- the replaced version
# Verbatim copy of core.contest.simulate_contest before issue 14 (commit 3599d14), kept only to
# measure it beside the streamed version and compare results.


def _coarse_quant(points, quant: float = 20.0, tol: float = 1e-3) -> bool:
    P = np.asarray(points, dtype=np.float64)
    return bool(np.all(np.abs(P * quant - np.round(P * quant)) < tol))


def simulate_contest_before(points, ours, field, table, *, chunk_elems: int = 4_000_000):
    P = np.asarray(points)
    S, D = P.shape
    ours = np.asarray(ours, dtype=np.int64)
    field = np.asarray(field, dtype=np.int64)
    N, F = ours.shape[0], field.shape[0]
    M = N + F
    cum = table.prize_cumsum(M)
    A_f = incidence(field, D).T
    A_o = incidence(ours, D).T
    chunk = max(1, min(S, chunk_elems // max(F, 1)))
    payout = np.empty((S, N), dtype=np.float64)
    rank = np.empty((S, N), dtype=np.float64)
    better_all = np.empty((S, N), dtype=np.int64)
    tied_all = np.empty((S, N), dtype=np.int64)
    quant = 20.0 if _coarse_quant(P) else QUANT
    for s0 in range(0, S, chunk):
        s1 = min(S, s0 + chunk)
        Pq = quantize_points(P[s0:s1], quant)
        fs = Pq @ A_f
        os_ = Pq @ A_o
        if quant == 20.0:
            b, t = _ranks_by_counting(fs, os_)
        else:
            b, t = _ranks_vs_sorted(np.concatenate([fs, os_], axis=1), os_)
        better_all[s0:s1] = b
        tied_all[s0:s1] = t
        payout[s0:s1] = tie_split_payout(b, t, cum)
        rank[s0:s1] = b + (t + 1) / 2.0
    return dict(
        payout=payout,
        rank=rank,
        better=better_all,
        tied=tied_all,
        n_entries=M,
        duplicates=duplicate_counts(ours, field),
    )


def _ranks_by_counting(field_scores, our_scores, max_bins: int = 20_000_000):
    c, F = field_scores.shape
    N = our_scores.shape[1]
    lo = min(field_scores.min(initial=0.0), our_scores.min(initial=0.0))
    hi = max(field_scores.max(initial=0.0), our_scores.max(initial=0.0))
    span = int(hi - lo) + 1
    if c * span > max_bins:
        return _ranks_vs_sorted(np.concatenate([field_scores, our_scores], axis=1), our_scores)
    off = (np.arange(c, dtype=np.int64) * span)[:, None]
    fi = (field_scores - lo).astype(np.int64) + off
    oi = (our_scores - lo).astype(np.int64) + off
    hist = np.bincount(fi.ravel(), minlength=c * span) + np.bincount(oi.ravel(), minlength=c * span)
    hist = hist.reshape(c, span)
    above = (F + N) - np.cumsum(hist, axis=1)
    v = (our_scores - lo).astype(np.int64)
    rows = np.arange(c)[:, None]
    return above[rows, v].astype(np.int64), hist[rows, v].astype(np.int64)


def _ranks_vs_sorted(field_scores, our_scores):
    c, F = field_scores.shape
    lo = min(field_scores.min(initial=0.0), our_scores.min(initial=0.0))
    hi = max(field_scores.max(initial=0.0), our_scores.max(initial=0.0))
    span = hi - lo + 1.0
    if c * span >= 2.0**52:
        b = np.empty(our_scores.shape, dtype=np.int64)
        t = np.empty(our_scores.shape, dtype=np.int64)
        for i in range(c):
            srt = np.sort(field_scores[i])
            left = np.searchsorted(srt, our_scores[i], "left")
            right = np.searchsorted(srt, our_scores[i], "right")
            b[i] = F - right
            t[i] = right - left
        return b, t
    off = (np.arange(c, dtype=np.float64) * span)[:, None]
    srt = np.sort(field_scores - lo, axis=1) + off
    q = our_scores - lo + off
    flat = srt.ravel()
    left = np.searchsorted(flat, q.ravel(), "left").reshape(q.shape)
    right = np.searchsorted(flat, q.ravel(), "right").reshape(q.shape)
    base = (np.arange(c) * F)[:, None]
    b = F - (right - base)
    t = right - left
    return b.astype(np.int64), t.astype(np.int64)


# ----------------------------------------------------------------------------- one case, isolated


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _status_bytes(field: str) -> int:
    """VmRSS (resident now) or VmHWM (resident high-water mark) of this process, Linux."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _current_rss() -> int:
    return _status_bytes("VmRSS")


def _peak_rss() -> int:
    # VmHWM, not ru_maxrss: a child's ru_maxrss also carries its parent's peak from before exec
    return _status_bytes("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to /proc/self/clear_refs resets the peak RSS (VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_case(folder: Path, impl: str, F: int) -> dict:
    """In a fresh process: load the inputs, simulate once, report wall time and peak RSS."""
    pts = np.load(folder / "points.npy")
    ours = np.load(folder / "ours.npy")
    field = np.load(folder / f"field_{F}.npy")
    table = default_gpp_payouts(F + len(ours), 20.0)
    rss_before = _current_rss()
    reset = _reset_peak_rss()  # so the peak below is the simulation's, not the imports'
    t0, c0 = time.perf_counter(), time.process_time()
    if impl == "before":
        r = simulate_contest_before(pts, ours, field, table)
        better, tied, payout = r["better"], r["tied"], r["payout"]
    else:
        r = simulate_contest(pts, ours, field, table)
        better, tied, payout = r.better, r.tied, r.payout
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_rss()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss": peak,
        "peak_reset": reset,
        "rss_before": rss_before,
        "digest": _digest(better, tied, payout),
        "distinct_field": int(len(np.unique(np.sort(field, axis=1), axis=0))),
        "mean_payout": float(payout.mean()),
    }


def scale_table(proj, sal, own, ours, rng, quick: bool) -> None:
    S = 1_000 if quick else 10_000
    fields = (1_000, 5_000, 20_000) if quick else (10_000, 50_000, 200_000)
    skip_before = fields[-1]
    print(
        f"\nissue 14 item 4: {len(ours)} lineups vs a field over {S} scenarios; "
        f"{usable_cores()} usable cores; each case in its own process. peak RSS: the process's "
        "resident high-water mark (VmHWM) during the simulation, reset just before it; RSS in: "
        "resident at its start (interpreter, imports, inputs); cpu s: CPU time of the process, "
        "all threads (wall > cpu / cores when others share the machine)"
    )
    with tempfile.TemporaryDirectory(prefix="bench_contest_") as tmp:
        folder = Path(tmp)
        np.save(folder / "points.npy", scenarios(proj, S, rng))
        np.save(folder / "ours.npy", ours)
        gen_s = {}
        for F in fields:
            t0 = time.perf_counter()
            field = generate_field(own, sal, 6, 50_000, F, min_salary=46_000, rng=rng)
            gen_s[F] = time.perf_counter() - t0
            np.save(folder / f"field_{F}.npy", field)
        print(
            f"{'field':>8s} {'distinct':>8s} {'draw s':>7s} {'impl':>9s} {'sim s':>7s} {'cpu s':>6s} "
            f"{'peak RSS':>9s} {'RSS in':>8s} {'equal':>6s}"
        )
        for F in fields:
            cases = ["before", "streamed"] if F != skip_before else ["streamed"]
            out = {}
            for impl in cases:
                cmd = [sys.executable, __file__, "--case", impl, str(F), str(folder)]
                res = subprocess.run(cmd, capture_output=True, text=True, check=True)
                out[impl] = json.loads(res.stdout.strip().splitlines()[-1])
            same = "-"
            if len(out) == 2:
                same = "yes" if out["before"]["digest"] == out["streamed"]["digest"] else "NO"
            for impl, r in out.items():
                print(
                    f"{F:8d} {r['distinct_field']:8d} {gen_s[F]:7.2f} {impl:>9s} "
                    f"{r['wall_s']:7.2f} {r['cpu_s']:6.1f} {r['peak_rss'] / GIB:7.2f}Gi "
                    f"{r['rss_before'] / GIB:6.2f}Gi {same:>6s}"
                    + ("" if r["peak_reset"] else "  (peak not reset: includes the imports)")
                )
            if F == skip_before:
                print(
                    f"{F:8d} {'':8s} {'':7s} {'before':>9s}  skipped: its time grows with the "
                    f"field (about {F // fields[1]}x the {fields[1]:,} figure)"
                )
            if F == fields[-1]:
                r = out["streamed"]
                ok = r["wall_s"] <= 60 and r["peak_rss"] <= 4 * GIB
                print(
                    f"target (150 lineups, 200,000 field, 10,000 scenarios: <= 60 s, <= 4 GiB): "
                    f"{r['wall_s']:.1f} s, peak {r['peak_rss'] / GIB:.2f} GiB -> "
                    f"{'met' if ok and not quick else 'not met' if not ok else 'quick run'}"
                )


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


def growth_tables(proj, sal, own, ours, rng, quick: bool) -> None:
    scale = 10 if quick else 1
    S, F = 10_000 // scale, 10_000 // scale
    tf, ts, summ = run(proj, sal, own, ours, S, F, rng)
    p = summ["portfolio"]
    print(
        f"\n7b: {len(ours)} lineups vs field {F} over {S} scenarios: field {tf:.2f} s + "
        f"simulation {ts:.2f} s = {tf + ts:.2f} s  (portfolio ROI {p['roi']:+.3f}, "
        f"p_profit {p['p_profit']:.3f})"
    )
    print(f"\n7c: time vs field size (scenarios fixed at {S})")
    print(f"{'field':>8s} {'scenarios':>9s} {'field s':>8s} {'sim s':>8s} {'total s':>8s}")
    for F2 in (1_000 // scale, 10_000 // scale, 50_000 // scale):
        tf, ts, _ = run(proj, sal, own, ours, S, F2, rng)
        print(f"{F2:8d} {S:9d} {tf:8.2f} {ts:8.2f} {tf + ts:8.2f}")
    print(f"\n7c: time vs scenarios (field fixed at {F})")
    print(f"{'field':>8s} {'scenarios':>9s} {'field s':>8s} {'sim s':>8s} {'total s':>8s}")
    for S2 in (1_000 // scale, 10_000 // scale, 50_000 // scale):
        tf, ts, _ = run(proj, sal, own, ours, S2, F, rng)
        print(f"{F:8d} {S2:9d} {tf:8.2f} {ts:8.2f} {tf + ts:8.2f}")


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--case":
        print(json.dumps(run_case(Path(sys.argv[4]), sys.argv[2], int(sys.argv[3]))))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--slate", default="brickyard")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument("--growth", action="store_true", help="also benchmarks 7b and 7c")
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
    scale_table(proj, sal, own, ours, rng, args.quick)
    if args.growth:
        growth_tables(proj, sal, own, ours, rng, args.quick)
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
