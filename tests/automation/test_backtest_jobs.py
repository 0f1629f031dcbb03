"""race_backtest and season_report: the metrics on known inputs, and the assets run through
Dagster on a small world with synthetic upstream files (no MCMC: the model and DFS stages are
tested by their own modules; here their outputs are stand-ins with the same schema)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nascar_pipeline.core.race_scoring import actual_points, driver_scores, kde_loglik


def test_kde_loglik_is_a_density():
    rng = np.random.default_rng(0)
    x = rng.normal(30, 8, size=(4000, 1))
    grid = np.linspace(-20, 80, 2001)
    dens = np.exp([kde_loglik(x, np.array([g]))[0] for g in grid])
    assert abs(np.trapezoid(dens, grid) - 1.0) < 0.01
    # Near the true normal density at its mean.
    assert abs(dens[np.argmin(abs(grid - 30))] - 1 / (8 * np.sqrt(2 * np.pi))) < 0.005


def test_driver_scores_calibrated_when_actuals_come_from_the_projection():
    rng = np.random.default_rng(1)
    D, S = 400, 2000
    mu = rng.uniform(10, 60, D)
    samples = rng.normal(mu, 10, size=(S, D))
    y = rng.normal(mu, 10)
    s = driver_scores(samples, y)
    assert 0.45 < s["in_50"].mean() < 0.55
    assert 0.75 < s["in_80"].mean() < 0.85
    assert 0.45 < s["pit"].mean() < 0.55
    # A sharper but wrong projection scores worse on CRPS and log-likelihood.
    wrong = rng.normal(mu + 15, 3, size=(S, D))
    w = driver_scores(wrong, y)
    assert w["crps"].mean() > s["crps"].mean()
    assert w["log_lik"].mean() < s["log_lik"].mean()


def test_actual_points_follow_the_rules():
    res = pd.DataFrame(
        {
            "start_position": [5, None],
            "finish_position": [1, 3],
            "laps_led": [100, 0],
            "fastest_laps": [None, 10],
        }
    )
    from nascar_pipeline.core.rules import draftkings_points

    expected = [float(draftkings_points(5, 1, 100, 0)), float(draftkings_points(3, 3, 0, 10))]
    assert np.allclose(actual_points(res), expected)


@pytest.fixture
def small_world(tmp_path, monkeypatch):
    from nascar_pipeline.sources.demo_world import generate_world
    from nascar_pipeline.sources.embedded import write_world

    world = tmp_path / "world"
    write_world(generate_world(seed=5, seasons=1), world)
    monkeypatch.setenv("NASCAR_WORLD_DIR", str(world))
    return world


def _fake_upstream(layout, snapshot: pd.DataFrame, race_key: str, rng) -> None:
    """race_scenarios, ownership_projections, lineup_portfolio with their real schemas."""
    from nascar_pipeline.core import rules

    e = snapshot[snapshot["role"] == "entry"].sort_values("driver_id").reset_index(drop=True)
    ids = e["driver_id"].astype("int64").to_numpy()
    S, D = 600, len(ids)
    strength = np.linspace(55, 15, D)
    pts = rng.normal(strength, 12, size=(S, D)).astype(np.float32)
    sc = pd.DataFrame(
        {
            "scenario": np.repeat(np.arange(S, dtype=np.int32), D),
            "driver_id": np.tile(ids, S),
            "dk_points": pts.ravel(),
            "fd_points": pts.ravel(),
        }
    )
    layout.write_parquet(layout.asset_path("race_scenarios", race_key), sc)
    own = pd.DataFrame({"driver_id": ids, "own_pct": np.full(D, 600.0 / D)})
    layout.write_parquet(layout.asset_path("ownership_projections", race_key), own)
    sal = e["salary"].astype(int).to_numpy()
    order = np.argsort(sal)
    rows = []
    for k in range(5):  # cheap, valid lineups
        pick = order[k : k + rules.DRAFTKINGS.roster_size]
        assert sal[pick].sum() <= rules.DRAFTKINGS.salary_cap
        row = {"lineup_id": k, "site": "draftkings", "projection": float(strength[pick].sum())}
        for j, i in enumerate(sorted(pick), start=1):
            row[f"d{j}_driver_id"] = int(ids[i])
        rows.append(row)
    layout.write_parquet(layout.asset_path("lineup_portfolio", race_key), pd.DataFrame(rows))


def test_backtest_and_season_report_assets(small_world, tmp_path):
    from dagster import AssetSelection, Definitions, define_asset_job, instance_for_test

    from nascar_pipeline.assets.backtest import backtest_assets
    from nascar_pipeline.assets.model import model_assets
    from nascar_pipeline.assets.partitions import races_partitions
    from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
    from nascar_pipeline.definitions import dfs_assets
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource
    from nascar_pipeline.resources.storage import storage_resources
    from nascar_pipeline.sources.embedded import EmbeddedWorldSource
    from nascar_pipeline.storage.layout import StorageLayout

    storage = str(tmp_path / "storage")
    races = EmbeddedWorldSource(small_world).list_races()
    keys = races[races["has_results"]]["race_key"].tolist()[3:5]
    jobs = [
        define_asset_job(
            "snap", AssetSelection.assets(race_snapshot), partitions_def=races_partitions
        ),
        define_asset_job(
            "bt", AssetSelection.assets("race_backtest"), partitions_def=races_partitions
        ),
        define_asset_job("season", AssetSelection.assets("season_report")),
    ]
    defs = Definitions(
        assets=[race_snapshot, *model_assets, *dfs_assets, *backtest_assets],
        asset_checks=snapshot_checks,
        jobs=jobs,
        resources={
            "race_source": EmbeddedWorldResource(world_dir=str(small_world)),
            **storage_resources(storage),
        },
    )
    layout = StorageLayout(storage)
    rng = np.random.default_rng(2)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("races", list(races["race_key"]))
        for key in keys:
            assert (
                defs.resolve_job_def("snap")
                .execute_in_process(partition_key=key, instance=instance)
                .success
            )
            _fake_upstream(layout, layout.read_asset("race_snapshot", key), key, rng)
            result = defs.resolve_job_def("bt").execute_in_process(
                partition_key=key, instance=instance
            )
            assert result.success
            mat = result.asset_materializations_for_node("race_backtest")[0]
            assert {
                "crps_mean",
                "hit_rate_80",
                "portfolio_roi",
                "calibration",
                "dagster/row_count",
            } <= set(mat.metadata)
        season = defs.resolve_job_def("season").execute_in_process(instance=instance)
        assert season.success

    bt = layout.read_asset("race_backtest", keys[0])
    starters = EmbeddedWorldSource(small_world).tables.results
    assert len(bt) == (starters["race_key"] == keys[0]).sum()
    assert {
        "log_lik",
        "crps",
        "pit",
        "in_50",
        "in_80",
        "proj_own_pct",
        "actual_own_pct",
        "actual_points",
    } <= set(bt.columns)
    assert np.isfinite(bt["crps"]).all() and np.isfinite(bt["log_lik"]).all()
    assert bt["actual_own_pct"].notna().any()  # the demo world has actual ownership
    lineups = layout.read_parquet_path(
        layout.extra_path("race_backtest", keys[0], "lineups.parquet")
    )
    assert len(lineups) == 5 and (lineups["rank"] >= 1).all()
    report = layout.read_asset("season_report")
    assert sorted(report["race_key"]) == sorted(keys)
