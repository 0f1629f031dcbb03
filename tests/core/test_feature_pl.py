"""The feature Plackett-Luce baseline (core/feature_pl.py): features use only earlier starts,
the maximum-likelihood fit recovers known betas, and the per-track-type comparison table."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core import backtest as bt
from nascar_pipeline.core.feature_pl import (
    FEATURES,
    _neg_loglik,
    design,
    feature_table,
    fit_feature_pl,
)
from nascar_pipeline.core.tables import conform


def _history():
    rows = []
    for r, (date, tt) in enumerate(
        [
            ("2024-01-01", "superspeedway"),
            ("2024-02-01", "intermediate"),
            ("2024-03-01", "intermediate"),
        ]
    ):
        for d, fin in ((1, r + 1), (2, 3 - r), (3, 2)):
            rows.append({"race_key": f"r{r}", "race_date": date, "track_type": tt,
                         "driver_id": d, "start_position": d, "finish_position": fin})  # fmt: skip
    return pd.DataFrame(rows)


def test_features_come_from_earlier_starts_only():
    h = _history()
    loop = conform(
        "loop_stats",
        pd.DataFrame({"race_key": ["r0", "r1"], "driver_id": [1, 1], "series": "cup",
                      "avg_running_position": [4.0, 8.0]}),
    )  # fmt: skip
    f = feature_table(h, loop).set_index(["race_key", "driver_id"])
    assert f.loc[("r0", 1), "rookie"] == 1.0  # nothing before the first race
    assert f.loc[("r1", 1), "finish_all"] == pytest.approx(0.1)  # finished 1st at r0
    assert f.loc[("r1", 1), "arp_all"] == pytest.approx(0.4)
    assert f.loc[("r1", 1), "arp_type"] == pytest.approx(0.4)  # no intermediate yet: all races
    # r2: both earlier starts count (the newer one more), only r1 is an intermediate
    decay = 0.5 ** (1 / 8)
    assert f.loc[("r2", 1), "arp_all"] == pytest.approx((0.4 * decay + 0.8) / (decay + 1))
    assert f.loc[("r2", 1), "arp_type"] == pytest.approx(0.8)
    assert f.loc[("r2", 1), "finish_type"] == pytest.approx(0.2)
    assert f.loc[("r1", 2), "arp_all"] == pytest.approx(0.3)  # no loop data: his finish
    x = design(h[h["race_key"] == "r2"], f.reset_index())
    assert x.shape == (3, len(FEATURES)) and x[1, 0] == pytest.approx(np.log(2))


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, mask = rng.normal(size=(3, 5, len(FEATURES))), np.ones((3, 5))
    mask[2, 3:] = 0
    beta = rng.normal(size=len(FEATURES))
    _, g = _neg_loglik(beta, X, mask)
    eps = 1e-6
    num = [
        (_neg_loglik(beta + eps * e, X, mask)[0] - _neg_loglik(beta - eps * e, X, mask)[0])
        / (2 * eps)
        for e in np.eye(len(FEATURES))
    ]
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)


def test_maximum_likelihood_recovers_the_betas():
    rng = np.random.default_rng(1)
    truth = np.array([-1.0, -0.8, 0.0, -0.4, 0.3, 0.0])
    races = []
    for _ in range(150):
        x = rng.normal(size=(30, len(FEATURES)))
        order = np.argsort(-(x @ truth + rng.gumbel(size=30)))
        fin = np.empty(30, int)
        fin[order] = np.arange(1, 31)
        races.append((x, fin))
    beta = fit_feature_pl(races)
    np.testing.assert_allclose(beta, truth, atol=0.12)


def test_track_type_table_compares_every_method_with_the_start_baseline():
    rows = []
    for key, tt in (("a", "road"), ("b", "intermediate"), ("c", "intermediate")):
        for m, ll, crps in (("model", -90.0, 12.0), ("start_position", -91.0, 13.0),
                            ("feature_pl", -90.5, 12.5)):  # fmt: skip
            rows.append({"race_key": key, "track_type": tt, "method": m, "drivers": 36,
                         "order_loglik": ll, "crps_dk": crps, "cover50": 0.5, "cover90": 0.9})  # fmt: skip
    t = bt.track_type_table(pd.DataFrame(rows))
    assert list(t["track_type"].unique()) == ["all", "intermediate", "road"]
    row = t[(t["track_type"] == "all") & (t["method"] == "model")].iloc[0]
    assert row["races"] == 3 and row["ll_vs_start_position"] == pytest.approx(1.0)
    assert row["crps_vs_start_position_pct"] == pytest.approx(100 * (12 / 13 - 1))
    assert list(t[t["track_type"] == "road"]["method"]) == ["model", "start_position", "feature_pl"]
