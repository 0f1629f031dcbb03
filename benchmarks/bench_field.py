"""The contest field, today's generator beside the realistic one (core/field.py), on real slates.

Part 1, every real 2026 DraftKings slate (shared/data/draftkings/slates_2026.csv, the vendor's
projected ownership as the field's ownership), default settings, field of 10,000, floor $46,000,
plus the Indianapolis failure case (79 % on the cheapest driver, 50 % on the next four): does the
generator succeed, salary mean / median / share under $47,000, realized ownership error against
the input (mean absolute, percentage points), unique and duplicated shares, warnings.

Part 2, calibration against real contests (contests_2026.csv) whose slate is in slates_2026.csv:
DK points per driver simulated by a Plackett-Luce on the vendor's projections (temperature fitted
so mean points match them) with laps led and fastest laps, the real grid from raceweek_2026_sonoma
where present; the field at the contest's size; the simulated 5-95 % band of the winning and the
80th-percentile score against the real ones.

Run: .venv/bin/python benchmarks/bench_field.py [--scenarios 400] [--field 10000]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nascar_pipeline.core.contest import generate_field
from nascar_pipeline.core.field import build_field, field_stats
from nascar_pipeline.core.field_calibration import (
    contest_band,
    dk_points_scenarios,
    fit_temperature,
)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO.parent / "shared" / "data"))
CAP, R, FLOOR = 50_000, 6, 46_000


def _old(own, sal, n, seed):
    t = time.perf_counter()
    try:
        L = generate_field(own, sal, R, CAP, n, min_salary=FLOOR, rng=np.random.default_rng(seed))
        return L, "", time.perf_counter() - t
    except ValueError as e:
        return None, str(e)[:70], time.perf_counter() - t


def _new(own, sal, n, seed, proj, names):
    t = time.perf_counter()
    fb = build_field(
        own,
        sal,
        R,
        CAP,
        n,
        field_min_salary=FLOOR,
        projections=proj,
        names=names,
        rng=np.random.default_rng(seed),
    )
    return fb, time.perf_counter() - t


def _row(kind, L, sal, own, secs, note):
    if L is None:
        return {"generator": kind, "ok": False, "seconds": round(secs, 1), "note": note}
    st = field_stats(L, sal, target=own)
    return {
        "generator": kind,
        "ok": True,
        "seconds": round(secs, 1),
        "salary_mean": round(st["salary_mean"]),
        "salary_median": round(st["salary_median"]),
        "below_47k": round(st["share_below_47k"], 3),
        "own_mae": round(st["own_mae"], 2),
        "own_max_err": round(st["own_max_err"], 1),
        "unique": round(st["unique_share"], 3),
        "duplicated": round(st["duplicated_share"], 3),
        "max_copies": st["max_copies"],
        "note": note,
    }


def part1(slates: pd.DataFrame, n: int) -> pd.DataFrame:
    rows = []
    cases = [(s, g, g["proj_own"].to_numpy(float)) for s, g in slates.groupby("slate")]
    indy = slates[slates["slate"].str.contains("indianapolis")]
    bad = np.full(len(indy), 1.0)
    bad[np.argsort(indy["salary"].to_numpy())[:5]] = [79, 50, 50, 50, 50]
    cases.append(("indianapolis, degenerate ownership", indy, bad))
    for name, g, own in cases:
        sal = g["salary"].to_numpy(float)
        L, err, secs = _old(own, sal, n, 1)
        rows.append({"slate": name[:40], **_row("today", L, sal, own, secs, err)})
        fb, secs = _new(own, sal, n, 1, g["proj_points"].to_numpy(float), g["name"].to_numpy())
        note = " | ".join(w[:90] for w in fb.warnings)
        rows.append({"slate": name[:40], **_row("realistic", fb.lineups, sal, own, secs, note)})
        print(pd.DataFrame(rows[-2:]).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


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


def part2(slates: pd.DataFrame, contests: pd.DataFrame, S: int) -> pd.DataFrame:
    rows = []
    for c in contests.itertuples(index=False):
        g = _slate_for(c.slate, slates)
        base = {
            "contest": f"{c.contest_date} {c.slate}"[:34],
            "entries": c.entries,
            "real_win": c.winning_score,
            "real_p80": c.score_p80,
        }
        if g is None:
            rows.append({**base, "generator": "-", "note": "no slate in slates_2026.csv: skipped"})
            continue
        start, laps, how = _grid(g)
        rng = np.random.default_rng(11)
        proj = g["proj_points"].to_numpy(float)
        temp = fit_temperature(proj, start, laps, rng)
        pts = dk_points_scenarios(proj, start, laps, S, rng, temperature=temp)
        own, sal = g["proj_own"].to_numpy(float), g["salary"].to_numpy(float)
        old, err, _ = _old(own, sal, int(c.entries), 2)
        fb, _ = _new(own, sal, int(c.entries), 2, proj, g["name"].to_numpy())
        for kind, L in (("today", old), ("realistic", fb.lineups)):
            if L is None:
                rows.append({**base, "generator": kind, "note": err})
                continue
            b = contest_band(pts, L).inside(c.winning_score, c.score_p80)
            rows.append(
                {
                    **base,
                    "generator": kind,
                    "win_band": f"{b['win_lo']:.1f}-{b['win_hi']:.1f}",
                    "win_in": b["win_inside"],
                    "p80_band": f"{b['p80_lo']:.1f}-{b['p80_hi']:.1f}",
                    "p80_in": b["p80_inside"],
                    "note": f"{how}, PL temperature {temp:g}",
                }
            )
        print(pd.DataFrame(rows[-2:]).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=400)
    ap.add_argument("--field", type=int, default=10_000)
    ap.add_argument("--skip-slates", action="store_true")
    a = ap.parse_args()
    dk = DATA / "draftkings"
    slates = pd.read_csv(dk / "slates_2026.csv")
    contests = pd.read_csv(dk / "contests_2026.csv")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    if not a.skip_slates:
        print(f"== part 1: every slate, field {a.field:,}, floor ${FLOOR:,}, default settings")
        t1 = part1(slates, a.field)
        print("\n" + t1.drop(columns=["note"]).to_string(index=False))
        ok = t1.groupby("generator")["ok"].agg(["sum", "count"])
        print("\nsucceeded:", {k: f"{r['sum']}/{r['count']}" for k, r in ok.iterrows()})
    print(f"\n== part 2: real contests, {a.scenarios} scenarios")
    t2 = part2(slates, contests, a.scenarios)
    print("\n" + t2.to_string(index=False))


if __name__ == "__main__":
    main()
