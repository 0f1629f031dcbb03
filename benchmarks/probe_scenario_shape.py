"""Probe the scenarios' shape: how far can the simulator alone move the DK-points CRPS (issue 15)?

The season backtest judges the model's DK points by their CRPS against the start-position
baseline. This probe holds each race's fitted posterior fixed and varies only how scenarios are
drawn from it, to see whether the gap to the issue's target is in the scenario generator or in
the fitted pace. For each race of each --season the model is fitted on the races strictly before
it as `nascar-pipeline backtest` fits it (trailing form, car contrasts, loop data, warm start from
race to race, the forecast laps and starts, seed = the race's index), the fits kept in --fits
(one pickle per race; a second run re-uses them). Then every candidate below simulates the same
posterior with the same seed and is scored on the real result: CRPS in % against the start
baseline, randomized-PIT coverage of the 50 % and 90 % intervals, per track type; and for the
race winner, the mean log probability the scenarios gave the actual winner and how many races
the scenarios' favourite (highest P(win)) won against how many it was expected to win.

Candidates: the default (core/incidents.TUNED); the laps-led and fastest-lap slopes on pace
scaled; other incident settings; other noise shapes in the order (a reversed Gumbel, whose heavy
tail is the bad day; a logistic); a win-stage temperature (the winner drawn from
softmax(lambda * utility), the rest Plackett-Luce as fitted: Benter's stage-wise discount); on
superspeedways the start effect scaled; a driver's own habit of leading beyond his pace (his
trailing dominator points per lap as a term of both lap shares; the dominator points' own CRPS
is printed too). Production chain settings by default (the backtest's judged figures:
`backtest --chains 4 --warmup 400 --draws 500`). The order's noise is swapped in simulate's
finish_positions, the lap shares' log-concentration in its lap_share_log_concentration, for a
candidate (a probe, not a setting of the pipeline); a linear pool of the model's scenarios with
the start baseline's (that share of the scenarios drawn from the grid's; the dominator CRPS stays
the model's).

    .venv/bin/python benchmarks/probe_scenario_shape.py --fits /tmp/fits [--seasons 2024,2025]
        [--chains 4] [--warmup 400] [--draws 500] [--scenarios 4000] [--history DIR]
        [--only default,propensity]   (the candidates whose name has one of the words)
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_HISTORY = REPO.parent / "shared" / "data" / "history"
# The fits' settings, kept beside them: a run with others refuses the folder.
SETTINGS = "settings.json"


def fit_season(h, loop, season: int, fits: Path, fcfg, log) -> None:
    """Fit each race of `season` not yet in `fits` as the backtest does; pickle what a
    re-simulation needs."""
    import jax

    from nascar_pipeline.core.backtest import forecast_laps, forecast_starts
    from nascar_pipeline.core.incidents import TUNED
    from nascar_pipeline.core.model import ModelConfig, fit_model, prepare_history
    from nascar_pipeline.core.model.fit import remap_init

    mcfg = ModelConfig(form=True, car_contrasts=True, loop_data=loop is not None)
    races = h[h["season"] == season].drop_duplicates("race_key")
    races = races.sort_values(["race_date", "race_key"])
    warm = None
    for i, race in enumerate(races.itertuples(index=False)):
        path = fits / f"{race.race_key}.pkl"
        if path.exists():  # fitted by an earlier run: the next fit warm-starts from it
            rec = pickle.loads(path.read_bytes())
            warm = (rec["init_state"], rec["data"]) if "init_state" in rec else None
            continue
        t0 = time.perf_counter()
        before = h[h["race_date"] < race.race_date]
        g = h[h["race_key"] == race.race_key].sort_values("driver_id").reset_index(drop=True)
        g["start_position"] = pd.to_numeric(g["start_position"], errors="coerce")
        cutoff = pd.Timestamp(race.race_date) - pd.Timedelta(days=mcfg.history_days)
        window = before[before["race_date"] >= str(cutoff)]
        if g["start_position"].isna().any():
            g["start_position"] = forecast_starts(g, window)
        data = prepare_history(before, mcfg, target_date=race.race_date, loop=loop)
        fit = fit_model(data, fcfg, init=remap_init(*warm, data) if warm else None)
        warm = (fit.init_state, data)
        record = {
            "post": {k: np.asarray(v) for k, v in fit.flat().items()},
            "data": data,
            "g": g,
            "race": race._asdict(),
            "laps": forecast_laps(race, before),
            "seed": i,
            "incidents": TUNED,
            "init_state": jax.tree.map(np.asarray, fit.init_state),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(record))
        tmp.replace(path)
        log(f"  fitted {race.race_key} in {time.perf_counter() - t0:.0f} s")


def race_case(h, path: Path, n: int) -> dict:
    """The pickled fit plus the actual DK points and the start baseline's samples."""
    from nascar_pipeline.core import backtest as bt
    from nascar_pipeline.core.model import ModelConfig

    d = pickle.loads(path.read_bytes())
    race = d["race"]
    g0 = h[h["race_key"] == race["race_key"]].sort_values("driver_id").reset_index(drop=True)
    sp = pd.to_numeric(g0["start_position"], errors="coerce")
    d["y"] = np.asarray(
        bt.actual_dk_points(g0.assign(start_position=sp.fillna(g0["finish_position"]))), float
    )
    d["finish"] = g0["finish_position"].to_numpy()
    d["y_dom"] = bt.actual_dominator_points(g0)  # as the backtest's crps_dom_dk scores them
    before = h[h["race_date"] < race["race_date"]]
    cutoff = pd.Timestamp(race["race_date"]) - pd.Timedelta(days=ModelConfig().history_days)
    window = before[before["race_date"] >= str(cutoff)]
    feats = bt.trailing_features(before, d["g"]["driver_id"].to_numpy())
    start = d["g"]["start_position"].to_numpy(int)
    u = bt.baseline_utilities("start_position", bt.fit_baselines(window), start, feats)
    d["dom_per_lap"] = feats["dom_per_lap"].to_numpy(np.float64)
    dom = d["dom_per_lap"] * float(d["laps"])
    d["base_dk"] = bt.simulate_baseline(u, start, dom, n, 1000 * d["seed"] + 1)[1]
    return d


def _order(kind: str, win_scale: float):
    """A finish_positions replacement: the order's noise `kind` (gumbel as fitted, reversed,
    logistic) and the winner drawn at temperature `win_scale`."""
    import jax
    import jax.numpy as jnp

    def finish_positions(utility, gumbel, xp=jnp):
        S, N = utility.shape
        # the extra draws' key from the race's own Gumbel draws (a fixed key would give every
        # race the same extra noise)
        key = jax.random.PRNGKey(jnp.int32(jnp.abs(gumbel[0, 0]) * 1e6))
        noise = gumbel
        if kind == "reversed":
            noise = -gumbel
        elif kind == "logistic":  # two Gumbels' difference over sqrt 2: the Gumbel's variance
            other = jax.random.gumbel(jax.random.fold_in(key, 17), (S, N))
            noise = (gumbel - other) / jnp.sqrt(2.0)
        pos = jnp.argsort(jnp.argsort(-(utility + noise), axis=-1), axis=-1) + 1
        if win_scale == 1.0:
            return pos
        g = jax.random.gumbel(jax.random.fold_in(key, 11), (S, N))
        w = jnp.argmax(win_scale * jnp.maximum(utility, -1e6) + g, axis=1)
        wp = jnp.take_along_axis(pos, w[:, None], 1)
        pos = jnp.where(pos < wp, pos + 1, pos)  # the others keep their order behind the winner
        return jnp.where(jax.nn.one_hot(w, N, dtype=bool), 1, pos)

    return finish_positions


CANDIDATES = [
    ("default (incidents tuned)", {}),
    ("laps led + fastest slopes x1.25", {"scale": {"led_perf": 1.25, "fast_perf": 1.25}}),
    ("laps led + fastest slopes x1.5", {"scale": {"led_perf": 1.5, "fast_perf": 1.5}}),
    ("laps led base -0.5 (more spread)", {"shift": {"led_base": -0.5}}),
    ("DNF log-odds +0.3", {"shift": {"dnf_base": 0.3}}),
    ("incidents 2,0.1,4 (not ss)", {"inc": (2.0, 0.1, 4.0)}),
    ("incidents 2.5,0.2,4 (not ss)", {"inc": (2.5, 0.2, 4.0)}),
    ("incidents 2,0.2,8 (not ss)", {"inc": (2.0, 0.2, 8.0)}),
    ("reversed Gumbel, incidents 2,0.1,4", {"noise": "reversed", "inc": (2.0, 0.1, 4.0)}),
    ("logistic noise, incidents 2,0.1,4", {"noise": "logistic", "inc": (2.0, 0.1, 4.0)}),
    ("win-stage temperature 2", {"win": 2.0}),
    ("win-stage temperature 3", {"win": 3.0}),
    ("superspeedway start effect x1.5", {"ss_scale": {"start_effect": 1.5}}),
    ("superspeedway incidents 1,0.2,8", {"ss_inc": (1.0, 0.2, 8.0)}),
    ("dominator propensity 0.25", {"dom": 0.25}),
    ("dominator propensity 0.5", {"dom": 0.5}),
    ("pool with the start baseline 0.1", {"pool": 0.1}),
    ("pool with the start baseline 0.2", {"pool": 0.2}),
]
# A driver's own habit of leading, beyond his pace: his trailing DK points from laps led and
# fastest laps per lap run (the start baseline's dominator term) as x = log1p(rate / 0.05),
# centred over the field, adds gamma * x to both lap-share log-concentrations.
DOM_RATE_SCALE = 0.05


def _dominator_term(d: dict):
    """(FIELD_SIZE,) x of a race's entries in the simulator's slot order (by driver id)."""
    import jax.numpy as jnp

    from nascar_pipeline.core.simulate import FIELD_SIZE

    if not (np.diff(d["g"]["driver_id"].to_numpy()) > 0).all():
        raise ValueError(f"{d['race']['race_key']}: entries not in driver order")
    x = np.log1p(d["dom_per_lap"] / DOM_RATE_SCALE)
    out = np.zeros(FIELD_SIZE, np.float32)
    out[: len(x)] = x - x.mean()
    return jnp.asarray(out)


def _with_dominator_term(original, gamma: float, x):
    def lap_share_log_concentration(base, slope, perf, share_done, extra=0.0, xp=np):
        return original(base, slope, perf, share_done, extra=extra, xp=xp) + gamma * x[None, :]

    return lap_share_log_concentration


def score(cases: dict, spec: dict, n: int) -> dict:
    """Per track type and all: CRPS % vs start, PIT 50/90, log P(winner), favourite wins."""
    import jax

    from nascar_pipeline.core import backtest as bt
    from nascar_pipeline.core import simulate as sim
    from nascar_pipeline.core.incidents import Incidents

    original = sim.finish_positions
    original_shares = sim.lap_share_log_concentration
    swapped = bool(spec.get("noise") or spec.get("win") or spec.get("dom"))
    if spec.get("noise") or spec.get("win"):
        sim.finish_positions = _order(spec.get("noise", "gumbel"), spec.get("win", 1.0))
        jax.clear_caches()  # the simulation kernel is traced again with this order
    try:
        rows = []
        for d in cases.values():
            tt = d["race"]["track_type"]
            post = dict(d["post"])
            ss = tt == "superspeedway"
            scale = spec.get("scale", {}) | (spec.get("ss_scale", {}) if ss else {})
            for k, f in scale.items():
                post[k] = post[k] * f
            for k, v in spec.get("shift", {}).items():
                post[k] = post[k] + v
            inc = d["incidents"]
            if spec.get("inc") and not ss:
                inc = Incidents(*spec["inc"])
            if spec.get("ss_inc") and ss:
                inc = Incidents(*spec["ss_inc"])
            if spec.get("dom"):  # the race's own term is a constant of the traced kernel
                sim.lap_share_log_concentration = _with_dominator_term(
                    original_shares, spec["dom"], _dominator_term(d)
                )
                jax.clear_caches()
            sc = sim.simulate_race(
                post, d["data"], d["g"], tt, laps=d["laps"], n_scenarios=n, seed=d["seed"],
                track_name=d["race"]["track_name"], incidents=inc,
            )  # fmt: skip
            dk = np.asarray(sc.dk_points, np.float64)
            if spec.get("pool"):  # a linear pool: that share of the scenarios the grid's
                k = round(spec["pool"] * len(dk))
                dk = np.concatenate([dk[: len(dk) - k], d["base_dk"][:k]])
            pwin = (np.asarray(sc.finish_position) == 1).mean(axis=0)
            if (d["finish"] == 1).sum() != 1:
                raise ValueError(f"{d['race']['race_key']}: no single winner in the results")
            winner, fav = int(np.argmax(d["finish"] == 1)), int(np.argmax(pwin))
            rows.append(
                {
                    "track_type": tt,
                    "crps": bt.crps_samples(dk, d["y"]).mean(),
                    "crps_start": bt.crps_samples(d["base_dk"], d["y"]).mean(),
                    "crps_dom": bt.crps_samples(
                        bt.dominator_points(np.asarray(sc.laps_led), np.asarray(sc.fastest_laps)),
                        d["y_dom"],
                    ).mean(),
                    "pit50": bt.pit_coverage(dk, d["y"], 0.5).mean(),
                    "pit90": bt.pit_coverage(dk, d["y"], 0.9).mean(),
                    "drivers": len(d["y"]),
                    "log_p_winner": float(np.log(max(pwin[winner], 1.0 / n))),
                    "fav_won": float(fav == winner),
                    "fav_p": float(pwin[fav]),
                }
            )
    finally:
        if swapped:
            sim.finish_positions = original
            sim.lap_share_log_concentration = original_shares
            jax.clear_caches()
    df = pd.DataFrame(rows)
    out = {}
    for t, g in [("all", df), *df.groupby("track_type")]:
        w = g["drivers"]
        out[t] = {
            "races": len(g),
            "crps_vs_start_pct": 100 * (g["crps"].mean() / g["crps_start"].mean() - 1),
            "crps_dom": g["crps_dom"].mean(),  # NaN-skipping: races with no score left out
            "pit50": 100 * np.average(g["pit50"], weights=w),
            "pit90": 100 * np.average(g["pit90"], weights=w),
            "log_p_winner": g["log_p_winner"].mean(),
            "fav_wins": int(g["fav_won"].sum()),
            "fav_expected": g["fav_p"].sum(),
        }
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--history", default=str(DEFAULT_HISTORY))
    p.add_argument("--seasons", default="2024,2025")
    p.add_argument("--fits", required=True, help="folder of the per-race fits (re-used)")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--scenarios", type=int, default=4000)
    p.add_argument(
        "--only", default="", help="comma-separated words: the candidates whose name has one"
    )
    args = p.parse_args()
    from nascar_pipeline.core.jax_setup import configure_jax
    from nascar_pipeline.settings import get_settings

    configure_jax(get_settings().jax_cache_dir)
    hdir = Path(args.history)
    if not (hdir / "results.csv").exists():
        print(f"history not found at {hdir}", file=sys.stderr)
        return 2
    from nascar_pipeline.core.model import FitConfig

    t_start = time.perf_counter()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from season_history import load_history

    h, loop = load_history(hdir)
    fcfg = FitConfig(num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains)
    settings = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws}
    settings["model"] = "form, car contrasts, loop data where the file is; incidents tuned"
    kept = Path(args.fits) / SETTINGS
    if kept.exists() and json.loads(kept.read_text()) != settings:
        print(
            f"{args.fits} holds fits made with {kept.read_text()}, not {settings}", file=sys.stderr
        )
        return 2
    Path(args.fits).mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(settings))
    for season in (int(s) for s in args.seasons.split(",")):
        fits = Path(args.fits) / str(season)
        fits.mkdir(parents=True, exist_ok=True)
        print(f"season {season}: fits in {fits}", flush=True)
        fit_season(h, loop, season, fits, fcfg, lambda m: print(m, flush=True))
        cases = {q.stem: race_case(h, q, args.scenarios) for q in sorted(fits.glob("*.pkl"))}
        print(
            f"\n{season}, {len(cases)} races, {args.scenarios} scenarios: CRPS % vs the start "
            "baseline | PIT 50 / 90 | log P(winner) | the favourite's wins / expected | "
            "dominator points' CRPS",
            flush=True,
        )
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        for name, spec in CANDIDATES:
            if words and not any(w in name for w in words):
                continue
            res = score(cases, spec, args.scenarios)
            a = res["all"]
            types = " ".join(
                f"{t[:5]} {v['crps_vs_start_pct']:+.2f}" for t, v in res.items() if t != "all"
            )
            print(
                f"  {name:36s} {a['crps_vs_start_pct']:+6.2f} | {a['pit50']:.1f} / "
                f"{a['pit90']:.1f} | {a['log_p_winner']:.3f} | {a['fav_wins']} / "
                f"{a['fav_expected']:.1f} | {a['crps_dom']:.3f} | {types}",
                flush=True,
            )
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
