"""Loop data on and off on a few real 2025 races: order log-likelihood (nats) and DK-points CRPS
of the model fitted on the races strictly before each race, with and without loop data
(ModelConfig.loop_data), beside the start-position baseline fitted the same way. The metrics
are core/backtest.py's (score_race, fit_baselines, baseline_utilities, simulate_baseline).

    .venv/bin/python benchmarks/bench_loop_data.py [--races 3] [--first 0] [--warmup 150]
        [--draws 200] [--chains 2] [--scenarios 2000] [--history DIR]

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
    args = p.parse_args()
    if not (Path(args.history) / "loopstats.csv").exists():
        print(f"history with loopstats.csv not found at {args.history}", file=sys.stderr)
        return 2

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
        for label, on in (("off", False), ("on", True)):
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
        print(
            f"{race.race_key} ({race.track_type}): order ll off {rec['ll_off']:.2f}, on "
            f"{rec['ll_on']:.2f}, start {rec['ll_start']:.2f}; CRPS off {rec['crps_off']:.2f}, on "
            f"{rec['crps_on']:.2f}, start {rec['crps_start']:.2f}; R-hat off "
            f"{rec['rhat_off']:.3f} on {rec['rhat_on']:.3f}; fit+sim {rec['s_off']:.0f} s / "
            f"{rec['s_on']:.0f} s; loop races {rec['loop_races']}, other-series starts "
            f"{rec['other_starts']}",
            flush=True,
        )
    df = pd.DataFrame(rows)
    m = df.mean(numeric_only=True)
    print(
        f"\n{len(df)} races, {args.chains} chains x ({args.warmup} + {args.draws}), "
        f"{args.scenarios} scenarios. Mean order ll per race: loop off {m['ll_off']:.2f}, loop "
        f"on {m['ll_on']:.2f}, start-position baseline {m['ll_start']:.2f} (gain over the "
        f"baseline: off {m['ll_off'] - m['ll_start']:+.2f}, on {m['ll_on'] - m['ll_start']:+.2f}"
        f" nats). Mean DK CRPS: off {m['crps_off']:.2f}, on {m['crps_on']:.2f}, start "
        f"{m['crps_start']:.2f}."
    )
    print(df.round(3).to_string(index=False))
    return 0 if np.isfinite(m["ll_on"]) else 1


if __name__ == "__main__":
    sys.exit(main())
