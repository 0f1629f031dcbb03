"""core/honest_roi.py measured_money: the backtest's measured cash rates beside the simulated."""

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.honest_roi import measured_money


def _season():
    return pd.DataFrame(
        {
            "race_key": ["2025-04-01-a", "2025-05-01-b", "2025-06-01-c", "2025-07-01-d"],
            "track_type": ["road", "short", "road", "road"],
            "cash_source": ["contest", "simulated from real %Drafted", "contest", None],
            "cash_line": [230.0, 200.0, 240.0, np.nan],
            "model_cash_rate": [0.10, 0.30, 0.05, np.nan],  # d: no money graded
            "model_best_points": [250.0, 190.0, 235.0, np.nan],
            "start_position_cash_rate": [0.2, 0.0, 0.4, np.nan],
            "user_projections_cash_rate": [np.nan, np.nan, 0.6, np.nan],
        }
    )


def test_measured_money_all_and_by_track_type():
    m = measured_money(_season(), "road")
    assert m["all"]["races"] == 3 and m["all"]["real_contest_races"] == 2
    assert m["all"]["cash_pct"] == pytest.approx(15.0)
    assert m["all"]["best_cashed_pct"] == pytest.approx(100 / 3)
    assert m["all"]["start_position_cash_pct"] == pytest.approx(20.0)
    assert m["all"]["user_projections_cash_pct"] == pytest.approx(60.0)
    assert m["road"]["races"] == 2 and m["road"]["cash_pct"] == pytest.approx(7.5)
    # the race being simulated is not a past race
    m = measured_money(_season(), "road", exclude_race="2025-06-01-c")
    assert m["road"]["races"] == 1 and m["road"]["cash_pct"] == pytest.approx(10.0)


def test_measured_money_without_graded_races():
    assert measured_money(None) == {}
    assert measured_money(pd.DataFrame({"race_key": ["x"]})) == {}
    s = _season()
    s["model_cash_rate"] = np.nan
    assert measured_money(s, "road") == {}
    assert "superspeedway" not in measured_money(_season(), "superspeedway")
