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

Honest case (`--honest`, alone): on the real 2026 slates (slates_2026.csv: real salaries, the
vendor's projections and ownership; the real Sonoma grid matched accent-free, elsewhere a grid by
salary with the track's laps and type from history/, as benchmarks/bench_field.py does), paired
worlds built with the realistic stand-in (core/field_calibration.py fit_stand_in: projections
scaled to the points a race pays, retirements, real dominator points, the off-script share of
the real grid-finish correlation). Truth: the stand-in on the vendor's projections; the model:
the same stand-in (same off-script share) on projections off by N(0, --honest-bias) DK points per
driver, a fresh draw per world. Per world and objective_error_sd (--honest-objective), the
search's portfolio (core/lineup_search.py search_portfolio) against the default field: its ROI
and cash % per lineup in the model's held-out scenarios (what a player is shown), the honest
figures at the current defaults (core/honest_roi.py), the true figures. Then, on the default
objective's portfolios, honest - true over a grid of honest error_sd x shrink, with standard
errors over worlds and clustered by slate, and the shrink where the bias crosses zero.
    .venv/bin/python benchmarks/bench_optimizer.py --honest [--honest-worlds 6]
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
from types import SimpleNamespace

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


def _honest_slates(args, S_eval: int):
    """Per real 2026 slate (the --honest-slates substrings): the truth stand-in and what every
    world of the slate shares (field, payout table, steering, truth scenarios)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_field import _grid, _week  # the accent-free grid match; else a grid by salary

    from nascar_pipeline.core import rules
    from nascar_pipeline.core.contest import default_gpp_payouts
    from nascar_pipeline.core.field_calibration import fit_stand_in, race_pools
    from nascar_pipeline.core.slate import draw_field
    from nascar_pipeline.core.steering import Steering, check_feasible

    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    contests = pd.read_csv(DATA / "draftkings" / "contests_2026.csv")
    results = pd.read_csv(DATA / "history" / "results.csv")
    races = pd.read_csv(DATA / "history" / "races.csv")
    N, F = args.honest_lineups, args.honest_field
    names = [s for s in df.slate.unique() if any(k in s for k in args.honest_slates)]
    for i, name in enumerate(names):
        g = df[df.slate == name].reset_index(drop=True)
        start, laps, tt, how = _grid(g, races)
        pools = race_pools(results, races, tt)
        proj, sal = g.proj_points.to_numpy(float), g.salary.to_numpy(float)
        own = g.proj_own.fillna(0).to_numpy(float)
        rng = np.random.default_rng(12 + i)
        truth = fit_stand_in(proj, start, laps, pools, rng)
        slate = pd.DataFrame(
            {
                "driver_id": np.arange(len(g)),
                "driver_name": g.name,
                "salary": sal,
                "projection": proj,
                "dk_id": np.arange(len(g)) + 1000,
            }
        )
        steering = check_feasible(Steering(n_lineups=N, max_shared=4, salary_floor=45_000), slate)
        field = draw_field(
            own, sal, F, 46_000, np.random.default_rng(5), setting="bench", names=g.name.to_numpy()
        ).lineups
        # the real result where the race week has it (Sonoma; no fastest laps: lower bounds)
        actual, p80 = None, None
        wk = _week(g)
        if wk is not None:
            res, _ = wk
            actual = rules.draftkings_points(
                start, res["finish_position"], res["laps_led"], np.zeros(len(g))
            )
            key = name.split("__")[-1].split("-")[0].lower()
            p80 = float(contests[contests.slate.str.lower().str.contains(key)].score_p80.median())
        yield SimpleNamespace(
            name=name.split("__")[-1][:28],
            i=i,
            g=g,
            start=start,
            laps=laps,
            tt=tt,
            how=how,
            pools=pools,
            proj=proj,
            sal=sal,
            own=own,
            truth=truth,
            truth_pts=truth.scenarios(S_eval, rng).points,
            slate=slate,
            steering=steering,
            field=field,
            table=default_gpp_payouts(F + N, 20.0),
            actual=actual,
            p80=p80,
        )


def _money(res) -> tuple[float, float]:
    """Portfolio ROI and mean cash % per lineup of a ContestResult."""
    s = res.summary()
    return s["portfolio"]["roi"], float(np.mean(s["per_lineup"]["cash_pct"]))


def _se(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def _slate_se(x, slate_ids) -> float:
    """Standard error of the mean clustered by slate (the worlds of one slate share its truth):
    the spread of the per-slate means."""
    d = pd.Series(np.asarray(x, dtype=float)).groupby(np.asarray(slate_ids)).mean()
    return _se(d.to_numpy())


def _zero_crossing(xs, ys) -> float | None:
    """The x where the piecewise-linear ys first crosses 0 (None if it does not)."""
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 == 0:
            return float(x0)
        if y0 * y1 < 0:
            return float(x0 + (x1 - x0) * y0 / (y0 - y1))
    return float(xs[-1]) if ys[-1] == 0 else None


def honest_case(args) -> None:
    """True, simulated and honest ROI / cash % of our portfolios on the real 2026 slates, in
    worlds built with the realistic stand-in (core/field_calibration.py fit_stand_in)."""
    from nascar_pipeline.core.contest import simulate_contest
    from nascar_pipeline.core.field_calibration import fit_stand_in
    from nascar_pipeline.core.highs_banner import silence_banner
    from nascar_pipeline.core.honest_roi import DEFAULT_ERROR_SD, DEFAULT_SHRINK, honest_contest
    from nascar_pipeline.core.lineup_search import (
        OBJECTIVE_ERROR_SD,
        OBJECTIVE_SHRINK,
        search_portfolio,
    )
    from nascar_pipeline.core.lineups import slate_indices

    silence_banner()  # check_feasible's solver would print HiGHS' banner into the table
    t_start = time.perf_counter()
    S_obj = S_sel = args.honest_scenarios
    S_held, S_eval = args.honest_held, args.honest_eval
    N, F = args.honest_lineups, args.honest_field
    # objective settings 'sd' or 'sd/shrink', labelled 'sd/shrink'
    settings = {}
    for x in args.honest_objective:
        sd_, _, sh_ = x.partition("/")
        settings[f"{float(sd_):g}/{float(sh_ or 0):g}"] = (float(sd_), float(sh_ or 0))
    objectives = list(settings)
    default_obj = f"{OBJECTIVE_ERROR_SD:g}/{OBJECTIVE_SHRINK:g}"
    default_obj = default_obj if default_obj in settings else objectives[0]
    grid = [(sd, sh) for sd in args.honest_grid_sd for sh in args.honest_grid_shrink]
    print(
        f"honest: load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f}; real 2026 slates (real salaries, vendor projections and "
        f"ownership); truth = the realistic stand-in (core/field_calibration.py fit_stand_in: "
        f"projections scaled to the race's total, retirements, real dominator points, off-script "
        f"share) on the vendor's projections; the model = the same stand-in (same off-script "
        f"share) on projections off by N(0, {args.honest_bias:g}) DK points per driver, "
        f"{args.honest_worlds} worlds per slate; {N} lineups vs a default field of {F:,}; "
        f"{S_obj} + {S_sel} model scenarios for the search (objective 'noise sd/shrink' per row), "
        f"{S_held} held-out model scenarios for the model / honest figures, {S_eval} truth "
        f"scenarios"
    )
    rows, hrows = [], []
    for sl in _honest_slates(args, S_eval):
        print(
            f"  {sl.name:28s} {len(sl.g)} drivers, {sl.laps} laps, {sl.tt}, {sl.how}, off script "
            f"{sl.truth.off_script:g} (grid-finish corr {sl.truth.order_corr:.2f}, real "
            f"{sl.pools.order_corr:.2f}), scale {sl.truth.scale:.2f}",
            flush=True,
        )
        for w in range(args.honest_worlds):
            wr = np.random.default_rng(1000 + 100 * sl.i + w)
            m_proj = np.maximum(sl.proj + wr.normal(0.0, args.honest_bias, len(sl.g)), 1.0)
            model = fit_stand_in(
                m_proj, sl.start, sl.laps, sl.pools, wr, off_script=sl.truth.off_script
            )
            m_pts = model.scenarios(S_obj + S_sel + S_held, wr).points
            m_search, m_held = m_pts[: S_obj + S_sel], m_pts[S_obj + S_sel :]
            slate_w = sl.slate.assign(projection=m_search.mean(axis=0))
            for obj, (sd, shrink) in settings.items():
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
                t0 = time.perf_counter()
                found = search_portfolio(
                    slate_w,
                    m_search,
                    sl.own,
                    sl.table,
                    F,
                    params,
                    np.random.default_rng(3 + w),
                    sl.steering,
                )
                secs = time.perf_counter() - t0
                L = slate_indices(found.lineups, sl.slate)
                m_roi, m_cash = _money(simulate_contest(m_held, L, sl.field, sl.table))
                h_roi, h_cash = _money(
                    honest_contest(
                        m_held,
                        L,
                        sl.field,
                        sl.table,
                        np.random.default_rng(100 + w),
                        error_sd=DEFAULT_ERROR_SD,
                        shrink=DEFAULT_SHRINK,
                        salaries=sl.sal,
                    )
                )
                t_roi, t_cash = _money(simulate_contest(sl.truth_pts, L, sl.field, sl.table))
                real = (
                    int((sl.actual[L].sum(axis=1) >= sl.p80).sum()) if sl.actual is not None else -1
                )
                rows.append(
                    dict(
                        slate=sl.name,
                        world=w,
                        obj=obj,
                        model_roi=m_roi,
                        honest_roi=h_roi,
                        true_roi=t_roi,
                        model_cash=m_cash,
                        honest_cash=h_cash,
                        true_cash=t_cash,
                        real=real,
                        secs=secs,
                    )
                )
                if obj != default_obj:
                    continue
                for h_sd, h_sh in grid:
                    r_, c_ = _money(
                        honest_contest(
                            m_held,
                            L,
                            sl.field,
                            sl.table,
                            np.random.default_rng(200 + w),
                            error_sd=h_sd,
                            shrink=h_sh,
                            salaries=sl.sal,
                        )
                    )
                    hrows.append(
                        dict(
                            slate=sl.name,
                            world=w,
                            sd=h_sd,
                            shrink=h_sh,
                            roi=r_,
                            cash=c_,
                            bias_roi=r_ - t_roi,
                            bias_cash=c_ - t_cash,
                        )
                    )
        print(f"    worlds done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    _honest_report(pd.DataFrame(rows), pd.DataFrame(hrows), objectives, default_obj, args)
    la = os.getloadavg()
    print(
        f"\nhonest: {time.perf_counter() - t_start:.0f} s wall; load {la[0]:.2f} {la[1]:.2f} "
        f"{la[2]:.2f}"
    )


def _honest_report(r, h, objectives, default_obj, args) -> None:
    from nascar_pipeline.core.honest_roi import DEFAULT_ERROR_SD, DEFAULT_SHRINK

    n_worlds = r[r.obj == objectives[0]].shape[0]
    n_slates = r.slate.nunique()
    print(
        f"\n(1) per objective setting, mean over {n_worlds} worlds ({n_slates} slates): ROI and "
        f"cash % per lineup in the model's held-out scenarios (what a player is shown), honest "
        f"(current defaults: error_sd {DEFAULT_ERROR_SD:g}, shrink {DEFAULT_SHRINK:g}), true; "
        f"'vs {objectives[0]}': true ROI paired by world; se clustered by slate; real: Sonoma "
        "lineups at or over the real p80 with the actual points (no fastest laps)"
    )
    print(
        f"{'objective':>12s} {'model ROI':>9s} {'honest':>8s} {'true ROI':>8s} {'se':>6s} "
        f"{'model cash':>10s} {'honest':>6s} {'true cash':>9s} {'se':>5s} "
        f"{'vs ' + objectives[0]:>8s} {'se':>6s} {'real>=p80':>9s} {'s/search':>8s}"
    )
    base = r[r.obj == objectives[0]].true_roi.to_numpy()
    for obj in objectives:
        d = r[r.obj == obj]
        diff = d.true_roi.to_numpy() - base
        real = d[d.real >= 0]
        real_s = f"{int(real.real.sum())}/{args.honest_lineups * len(real)}" if len(real) else "-"
        print(
            f"{obj:>12s} {d.model_roi.mean():+9.0%} {d.honest_roi.mean():+8.0%} "
            f"{d.true_roi.mean():+8.0%} {_slate_se(d.true_roi, d.slate):6.0%} "
            f"{d.model_cash.mean():10.1f} {d.honest_cash.mean():6.1f} {d.true_cash.mean():9.1f} "
            f"{_slate_se(d.true_cash, d.slate):5.1f} {diff.mean():+8.1%} "
            f"{_slate_se(diff, d.slate):6.1%} {real_s:>9s} {d.secs.mean():8.1f}"
        )
    d = r[r.obj == default_obj]
    print(
        f"\n(2) per slate, objective {default_obj} (mean over its worlds); honest_roi / "
        f"honest_cash at the current defaults, 'honest / cash {args.honest_candidate}' at the "
        "candidate setting (--honest-candidate, when in the grid):"
    )
    per = d.groupby("slate", sort=False)[
        ["model_roi", "honest_roi", "true_roi", "model_cash", "honest_cash", "true_cash"]
    ].mean()
    c_sd, c_sh = (float(v) for v in args.honest_candidate.split("/"))
    cand = h[(h["sd"] == c_sd) & (h["shrink"] == c_sh)]
    if len(cand):  # the candidate setting's honest figures beside the current defaults'
        cand_per = cand.groupby("slate", sort=False)[["roi", "cash"]].mean()
        per.insert(2, f"honest {c_sd:g}/{c_sh:g}", cand_per["roi"])
        per.insert(6, f"cash {c_sd:g}/{c_sh:g}", cand_per["cash"])
    for col in [c for c in per.columns if "roi" in c or c.startswith("honest ")]:
        per[col] = per[col].map(lambda v: f"{v:+.0%}")
    print(per.round(1).to_string())
    print(
        f"\n(3) honest_contest settings on the portfolios of objective {default_obj}: "
        f"honest - true, mean over {n_worlds} worlds (se over worlds / clustered by slate); "
        f"true ROI {d.true_roi.mean():+.0%}, true cash {d.true_cash.mean():.1f} %"
    )
    print(
        f"{'error_sd':>8s} {'shrink':>6s} {'honest ROI':>10s} {'ROI bias':>9s} {'se':>6s} "
        f"{'se/slate':>8s} {'rms':>6s} {'cash':>6s} {'cash bias':>9s} {'se':>5s} "
        f"{'se/slate':>8s} {'rms':>5s}"
    )
    g = h.groupby(["sd", "shrink"], sort=True)
    for (sd, sh), x in g:
        print(
            f"{sd:8g} {sh:6g} {x.roi.mean():+10.0%} {x.bias_roi.mean():+9.0%} "
            f"{_se(x.bias_roi):6.0%} {_slate_se(x.bias_roi, x.slate):8.0%} "
            f"{np.sqrt((x.bias_roi**2).mean()):6.0%} {x.cash.mean():6.1f} "
            f"{x.bias_cash.mean():+9.1f} {_se(x.bias_cash):5.1f} "
            f"{_slate_se(x.bias_cash, x.slate):8.1f} {np.sqrt((x.bias_cash**2).mean()):5.1f}"
        )
    print(
        "\nunbiased shrink per error_sd (mean honest - true crosses 0; linear between grid points):"
    )
    for sd, x in h.groupby("sd"):
        m = x.groupby("shrink")[["bias_roi", "bias_cash"]].mean()
        xs = list(m.index)
        roi0 = _zero_crossing(xs, list(m.bias_roi))
        cash0 = _zero_crossing(xs, list(m.bias_cash))
        fmt = lambda v: "none in grid" if v is None else f"{v:.2f}"  # noqa: E731
        print(f"  error_sd {sd:>4g}: ROI {fmt(roi0)}, cash % {fmt(cash0)}")


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
        "--honest-slates",
        nargs="+",
        default=["sonoma", "chicagoland", "atlanta", "wilkesboro", "indianapolis", "iowa"],
        help="substrings of the real 2026 slates to measure on",
    )
    ap.add_argument(
        "--honest-objective",
        nargs="+",
        default=["0", "6", "10", "0/0.5"],
        help="the search's objective settings compared: 'objective_error_sd[/objective_shrink]'",
    )
    ap.add_argument("--honest-grid-sd", type=float, nargs="+", default=[0, 6, 12, 18])
    ap.add_argument(
        "--honest-grid-shrink",
        type=float,
        nargs="+",
        default=[0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0],
    )
    ap.add_argument(
        "--honest-candidate", default="12/0.8", help="honest 'error_sd/shrink' shown per slate"
    )
    ap.add_argument("--honest-lineups", type=int, default=20)
    ap.add_argument("--honest-field", type=int, default=3000)
    ap.add_argument("--honest-scenarios", type=int, default=300, help="sampler and selection")
    ap.add_argument("--honest-held", type=int, default=400, help="held-out model scenarios")
    ap.add_argument("--honest-eval", type=int, default=1000, help="truth scenarios")
    ap.add_argument("--honest-steps", type=int, default=200)
    ap.add_argument("--honest-worlds", type=int, default=3, help="model error draws per slate")
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
