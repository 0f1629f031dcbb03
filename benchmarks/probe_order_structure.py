"""Probes of structure for the finishing-order model, on the feature Plackett-Luce (issue 15).

The Bayesian model takes minutes a season to score; the feature PL (core/feature_pl.py, the
backtest's further baseline) takes seconds. This script adds one piece of structure at a time
to the feature PL, fits it by maximum likelihood on the training seasons and prints the
held-out order log-likelihood per race beside the plain feature PL's, so a candidate is tried
here before it goes into the model:

- extra loop measures: the exponentially weighted trailing mean (the feature PL's half-life) of
  one loopstats.csv column per start (fastest-lap rate, % laps led, % laps in the top 15, driver
  rating, mid-race position, green-flag passing differential, % quality passes), then all;
- randomness per track type / per track: utility times exp(s[type] (+ s[track])), the track
  terms ridge-penalised (lambda) towards their type;
- the start's weight per track type / per track: + (b[type] (+ b[track])) * log(start);
- the start position's shape (START_SHAPES) in place of log(start);
- the Cup loop rows loopstats.csv leaves without a race id, keyed by track and date;
- one fit per track type (its own coefficients) against the global fit, beside uniform.

    .venv/bin/python benchmarks/probe_order_structure.py [--history DIR]
        [--train 2021-2024] [--test 2025]

Reads ../shared/data/history (or $NASCAR_SHARED_DATA/history, or --history): races.csv,
results.csv and loopstats.csv. Pure numpy/scipy; about 25 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

EXTRA = {  # name: (loopstats column(s) -> value per start), scaled to order 1
    "fastest_lap_rate": lambda lp: 10 * lp["fastest_laps"] / lp["laps_completed"].clip(lower=1),
    "pct_laps_led": lambda lp: lp["pct_laps_led"] / 10,
    "pct_laps_top15": lambda lp: lp["pct_laps_in_top15"] / 10,
    "driver_rating": lambda lp: lp["driver_rating"] / 10,
    "mid_race_position": lambda lp: lp["mid_race_position"] / 10,
    "green_flag_pass_diff": lambda lp: lp["green_flag_passing_diff"] / 10,
    "pct_quality_passes": lambda lp: lp["pct_quality_passes"] / 10,
}
RIDGE = 1e-2  # on the feature coefficients, as core/feature_pl.py
START_SHAPES = {  # start position s -> the feature PL's first column (log s as shipped)
    "log + linear": lambda s: np.column_stack([np.log(s), s / 10]),
    "linear": lambda s: s / 10,
    "sqrt": np.sqrt,
    "log(s + 8)": lambda s: np.log(s + 8),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = os.environ.get("NASCAR_SHARED_DATA", str(Path(__file__).parents[2] / "shared/data"))
    p.add_argument("--history", default=str(Path(shared) / "history"))
    p.add_argument("--train", default="2021-2024", help="training seasons, FIRST-LAST")
    p.add_argument("--test", type=int, default=2025, help="the held-out season")
    args = p.parse_args()
    hdir = Path(args.history)
    if not (hdir / "loopstats.csv").exists():
        print(f"history with loopstats.csv not found at {hdir}", file=sys.stderr)
        return 2
    first, last = (int(s) for s in args.train.split("-"))
    t0 = time.perf_counter()
    h, loop, feats = _load(hdir)
    info = h.drop_duplicates("race_key").set_index("race_key")
    train = [k for k in info.index if first <= info.at[k, "season"] <= last]
    test = [k for k in info.index if info.at[k, "season"] == args.test]
    print(f"train {first}-{last}: {len(train)} races; test {args.test}: {len(test)} races")
    extra = _trailing_extra(h, loop)
    tracks = {t: i for i, t in enumerate(sorted(info["track_name"].unique()))}
    types = {t: i for i, t in enumerate(sorted(info["track_type"].unique()))}

    def races(keys, cols=(), start=None, table=feats):
        out = []
        for key, g in h[h["race_key"].isin(keys)].groupby("race_key", sort=False):
            x = _design(g, table, extra, list(cols))
            if start is not None:  # another shape of the start position for log(start)
                x = np.column_stack([start(np.exp(x[:, 0])), x[:, 1:]])
            order = np.argsort(g["finish_position"].to_numpy(float), kind="stable")
            out.append(
                (x[order], tracks[info.at[key, "track_name"]], types[info.at[key, "track_type"]])
            )
        return out

    base_train, base_test = races(train), races(test)
    base = _fit(base_train, "plain", 0, len(types), len(tracks))
    ref = _score(base, base_test, "plain", len(types))
    print(f"\n{'probe':34s} {'test ll/race':>12s} {'vs plain':>9s}")
    print(f"{'plain feature PL':34s} {ref:12.3f} {0.0:9.3f}")
    for name in list(EXTRA) + ["all extra measures"]:
        cols = list(EXTRA) if name.startswith("all") else [name]
        a, b = races(train, cols), races(test, cols)
        beta = _fit(a, "plain", 0, len(types), len(tracks))
        _line(f"+ trailing {name}", _score(beta, b, "plain", len(types)), ref)
    for name, shape in START_SHAPES.items():
        a, b = races(train, start=shape), races(test, start=shape)
        beta = _fit(a, "plain", 0, len(types), len(tracks))
        _line(f"start as {name}", _score(beta, b, "plain", len(types)), ref)
    keyed = _keyed_by_track_and_date(hdir, h, loop)
    from nascar_pipeline.core.feature_pl import feature_table

    table = feature_table(h, pd.concat([loop, keyed]))
    a, b = races(train, table=table), races(test, table=table)
    beta = _fit(a, "plain", 0, len(types), len(tracks))
    _line(
        f"+ {keyed['race_key'].nunique()} races' unkeyed loop rows",
        _score(beta, b, "plain", len(types)),
        ref,
    )
    for mode, lam in (("type_scale", 0), ("track_scale", 5), ("track_scale", 20),
                      ("type_start", 0), ("track_start", 5), ("track_start", 20)):  # fmt: skip
        par = _fit(base_train, mode, lam, len(types), len(tracks), start=base)
        label = mode.replace("_", " ") + (f" (lambda {lam})" if lam else "")
        _line(label, _score(par, base_test, mode, len(types)), ref)
    print(f"\n{'track type':16s} {'races':>5s} {'own fit':>9s} {'global':>9s} {'uniform':>9s}")
    for t, i in types.items():
        a = [r for r in base_train if r[2] == i]
        b = [r for r in base_test if r[2] == i]
        if not a or not b:
            continue
        own = _fit(a, "plain", 0, len(types), len(tracks))
        uni = np.mean([_pl(np.zeros(len(x))) for x, _, _ in b])
        print(f"{t:16s} {len(b):5d} {_score(own, b, 'plain', 0):9.3f} "
              f"{_score(base, b, 'plain', 0):9.3f} {uni:9.3f}")  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


def _load(hdir: Path):
    from nascar_pipeline.core.backtest import history_from_tables
    from nascar_pipeline.core.feature_pl import _ordered, feature_table
    from nascar_pipeline.core.model.loop_data import keyed_to_history
    from nascar_pipeline.ontology.parsers.history import parse_history
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata

    h = history_from_tables(parse_history(hdir / "races.csv", hdir / "results.csv"))
    h["race_date"] = h["race_date"].astype(str)
    h = _ordered(h[h["finish_position"].notna()])
    loop = keyed_to_history(parse_loopdata(hdir / "loopstats.csv").loop_stats, h)
    loop = loop[loop["race_key"].notna()].copy()
    return h, loop, feature_table(h, loop)


def _keyed_by_track_and_date(hdir: Path, h: pd.DataFrame, keyed: pd.DataFrame) -> pd.DataFrame:
    """Cup loop rows without a race id (loopstats.csv leaves a race unmatched when its finishing
    order disagrees with results.csv, as after a disqualification) keyed to the points race of
    the history on the same track and date; exhibitions find none."""
    from nascar_pipeline.ontology.parsers.loopdata import parse_loopdata

    rows = parse_loopdata(hdir / "loopstats.csv").loop_stats
    rows = rows[(rows["series"].astype(str).str.lower() == "cup") & rows["race_id"].isna()]
    races = h.drop_duplicates("race_key")[["race_key", "race_date", "track_name"]].astype(str)
    rows = rows.drop(columns=["race_key"]).astype({"race_date": str, "track_name": str})
    out = rows.merge(races, on=["race_date", "track_name"])
    return out[~out["race_key"].isin(set(keyed["race_key"]))]


def _trailing_extra(h: pd.DataFrame, loop: pd.DataFrame) -> pd.DataFrame:
    """EXTRA's trailing means for every start of `h`, from the starts before its date (NaN for
    a driver without a loop row yet), weighted as the feature PL's."""
    from nascar_pipeline.core.feature_pl import HALF_LIFE_STARTS

    lp = loop.copy()
    value = np.column_stack(
        [pd.to_numeric(f(lp), errors="coerce").to_numpy(float) for f in EXTRA.values()]
    )
    by_start = {
        (str(k), int(d)): v
        for k, d, v in zip(lp["race_key"], lp["driver_id"], value)
        if np.all(np.isfinite(v))
    }
    decay = 0.5 ** (1.0 / HALF_LIFE_STARTS)
    total, weight = defaultdict(lambda: np.zeros(len(EXTRA))), defaultdict(float)
    rows = []
    for _date, day in h.groupby("race_date", sort=True):
        ids = day["driver_id"].to_numpy()
        rows.extend(total[d] / weight[d] if weight[d] else np.full(len(EXTRA), np.nan) for d in ids)
        for k, d in zip(day["race_key"], ids):
            v = by_start.get((str(k), int(d)))
            if v is not None:
                total[d] = total[d] * decay + v
                weight[d] = weight[d] * decay + 1.0
    out = pd.DataFrame(np.array(rows), columns=list(EXTRA))
    out = out.fillna(out.median())  # a driver without loop data: the typical start
    out["race_key"], out["driver_id"] = h["race_key"].to_numpy(), h["driver_id"].to_numpy()
    return out


def _design(g, feats, extra, cols) -> np.ndarray:
    from nascar_pipeline.core.feature_pl import design

    x = design(g, feats)
    if not cols:
        return x
    keyed = g[["race_key", "driver_id"]].merge(extra, how="left", on=["race_key", "driver_id"])
    return np.column_stack([x, np.nan_to_num(keyed[cols].to_numpy(float))])


def _pl(u: np.ndarray) -> float:
    """Plackett-Luce log-probability of slots in finishing order."""
    return float(np.sum(u - np.logaddexp.accumulate(u[::-1])[::-1]))


def _utility(par, x, track, ttype, mode, n_types):
    k = x.shape[1]
    u = x @ par[:k]
    if mode == "type_scale":
        return np.exp(par[k + ttype]) * u
    if mode == "track_scale":
        return np.exp(par[k + ttype] + par[k + n_types + track]) * u
    if mode == "type_start":
        return u + par[k + ttype] * x[:, 0]
    if mode == "track_start":
        return u + (par[k + ttype] + par[k + n_types + track]) * x[:, 0]
    return u


def _fit(races, mode, lam, n_types, n_tracks, start=None) -> np.ndarray:
    k = races[0][0].shape[1]
    n = k + {"plain": 0}.get(mode, n_types + (n_tracks if mode.startswith("track") else 0))
    par0 = np.zeros(n)
    if start is not None:
        par0[: len(start)] = start

    def loss(par):
        ll = sum(_pl(_utility(par, x, tr, t, mode, n_types)) for x, tr, t in races)
        return -ll + RIDGE * par[:k] @ par[:k] + lam * np.sum(par[k + n_types :] ** 2)

    return minimize(loss, par0, method="L-BFGS-B").x


def _score(par, races, mode, n_types) -> float:
    return float(np.mean([_pl(_utility(par, x, tr, t, mode, n_types)) for x, tr, t in races]))


def _line(label: str, ll: float, ref: float) -> None:
    print(f"{label:34s} {ll:12.3f} {ll - ref:9.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
