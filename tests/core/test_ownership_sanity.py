"""Sanity between ownership, projections and salaries: blocking problems and warnings name the
drivers; a degenerate ownership input (all weight on min-priced drivers) is corrected with a
warning instead of failing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.ownership_model import FieldOwnershipModel, project_field_ownership
from nascar_pipeline.core.ownership_sanity import check_slate_sanity


def _slate(n=36):
    """A DraftKings-like slate: $11,000 down to $4,500; projections with the salary."""
    sal = np.linspace(11_000, 4_500, n).round(-2)
    proj = np.round(8 + (sal - 4_500) / 6_500 * 55, 1)
    return pd.DataFrame(
        {
            "driver_name": [f"Driver {chr(65 + i % 26)}{i}" for i in range(n)],
            "salary": sal,
            "projection": proj,
        }
    )


def _owned(slate, own):
    out = slate.copy()
    out["own_pct"] = own
    return out


def _sane_ownership(slate):
    return project_field_ownership(slate).frame["own_pct"].to_numpy()


def test_a_sane_slate_passes_clean():
    slate = _slate()
    report = check_slate_sanity(_owned(slate, _sane_ownership(slate)))
    assert report.ok and report.warnings == [], report.warnings


def test_back_marker_at_79_percent_is_named_with_its_bound():
    slate = _slate()
    own = _sane_ownership(slate)
    last = len(slate) - 1  # $4,500, the cheapest, projected 8 pts
    own = own * (600 - 79) / (own.sum() - own[last])
    own[last] = 79.0
    report = check_slate_sanity(_owned(slate, own))
    assert report.ok  # possible, just unlike a real field
    name = slate["driver_name"].iloc[last]
    hit = [
        w for w in report.warnings if w.startswith(f"{name}: $4,500, projected 8 pts, owned 79 %")
    ]
    assert hit and "above the 25 % bound for the bottom salary tier" in hit[0], report.warnings
    assert any("among the 5 most owned" in w and name in w for w in report.warnings)


def test_blocking_problems_name_the_drivers():
    slate = _slate(10)
    own = np.full(10, 60.0)
    own[2], own[3], own[4] = np.nan, -5.0, 130.0
    frame = _owned(slate, own)
    frame.loc[7, "driver_name"] = frame.loc[6, "driver_name"]
    frame.loc[5, "projection"] = np.nan
    report = check_slate_sanity(frame)
    text = " | ".join(report.blocking)
    n = slate["driver_name"]
    assert f"ownership missing (NaN) for {n[2]}" in text
    assert f"{n[3]}: ownership -5.0 % is negative" in text
    assert f"{n[4]}: ownership 130.0 % is above 100 %" in text
    assert f"projection missing (NaN) for {n[5]}" in text
    assert f"duplicated driver(s): {n[6]}" in text
    assert "ownership totals" in text and "not 600 %" in text
    assert report.warnings == []  # warnings wait until nothing blocks
    with pytest.raises(ValueError, match="ownership/projection/salary check failed"):
        report.raise_if_blocking()


def test_no_lineup_under_the_cap_blocks():
    slate = _slate(8)
    slate["salary"] = 9_000.0
    report = check_slate_sanity(_owned(slate, np.full(8, 75.0)))
    assert any("no lineup is possible" in b for b in report.blocking)


def test_field_spending_outside_real_range_names_the_pull():
    slate = _slate()
    own = np.zeros(len(slate))
    own[-8:] = 75.0  # the eight cheapest drivers carry every pick
    report = check_slate_sanity(_owned(slate, own))
    spend = [w for w in report.warnings if "average field lineup" in w]
    assert spend and "below the $46,000-$50,000" in spend[0]
    assert slate["driver_name"].iloc[-1] in spend[0]


def test_degenerate_input_is_corrected_with_a_warning():
    slate = _slate()
    cheap = slate["salary"] <= slate["salary"].nsmallest(6).max()
    slate["vendor_own_pct"] = np.where(cheap, 100.0, 0.0)  # all weight on min-priced drivers
    res = project_field_ownership(slate, FieldOwnershipModel({}, vendor_weight=1.0))
    f = res.frame
    assert f["own_pct"].sum() == pytest.approx(600.0)
    assert (f.loc[cheap, "own_pct"] <= f.loc[cheap, "bound_pct"] + 1e-9).all()
    assert f.loc[cheap, "own_pct"].max() <= 40.0
    assert res.implied_lineup_salary >= 46_000 - 1
    named = [
        w for w in res.warnings if "above the" in w and "bound for the bottom salary tier" in w
    ]
    assert len(named) == int(cheap.sum())
    assert all(w.split(":")[0] in set(slate.loc[cheap, "driver_name"]) for w in named)
    assert (
        any("tilted toward salary" in w for w in res.warnings)
        or res.implied_lineup_salary >= 46_000
    )
    assert f.loc[cheap, "reasons"].str.contains("bounded at").all()
    # and what comes out passes the blocking check
    assert check_slate_sanity(f).ok


def test_overrides_pin_past_the_bound():
    slate = _slate()
    last = len(slate) - 1
    res = project_field_ownership(slate, overrides={last: 60.0})
    f = res.frame
    assert f.loc[last, "own_pct"] == pytest.approx(60.0)
    assert f["own_pct"].sum() == pytest.approx(600.0)
    assert "pinned at 60 % by override" in f.loc[last, "reasons"]


def test_a_negative_projection_is_a_warning_not_a_block():
    # a front starter expected to lose places can project below 0 DK points (the chaos race
    # week's Charlotte roval slate had one at -8.2): unusual, not impossible
    slate = _slate()
    slate.loc[5, "projection"] = -8.2
    report = check_slate_sanity(_owned(slate, _sane_ownership(slate)))
    assert report.ok, report.blocking
    name = slate["driver_name"].iloc[5]
    assert any(w.startswith(name) and "negative projection" in w for w in report.warnings)
