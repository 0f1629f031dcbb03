"""ownership_totals_valid: the blocking check before any lineup is built compares ownership,
projections and salaries (core/ownership_sanity.py) and names the drivers at fault."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _frame(n: int = 12) -> pd.DataFrame:
    sal = np.linspace(11_000, 5_000, n)
    own = np.full(n, 600.0 / n)
    return pd.DataFrame(
        {
            "driver_id": np.arange(1000, 1000 + n),
            "driver_name": [f"Driver {i}" for i in range(n)],
            "salary": sal,
            "projection": sal / 1000 * 4,
            "own_pct": own,
        }
    )


def _check(frame):
    from nascar_pipeline.assets.ownership import ownership_totals_valid

    return ownership_totals_valid.node_def.compute_fn.decorated_fn(frame)


def test_sane_ownership_passes():
    res = _check(_frame())
    assert res.passed and res.metadata["sanity_blocking"].value == []


def test_broken_ownership_blocks_naming_the_drivers():
    bad = _frame()
    bad.loc[3, "own_pct"] = -5.0
    bad.loc[5, "projection"] = np.nan
    res = _check(bad)
    assert not res.passed
    blocking = res.metadata["sanity_blocking"].value
    text = " | ".join(blocking)
    assert "Driver 3: ownership -5.0 % is negative" in text
    assert "projection missing (NaN) for Driver 5" in text
    assert any("ownership totals" in b for b in blocking)
