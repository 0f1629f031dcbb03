"""Trailing form as covariates of ability (ModelConfig.form).

A driver's skill in the model is one number for the whole window (its likelihood decays with a
one-year half-life), so it is slow to see a driver or team getting faster or slower within a
season. The feature Plackett-Luce baseline (core/feature_pl.py) showed how much a few trailing
averages know. Here the same trailing features of each start (taken only from the starts
before it) enter the model's ability linearly:

    ability = skill[d] + skill_track[d, t] + car_effect[car] + form[r, d] . form_beta

so the skills become each driver's persistent deviation from what his recent form says, and
the DNF, laps-led and fastest-lap parts follow the same ability. The simulator takes the form
of each entry as of after the last history race (`stats["form_now"]`, per track type).

Features (FORM_FEATURES), positions divided by 10: the trailing finish over all starts and at
the track type (centred at mid-field), the trailing average running position minus the trailing
finish, over all and at the type, and the rookie flag (no earlier Cup start). Running position
enters as its difference from the finish because the feature PL's running position falls back
to the finish where a driver has no loop data: with none at all (a source without loop rows)
the two would be the same column and their coefficients a ridge the sampler cannot mix along
(R-hat 1.01+ at production settings on 2023-25); as a difference the column is 0 and its
coefficient stays at its prior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nascar_pipeline.core.feature_pl import FEATURES, NEUTRAL, features_with_next
from nascar_pipeline.core.tables import TRACK_TYPES

FORM_FEATURES = ("finish_all", "finish_type", "arp_minus_finish_all", "arp_minus_finish_type",
                 "rookie")  # fmt: skip
# Finishes / 10 centred near mid-field (20th): the form term then moves ability around 0, not
# its level (the DNF intercept would absorb a level, more slowly).
FORM_CENTRE = np.array([2.0, 2.0, 0.0, 0.0, 0.0], np.float32)


def model_form(feats: np.ndarray) -> np.ndarray:
    """The feature PL's FEATURES[1:] columns (arp_all, arp_type, finish_all, finish_type,
    rookie; (..., 5)) -> FORM_FEATURES, centred."""
    f = np.asarray(feats, np.float32)
    out = np.stack(
        [f[..., 2], f[..., 3], f[..., 0] - f[..., 2], f[..., 1] - f[..., 3], f[..., 4]], axis=-1
    )
    return out - FORM_CENTRE


# A driver never seen: the feature PL's neutral positions and the rookie flag.
ROOKIE_FORM = model_form(np.array([NEUTRAL / 10.0] * 4 + [1.0]))


def form_arrays(
    history: pd.DataFrame, loop: pd.DataFrame | None, race_keys, drv, mask, driver_ids
) -> tuple[np.ndarray, dict]:
    """(R, N, K) form of every start of the window's races (`race_keys`, slots as `drv` /
    `mask` index `driver_ids`; padding 0) and the form of every driver of `history` for a next
    race, {track type: {driver_id: [K floats]}} (centred like the arrays)."""
    ids = pd.unique(pd.to_numeric(history["driver_id"]).astype(np.int64))
    feats, now = features_with_next(history, loop, ids, TRACK_TYPES)
    keyed = {
        (str(k), int(d)): row
        for k, d, row in zip(
            feats["race_key"],
            feats["driver_id"],
            model_form(feats[list(FEATURES[1:])].to_numpy(np.float32)),
        )
    }
    R, N = drv.shape
    out = np.zeros((R, N, len(FORM_FEATURES)), np.float32)
    for r, key in enumerate(race_keys):
        for j in np.flatnonzero(mask[r] > 0):
            # every start of the window is a row of the feature table (same history rows)
            out[r, j] = keyed.get((str(key), int(driver_ids[drv[r, j]])), ROOKIE_FORM)
    form_now = {
        t: {int(d): row.tolist() for d, row in zip(f.index, model_form(f.to_numpy()))}
        for t, f in now.items()
    }
    return out, form_now


def entry_form(form_now: dict, driver_ids, track_type: str, n_slots: int) -> np.ndarray:
    """(n_slots, K) form of a race's entries (`driver_ids` in slot order; the rest 0): a driver
    without an earlier start gets the rookie row (neutral positions, rookie flag 1)."""
    by_driver = form_now.get(track_type, {})
    rookie = ROOKIE_FORM.tolist()
    x = np.zeros((n_slots, len(FORM_FEATURES)), np.float32)
    for j, d in enumerate(driver_ids):
        x[j] = by_driver.get(int(d), rookie)
    return x
