"""contest_simulation's measured-beside-simulated cash rate, on a hand-made season report."""

import pandas as pd

from nascar_pipeline.assets.contest import _cash_measured_vs_simulated
from nascar_pipeline.resources.storage import StorageResource


def _snap(track="road"):
    return pd.DataFrame({"role": ["entry"], "driver_id": [1], "track_type": [track]})


def test_measured_cash_rate_beside_the_simulated(tmp_path):
    storage = StorageResource(root=str(tmp_path))
    out = pd.DataFrame({"cash_pct": [30.0, 20.0], "honest_cash_pct": [20.0, 10.0]})
    res = _cash_measured_vs_simulated(storage, _snap(), "2026-06-28-sonoma", out)
    assert res["simulated_cash_pct"] == 25.0 and res["honest_cash_pct"] == 15.0
    assert res["measured"] == {} and "unchecked" in res["note"]
    season = pd.DataFrame(
        {
            "race_key": ["2026-06-20-pocono", "2026-06-28-sonoma"],
            "track_type": ["intermediate", "road"],
            "cash_source": ["contest", "contest"],
            "cash_line": [229.4, 235.0],
            "model_cash_rate": [0.10, 0.05],
            "model_best_points": [240.0, 220.0],
        }
    )
    storage.layout.write_parquet(storage.layout.asset_path("season_report"), season)
    res = _cash_measured_vs_simulated(storage, _snap(), "2026-06-28-sonoma", out)
    # the race itself is left out: one past race, on another track type
    assert res["measured"]["all"]["races"] == 1
    assert res["measured"]["all"]["cash_pct"] == 10.0
    assert "road" not in res["measured"]
    assert "measured by the backtest: all 10.0 % on 1 races (1 real contests)" in res["note"]
