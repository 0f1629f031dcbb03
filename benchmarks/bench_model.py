"""Benchmark of the race model: fit on 2022-2025 history (about 140 races) + 10,000 scenarios for
one race, reporting compile, SVI, warm-up, sampling and simulation time separately, with a cold
and then a warm JAX persistent compilation cache (two fresh processes sharing one cache folder).

    .venv/bin/python benchmarks/bench_model.py [--chains 4 --warmup 400 --draws 500]

Reads ../shared/data/history (or --history DIR). Prints one table and ESS per second.
Wall times on a shared 2-core machine are noisy: CPU seconds of the process are printed too.
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

REPO = Path(__file__).resolve().parents[1]
DEFAULT_HISTORY = REPO.parent / "shared" / "data" / "history"


def one_run(args) -> dict:
    """Runs in a child process whose NASCAR_JAX_CACHE is set by the parent."""
    t_start = time.perf_counter()
    c_start = time.process_time()
    import numpy as np

    from nascar_pipeline.core.backtest import history_from_tables
    from nascar_pipeline.core.model import FitConfig, ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.simulate import simulate_race
    from nascar_pipeline.ontology.parsers.history import parse_history

    t_import = time.perf_counter() - t_start
    h = history_from_tables(
        parse_history(Path(args.history) / "races.csv", Path(args.history) / "results.csv")
    )
    h = h[(h["season"] >= 2022) & (h["season"] <= 2025)]
    mcfg = ModelConfig(history_days=4 * 366)
    data = prepare_history(h, mcfg)
    fcfg = FitConfig(
        num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains, seed=args.seed
    )
    fit = fit_model(data, fcfg)
    last = h[h["race_date"] == h["race_date"].max()]
    entries = last[["driver_id", "driver_name", "car_number", "start_position"]]
    post = fit.flat()
    t0 = time.perf_counter()
    sc = simulate_race(
        post,
        data,
        entries,
        str(last["track_type"].iloc[0]),
        laps=int(last["laps"].iloc[0]),
        n_scenarios=args.scenarios,
        seed=1,
    )
    sim_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sc = simulate_race(
        post,
        data,
        entries,
        str(last["track_type"].iloc[0]),
        laps=int(last["laps"].iloc[0]),
        n_scenarios=args.scenarios,
        seed=2,
    )
    sim_second = time.perf_counter() - t0
    d = fit.diagnostics
    return {
        "races": data.n_races,
        "drivers": data.n_drivers,
        "import_s": t_import,
        **{k: float(v) for k, v in fit.timings.items()},
        "sim_first_call_s": sim_first,
        "sim_s": sim_second,
        "sim_compile_s": max(sim_first - sim_second, 0.0),
        "rhat_max": d["rhat_max"],
        "ess_bulk_min": d["ess_bulk_min"],
        "divergences": d["divergences"],
        "draws": d["draws"],
        "mean_leapfrog_steps": d.get("mean_leapfrog_steps"),
        "ess_per_s_sampling": d["ess_per_s"],
        "fit_plus_sim_wall_s": fit.timings["total_s"] + sim_first,
        "process_wall_s": time.perf_counter() - t_start,
        "process_cpu_s": time.process_time() - c_start,
        "scenarios": int(sc.n_scenarios),
        "mean_dk": float(np.mean(sc.dk_points)),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--history", default=str(DEFAULT_HISTORY))
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--scenarios", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="cache folder (default: a fresh temp folder)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print("RESULT " + json.dumps(one_run(args)), flush=True)
        return 0
    if not (Path(args.history) / "races.csv").exists():
        print(f"history not found at {args.history}", file=sys.stderr)
        return 2
    cache = args.cache or tempfile.mkdtemp(prefix="nascar-jax-cache-")
    results = {}
    for label in ("cold", "warm"):
        env = dict(os.environ, NASCAR_JAX_CACHE=cache, PYTHONUNBUFFERED="1")
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--history",
            args.history,
            "--chains",
            str(args.chains),
            "--warmup",
            str(args.warmup),
            "--draws",
            str(args.draws),
            "--scenarios",
            str(args.scenarios),
            "--seed",
            str(args.seed),
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode or not line:
            print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
            return 1
        results[label] = json.loads(line[0][len("RESULT ") :])
        print(
            f"{label} cache done: fit+sim {results[label]['fit_plus_sim_wall_s']:.1f} s", flush=True
        )
    c, w = results["cold"], results["warm"]
    print(
        f"\nRace model benchmark: {c['races']} races, {c['drivers']} drivers, "
        f"{args.chains} chains x ({args.warmup} warm-up + {args.draws} draws), "
        f"{args.scenarios} scenarios; cache {cache}; {os.cpu_count()} CPUs"
    )
    rows = [
        ("compile (SVI + NUTS, trace+lower+XLA or cache load)", "compile_s"),
        ("SVI init (excl. compile)", None),
        ("NUTS warm-up (excl. compile)", "warmup_s"),
        ("NUTS sampling (excl. compile)", "sampling_s"),
        ("simulation compile", "sim_compile_s"),
        ("simulation, 10k scenarios", "sim_s"),
        ("fit + scenarios, wall", "fit_plus_sim_wall_s"),
        ("whole process, wall", "process_wall_s"),
        ("whole process, CPU", "process_cpu_s"),
    ]
    print(f"{'figure':<55}{'cold (s)':>10}{'warm (s)':>10}")
    for name, key in rows:
        if key is None:
            cv = c["svi_wall_s"] - c["svi_compile_s"]
            wv = w["svi_wall_s"] - w["svi_compile_s"]
        else:
            cv, wv = c[key], w[key]
        print(f"{name:<55}{cv:>10.1f}{wv:>10.1f}")
    for label, r in results.items():
        print(
            f"{label}: R-hat max {r['rhat_max']:.4f}, bulk ESS min {r['ess_bulk_min']:.0f} "
            f"of {r['draws']} draws, divergences {r['divergences']}, mean leapfrog steps "
            f"{r['mean_leapfrog_steps']:.1f}, ESS/s (min bulk ESS / sampling s) "
            f"{r['ess_per_s_sampling']:.1f}, ESS/s over the whole fit "
            f"{r['ess_bulk_min'] / (r['total_s']):.1f}"
        )
    print(
        "targets: warm fit + 10k scenarios <= 120 s wall: "
        f"{'PASS' if w['fit_plus_sim_wall_s'] <= 120 else 'MISS'} "
        f"({w['fit_plus_sim_wall_s']:.1f} s); 10k scenarios <= 10 s: "
        f"{'PASS' if w['sim_s'] <= 10 else 'MISS'} ({w['sim_s']:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
