"""The contest field: today's default (core/field.py build_field through core/slate.py draw_field)
beside the old slot-by-slot generator (core/contest.py generate_field), on real slates, one run.

Part 1, every real 2026 DraftKings slate (shared/data/draftkings/slates_2026.csv, the vendor's
projected ownership as the field's ownership), default settings, floor $46,000, plus the
Indianapolis failure case (79 % on the cheapest driver, 50 % on the next four): per generator,
success, build time (the realistic field cold: its per-slate model cache emptied first), salary
distribution (mean, median, 10th percentile, share under $47,000), realized ownership error
against the input (mean absolute and largest, percentage points), duplication (share of distinct
lineups, share of entries sharing their lineup, most copies of one lineup), warnings. Then the
build time of a 200,000-entry field (cold) on one slate.

Part 2, calibration against the real contests (contests_2026.csv) whose slate is in
slates_2026.csv. DK points per driver from the stand-in for the model's scenarios
(core/field_calibration.py fit_stand_in): the vendor's projections scaled to the points a race
pays out in all, Plackett-Luce strengths fitted so each driver's mean matches them, retirements
at the track type's real rate, laps led and fastest laps drawn from real races of the track type
(history/, by start and finish position), and the share of drivers running "off script" that
gives the real start-finish correlation; how concentrated the laps led and fastest laps are is a
real race's of the track type. First the evidence: the stand-in's race shape (points
spread, best scorers, dominator shares, place differential, grid-finish correlation) beside real
races of the track type, the real Sonoma races and the real 2026 result, and the first stand-in
(a temperature on the unscaled projections; it ran hot). Then the stand-in on every slate beside
real races of its track type (the best one, two and six scores per race, 5/50/95 %: held-out
evidence, as only Sonoma has contests). Then the best lineup under the cap with the real 2026
result without fastest laps against the real winning score (whether the contests scored them),
and the default field scored with the real 2026 result (no fastest laps in the file: a lower
bound, and with each finishing position's mean real share). Then, each field at the contest's size, the simulated 5-95 % band of the winning
and the 80th-percentile score against the real ones, per scenario seed, both generators on the
stand-in and the default field on the first stand-in, then per contest the checks inside and the
range of the real score's quantile over the seeds. Only the three Sonoma contests have a slate
(Pocono has none: not checked); they are one race, so their checks are not independent.

Run: .venv/bin/python benchmarks/bench_field.py [--scenarios 400] [--field 10000]
     [--big 200000] [--seeds 11 ... 20] [--skip-slates]
"""

from __future__ import annotations

import argparse
import os
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

import nascar_pipeline.core.field as field_mod
from nascar_pipeline.core import rules
from nascar_pipeline.core.contest import generate_field
from nascar_pipeline.core.field import field_stats
from nascar_pipeline.core.field_calibration import (
    contest_band,
    dk_points_scenarios,
    fit_stand_in,
    fit_temperature,
    race_pools,
    race_shape,
    race_total_points,
    top_scores,
)
from nascar_pipeline.core.optimize import optimize_lineups
from nascar_pipeline.core.slate import draw_field

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))
CAP, R, FLOOR = 50_000, 6, 46_000
OLD, NEW = "generate_field (old)", "draw_field (default)"


class Clock:
    """Wall and CPU seconds of a block (the CPU figure is what a shared, busy machine hides)."""

    def __enter__(self):
        self.t, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t
        self.cpu = time.process_time() - self.c


def _old(own, sal, n, seed):
    with Clock() as clk:
        try:
            L = generate_field(
                own, sal, R, CAP, n, min_salary=FLOOR, rng=np.random.default_rng(seed)
            )
            warns = []
        except ValueError as e:
            L, warns = None, [str(e)[:90]]
    return L, warns, clk


def _new(own, sal, n, seed, names, cold=True):
    if cold:
        field_mod._MODEL_CACHE.clear()  # time the fit, not a cache hit
    with Clock() as clk:
        d = draw_field(
            own, sal, n, FLOOR, np.random.default_rng(seed), setting="field_min_salary", names=names
        )
    return d.lineups, d.warnings, clk


def _row(kind, L, sal, own, clk, warns):
    note = " | ".join(w[:100] for w in warns)
    times = {"wall_s": round(clk.wall, 2), "cpu_s": round(clk.cpu, 2)}
    if L is None:
        return {"generator": kind, "ok": False, **times, "note": note}
    st = field_stats(L, sal, target=own)
    return {
        "generator": kind,
        "ok": True,
        **times,
        "sal_mean": round(st["salary_mean"]),
        "sal_median": round(st["salary_median"]),
        "sal_p10": round(st["salary_p10"]),
        "under_47k": round(st["share_below_47k"], 3),
        "own_mae": round(st["own_mae"], 2),
        "own_max": round(st["own_max_err"], 1),
        "distinct": round(st["unique_share"], 3),
        "duplicated": round(st["duplicated_share"], 3),
        "max_copies": st["max_copies"],
        "note": note,
    }


def _cases(slates: pd.DataFrame):
    cases = [
        (s, g.reset_index(drop=True), g["proj_own"].to_numpy(float))
        for s, g in slates.groupby("slate")
    ]
    indy = slates[slates["slate"].str.contains("indianapolis")].reset_index(drop=True)
    bad = np.full(len(indy), 1.0)
    bad[np.argsort(indy["salary"].to_numpy())[:5]] = [79, 50, 50, 50, 50]
    cases.append(("indianapolis, degenerate ownership", indy, bad))
    return cases


def part1(slates: pd.DataFrame, n: int) -> pd.DataFrame:
    rows = []
    for name, g, own in _cases(slates):
        sal = g["salary"].to_numpy(float)
        L, warns, clk = _old(own, sal, n, 1)
        rows.append({"slate": name[:36], **_row(OLD, L, sal, own, clk, warns)})
        L, warns, clk = _new(own, sal, n, 1, g["name"].to_numpy())
        rows.append({"slate": name[:36], **_row(NEW, L, sal, own, clk, warns)})
    return pd.DataFrame(rows)


def big_field(slates: pd.DataFrame, n: int) -> None:
    g = slates[slates["slate"].str.contains("sonoma")].reset_index(drop=True)
    own, sal = g["proj_own"].to_numpy(float), g["salary"].to_numpy(float)
    L, _, cold = _new(own, sal, n, 3, g["name"].to_numpy())
    _, _, warm = _new(own, sal, n, 4, g["name"].to_numpy(), cold=False)
    st = field_stats(L, sal, target=own)
    print(
        f"{NEW}, Sonoma, {n:,} entries: cold {cold.wall:.2f} s wall / {cold.cpu:.2f} s CPU, "
        f"the slate's model cached {warm.wall:.2f} s / {warm.cpu:.2f} s; median salary "
        f"{st['salary_median']:,.0f}, own MAE {st['own_mae']:.2f}, duplicated "
        f"{st['duplicated_share']:.3f}, most copies {st['max_copies']}"
    )
    L, warns, clk = _old(own, sal, n, 3)
    print(
        f"{OLD}, Sonoma, {n:,} entries: {clk.wall:.2f} s wall / {clk.cpu:.2f} s CPU"
        + (f" (failed: {warns[0]})" if L is None else "")
    )


def _slate_for(contest_slate: str, slates: pd.DataFrame) -> pd.DataFrame | None:
    key = contest_slate.lower().replace(" 2026", "").split()[0]
    hit = slates[slates["slate"].str.lower().str.contains(key)]
    return hit.reset_index(drop=True) if len(hit) else None


def _key(name: str) -> str:
    """Accent- and punctuation-free name: the slate's 'Daniel Suarez' is the result's 'Daniel
    Suárez' (the exact-name match left him at the back of the grid)."""
    ascii_ = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return " ".join(ascii_.lower().replace(".", "").split())


def _week(g: pd.DataFrame):
    """The real race week's results in slate order, or None (only Sonoma has one)."""
    wk = DATA / "raceweek_2026_sonoma"
    if "sonoma" not in g["slate"].iloc[0] or not (wk / "results.csv").exists():
        return None
    res = pd.read_csv(wk / "results.csv")
    res.index = res["driver_name"].map(_key)
    keys = g["name"].map(_key)
    if not keys.isin(res.index).all():
        return None
    return res.loc[keys].reset_index(drop=True), pd.read_csv(wk / "races.csv").iloc[0]


def _grid(g: pd.DataFrame, races: pd.DataFrame) -> tuple[np.ndarray, int, str, str]:
    """Start positions, laps, track type: the real grid where a race week has it, else by
    salary (laps and track type from the track's last real race)."""
    wk = _week(g)
    if wk is not None:
        res, race = wk
        return (
            res["start_position"].to_numpy(int),
            int(race["laps"]),
            race["track_type"],
            "real grid",
        )
    words = set(g["slate"].iloc[0].split("__")[-1].replace("-", " ").lower().split())
    known = races.dropna(subset=["track_type"])
    names = pd.Series(known["track_name"].unique())
    # the track whose name shares most words with the slate's (the shorter on a tie)
    score = names.map(lambda n: len(set(n.lower().split()) & words) - len(n) / 1000)
    last = None
    if len(names) and score.max() > 0.5:
        hit = known[known["track_name"] == names[score.idxmax()]]
        last = hit.sort_values("race_date").iloc[-1]
    laps = int(last["laps"]) if last is not None else 200
    tt = last["track_type"] if last is not None else "intermediate"
    order = np.argsort(np.argsort(-g["salary"].to_numpy()))
    return order + 1, laps, tt, "grid by salary"


def _real_shapes(results: pd.DataFrame, races: pd.DataFrame, keep) -> dict:
    rows = []
    for _, r in results[results["race_id"].isin(keep)].groupby("race_id"):
        laps = races.set_index("race_id").loc[r["race_id"].iloc[0], "laps"]
        fast = r["fastest_laps"].fillna(0).to_numpy()
        pts = rules.draftkings_points(
            r["start_position"], r["finish_position"], r["laps_led"], fast
        )
        rows.append(
            race_shape(pts, r["finish_position"], r["start_position"], r["laps_led"], fast, laps)
        )
    out = pd.DataFrame(rows).mean().to_dict()
    out["races"] = len(rows)
    return out


def stand_in_check(slates, results, races, seed=5, S=2000) -> None:
    """The stand-in's race shape beside real races of the track type (the evidence for it)."""
    g = slates[slates["slate"].str.contains("sonoma")].reset_index(drop=True)
    start, laps, tt, _ = _grid(g, races)
    proj = g["proj_points"].to_numpy(float)
    pools = race_pools(results, races, tt)
    rng = np.random.default_rng(seed)
    si = fit_stand_in(proj, start, laps, pools, rng)
    new = si.scenarios(S, rng)
    temp = fit_temperature(proj, start, laps, np.random.default_rng(seed))
    old_pts, old = _old_standin(proj, start, laps, S, np.random.default_rng(seed), temp)
    of = races[races["track_type"] == tt]
    son = of[of["track_name"].str.contains("Sonoma")]
    rows = {
        f"real {tt} races 2019-25": _real_shapes(results, races, of["race_id"]),
        "real Sonoma 2019-25": _real_shapes(results, races, son["race_id"]),
    }
    res, _ = _week(g)
    nofast = np.zeros(len(g))
    real26 = rules.draftkings_points(start, res["finish_position"], res["laps_led"], nofast)
    r26 = race_shape(real26, res["finish_position"], start, res["laps_led"], nofast, laps)
    r26.update(top6_fast=np.nan, fast_1st=np.nan, fast_n=np.nan, races=1)
    rows["real Sonoma 2026 (no FL)"] = r26
    rows[f"old stand-in (T {temp:g})"] = {
        **race_shape(old_pts, old[0], start, old[1], old[2], laps),
        "races": S,
    }
    rows["stand-in (fitted)"] = {
        **race_shape(new.points, new.finish, start, new.laps_led, new.fastest_laps, laps),
        "races": S,
    }
    total = race_total_points(len(g), laps, pools)
    print(
        f"stand-in vs real races, Sonoma 2026 slate ({laps} laps, {len(g)} cars, {tt}): the race "
        f"pays {total:.0f} DK points in all (finishing points + laps led + the mean real "
        f"fastest-lap total {pools.fast_total.mean():.2f} of the laps); the vendor's projections "
        f"sum to {proj.sum():.0f} (scale {si.scale:.3f}; the real 2026 result regressed on them: "
        f"slope {np.polyfit(proj, real26, 1)[0]:.2f}). Retirements {pools.dnf_rate:.3f} "
        f"({pools.n_races} real {tt} races). Off script: {si.off_script:.3f} of the drivers a "
        f"race (the share whose start-finish correlation is the real {pools.order_corr:.3f}: "
        f"{si.order_corr:.3f} in the fit's scenarios); mean points missed by the fit (target -> "
        f"reached): "
        + ", ".join(
            f"{g['name'].iloc[i]} {si.target[i]:.1f} -> {si.reached[i]:.1f}"
            for i in np.argsort(-np.abs(si.reached - si.target))[:3]
        )
    )
    print(pd.DataFrame(rows).T.round(3).to_string())
    fav = int(np.argmax(proj))
    exp_fast = _expected_fast(results, races, tt, len(g), laps)
    r_fav = real26[fav] + 0.45 * exp_fast[res["finish_position"].iloc[fav] - 1]
    print(
        f"the real race: {g['name'].iloc[fav]} (projected {proj[fav]}, {g['proj_own'].iloc[fav]:g} % "
        f"owned) scored {real26[fav]:.1f} without fastest laps (~{r_fav:.1f} with his finishing "
        f"position's mean real share): the {(new.points[:, fav] < r_fav).mean():.2f} quantile "
        f"of his stand-in points (old stand-in: {(old_pts[:, fav] < r_fav).mean():.2f})"
    )


def _real_top(results, races, keep) -> dict:
    """top_scores of every real race in keep (fastest laps missing count as none)."""
    r = results[results["race_id"].isin(keep)]
    fast = r["fastest_laps"].fillna(0).to_numpy()
    pts = rules.draftkings_points(r["start_position"], r["finish_position"], r["laps_led"], fast)
    per = pd.Series(pts, index=r.index).groupby(r["race_id"])
    rows = [top_scores(np.sort(v.to_numpy())) for _, v in per]
    return {k: np.concatenate([x[k] for x in rows]) for k in rows[0]}


def slates_check(slates, results, races, seed=5, S=1000) -> None:
    """The stand-in on every slate beside the real races of its track type (held-out evidence:
    only Sonoma has contests): the best score, the best two and the best six per race (5 / 50 /
    95 % quantiles; what the winning-score band is built from), the leader of most laps' share
    and the start-finish correlation. Slates without a real grid start in salary order."""
    rows = []
    for name, g in slates.groupby("slate"):
        g = g.reset_index(drop=True)
        start, laps, tt, how = _grid(g, races)
        pools = race_pools(results, races, tt)
        si = fit_stand_in(
            g["proj_points"].to_numpy(float), start, laps, pools, np.random.default_rng(seed)
        )
        sc = si.scenarios(S, np.random.default_rng(seed + 1))
        sh = race_shape(sc.points, sc.finish, start, sc.laps_led, sc.fastest_laps, laps)
        same = races[(races["track_type"] == tt) & (races["laps"].between(0.8 * laps, 1.25 * laps))]
        real = _real_top(results, races, races.loc[races["track_type"] == tt, "race_id"])
        near = _real_top(results, races, same["race_id"]) if len(same) >= 3 else None
        sim = top_scores(sc.points)
        q = lambda a: "/".join(f"{np.quantile(a, x):.0f}" for x in (0.05, 0.5, 0.95))  # noqa: E731
        for k in sim:
            rows.append(
                {
                    "slate": name.split("__")[-1][:28],
                    "type": f"{tt}, {laps} laps, {how}",
                    "stat": k,
                    "stand-in": q(sim[k]),
                    "real type": q(real[k]),
                    "real type, laps +-25%": q(near[k]) if near is not None else "-",
                    "races": f"{pools.n_races}/{len(same)}",
                    "off_script": round(si.off_script, 3),
                    "corr sim/real": f"{sh['corr']:.2f}/{pools.order_corr:.2f}",
                }
            )
    print(
        "\nthe stand-in on every slate beside real races of its track type (5/50/95 % quantiles "
        "per race; 'laps +-25%': real races of the type whose length is within 25 % of the "
        "slate's; races: of the type / of that length):"
    )
    print(pd.DataFrame(rows).to_string(index=False))


def _old_standin(proj, start, laps, S, rng, temp):
    """The first stand-in (dk_points_scenarios), with its orders and dominator laps."""
    from nascar_pipeline.core.field_calibration import _front_shares, plackett_luce_orders

    finish = plackett_luce_orders(proj / temp, S, rng)
    led = np.round(_front_shares(finish, 1.5, 0.7, rng) * laps)
    fast = np.round(_front_shares(finish, 5.0, 1.0, rng) * laps * 0.8)
    st = np.broadcast_to(start, finish.shape)
    return rules.draftkings_points(st, finish, led, fast), (finish, led, fast)


def _expected_fast(results, races, tt, D, laps) -> np.ndarray:
    """Mean real fastest laps by finishing position (track type), for a result without them."""
    r = results.merge(races[["race_id", "laps", "track_type"]], on="race_id")
    r = r[(r["track_type"] == tt) & r["fastest_laps"].notna()]
    share = (r["fastest_laps"] / r["laps"]).groupby(r["finish_position"]).mean()
    return share.reindex(range(1, D + 1)).fillna(0).to_numpy() * laps


def real_outcome(slates, contests, results, races, seeds) -> None:
    """Our field scored with the real Sonoma 2026 result: what the field alone implies."""
    g = slates[slates["slate"].str.contains("sonoma")].reset_index(drop=True)
    wk = _week(g)
    if wk is None:
        return
    res, _ = wk
    start, laps, tt, _ = _grid(g, races)
    own, sal = g["proj_own"].to_numpy(float), g["salary"].to_numpy(float)
    fin = res["finish_position"].to_numpy(int)
    low = rules.draftkings_points(start, fin, res["laps_led"], np.zeros(len(g)))
    mid = low + 0.45 * _expected_fast(results, races, tt, len(g), laps)[fin - 1]
    # did the real contests score fastest laps? The best lineup under the cap scored without
    # them is a ceiling on any real lineup's score if they did not
    best = {
        k: float(optimize_lineups(p, sal, R, CAP).objective[0])
        for k, p in (("no FL", low), ("mean FL", mid))
    }
    top = contests.loc[contests["slate"].str.contains("Sonoma"), "winning_score"].max()
    print(
        f"\nthe best lineup under the cap with the real Sonoma 2026 result: {best['no FL']:.2f} "
        f"without fastest laps, {best['mean FL']:.2f} with each finishing position's mean real "
        f"share; the real winning score {top}"
        + (
            f" is above the first: the real contests scored fastest laps (at least "
            f"{top - best['no FL']:.1f} points of them, {(top - best['no FL']) / 0.45:.0f} laps, in "
            f"the winning lineup), as the stand-in does"
            if top > best["no FL"]
            else " is within it: the file cannot tell whether the contests scored fastest laps"
        )
    )
    # how good was the real race for the chalk? The field's mean lineup is the ownership-weighted
    # sum of the drivers' points: where the real one falls among the stand-in's races says where
    # the real 80th-percentile score should fall in its band, whatever the field
    pools = race_pools(results, races, tt)
    si = fit_stand_in(
        g["proj_points"].to_numpy(float), start, laps, pools, np.random.default_rng(seeds[0])
    )
    sim = si.scenarios(4000, np.random.default_rng(seeds[0] + 1)).points @ (own / 100)
    print(
        f"the field's mean lineup (ownership-weighted points) in the real race: "
        f"{low @ own / 100:.1f} without fastest laps, {mid @ own / 100:.1f} with the mean share: "
        f"the {(sim < low @ own / 100).mean():.2f} / {(sim < mid @ own / 100).mean():.2f} quantile "
        f"of the stand-in's races (5/50/95 %: "
        + "/".join(f"{np.quantile(sim, q):.0f}" for q in (0.05, 0.5, 0.95))
        + "): a race good for the chalk puts the real 80th-percentile score high in its band"
    )
    print(
        "the default field scored with the real Sonoma 2026 result (no fastest laps in it: "
        "'no FL' is a lower bound, 'mean FL' adds each finishing position's mean real share):"
    )
    for c in contests[contests["slate"].str.contains("Sonoma")].itertuples(index=False):
        cells = []
        for seed in seeds:
            L, _, _ = _new(own, sal, int(c.entries), seed, g["name"].to_numpy(), cold=False)
            a, b = low[L].sum(axis=1), mid[L].sum(axis=1)
            cells.append(
                f"seed {seed}: win {a.max():.1f}/{b.max():.1f} p80 "
                f"{np.quantile(a, 0.8):.1f}/{np.quantile(b, 0.8):.1f}"
            )
        print(
            f"  {c.entries:>5} entries, real win {c.winning_score} p80 {c.score_p80}: "
            + "; ".join(cells)
        )


def part2(slates, contests, results, races, S: int, seeds) -> pd.DataFrame:
    rows, cache = [], {}
    for c in contests.itertuples(index=False):
        g = _slate_for(c.slate, slates)
        base = {
            "contest": f"{c.contest_date} {c.slate}"[:30],
            "entries": c.entries,
            "real_win": c.winning_score,
            "real_p80": c.score_p80,
        }
        if g is None:
            rows.append(
                {**base, "generator": "-", "note": "no slate in slates_2026.csv: not checked"}
            )
            continue
        start, laps, tt, how = _grid(g, races)
        proj = g["proj_points"].to_numpy(float)
        own, sal = g["proj_own"].to_numpy(float), g["salary"].to_numpy(float)
        pools = race_pools(results, races, tt)
        for seed in seeds:
            key = (g["slate"].iloc[0], seed)
            if key not in cache:  # one race: its contests share the scenarios of a seed
                rng = np.random.default_rng(seed)
                si = fit_stand_in(proj, start, laps, pools, rng)
                temp = fit_temperature(proj, start, laps, np.random.default_rng(seed))
                hot = dk_points_scenarios(
                    proj, start, laps, S, np.random.default_rng(seed), temperature=temp
                )
                cache[key] = (si.scenarios(S, rng).points, temp, hot)
            pts, temp, hot = cache[key]
            old, err, _ = _old(own, sal, int(c.entries), seed)
            new, _, _ = _new(own, sal, int(c.entries), seed, g["name"].to_numpy(), cold=False)
            runs = ((OLD, old, pts, "stand-in"), (NEW, new, pts, "stand-in"))
            runs += ((NEW, new, hot, f"old stand-in T {temp:g}"),)
            for kind, L, P, scen in runs:
                if L is None:
                    rows.append({**base, "seed": seed, "generator": kind, "note": err[0]})
                    continue
                bd = contest_band(P, L)
                b = bd.inside(c.winning_score, c.score_p80)
                rows.append(
                    {
                        **base,
                        "seed": seed,
                        "generator": kind,
                        "scenarios": scen,
                        "win_band": f"{b['win_lo']:.1f}-{b['win_hi']:.1f}",
                        "win_q": round(float((bd.win < c.winning_score).mean()), 3),
                        "win_in": b["win_inside"],
                        "p80_band": f"{b['p80_lo']:.1f}-{b['p80_hi']:.1f}",
                        "p80_q": round(float((bd.p80 < c.score_p80).mean()), 3),
                        "p80_in": b["p80_inside"],
                        "note": f"{how}, {tt}",
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=400)
    ap.add_argument("--field", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=200_000, help="entries of the big field (0: skip)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(11, 21)))
    ap.add_argument("--skip-slates", action="store_true")
    a = ap.parse_args()
    dk = DATA / "draftkings"
    slates = pd.read_csv(dk / "slates_2026.csv")
    contests = pd.read_csv(dk / "contests_2026.csv")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.max_columns", 30)
    # the build times below are only comparable on a quiet machine: say how busy it was
    print("load average (1, 5, 15 min) at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if not a.skip_slates:
        print(f"== part 1: every slate, field {a.field:,}, floor ${FLOOR:,}, default settings")
        t1 = part1(slates, a.field)
        print(t1.drop(columns=["note"]).to_string(index=False))
        print("\nwarnings:")
        for r in t1[t1["note"].astype(str) != ""].itertuples():
            print(f"  {r.slate} / {r.generator}: {r.note}")
        ok = t1.groupby("generator")["ok"].agg(["sum", "count"])
        print("\nsucceeded:", {k: f"{r['sum']}/{r['count']}" for k, r in ok.iterrows()})
        for col in ("wall_s", "cpu_s"):
            med = t1.groupby("generator")[col].median().round(2).to_dict()
            print(f"build {col}, median over slates: {med}")
        if a.big:
            print()
            big_field(slates, a.big)
        print("load average after part 1: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    hist = DATA / "history"
    results, races = pd.read_csv(hist / "results.csv"), pd.read_csv(hist / "races.csv")
    print(f"\n== part 2: real contests, {a.scenarios} scenarios, seeds {a.seeds}\n")
    stand_in_check(slates, results, races)
    slates_check(slates, results, races)
    real_outcome(slates, contests, results, races, a.seeds)
    t2 = part2(slates, contests, results, races, a.scenarios, a.seeds)
    print()
    print(t2.to_string(index=False))
    chk = t2.dropna(subset=["win_in"])
    inside = chk.groupby(["generator", "scenarios"]).apply(
        lambda d: f"{int(d['win_in'].sum() + d['p80_in'].sum())}/{2 * len(d)}",
        include_groups=False,
    )
    print("\nreal score inside the simulated 5-95 % band (win and p80, contests x seeds):")
    print("  " + ", ".join(f"{k[0]} on the {k[1]}: {v}" for k, v in inside.items()))
    summary = chk.groupby(["generator", "scenarios", "entries"]).agg(
        seeds=("seed", "size"),
        win_in=("win_in", "sum"),
        win_q_min=("win_q", "min"),
        win_q_max=("win_q", "max"),
        p80_in=("p80_in", "sum"),
        p80_q_min=("p80_q", "min"),
        p80_q_max=("p80_q", "max"),
    )
    print("\nper contest (quantile of the real score in the simulated distribution, over seeds):")
    print(summary.to_string())


if __name__ == "__main__":
    main()
