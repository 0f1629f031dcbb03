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
    monkeypatch.setattr(portfolio_asset, "usable_cores", lambda: cpus)
    assert portfolio_asset.contest_workers(n) == want


def test_a_failed_contest_fails_the_run_without_waiting_for_the_others(tmp_path, monkeypatch):
    """One contest's search raising ends the asset at once: the run does not wait for the other
    contests' searches (still running here when the run has failed)."""
    import threading

    from nascar_pipeline.core import contests, lineup_search

    monkeypatch.setattr(portfolio_asset, "contest_workers", lambda n: 2)
    monkeypatch.setattr(contests, "contest_rng", lambda seed, k: k)  # the search sees its k
    release, finished = threading.Event(), threading.Event()

    def search(*args, **kwargs):
        if args[6] == 0:
            raise RuntimeError("contest 0 failed")
        release.wait(60)
        finished.set()
        raise RuntimeError("contest 1 released")

    monkeypatch.setattr(lineup_search, "search_portfolio", search)
    write_two_contests(tmp_path, S=1200)
    try:
        result = run_dfs_assets(tmp_path, {"lineup_portfolio": STEERING})
        assert not result.success
        assert not finished.is_set()  # the other contest was still searching
    finally:
        release.set()
