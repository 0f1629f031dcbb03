"""A race's contests searched side by side (threads) give the portfolios one at a time gives:
each contest has its own generator and objects, whatever order the threads run in."""

from __future__ import annotations

import pandas as pd
import pytest

from nascar_pipeline.assets import portfolio as portfolio_asset
from tests.assets.test_contests import write_two_contests
from tests.support.dfs_assets import RACE, run_dfs_assets

STEERING = {"global_max_exposure": 0.5, "fanduel_lineups": 0}


def _portfolio(root, monkeypatch, workers: int) -> pd.DataFrame:
    monkeypatch.setattr(portfolio_asset, "contest_workers", lambda n: workers)
    layout = write_two_contests(root, S=1200)
    result = run_dfs_assets(root, {"lineup_portfolio": STEERING})
    assert result.success
    return layout.read_asset("lineup_portfolio", RACE)


def test_threads_give_the_same_portfolios(tmp_path, monkeypatch):
    one = _portfolio(tmp_path / "one", monkeypatch, 1)
    two = _portfolio(tmp_path / "two", monkeypatch, 2)
    assert one["contest_id"].nunique() == 2
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.parametrize(("n", "cpus", "want"), [(1, 2, 1), (3, 2, 2), (3, 16, 3), (9, 16, 4)])
def test_contest_workers(monkeypatch, n, cpus, want):
    monkeypatch.setattr(portfolio_asset.os, "cpu_count", lambda: cpus)
    assert portfolio_asset.contest_workers(n) == want
