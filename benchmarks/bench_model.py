"""Benchmark of the race model on 2022-2025 history (about 140 races): sequential vs parallel
NUTS chains side by side at production settings (4 chains x (400 warm-up + 500 draws)) plus
10,000 scenarios, and a fresh process's time to the model's first gradient with a warm cache.

    .venv/bin/python benchmarks/bench_model.py [--chains 4 --warmup 400 --draws 500]
        [--cache DIR [--no-cold]] [--only parallel|sequential] [--platform cpu|cuda]
        [--loop-data off|on|both] [--form on|off] [--lap-position on|off]

Every measured run is a fresh process sharing one JAX compilation cache folder:
1. cold pass (skipped with --no-cold on a cache that is already warm): one process fits with
   parallel chains, then with sequential chains, compiling both;
2. warm pass: one fresh process per chain method (fit + 10,000 scenarios);
3. first gradient: a fresh process that imports, prepares the data and evaluates the model's
   potential energy and gradient through the fit's programs.
--platform cuda runs the fit (chains vectorized on the GPU), the scenarios and the gradient on a
CUDA GPU (jax[cuda] installed); run it once with --platform cpu beside it to compare.
--form on|off (default on, as race_model_fit): the trailing-form covariates (ModelConfig.form).
--lap-position on|off (default off): laps led and fastest laps given the realised finish and start
(ModelConfig.lap_position).
--car-contrasts on|off (default on, as race_model_fit): car effects as contrasts within the
driver-car groups (ModelConfig.car_contrasts). --team-effect on|off (default off):
organisation effects under the car (ModelConfig.team_effect).
--loop-data both (the default): every pass fits the same history without loop data's
measurement model and with it (ModelConfig.loop_data; with --form on both read the running
positions as form covariates; history/loopstats.csv of the same folder, loaded as `nascar-pipeline
backtest` does), each in its own fresh process, printed side by side ("+ loop" columns: stage
split, wall times, R-hat, bulk ESS, divergences, load average); off / on: only that one.
Reads ../shared/data/history (or --history DIR). The machine is shared: each run prints its
CPU seconds (all threads) and the load average beside its wall time; compare ratios.
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
LOOP_LABEL = {False: "", True: " + loop"}
TARGET_S = 90.0  # issue 15: warm fit of 2022-25 + 10,000 scenarios on 2 cores
CONVERGENCE_ROWS = [
    ("R-hat max", "rhat_max", ".4f"),
    ("bulk ESS min", "ess_bulk_min", ".0f"),
    ("divergences", "divergences", ".0f"),
]


def _load_history(path: str):
    from nascar_pipeline.core.backtest import history_from_tables
    from nascar_pipeline.ontology.parsers.history import parse_history

    h = history_from_tables(parse_history(Path(path) / "races.csv", Path(path) / "results.csv"))
    return h[(h["season"] >= 2022) & (h["season"] <= 2025)]


def _load_loop(path: str, h, cache: str | None = None):
    """history/loopstats.csv as loop_stats rows, Cup rows keyed by the history's race keys.
    With `cache` (the run's JAX cache folder) the validated rows are kept there as Parquet
    after the first parse: a run worker reads loop rows already validated from the race source
    (ingest validated them once), so the children's data step should not re-validate the whole
    24,702-row file (about 1 s of the first-gradient figure)."""
    import pandas as pd

    from nascar_pipeline.core.model.loop_data import keyed_to_history
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata

    csv = Path(path) / "loopstats.csv"
    kept = None
    if cache:
        st = csv.stat()
        kept = Path(cache) / f"loop_rows_{st.st_size}_{st.st_mtime_ns}.parquet"
    if kept is not None and kept.exists():
        rows = pd.read_parquet(kept)
    else:
        rows = parse_loopdata(csv).loop_stats
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_suffix(f".{os.getpid()}.tmp")
            rows.to_parquet(tmp, index=False)
            os.replace(tmp, kept)  # whole or absent for the next child
    return keyed_to_history(rows, h)


def _select_platform(platform: str) -> None:
    """Before any JAX operation: the platform the child runs on (auto: JAX's choice, a GPU when
    one is present)."""
    if platform != "auto":
        import jax

        jax.config.update("jax_platforms", platform)


def jax_platform() -> str:
    import jax

    return jax.default_backend()


def fit_run(args) -> dict:
    """Child: fit (with each method in --methods, in order) + scenarios for the last race."""
    t_start, c_start, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    _select_platform(args.platform)
    from nascar_pipeline.core.jax_setup import configure_jax

    configured = configure_jax(args.cache)
    import numpy as np

    from nascar_pipeline.core.model import FitConfig, ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.model.fit import compile_clock, gradient_cpu_seconds
    from nascar_pipeline.core.simulate import simulate_race

    h = _load_history(args.history)
    data = _prepared(args, h, ModelConfig, prepare_history)
    out = {"races": data.n_races, "drivers": data.n_drivers, "configured": configured}
    if args.loop:
        out["loop_races"] = int((data.arrays["loop_on"].sum(axis=1) > 0).sum())
    for method in args.methods.split(","):
        c0, l0, t0 = time.process_time(), os.getloadavg()[0], time.perf_counter()
        fcfg = FitConfig(
            num_warmup=args.warmup,
            num_samples=args.draws,
            num_chains=args.chains,
            seed=args.seed,
            chain_method=method,
        )
        fit = fit_model(data, fcfg)
        fit_wall, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        last = h[h["race_date"] == h["race_date"].max()]
        clock = compile_clock()
        k0, t1, c1 = clock.total, time.perf_counter(), time.process_time()
        sc = simulate_race(
            fit.flat(),
            data,
            last[["driver_id", "driver_name", "car_number", "start_position"]],
            str(last["track_type"].iloc[0]),
            laps=int(last["laps"].iloc[0]),
            n_scenarios=args.scenarios,
            seed=1,
        )
        sim_wall = time.perf_counter() - t1
        d = fit.diagnostics
        out[method] = {
            **{k: float(v) for k, v in fit.timings.items()},
            "platform": jax_platform(),
            "chain_method": fit.chain_method,
            "fit_wall_s": fit_wall,
            "fit_cpu_s": fit_cpu,
            "sim_wall_s": sim_wall,
            "sim_compile_s": clock.total - k0,
            "sim_cpu_s": time.process_time() - c1,
            "fit_plus_sim_wall_s": fit_wall + sim_wall,
            "load_avg_1m": (l0 + os.getloadavg()[0]) / 2,
            "rhat_max": float(d["rhat_max"]),
            "ess_bulk_min": float(d["ess_bulk_min"]),
            "divergences": int(d["divergences"]),
            "draws": int(d["draws"]),
            "mean_leapfrog_steps": float(d.get("mean_leapfrog_steps") or 0.0),
            "sampling_gradients": int(np.sum(fit.num_steps)),
            "ess_per_s_sampling": float(d["ess_per_s"]),
            "scenarios": int(sc.n_scenarios),
            "mean_dk": float(np.mean(sc.dk_points)),
        }
    out["process_wall_s"] = time.perf_counter() - t_start
    out["process_cpu_s"] = time.process_time() - c_start
    # After the timed runs: one gradient's CPU cost inside a compiled loop (the profile's unit).
    out["gradient_cpu_us"] = 1e6 * gradient_cpu_seconds(data)
    out["load_avg_1m"] = (load0 + os.getloadavg()[0]) / 2
    return out


def gradient_run(args) -> dict:
    """Child: a fresh worker's way to the model's first gradient."""
    t_start, c_start = time.perf_counter(), time.process_time()
    _select_platform(args.platform)
    from nascar_pipeline.core.jax_setup import configure_jax

    configure_jax(args.cache)
    from nascar_pipeline.core.model import ModelConfig, prepare_history
    from nascar_pipeline.core.model.fit import compile_clock, first_gradient

    t_import = time.perf_counter() - t_start
    data = _prepared(args, _load_history(args.history), ModelConfig, prepare_history)
    t_data = time.perf_counter() - t_start - t_import
    clock = compile_clock()  # listening before the first JAX program
    t0 = time.perf_counter()
    first_gradient(data)
    return {
        "import_s": t_import,
        "data_s": t_data,
        "jax_s": time.perf_counter() - t0,
        "jax_compile_s": clock.total,
        "programs": clock.programs,
        "new_compiles": clock.misses,
        "process_wall_s": time.perf_counter() - t_start,
        "process_cpu_s": time.process_time() - c_start,
        "load_avg_1m": os.getloadavg()[0],
    }


def _prepared(args, h, ModelConfig, prepare_history):
    """The model's data for the run: loop data as evidence (--loop), trailing form (--form on,
    as race_model_fit; it reads the loop rows' running positions too)."""
    form = args.form == "on"
    uses_loop = args.loop or form
    cache = getattr(args, "cache", None)
    loop = _load_loop(args.history, h, cache) if uses_loop and _has_loop(args.history) else None
    cfg = ModelConfig(
        history_days=4 * 366,
        loop_data=args.loop,
        form=form,
        lap_position=args.lap_position == "on",
        car_contrasts=args.car_contrasts == "on",
        team_effect=args.team_effect == "on",
    )
    return prepare_history(h, cfg, loop=loop)


def _has_loop(history) -> bool:
    return (Path(history) / "loopstats.csv").exists()


def _child(args, role: str, methods: str = "", loop: bool = False) -> tuple[dict, float]:
    cmd = [sys.executable, __file__, "--child", role, "--methods", methods or "auto"]
    cmd += ["--loop"] if loop else []
    for name in ("history", "chains", "warmup", "draws", "scenarios", "seed", "cache", "platform",
                 "form", "lap_position", "car_contrasts", "team_effect"):  # fmt: skip
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    t0 = time.perf_counter()
    out = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ, PYTHONUNBUFFERED="1")
    )
    wall = time.perf_counter() - t0
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode or not line:
        print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(1)
    return json.loads(line[0][len("RESULT ") :]), wall


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--history", default=str(DEFAULT_HISTORY))
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--scenarios", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="cache folder (default: a fresh temp folder)")
    p.add_argument("--no-cold", action="store_true", help="skip the cold pass (warm --cache)")
    p.add_argument("--only", choices=("parallel", "sequential"), default=None)
    p.add_argument(
        "--platform",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="JAX platform of the runs (cuda: the GPU path; auto: a GPU when present)",
    )
    p.add_argument(
        "--loop-data",
        choices=("off", "on", "both"),
        default="both",
        help="fit without loop data, with it (history/loopstats.csv), or both side by side",
    )
    p.add_argument(
        "--form",
        choices=("on", "off"),
        default="on",
        help="the trailing-form covariates (ModelConfig.form; race_model_fit's default: on)",
    )
    p.add_argument(
        "--lap-position",
        choices=("on", "off"),
        default="off",
        help="laps led and fastest laps given the realised finish and start "
        "(ModelConfig.lap_position)",
    )
    p.add_argument(
        "--car-contrasts",
        choices=("on", "off"),
        default="on",
        help="car effects as contrasts within the driver-car groups (ModelConfig.car_contrasts; "
        "race_model_fit's default: on)",
    )
    p.add_argument(
        "--team-effect",
        choices=("on", "off"),
        default="off",
        help="organisation (team) effects under the car (ModelConfig.team_effect; "
        "race_model_fit's default: off)",
    )
    p.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child", choices=("fit", "gradient"), help=argparse.SUPPRESS)
    p.add_argument("--methods", default="auto", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "fit":
        print("RESULT " + json.dumps(fit_run(args)), flush=True)
        return 0
    if args.child == "gradient":
        print("RESULT " + json.dumps(gradient_run(args)), flush=True)
        return 0
    if not (Path(args.history) / "races.csv").exists():
        print(f"history not found at {args.history}", file=sys.stderr)
        return 2
    loop_modes = {"off": [False], "on": [True], "both": [False, True]}[args.loop_data]
    if True in loop_modes and not (Path(args.history) / "loopstats.csv").exists():
        print(f"--loop-data {args.loop_data}: no loopstats.csv in {args.history}", file=sys.stderr)
        return 2
    args.cache = args.cache or tempfile.mkdtemp(prefix="nascar-jax-cache-")
    methods = [args.only] if args.only else ["sequential", "parallel"]
    cold = {False: {}, True: {}}
    for loop in loop_modes if not args.no_cold else ():
        cold[loop], wall = _child(args, "fit", ",".join(reversed(methods)), loop=loop)
        print(
            f"cold pass{LOOP_LABEL[loop]} done in {wall:.0f} s (both methods compiled)", flush=True
        )
    warm = {False: {}, True: {}}
    meta = {}
    for loop in loop_modes:
        for m in methods:
            res, wall = _child(args, "fit", m, loop=loop)
            warm[loop][m] = {
                **res[m],
                "spawn_to_exit_s": wall,
                "process_cpu_s": res["process_cpu_s"],
                "gradient_cpu_us": res["gradient_cpu_us"],
            }
            meta[loop] = res
            print(
                f"warm {m}{LOOP_LABEL[loop]} done: fit + scenarios "
                f"{warm[loop][m]['fit_plus_sim_wall_s']:.1f} s",
                flush=True,
            )
    if not args.no_cold:
        _child(args, "gradient")  # compiles the gradient program: the measured run is warm
    grad, grad_wall = _child(args, "gradient")

    first = meta[loop_modes[0]]
    print(
        f"\nRace model benchmark: {first['races']} races, {first['drivers']} drivers, "
        f"{args.chains} chains x ({args.warmup} warm-up + {args.draws} draws), "
        f"{args.scenarios} scenarios, trailing form {args.form}, lap position {args.lap_position}, "
        f"car contrasts {args.car_contrasts}, team effect {args.team_effect}; cache {args.cache}; "
        f"{os.cpu_count()} CPUs, "
        f"{first['configured']['host_devices']} host devices for parallel chains; platform "
        f"{warm[loop_modes[0]][methods[0]].get('platform', '?')}; load average now "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if True in meta:
        print(
            f"loop data: {meta[True]['loop_races']} of {meta[True]['races']} races with Cup loop "
            f"rows ({args.history}/loopstats.csv)"
        )
    rows = [
        ("compile / cache load (all fit stages)", "compile_s"),
        ("ADVI init (excl. compile)", "svi_s"),
        ("NUTS warm-up (excl. compile)", "warmup_s"),
        ("NUTS sampling (excl. compile)", "sampling_s"),
        ("diagnostics", "diagnostics_s"),
        ("fit, wall", "fit_wall_s"),
        ("fit, CPU (all threads)", "fit_cpu_s"),
        ("scenarios (incl. compile / cache load)", "sim_wall_s"),
        ("  of which compile / cache load", "sim_compile_s"),
        ("fit + scenarios, wall", "fit_plus_sim_wall_s"),
        ("fresh process spawn to exit, wall", "spawn_to_exit_s"),
        ("whole process, CPU", "process_cpu_s"),
        ("load average (1 min) during the run", "load_avg_1m"),
    ]
    # Side by side: each chain method without loop data, then with it.
    cols = [(f"warm {m}{LOOP_LABEL[lp]}", warm[lp][m]) for m in methods for lp in loop_modes]
    cols += [(f"cold {m}{LOOP_LABEL[lp]}", cold[lp].get(m)) for m in methods for lp in loop_modes]
    cols = [(c, r) for c, r in cols if r is not None]
    print(f"{'figure (seconds)':<42}" + "".join(f"{c:>24}" for c, _ in cols))
    for name, key in rows:
        print(f"{name:<42}" + "".join(f"{r.get(key, float('nan')):>24.1f}" for _, r in cols))
    for name, key, fmt in CONVERGENCE_ROWS:
        print(f"{name:<42}" + "".join(f"{r.get(key, float('nan')):>24{fmt}}" for _, r in cols))
    for lp in loop_modes if len(methods) == 2 else ():
        s, q = warm[lp]["sequential"], warm[lp]["parallel"]
        print(
            f"parallel / sequential, warm{LOOP_LABEL[lp]}: fit + scenarios wall "
            f"{q['fit_plus_sim_wall_s'] / s['fit_plus_sim_wall_s']:.2f}, sampling "
            f"{q['sampling_s'] / s['sampling_s']:.2f}, warm-up {q['warmup_s'] / s['warmup_s']:.2f}"
            f", fit CPU {q['fit_cpu_s'] / s['fit_cpu_s']:.2f}"
        )
    for label, r in cols:
        if not label.startswith("warm"):
            continue
        grads = r["sampling_gradients"]
        print(
            f"where {label} sampling goes: {grads} gradients ({r['mean_leapfrog_steps']:.1f} "
            f"leapfrog steps per draw) x {r['gradient_cpu_us']:.0f} us CPU per gradient = "
            f"{grads * r['gradient_cpu_us'] / 1e6:.1f} CPU s, over {r['devices']:.0f} device(s): "
            f"{grads * r['gradient_cpu_us'] / 1e6 / r['devices']:.1f} s; measured "
            f"{r['sampling_s']:.1f} s wall at load {r['load_avg_1m']:.1f}"
        )
    for label, r in cols:
        print(
            f"{label}: R-hat max {r['rhat_max']:.4f}, bulk ESS min {r['ess_bulk_min']:.0f} of "
            f"{r['draws']} draws, divergences {r['divergences']}, mean leapfrog steps "
            f"{r['mean_leapfrog_steps']:.1f}, ESS/s (sampling) {r['ess_per_s_sampling']:.1f}, "
            f"mean DK points {r['mean_dk']:.2f}"
        )
    print(
        f"first gradient, fresh process, warm cache: {grad_wall:.2f} s spawn to exit "
        f"(imports {grad['import_s']:.2f} s, data {grad['data_s']:.2f} s, JAX init + gradient "
        f"{grad['jax_s']:.2f} s: {grad['programs']} programs loaded, {grad['new_compiles']} "
        f"compiled; CPU {grad['process_cpu_s']:.2f} s, load average {grad['load_avg_1m']:.1f})"
        f": {'PASS' if grad_wall <= 5 else 'MISS'} (target 5 s)"
    )
    for lp in loop_modes:
        best = min(warm[lp].values(), key=lambda r: r["fit_plus_sim_wall_s"])
        print(
            f"targets{LOOP_LABEL[lp] or ' (no loop data)'}: warm fit + 10k scenarios <= "
            f"{TARGET_S:.0f} s: {'PASS' if best['fit_plus_sim_wall_s'] <= TARGET_S else 'MISS'} "
            f"({best['fit_plus_sim_wall_s']:.1f} s, {best['chain_method']} chains, load "
            f"{best['load_avg_1m']:.1f}); convergence (R-hat <= 1.01, bulk ESS >= 400): "
            + ", ".join(
                f"{m} {'PASS' if r['rhat_max'] <= 1.01 and r['ess_bulk_min'] >= 400 else 'MISS'}"
                for m, r in warm[lp].items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
