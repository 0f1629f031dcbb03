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
slates_2026.csv: DK points per driver simulated by a Plackett-Luce on the vendor's projections
(temperature fitted so mean points match them) with laps led and fastest laps, on the real grid
(raceweek_2026_sonoma); each field at the contest's size; the simulated 5-95 % band of the winning
and the 80th-percentile score against the real ones, for each scenario seed. FieldParams' defaults
were chosen on the three Sonoma contests (the only ones with a slate: Pocono has none, so it
cannot be checked here); the binding one was the 490-entry contest's winning score.

Run: .venv/bin/python benchmarks/bench_field.py [--scenarios 400] [--field 10000]
     [--big 200000] [--seeds 11 12 13] [--skip-slates]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import nascar_pipeline.core.field as field_mod
from nascar_pipeline.core.contest import generate_field
from nascar_pipeline.core.field import field_stats
from nascar_pipeline.core.field_calibration import (
    contest_band,
    dk_points_scenarios,
    fit_temperature,
)
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


def _grid(g: pd.DataFrame) -> tuple[np.ndarray, int, str]:
    """Start positions and laps: the real grid where a race week has it, else by salary."""
    wk = DATA / "raceweek_2026_sonoma"
    if "sonoma" in g["slate"].iloc[0] and (wk / "results.csv").exists():
        res = pd.read_csv(wk / "results.csv")
        laps = int(pd.read_csv(wk / "races.csv")["laps"].iloc[0])
        start = g["name"].map(dict(zip(res["driver_name"], res["start_position"])))
        return start.fillna(len(g)).astype(int).to_numpy(), laps, "real grid"
    return np.arange(1, len(g) + 1), 200, "grid by salary"


def part2(slates: pd.DataFrame, contests: pd.DataFrame, S: int, seeds) -> pd.DataFrame:
    rows = []
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
        start, laps, how = _grid(g)
        proj = g["proj_points"].to_numpy(float)
        own, sal = g["proj_own"].to_numpy(float), g["salary"].to_numpy(float)
        for seed in seeds:
            rng = np.random.default_rng(seed)
            temp = fit_temperature(proj, start, laps, rng)
            pts = dk_points_scenarios(proj, start, laps, S, rng, temperature=temp)
            old, err, _ = _old(own, sal, int(c.entries), seed)
            new, _, _ = _new(own, sal, int(c.entries), seed, g["name"].to_numpy(), cold=False)
            for kind, L in ((OLD, old), (NEW, new)):
                if L is None:
                    rows.append({**base, "seed": seed, "generator": kind, "note": err[0]})
                    continue
                bd = contest_band(pts, L)
                b = bd.inside(c.winning_score, c.score_p80)
                rows.append(
                    {
                        **base,
                        "seed": seed,
                        "generator": kind,
                        "win_band": f"{b['win_lo']:.1f}-{b['win_hi']:.1f}",
                        "win_q": round(float((bd.win < c.winning_score).mean()), 3),
                        "win_in": b["win_inside"],
                        "p80_band": f"{b['p80_lo']:.1f}-{b['p80_hi']:.1f}",
                        "p80_q": round(float((bd.p80 < c.score_p80).mean()), 3),
                        "p80_in": b["p80_inside"],
                        "note": f"{how}, PL temperature {temp:g}",
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=400)
    ap.add_argument("--field", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=200_000, help="entries of the big field (0: skip)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    ap.add_argument("--skip-slates", action="store_true")
    a = ap.parse_args()
    dk = DATA / "draftkings"
    slates = pd.read_csv(dk / "slates_2026.csv")
    contests = pd.read_csv(dk / "contests_2026.csv")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.max_columns", 30)
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
    print(f"\n== part 2: real contests, {a.scenarios} scenarios, seeds {a.seeds}")
    t2 = part2(slates, contests, a.scenarios, a.seeds)
    print(t2.to_string(index=False))
    chk = t2.dropna(subset=["win_in"])
    inside = chk.groupby("generator").apply(
        lambda d: f"{int(d['win_in'].sum() + d['p80_in'].sum())}/{2 * len(d)}",
        include_groups=False,
    )
    print("\nreal score inside the simulated 5-95 % band (win and p80, contests x seeds):")
    print("  " + ", ".join(f"{k}: {v}" for k, v in inside.items()))


if __name__ == "__main__":
    main()
