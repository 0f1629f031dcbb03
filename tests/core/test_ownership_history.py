"""The ownership model's inputs from a race snapshot: recent form and finishes, price and
ownership at the driver's last race, the model's odds; past races with %Drafted as training
races, each with only what was known before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.ownership_fit import fit_field_model
from nascar_pipeline.core.ownership_history import (
    ownership_slate,
    recent_driver_stats,
    training_races,
)

N = 12


def _snapshot():
    rows = []
    for r, date in enumerate(["2026-03-01", "2026-03-08", "2026-03-15"]):
        for d in range(N):
            rows.append(
                {
                    "role": "history",
                    "race_key": f"{date}__r{r}",
                    "race_date": date,
                    "driver_id": 100 + d,
                    "driver_name": f"Driver {d}",
                    "start_position": d + 1,
                    "finish_position": (d + r) % N + 1,
                    "laps_led": 10 if d == 0 else 0,
                    "fastest_laps": 0,
                    "salary": 10_000 - 400 * d + 100 * r,
                    "dk_own_pct": 600.0 / N + (6 - d) + r,
                }
            )
    for d in range(N):
        rows.append({"role": "entry", "race_key": "2026-03-22__r3", "driver_id": 100 + d})
    return pd.DataFrame(rows)


def test_recent_stats_take_the_last_race_for_price_and_ownership():
    stats = recent_driver_stats(_snapshot(), [100, 105, 999])
    assert stats.loc[0, "prev_salary"] == 10_200  # his salary at the third race
    assert stats.loc[1, "prev_own_pct"] == pytest.approx(600.0 / N + 1 + 2)
    assert stats.loc[0, "recent_finish"] == pytest.approx(np.mean([1, 2, 3]))
    assert stats.loc[2].isna().all()  # a rookie: nothing known, no failure


def test_ownership_slate_joins_history_and_odds():
    slate = pd.DataFrame(
        {
            "driver_id": [100 + d for d in range(N)],
            "driver_name": [f"Driver {d}" for d in range(N)],
            "salary": [10_000 - 400 * d for d in range(N)],
            "projection": [50.0 - 3 * d for d in range(N)],
            "start_position": list(range(1, N + 1)),
        }
    )
    proj = pd.DataFrame(
        {"driver_id": slate["driver_id"], "win_pct": 100.0 / N, "top5_pct": 500.0 / N}
    )
    out = ownership_slate(slate, _snapshot(), proj, vendor_own_pct=np.full(N, 50.0))
    assert out["win_prob"].iloc[0] == pytest.approx(1.0 / N)
    assert out["prev_salary"].iloc[0] == 10_200 and out["vendor_own_pct"].iloc[0] == 50.0
    assert list(out["driver_id"]) == list(slate["driver_id"])


def test_training_races_use_only_earlier_races():
    races = training_races(_snapshot())
    assert len(races) == 3
    first, own = races[0]
    assert first["prev_salary"].isna().all() and first["recent_dk_points"].isna().all()
    third, _ = races[2]
    assert third.loc[0, "prev_salary"] == 10_100  # the second race's salary, not the third's
    assert own.sum() == pytest.approx(sum(600.0 / N + 6 - d for d in range(N)))
    model = fit_field_model(races)
    assert model.source == "fitted on 3 races"
