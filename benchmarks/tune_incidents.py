"""Tune the scenarios' incident layer (core/incidents.py) by a rolling season backtest.

For each race of --season (the first --races), the model is fitted on the races strictly
before it exactly as `nascar-pipeline backtest` fits it (trailing form, car contrasts, loop
data where the file is there; warm start from race to race), then simulated once per grid
point (SHARPEN x RATE x COST, and off) from the same posterior and seed, and scored on the real
result: DK-points CRPS, randomized-PIT coverage of the 50 % and 90 % intervals, and the order
log-likelihood by the model's mixture over DNFs and incidents (core/backtest.py). Prints a
table of every grid point's means over the races, by track type for the best point, and the
best point by CRPS among those whose PIT coverage is within 3 points of nominal at both
levels and whose order log-likelihood is not below off (RULE), and the same per track type (a track type's own setting: Incidents.by_track_type).
Tune on a season before the one the backtest judges (2024 for 2025).

    .venv/bin/python benchmarks/tune_incidents.py --season 2024 [--races N] [--chains 2]
        [--warmup 150] [--draws 200] [--scenarios 4000] [--sharpen 1,1.25,1.5,2]
        [--rate 0.1,0.2] [--cost 2,4] [--track-type intermediate,road,short]
        [--out rows.parquet] [--history DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_HISTORY = REPO.parent / "shared" / "data" / "history"


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


COLUMNS = ["order_loglik", "crps_dk", "pit50", "pit90"]
# How core/incidents.py's TUNED was chosen, overall and per track type.
RULE = "PIT within 3 points of nominal at both levels and the order not below off"


def point_means(rows: pd.DataFrame, by: list | None = None) -> pd.DataFrame:
    """Means over races per grid point (off first), PIT in %, CRPS and order against off."""
    t = rows.groupby([*(by or []), "point"], sort=False)[COLUMNS].mean()
    t[["pit50", "pit90"]] *= 100
    if not by:
        off = t.iloc[0]
        t["crps_vs_off_pct"] = 100 * (t["crps_dk"] / off["crps_dk"] - 1)
        t["ll_vs_off"] = t["order_loglik"] - off["order_loglik"]
    return t


def best_point(t: pd.DataFrame) -> tuple:
    """(the point of lowest CRPS within RULE, else of all; whether any was within)."""
    ok = t[
        (t["pit50"].sub(50).abs() <= 3) & (t["pit90"].sub(90).abs() <= 3) & (t["ll_vs_off"] >= 0)
    ]
    return (ok if len(ok) else t)["crps_dk"].idxmin(), bool(len(ok))


def pick_line(t: pd.DataFrame, point) -> str:
    b = t.loc[[point]].iloc[0]
    return (
        f"{point} CRPS {b['crps_dk']:.3f} ({b['crps_vs_off_pct']:+.2f} % vs off), PIT "
        f"{b['pit50']:.1f} / {b['pit90']:.1f}, order {b['ll_vs_off']:+.2f} nats/race vs off"
    )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--history", default=str(DEFAULT_HISTORY))
    p.add_argument("--season", type=int, default=2024)
    p.add_argument("--races", type=int, default=None, help="only the first N races")
    p.add_argument(
        "--track-type", default=None, help="only the season's races of these track types (a,b)"
    )
    p.add_argument("--out", default=None, help="write every (race, grid point) row to this Parquet")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--warmup", type=int, default=150)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--scenarios", type=int, default=4000)
    p.add_argument("--sharpen", type=floats, default=floats("1,1.25,1.5,2"))
    p.add_argument("--rate", type=floats, default=floats("0.1,0.2"))
    p.add_argument("--cost", type=floats, default=floats("2,4"))
    args = p.parse_args()
    from nascar_pipeline.core.jax_setup import configure_jax
    from nascar_pipeline.settings import get_settings

    configure_jax(get_settings().jax_cache_dir)  # before JAX starts: the persistent cache
    hdir = Path(args.history)
    if not (hdir / "results.csv").exists():
        print(f"history not found at {hdir}", file=sys.stderr)
        return 2

    from nascar_pipeline.core.backtest import (
        actual_dk_points,
        observed_dnf,
        score_race,
    )
    from nascar_pipeline.core.incidents import OFF, Incidents
    from nascar_pipeline.core.model import FitConfig, ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.model.fit import remap_init
    from nascar_pipeline.core.simulate import simulate_race

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from season_history import load_history

    h, loop = load_history(hdir)
    mcfg = ModelConfig(form=True, car_contrasts=True, loop_data=loop is not None)
    fcfg = FitConfig(num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains)
    grid = [OFF] + [
        Incidents(a, q, c) for a, q, c in itertools.product(args.sharpen, args.rate, args.cost)
    ]
    races = h[h["season"] == args.season].drop_duplicates("race_key")
    if args.track_type:
        from nascar_pipeline.core.tables import TRACK_TYPES

        types = [t.strip().lower() for t in args.track_type.split(",") if t.strip()]
        if unknown := sorted(set(types) - set(TRACK_TYPES)):
            print(
                f"--track-type: unknown {unknown} (expected some of {TRACK_TYPES})", file=sys.stderr
            )
            return 2
        races = races[races["track_type"].isin(types)]
    races = races.sort_values(["race_date", "race_key"]).head(args.races)
    print(
        f"tuning incidents on {len(races)} races of {args.season}: {len(grid)} grid points, "
        f"{args.chains} chains x ({args.warmup} + {args.draws}), {args.scenarios} scenarios",
        flush=True,
    )
    rows, warm = [], None
    for i, race in enumerate(races.itertuples(index=False)):
        t0 = time.perf_counter()
        before = h[h["race_date"] < race.race_date]
        g = h[h["race_key"] == race.race_key].sort_values("driver_id").reset_index(drop=True)
        g["start_position"] = pd.to_numeric(g["start_position"], errors="coerce")
        g["start_position"] = g["start_position"].fillna(g["finish_position"])
        actual = pd.DataFrame(
            {
                "finish_position": g["finish_position"].to_numpy(),
                "dk_points": actual_dk_points(g),
                "dnf": observed_dnf(g),
            }
        )
        data = prepare_history(before, mcfg, target_date=race.race_date, loop=loop)
        fit = fit_model(data, fcfg, init=remap_init(*warm, data) if warm else None)
        warm = (fit.init_state, data)
        post = fit.flat()
        for inc in grid:
            sc = simulate_race(
                post, data, g, race.track_type, laps=int(race.laps), n_scenarios=args.scenarios,
                seed=i, track_name=race.track_name, incidents=inc,
            )  # fmt: skip
            s = score_race(
                sc.finish_position, sc.dk_points, sc.utility, actual,
                dnf=(sc.dnf_prob, sc.dnf_penalty), seed=i, incidents=sc.incidents,
            )  # fmt: skip
            rows.append(
                {"race": race.race_key, "track_type": race.track_type, "point": inc.as_tuple()}
                | {k: s[k] for k in ("order_loglik", "crps_dk", "pit50", "pit90")}
            )
        r = pd.DataFrame(rows[-len(grid) :])
        best = r.loc[r["crps_dk"].idxmin()]
        print(
            f"[{i + 1}/{len(races)}] {race.race_key} ({race.track_type}): R-hat "
            f"{fit.diagnostics['rhat_max']:.4f}; off CRPS {r['crps_dk'].iloc[0]:.2f}, best "
            f"{best['point']} CRPS {best['crps_dk']:.2f}; {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    df = pd.DataFrame(rows)
    if args.out:  # re-analysed without re-fitting (e.g. a pick per track type)
        df.assign(point=df["point"].astype(str)).to_parquet(args.out)
    table = point_means(df)
    print("\nper grid point (sharpen, rate, cost), means over races:")
    print(table.round(3).to_string())
    pick, within = best_point(table)
    print(f"\nbest by CRPS ({RULE if within else 'no point within the rule'}):")
    print("  all races: " + pick_line(table, pick))
    by_type = point_means(df[df["point"].isin([grid[0].as_tuple(), pick])], ["track_type"])
    print("\nby track type (off and the pick):")
    print(by_type.round(3).to_string())
    print(f"\nbest by CRPS per track type ({RULE} there, where any point is):")
    picks = {}
    for tt, d in df.groupby("track_type"):
        t = point_means(d)
        picks[tt] = best_point(t)[0]
        print(f"  {tt} ({d['race'].nunique()} races): " + pick_line(t, picks[tt]))
    # each race scored with its track type's pick: the figures of a setting by track type
    own = df[[picks[tt] == pt for tt, pt in zip(df["track_type"], df["point"])]]
    together = point_means(
        pd.concat([df[df["point"].isin([grid[0].as_tuple()])], own.assign(point="own")])
    )
    print("  together, each track type its own: " + pick_line(together, "own"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
