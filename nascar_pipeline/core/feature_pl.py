"""A plain Plackett-Luce with linear features: the backtest's further baseline (issue 15).

Utility of a driver in a race = beta . x, with x (FEATURES) taken only from races strictly
before it:
- log_start: log(start position);
- arp_all, arp_type: exponentially weighted trailing average running position (loop data), over
  every earlier Cup start and over those at the race's track type (the driver's weighted
  trailing finish stands in where he has no loop data; NEUTRAL for a driver with no start);
- finish_all, finish_type: the same for the finishing position;
- rookie: 1.0 for a driver without an earlier start (the NEUTRAL values above are a guess).
Positions enter divided by 10 (betas of order 1). Weights: each earlier start counts
0.5 ** (starts since / HALF_LIFE_STARTS).

`feature_table` computes x for every start of a history in one date-ordered pass;
`fit_feature_pl` is the maximum-likelihood fit (L-BFGS, exact gradient, a small ridge) on
training races; `feature_utilities` scores a race. Pure numpy/scipy: a fit takes well under a
second.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from scipy.optimize import minimize

FEATURES = ("log_start", "arp_all", "arp_type", "finish_all", "finish_type", "rookie")
HALF_LIFE_STARTS = 8.0
NEUTRAL = 25.0  # running position / finish assumed for a driver never seen (with `rookie`)
RIDGE = 1e-2  # an L2 penalty: keeps the fit finite when a feature is constant in training


class _Trailing:
    """Exponentially weighted means of values per key, decayed per observation."""

    def __init__(self, half_life: float):
        self.decay = 0.5 ** (1.0 / half_life)
        self.total = defaultdict(float)
        self.weight = defaultdict(float)

    def mean(self, key) -> float:
        w = self.weight.get(key, 0.0)
        return self.total[key] / w if w > 0 else np.nan

    def add(self, key, value: float) -> None:
        self.total[key] = self.total[key] * self.decay + value
        self.weight[key] = self.weight[key] * self.decay + 1.0


def feature_table(history: pd.DataFrame, loop: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (race_key, driver_id) of `history` (results rows with race_date,
    track_type, start_position, finish_position): FEATURES from the starts before the race's
    date. `loop`: loop rows (LOOP_STATS_COLUMNS) whose race_key points into the history; their
    average running position feeds arp_*."""
    return features_with_next(history, loop, [], ())[0]


def features_with_next(
    history: pd.DataFrame, loop: pd.DataFrame | None, driver_ids, track_types
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """feature_table, and in the same pass FEATURES[1:] (trailing form) of `driver_ids` for a
    next race after every start of `history`, at each of `track_types` (what feature_table
    would give that race; index driver_id)."""
    h = _ordered(history)
    out, state = _trailing_pass(h, _arp_by_start(loop))
    table = pd.concat([h[["race_key", "driver_id"]], _as_frame(out)], axis=1)
    ids = pd.Index([int(d) for d in driver_ids], name="driver_id")
    nxt = {t: _as_frame([_row(state, d, t) for d in ids]).set_index(ids) for t in track_types}
    return table, nxt


def _ordered(history: pd.DataFrame) -> pd.DataFrame:
    h = history[history["finish_position"].notna()].copy()
    h["race_date"] = h["race_date"].astype(str)
    h["driver_id"] = pd.to_numeric(h["driver_id"]).astype(np.int64)
    h["track_type"] = h["track_type"].astype("string").fillna("intermediate").astype(str)
    h = h.drop_duplicates(["race_key", "driver_id"])
    return h.sort_values(["race_date", "race_key"], kind="stable").reset_index(drop=True)


def _arp_by_start(loop: pd.DataFrame | None) -> dict:
    if loop is None or not len(loop):
        return {}
    lp = loop[loop["race_key"].notna() & loop["avg_running_position"].notna()]
    return {
        (str(k), int(d)): float(v)
        for k, d, v in zip(lp["race_key"], lp["driver_id"], lp["avg_running_position"])
    }


def _row(trail: dict, d: int, t: str) -> tuple:
    fa, ft = trail["fin"].mean(d), trail["fin"].mean((d, t))
    aa, at = trail["arp"].mean(d), trail["arp"].mean((d, t))
    return (_fill(aa, fa), _fill(at, _fill(ft, _fill(aa, fa))), _fill(fa, np.nan),
            _fill(ft, fa), float(np.isnan(fa)))  # fmt: skip


def _trailing_pass(h: pd.DataFrame, arp: dict) -> tuple[list, dict]:
    """Features of every row of the date-ordered `h` and the trailing state after the last."""
    trail = {name: _Trailing(HALF_LIFE_STARTS) for name in ("arp", "fin")}
    out = []
    for _date, day in h.groupby("race_date", sort=True):
        # Every race of a day gets its features before any of the day's results count.
        ids, types = day["driver_id"].to_numpy(), day["track_type"].to_numpy()
        out.extend(_row(trail, d, t) for d, t in zip(ids, types))
        for k, d, t, f in zip(day["race_key"], ids, types, day["finish_position"]):
            trail["fin"].add(d, float(f))
            trail["fin"].add((d, t), float(f))
            a = arp.get((str(k), int(d)))
            if a is not None:
                trail["arp"].add(d, a)
                trail["arp"].add((d, t), a)
    return out, trail


def _as_frame(rows: list) -> pd.DataFrame:
    x = np.nan_to_num(np.asarray(rows, np.float64).reshape(-1, 5), nan=NEUTRAL)
    feats = pd.DataFrame(x[:, :4] / 10.0, columns=list(FEATURES[1:5]))
    feats["rookie"] = x[:, 4]
    return feats


def _fill(value: float, fallback: float) -> float:
    return fallback if np.isnan(value) else value


def design(race_rows: pd.DataFrame, feats: pd.DataFrame) -> np.ndarray:
    """(D, len(FEATURES)) for a race's rows (race_key, driver_id, start_position), in their
    order; a driver missing from `feats` counts as a rookie."""
    keyed = race_rows[["race_key", "driver_id"]].astype({"driver_id": np.int64})
    m = keyed.merge(feats, on=["race_key", "driver_id"], how="left")
    start = pd.to_numeric(race_rows["start_position"], errors="coerce").to_numpy(np.float64)
    start = np.where(np.isfinite(start), start, 20.0)
    x = np.column_stack(
        [np.log(np.maximum(start, 1.0))] + [m[c].to_numpy(float) for c in FEATURES[1:]]
    )
    x[:, 1:5] = np.where(np.isnan(x[:, 1:5]), NEUTRAL / 10.0, x[:, 1:5])
    x[:, 5] = np.where(np.isnan(x[:, 5]), 1.0, x[:, 5])
    return x


def _neg_loglik(beta, X, mask):
    """Minus the summed PL log-likelihood of races in slot order (X: (R, N, K), finishing
    order along N, mask (R, N)) and its gradient."""
    u = np.where(mask > 0, X @ beta, -np.inf)
    m = np.max(u, axis=1, keepdims=True)
    e = np.exp(u - m) * mask
    tail = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]  # sum over the cars not yet placed
    tail_x = np.cumsum((e[..., None] * X)[:, ::-1], axis=1)[:, ::-1]
    safe = np.where(mask > 0, tail, 1.0)
    ll = np.sum(np.where(mask > 0, u - (np.log(safe) + m), 0.0))
    grad = np.sum(mask[..., None] * (X - tail_x / safe[..., None]), axis=(0, 1))
    return -ll + RIDGE * beta @ beta, -grad + 2 * RIDGE * beta


def fit_feature_pl(races: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Maximum-likelihood betas from training races [(X (D, K), finish positions (D,))]."""
    K = len(FEATURES)
    if not races:
        return np.zeros(K)
    N = max(len(f) for _, f in races)
    X = np.zeros((len(races), N, K))
    mask = np.zeros((len(races), N))
    for r, (x, fin) in enumerate(races):
        order = np.argsort(fin, kind="stable")
        X[r, : len(fin)] = x[order]
        mask[r, : len(fin)] = 1.0
    res = minimize(_neg_loglik, np.zeros(K), args=(X, mask), jac=True, method="L-BFGS-B")
    return res.x


def feature_utilities(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ beta


def fit_on_races(history: pd.DataFrame, feats: pd.DataFrame, race_keys) -> np.ndarray:
    """fit_feature_pl on the given races of `history` (their rows' finish positions)."""
    keys = set(race_keys)
    rows = history[history["race_key"].isin(keys) & history["finish_position"].notna()]
    rows = rows.drop_duplicates(["race_key", "driver_id"])
    races = [
        (design(g, feats), pd.to_numeric(g["finish_position"]).to_numpy())
        for _, g in rows.groupby("race_key", sort=False)
    ]
    return fit_feature_pl(races)
