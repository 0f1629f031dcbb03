"""Benchmark 7a: 150 distinct lineups, at most 3 shared drivers, maximizing projected points, on a
real DraftKings slate: our HiGHS MILP (nascar_pipeline.core.optimize) against
pydfs-lineup-optimizer 3.6.1 with its default CBC solver, same pool and constraints, one run.

pydfs-lineup-optimizer pins PuLP==2.4, so it lives in its own venv (created on first use):
    python3 -m venv .cache/pydfs-venv && .cache/pydfs-venv/bin/pip install pydfs-lineup-optimizer==3.6.1

Run: .venv/bin/python benchmarks/bench_optimizer.py [--slate SUBSTRING] [--n 150] [--max-shared 3]

Steered case (always run first; `--steered-only` skips the pydfs comparison): the same slate
under a Steering (core/steering.py): one lock, one exclude, two groups (at most 2 of four
Hendrick drivers, at least 1 of four Toyotas), per-driver min and max exposures, global max
exposure 0.5, at most 4 shared (--steered-max-shared), salary floor 48,000, 150 lineups.
Timed: check_feasible (the arithmetic and one exact solve), the exact optimizer (optimize_steered, auto path), and the MCMC
portfolio's steered stages (mh_sample under the steering; greedy_portfolio under it over the
sampler's lineups, 3,000 random steered lineups and the field, with the exact set as its
reserve) against a 5,000-lineup field drawn from the slate's projected ownership on stand-in
scenarios (normal around the projection; 400 for the sampler, 600 for the selection); every
lineup is checked with steering_violations.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))
VENV = REPO / ".cache" / "pydfs-venv"

PYDFS_SCRIPT = r"""
import json, sys, time
from pydfs_lineup_optimizer import get_optimizer, Site, Sport, Player
spec = json.load(open(sys.argv[1]))
opt = get_optimizer(Site.DRAFTKINGS, Sport.NASCAR)
players = [Player(str(i), n, "", ["D"], "T%d" % i, float(s), float(p))
           for i, (n, s, p) in enumerate(zip(spec["names"], spec["salary"], spec["proj"]))]
opt.player_pool.load_players(players)
opt.set_max_repeating_players(spec["max_shared"])
t0 = time.perf_counter()
out = []
for lu in opt.optimize(n=spec["n"]):
    out.append(sorted(int(p.id) for p in lu.players))
dt = time.perf_counter() - t0
json.dump({"seconds": dt, "lineups": out}, open(sys.argv[2], "w"))
"""


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print("creating", VENV, "(pydfs-lineup-optimizer 3.6.1, PuLP 2.4)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "pydfs-lineup-optimizer==3.6.1"],
            check=True,
        )
    return py


STEER_NAMES = {
    "lock": ["Kyle Larson"],
    "exclude": ["Bubba Wallace"],
    "hendrick": ["Kyle Larson", "William Byron", "Chase Elliott", "Alex Bowman"],
    "toyota": ["Denny Hamlin", "Christopher Bell", "Tyler Reddick", "Ty Gibbs"],
    "max": {"Denny Hamlin": 0.3},
    "min": {"Ty Gibbs": 0.3, "Chase Briscoe": 0.2},
}


def steered_case(g: pd.DataFrame, n: int, max_shared: int) -> None:
    """The steered build on a real slate (driver ids: the slate's row numbers)."""
    from nascar_pipeline.core.contest import default_gpp_payouts, generate_field
    from nascar_pipeline.core.optimize import optimize_steered
    from nascar_pipeline.core.portfolio import (
        FieldObjective,
        greedy_portfolio,
        mh_sample,
        random_steered_lineups,
    )
    from nascar_pipeline.core.steering import Steering, check_feasible, steering_violations

    slate = pd.DataFrame(
        {"driver_id": np.arange(len(g)), "driver_name": g.name, "salary": g.salary}
    )
    pos = {nm: i for i, nm in enumerate(g.name)}

    def ids(names):
        return [pos[x] for x in names if x in pos]

    steering = Steering(
        n_lineups=n,
        lock=ids(STEER_NAMES["lock"]),
        exclude=ids(STEER_NAMES["exclude"]),
        exposures=[{"driver": pos[k], "max": v} for k, v in STEER_NAMES["max"].items() if k in pos]
        + [{"driver": pos[k], "min": v} for k, v in STEER_NAMES["min"].items() if k in pos],
        groups=[
            {"name": "Hendrick", "drivers": ids(STEER_NAMES["hendrick"]), "at_most": 2},
            {"name": "Toyota", "drivers": ids(STEER_NAMES["toyota"]), "at_least": 1},
        ],
        global_max_exposure=0.5,
        max_shared=max_shared,
        salary_floor=48_000,
    )
    sal = g.salary.to_numpy()
    proj = g.proj_points.to_numpy(dtype=float)
    sal_of = dict(enumerate(sal.tolist()))
    t0 = time.perf_counter()
    arrays = check_feasible(steering, slate)
    t_check = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = optimize_steered(proj, arrays)
    t_exact = time.perf_counter() - t0
    assert steering_violations(exact.lineups, steering, sal_of) == []

    rng = np.random.default_rng(0)
    S, F = 1000, 5000
    pts = proj[None, :] + rng.normal(0, 1, (S, len(g))) * (0.5 * proj + 4)
    own = g.proj_own.fillna(0).to_numpy(float)
    field = generate_field(own, sal, 6, 50_000, F, min_salary=46_000, rng=rng)
    table = default_gpp_payouts(F + n, 20.0)
    obj_mh = FieldObjective.build(pts[:400], field, table, n_ours=n, prize_cap=2000.0)
    obj_sel = FieldObjective.build(pts[400:], field, table, n_ours=n, prize_cap=2000.0)
    t0 = time.perf_counter()
    mh = mh_sample(
        lambda L: obj_mh.value(L) / 20.0,
        sal,
        6,
        50_000,
        n_chains=6,
        n_temps=4,
        steps=600,
        init=exact.lineups[:6],
        rng=rng,
        steering=arrays,
    )
    t_mh = time.perf_counter() - t0
    t0 = time.perf_counter()
    spread = random_steered_lineups(3000, arrays, rng)  # diverse lineups that keep the steering
    cands = np.vstack([mh.lineups, spread, np.unique(field, axis=0)[:3000]])
    port = greedy_portfolio(obj_sel, cands, n, steering=arrays, reserve=exact.lineups)
    t_greedy = time.perf_counter() - t0
    assert steering_violations(port.lineups, steering, sal_of) == []
    counts = np.bincount(port.lineups.ravel(), minlength=len(g)) / max(len(port.lineups), 1)
    counts[arrays.locks] = 0.0  # a lock is in every lineup
    print(
        f"steered: lock {len(steering.lock)}, exclude {len(steering.exclude)}, groups 2, "
        f"{len(steering.exposures)} per-driver exposures, global max 0.5, <= {max_shared} shared, "
        f"floor 48000, {n} lineups"
    )
    print(f"{'stage':34s} {'lineups':>7s} {'seconds':>8s}")
    print(f"{'check_feasible (arith + 1 solve)':34s} {'':>7s} {t_check:8.3f}")
    print(f"{'optimize_steered (exact, auto)':34s} {len(exact.lineups):7d} {t_exact:8.3f}")
    print(f"{'mh_sample (6x4 chains, 600 steps)':34s} {len(mh.lineups):7d} {t_mh:8.3f}")
    print(f"{'greedy_portfolio (+3000 spread)':34s} {len(port.lineups):7d} {t_greedy:8.3f}")
    print(
        f"every lineup passes steering_violations; highest unlocked exposure {counts.max():.2f}"
        + (f"; shortfall: {port.shortfall_reason}" if port.shortfall_reason else "")
        + (f"; exact shortfall: {exact.shortfall_reason}" if exact.shortfall_reason else "")
    )


def honest_case(args) -> None:
    """True and honest ROI of the portfolio objective's settings on the real Sonoma race week."""
    from types import SimpleNamespace

    from nascar_pipeline.core import rules
    from nascar_pipeline.core.contest import default_gpp_payouts, simulate_contest
    from nascar_pipeline.core.field_calibration import dk_points_scenarios, fit_temperature
    from nascar_pipeline.core.honest_roi import DEFAULT_ERROR_SD, honest_contest
    from nascar_pipeline.core.lineup_search import (
        OBJECTIVE_ERROR_SD,
        OBJECTIVE_SHRINK,
        search_portfolio,
    )
    from nascar_pipeline.core.lineups import slate_indices
    from nascar_pipeline.core.slate import draw_field
    from nascar_pipeline.core.steering import Steering, check_feasible

    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    g = df[df.slate.str.contains("sonoma")].reset_index(drop=True)
    wk = DATA / "raceweek_2026_sonoma"
    res = pd.read_csv(wk / "results.csv")
    laps = int(pd.read_csv(wk / "races.csv")["laps"].iloc[0])
    contests = pd.read_csv(DATA / "draftkings" / "contests_2026.csv")
    contests = contests[contests.slate.str.contains("Sonoma")]
    by_name = res.set_index("driver_name")
    start = g.name.map(by_name["start_position"]).fillna(len(g)).astype(int).to_numpy()
    finish = g.name.map(by_name["finish_position"]).fillna(len(g)).astype(int).to_numpy()
    led = g.name.map(by_name["laps_led"]).fillna(0).to_numpy(float)
    actual = rules.draftkings_points(start, finish, led, np.zeros(len(g)))  # no fastest laps
    p80 = float(contests.score_p80.median())

    proj, sal = g.proj_points.to_numpy(float), g.salary.to_numpy(float)
    own = g.proj_own.to_numpy(float)
    temp = fit_temperature(proj, start, laps, np.random.default_rng(11))
    S_obj = S_sel = args.honest_scenarios
    S_eval = 1000
    truth = dk_points_scenarios(
        proj, start, laps, S_eval, np.random.default_rng(12), temperature=temp
    )
    slate = pd.DataFrame(
        {
            "driver_id": np.arange(len(g)),
            "driver_name": g.name,
            "salary": sal,
            "projection": proj,
            "dk_id": np.arange(len(g)) + 1000,
        }
    )
    N, F = args.honest_lineups, args.honest_field
    steering = check_feasible(Steering(n_lineups=N, max_shared=4, salary_floor=45_000), slate)
    table = default_gpp_payouts(F + N, 20.0)
    field = draw_field(own, sal, F, 46_000, np.random.default_rng(5), setting="bench").lineups
    print(
        f"honest: Sonoma 2026 (real salaries, grid, vendor projections and ownership), truth = a "
        f"Plackett-Luce on the vendor's projections (temperature {temp:g}); the model = the same "
        f"on projections off by N(0, {args.honest_bias:g}) DK points per driver, "
        f"{args.honest_worlds} draws (worlds); {N} lineups vs a default field of {F:,}; "
        f"{S_obj} + {S_sel} model scenarios for the search"
    )
    print(
        f"columns: ROI in the model's own held-out scenarios (what a player is shown), honest ROI "
        f"(the same + noise sd {DEFAULT_ERROR_SD:g}, honest_contest), true ROI ({S_eval} truth "
        "scenarios), each the mean over worlds (+/- its standard error); real: lineups at or "
        f"over the real Sonoma p80 {p80} with the actual points (no fastest laps: lower bounds), "
        "summed over worlds"
    )
    print(
        f"{'objective':22s} {'model ROI':>9s} {'honest ROI':>10s} {'true ROI':>9s} {'+/-':>6s} "
        f"{'true cash%':>10s} {'vs first':>9s} {'+/-':>6s} {'real>=p80':>9s} {'seconds':>7s}"
    )
    worlds, first, kept = [], None, {}
    for w in range(args.honest_worlds):
        wr = np.random.default_rng(1000 + w)
        m_proj = proj + wr.normal(0.0, args.honest_bias, len(g))
        m_pts = dk_points_scenarios(
            m_proj, start, laps, S_obj + S_sel + S_eval, wr, temperature=temp
        )
        worlds.append((m_pts[: S_obj + S_sel], m_pts[S_obj + S_sel :]))
    for sd, shrink in [(float(x.split("/")[0]), float(x.split("/")[1])) for x in args.honest_grid]:
        params = SimpleNamespace(
            field_min_salary=46_000,
            objective="ev",
            objective_scenarios=S_obj,
            selection_scenarios=S_sel,
            prize_cap_fees=100.0,
            mh_steps=args.honest_steps,
            mh_chains=4,
            mh_temps=3,
            exact_candidates=50,
            objective_error_sd=sd,
            objective_shrink=shrink,
        )
        rows, secs, real = [], 0.0, 0
        for w, (m_search, m_held) in enumerate(worlds):
            t0 = time.perf_counter()
            slate_w = slate.assign(projection=m_search.mean(axis=0))
            found = search_portfolio(
                slate_w, m_search, own, table, F, params, np.random.default_rng(3 + w), steering
            )
            secs += time.perf_counter() - t0
            L = slate_indices(found.lineups, slate)
            kept.setdefault((sd, shrink), []).append(L)
            model = simulate_contest(m_held, L, field, table).summary()["portfolio"]
            honest = honest_contest(m_held, L, field, table, np.random.default_rng(100 + w))
            true = simulate_contest(truth, L, field, table).summary()["portfolio"]
            rows.append(
                (
                    model["roi"],
                    honest.summary()["portfolio"]["roi"],
                    true["roi"],
                    true["any_cash_pct"],
                )
            )
            real += int((actual[L].sum(axis=1) >= p80).sum())
        r = np.array(rows)
        first = r[:, 2] if first is None else first
        diff = r[:, 2] - first  # paired: the same worlds, truth and field for every setting

        def se(x):
            return x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")

        print(
            f"{f'sd {sd:g}, shrink {shrink:g}':22s} {r[:, 0].mean():+9.1%} {r[:, 1].mean():+10.1%} "
            f"{r[:, 2].mean():+9.1%} {se(r[:, 2]):6.1%} {r[:, 3].mean():10.1f} "
            f"{diff.mean():+9.1%} {se(diff):6.1%} "
            f"{real:>4d}/{N * len(worlds):<4d} {secs / len(worlds):7.1f}",
            flush=True,
        )
    # which honest_contest setting predicts the true ROI: the default objective's portfolios
    key = (OBJECTIVE_ERROR_SD, OBJECTIVE_SHRINK)
    ports = kept.get(key) or next(iter(kept.values()))
    true = np.array(
        [simulate_contest(truth, L, field, table).summary()["portfolio"]["roi"] for L in ports]
    )
    print(
        f"\nhonest_contest settings against the true ROI ({true.mean():+.1%}) of the portfolios "
        f"of objective sd {key[0]:g}, shrink {key[1]:g} (mean over worlds):"
    )
    for h_sd, h_shrink in [(0, 0), (12, 0), (24, 0), (0, 0.5), (12, 0.5), (0, 1.0), (12, 1.0)]:
        h = [
            honest_contest(
                m_held,
                L,
                field,
                table,
                np.random.default_rng(200 + w),
                error_sd=h_sd,
                shrink=h_shrink,
                salaries=sal,
            ).summary()["portfolio"]["roi"]
            for w, ((_, m_held), L) in enumerate(zip(worlds, ports))
        ]
        print(f"  error_sd {h_sd:>2g}, shrink {h_shrink:<4g}: honest ROI {np.mean(h):+8.1%}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slate", default="brickyard", help="substring of the slate name")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--max-shared", type=int, default=3)
    ap.add_argument(
        "--with-milp",
        action="store_true",
        help="also time our HiGHS MILP path (slow: the overlap rows make it hard)",
    )
    ap.add_argument("--steered-only", action="store_true", help="skip the pydfs comparison")
    ap.add_argument("--honest", action="store_true", help="only the honest-ROI objective case")
    ap.add_argument(
        "--honest-grid",
        nargs="+",
        default=["0/0", "6/0", "12/0", "0/0.25", "0/0.5"],
        help="objective settings 'noise_sd/shrink'",
    )
    ap.add_argument("--honest-lineups", type=int, default=20)
    ap.add_argument("--honest-field", type=int, default=3000)
    ap.add_argument("--honest-scenarios", type=int, default=300)
    ap.add_argument("--honest-steps", type=int, default=200)
    ap.add_argument("--honest-worlds", type=int, default=6, help="model error draws")
    ap.add_argument(
        "--honest-bias", type=float, default=8.0, help="sd of the model's projection error"
    )
    ap.add_argument(
        "--steered-max-shared",
        type=int,
        default=4,
        help="max_shared of the steered case (with a lock, 3 leaves ~144 exact lineups)",
    )
    args = ap.parse_args()
    if args.honest:
        honest_case(args)
        return 0
    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    slate = next(s for s in df.slate.unique() if args.slate in s)
    g = df[df.slate == slate].reset_index(drop=True)
    print(f"slate {slate}: {len(g)} drivers")
    steered_case(g, args.n, args.steered_max_shared)
    if args.steered_only:
        return 0
    sal = g.salary.to_numpy()
    proj = g.proj_points.to_numpy(dtype=float)
    print(
        f"slate {slate}: {len(g)} drivers; {args.n} lineups, <= {args.max_shared} shared, cap 50000"
    )

    from nascar_pipeline.core.optimize import optimize_lineups, validate_lineups

    optimize_lineups(proj, sal, 6, 50_000, k=1)  # load highspy once (import cost not timed)
    t0 = time.perf_counter()
    ours = optimize_lineups(proj, sal, 6, 50_000, k=args.n, max_shared=args.max_shared)
    t_ours = time.perf_counter() - t0
    assert validate_lineups(ours.lineups, sal, 6, 50_000) == []

    py = ensure_venv()
    with tempfile.TemporaryDirectory() as td:
        spec = Path(td) / "spec.json"
        res = Path(td) / "res.json"
        script = Path(td) / "run_pydfs.py"
        script.write_text(PYDFS_SCRIPT)
        spec.write_text(
            json.dumps(
                {
                    "names": g.name.tolist(),
                    "salary": sal.tolist(),
                    "proj": proj.tolist(),
                    "n": args.n,
                    "max_shared": args.max_shared,
                }
            )
        )
        subprocess.run([str(py), str(script), str(spec), str(res)], check=True)
        pd_res = json.loads(res.read_text())
    pl = np.array(pd_res["lineups"], dtype=np.int64)
    assert validate_lineups(pl, sal, 6, 50_000) == []

    def overlap_ok(L):
        sets = [set(r) for r in L.tolist()]
        return all(len(a & b) <= args.max_shared for i, a in enumerate(sets) for b in sets[:i])

    rows = [
        ("ours (exact, auto)", ours.lineups, t_ours),
        ("pydfs 3.6.1 (CBC)", pl, pd_res["seconds"]),
    ]
    if args.with_milp:
        t0 = time.perf_counter()
        milp = optimize_lineups(
            proj, sal, 6, 50_000, k=args.n, max_shared=args.max_shared, method="milp"
        )
        rows.append(("ours (HiGHS MILP)", milp.lineups, time.perf_counter() - t0))
    print(
        f"{'optimizer':20s} {'lineups':>7s} {'total proj':>11s} {'best':>7s} {'worst':>7s} "
        f"{'overlap ok':>10s} {'seconds':>8s}"
    )
    for name, L, t in rows:
        v = proj[L].sum(axis=1)
        print(
            f"{name:20s} {len(L):7d} {v.sum():11.2f} {v.max():7.2f} {v.min():7.2f} "
            f"{str(overlap_ok(L)):>10s} {t:8.3f}"
        )
    tot_o, tot_p = proj[ours.lineups].sum(), proj[pl].sum()
    diff = tot_o - tot_p if abs(tot_o - tot_p) > 1e-6 else 0.0
    print(
        f"total projection: ours - pydfs = {diff:+.2f}; speed-up x{pd_res['seconds'] / t_ours:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
