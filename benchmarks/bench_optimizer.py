"""Benchmark 7a: 150 distinct lineups, at most 3 shared drivers, maximizing projected points, on a
real DraftKings slate: our HiGHS MILP (nascar_pipeline.core.optimize) against
pydfs-lineup-optimizer 3.6.1 with its default CBC solver, same pool and constraints, one run.

pydfs-lineup-optimizer pins PuLP==2.4, so it lives in its own venv (created on first use):
    python3 -m venv .cache/pydfs-venv && .cache/pydfs-venv/bin/pip install pydfs-lineup-optimizer==3.6.1

Run: .venv/bin/python benchmarks/bench_optimizer.py [--slate SUBSTRING] [--n 150] [--max-shared 3]
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
    args = ap.parse_args()
    df = pd.read_csv(DATA / "draftkings" / "slates_2026.csv")
    slate = next(s for s in df.slate.unique() if args.slate in s)
    g = df[df.slate == slate].reset_index(drop=True)
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
