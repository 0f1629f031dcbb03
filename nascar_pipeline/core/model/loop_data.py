"""Loop data as observations of the model's latent race performance (ModelConfig.loop_data).

The finishing order is one noisy look at a car's pace: a car that ran third all day and crashed
late finishes 35th. NASCAR's loop data saw the whole race. Each start with loop data gives its
average running position; within its race this becomes a normal score

    y = -Phi^-1((rank - 1/2) / n)        (rank of the average running position, 1 = best)

so y is about N(0, 1) over a field, larger for a faster car, and robust to field size.

- Cup starts of races in the fit window (`loop_y`, `loop_on`: (R, N), in the history arrays'
  slots): y ~ Normal(loop_a + loop_b * (perf - mean perf of the race's loop cars), sigma_loop),
  where perf is the same latent performance the finishing order, DNFs and lap shares use. A
  race without loop data (the newest usually) has loop_on = 0: it adds nothing.
- Other starts (Xfinity, Truck, Cup races outside the ontology such as exhibitions; `ext_*`,
  flat, padded to a bucket): y ~ Normal(ext_a[series] + loop_b * skill[driver],
  sqrt(sigma_loop^2 + sigma_ext[series]^2)): a series offset and extra noise (a lower-series
  field is weaker and different); only drivers of the Cup window are informed.
Weights: the history's time decay (half-life) for both; padding weighs 0.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.special import ndtri

from nascar_pipeline.core.model.data import COUNT_BUCKET, shape_bucket

# Starts not attached to a Cup race of the window, by series: index into ext_a / sigma_ext.
EXT_SERIES = ("cup", "xfinity", "truck")
LOOP_ARRAYS = ("loop_y", "loop_on", "ext_drv", "ext_series", "ext_y", "ext_w")


def keyed_to_history(loop: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Loop rows with the history's race keys: a row without one (the loopstats CSV keys Cup
    rows only by NASCAR race id) takes the key of the history's race with that id."""
    key_of = dict(zip(history["race_id"].astype("Int64"), history["race_key"]))
    matched = loop["race_id"].map(key_of).astype("string")
    return loop.assign(race_key=loop["race_key"].astype("string").fillna(matched))


def normal_scores(values: pd.Series, groups: pd.Series) -> np.ndarray:
    """-Phi^-1((rank - 1/2) / n) of `values` within each group (rank 1 = smallest value;
    ties share their mean rank): larger for a better (lower) running position."""
    rank = values.groupby(groups, sort=False).rank(method="average")
    n = values.groupby(groups, sort=False).transform("count")
    return -ndtri(((rank - 0.5) / n).to_numpy(np.float64))


def loop_arrays(
    loop: pd.DataFrame | None,
    h: pd.DataFrame,
    race_keys: list,
    a: dict,
    d_idx: dict,
    ref: pd.Timestamp,
    config,
    target_date: str | None,
) -> dict:
    """The loop-data arrays (LOOP_ARRAYS) for the history arrays `a` (drv, mask: (R, N)) of the
    window's races `race_keys`; `loop` None or empty gives all-masked arrays of the same
    shapes (the same compiled programs)."""
    R, N = a["drv"].shape
    out = {
        "loop_y": np.zeros((R, N), np.float32),
        "loop_on": np.zeros((R, N), np.float32),
    }
    rows = _usable(loop)
    cup = rows[rows["race_key"].notna()]
    r_of = {k: i for i, k in enumerate(race_keys)}
    cup = cup[cup["race_key"].isin(r_of)]
    if len(cup):
        y = normal_scores(cup["avg_running_position"], cup["race_key"])
        slot_of = {
            (r, int(a["drv"][r, j])): j for r in range(R) for j in range(N) if a["mask"][r, j] > 0
        }
        for key, did, yv in zip(cup["race_key"], cup["driver_id"], y):
            r = r_of[key]
            j = slot_of.get((r, d_idx.get(int(did), -1)))
            if j is not None:
                out["loop_y"][r, j] = yv
                out["loop_on"][r, j] = 1.0

    other = rows[rows["race_key"].isna()]  # Cup races of the ontology count only in the window
    end = pd.Timestamp(target_date) if target_date is not None else ref
    dates = pd.to_datetime(other["race_date"])
    other = other[(dates < end) & (dates >= ref - pd.Timedelta(days=config.history_days))]
    if len(other):
        day = (
            other["series"] + "|" + other["race_date"] + "|" + other["track_name"]
            + "|" + other["start_of_day"].astype(str)
        )  # fmt: skip
        other = other.assign(y=normal_scores(other["avg_running_position"], day))
        other = other[other["driver_id"].isin(d_idx) & other["series"].isin(EXT_SERIES)]
    E = shape_bucket(len(other), COUNT_BUCKET)
    out["ext_drv"] = np.zeros(E, np.int32)
    out["ext_series"] = np.zeros(E, np.int32)
    out["ext_y"] = np.zeros(E, np.float32)
    out["ext_w"] = np.zeros(E, np.float32)
    n = len(other)
    if n:
        age = (ref - pd.to_datetime(other["race_date"])).dt.days.clip(lower=0).to_numpy()
        out["ext_drv"][:n] = other["driver_id"].map(d_idx).to_numpy()
        out["ext_series"][:n] = other["series"].map(EXT_SERIES.index).to_numpy()
        out["ext_y"][:n] = other["y"].to_numpy()
        out["ext_w"][:n] = 0.5 ** (age / config.half_life_days)
    return out


def _usable(loop: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["series", "race_key", "race_date", "track_name", "start_of_day", "driver_id",
            "avg_running_position"]  # fmt: skip
    if loop is None or len(loop) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    df = loop[cols].copy()
    df = df[df["avg_running_position"].notna() & df["driver_id"].notna()]
    df["avg_running_position"] = df["avg_running_position"].astype(float)
    df["driver_id"] = df["driver_id"].astype(np.int64)
    df["start_of_day"] = df["start_of_day"].fillna(1).astype(int)
    for c in ("series", "race_key", "race_date", "track_name"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.reset_index(drop=True)


def loop_digest(loop: pd.DataFrame | None) -> str:
    """A stable hash of the loop rows a fit uses: pass it in history_hash's `extra` when
    ModelConfig.loop_data is on (the fit-cache key)."""
    rows = _usable(loop).astype("string").fillna("")
    rows = rows.sort_values(list(rows.columns)).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).values.tobytes())
    return digest.hexdigest()[:20]
