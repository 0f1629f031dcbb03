"""Loop data on and off on a few real 2025 races: order log-likelihood (nats) and DK-points CRPS
of the model fitted on the races strictly before each race, with and without loop data
(ModelConfig.loop_data), beside the start-position baseline fitted the same way. The metrics
are core/backtest.py's (score_race, fit_baselines, baseline_utilities, simulate_baseline).

    .venv/bin/python benchmarks/bench_loop_data.py [--races 3] [--first 0] [--warmup 150]
        [--draws 200] [--chains 2] [--scenarios 2000] [--history DIR] [--modes off,on]

Per fit: R-hat max, bulk ESS min (the gate's: skill and skill_track), sigma_skill and
sigma_track (posterior mean and their own bulk ESS), seconds.

Reads ../shared/data/history (races.csv, results.csv, loopstats.csv). Small settings by default
(the machine is shared): a few races give a direction, the season backtest decides.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_HISTORY = REPO.parent / "shared" / "data" / "history"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--history", default=str(DEFAULT_HISTORY))
    p.add_argument("--races", type=int, default=3)
    p.add_argument("--first", type=int, default=0, help="index of the first 2025 race")
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--scenarios", type=int, default=2000)
    p.add_argument("--modes", default="off,on", help="loop data off, on or both (off,on)")
    args = p.parse_args()
    from nascar_pipeline.core.jax_setup import configure_jax
    from nascar_pipeline.settings import get_settings

    configure_jax(get_settings().jax_cache_dir)  # before JAX starts: the persistent cache
    if not (Path(args.history) / "loopstats.csv").exists():
        print(f"history with loopstats.csv not found at {args.history}", file=sys.stderr)
        return 2

    from numpyro.diagnostics import effective_sample_size

    from nascar_pipeline.core.backtest import (
        actual_dk_points,
        baseline_utilities,
        fit_baselines,
        history_from_tables,
        score_race,
        simulate_baseline,
        trailing_features,
    )
    from nascar_pipeline.core.model import FitConfig, ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.simulate import simulate_race
    from nascar_pipeline.ontology.parsers.history import parse_history
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata

    hdir = Path(args.history)
    h = history_from_tables(parse_history(hdir / "races.csv", hdir / "results.csv"))
    h["race_date"] = h["race_date"].astype(str)
    loop = parse_loopdata(hdir / "loopstats.csv").loop_stats
    key_of = dict(zip(h["race_id"].astype("Int64"), h["race_key"]))
    loop["race_key"] = loop["race_id"].map(key_of).astype("string")
    races = (
        h[h["season"] == 2025].drop_duplicates("race_key").sort_values(["race_date", "race_key"])
    )
    races = races.iloc[args.first : args.first + args.races]
    fcfg = FitConfig(num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains)
    rows = []
    for i, race in enumerate(races.itertuples(index=False)):
        before = h[h["race_date"] < race.race_date]
        g = h[h["race_key"] == race.race_key].sort_values("driver_id").reset_index(drop=True)
        g["start_position"] = pd.to_numeric(g["start_position"], errors="coerce")
        g["start_position"] = g["start_position"].fillna(g["finish_position"])
        actual = pd.DataFrame(
            {"finish_position": g["finish_position"].to_numpy(), "dk_points": actual_dk_points(g)}
        )
        rec = {"race": race.race_key, "track_type": race.track_type, "drivers": len(g)}
        for label in args.modes.split(","):
            on = label == "on"
            mcfg = ModelConfig(loop_data=on)
            t0 = time.perf_counter()
            data = prepare_history(before, mcfg, target_date=race.race_date, loop=loop)
            fit = fit_model(data, fcfg)
            sc = simulate_race(
                fit.flat(), data, g, race.track_type, laps=int(race.laps),
                n_scenarios=args.scenarios, seed=i, track_name=race.track_name,
            )  # fmt: skip
            s = score_race(sc.finish_position, sc.dk_points, sc.utility, actual)
            rec[f"ll_{label}"] = s["order_loglik"]
            rec[f"crps_{label}"] = s["crps_dk"]
            rec[f"rhat_{label}"] = float(fit.diagnostics["rhat_max"])
            rec[f"ess_{label}"] = float(fit.diagnostics["ess_bulk_min"])
            for site in ("sigma_skill", "sigma_track"):
                x = np.asarray(fit.posterior[site])
                rec[f"{site}_{label}"] = float(x.mean())
                rec[f"{site}_ess_{label}"] = float(effective_sample_size(x[..., None])[0])
            rec[f"s_{label}"] = time.perf_counter() - t0
            if on:
                rec["loop_races"] = int((data.arrays["loop_on"].sum(axis=1) > 0).sum())
                rec["other_starts"] = int((data.arrays["ext_w"] > 0).sum())
        window = before[
            before["race_date"]
            >= str(pd.Timestamp(race.race_date) - pd.Timedelta(days=ModelConfig().history_days))
        ]
        slopes = fit_baselines(window)
        feats = trailing_features(before, g["driver_id"].to_numpy())
        start = g["start_position"].to_numpy(int)
        u = baseline_utilities("start_position", slopes, start, feats)
        dom = feats["dom_per_lap"].to_numpy() * float(race.laps)
        fin_s, dk_s = simulate_baseline(u, start, dom, args.scenarios, 1000 + i)
        sb = score_race(fin_s, dk_s, None, actual, u)
        rec["ll_start"], rec["crps_start"] = sb["order_loglik"], sb["crps_dk"]
        rows.append(rec)
        fits = "; ".join(
            f"{x}: ll {rec[f'll_{x}']:.2f} CRPS {rec[f'crps_{x}']:.2f} R-hat "
            f"{rec[f'rhat_{x}']:.4f} ESS {rec[f'ess_{x}']:.0f} sigma_skill "
            f"{rec[f'sigma_skill_{x}']:.3f} (ESS {rec[f'sigma_skill_ess_{x}']:.0f}) sigma_track "
            f"{rec[f'sigma_track_{x}']:.3f} (ESS {rec[f'sigma_track_ess_{x}']:.0f}) "
            f"{rec[f's_{x}']:.0f} s"
            for x in args.modes.split(",")
        )
        print(
            f"{race.race_key} ({race.track_type}): {fits}; start ll {rec['ll_start']:.2f} CRPS "
            f"{rec['crps_start']:.2f}; loop races {rec.get('loop_races', '-')}, other-series "
            f"starts {rec.get('other_starts', '-')}",
            flush=True,
        )
    df = pd.DataFrame(rows)
    m = df.mean(numeric_only=True)
    modes = args.modes.split(",")
    print(
        f"\n{len(df)} races, {args.chains} chains x ({args.warmup} + {args.draws}), "
        f"{args.scenarios} scenarios. Mean order ll per race: "
        + ", ".join(f"loop {x} {m[f'll_{x}']:.2f}" for x in modes)
        + f", start-position baseline {m['ll_start']:.2f} (gain over the baseline: "
        + ", ".join(f"{x} {m[f'll_{x}'] - m['ll_start']:+.2f}" for x in modes)
        + " nats). Mean DK CRPS: "
        + ", ".join(f"{x} {m[f'crps_{x}']:.2f}" for x in modes)
        + f", start {m['crps_start']:.2f}. Worst R-hat "
        + ", ".join(f"{x} {df[f'rhat_{x}'].max():.4f}" for x in modes)
        + ", lowest bulk ESS "
        + ", ".join(f"{x} {df[f'ess_{x}'].min():.0f}" for x in modes)
        + "."
    )
    print(df.round(3).to_string(index=False))
    return 0 if all(np.isfinite(m[f"ll_{x}"]) for x in modes) else 1


if __name__ == "__main__":
    sys.exit(main())
