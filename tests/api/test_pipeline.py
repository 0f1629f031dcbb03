"""The API over races materialized by the real pipeline beyond the snapshot:

- `dfs_store`: the real snapshot; model outputs (fit, scenarios, projections) written in their
  documented schemas; then the REAL DFS assets (ownership_projections, lineup_portfolio with its
  DraftKings upload CSV, contest_simulation) materialized through Dagster on top of them.
- `pipeline_store` (slow): everything through Dagster, the NumPyro fit included. It skips, with
  the failing checks named, when the model's blocking convergence check stops the run.
"""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.asset_graph import RACE_ASSETS
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.api import api_settings, auth, seed_world
from tests.support.run_configs import FAST_DFS_OPS

pytestmark = [pytest.mark.timeout(1800)]

DFS_CONFIG = FAST_DFS_OPS


def _checks(result):
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


@pytest.fixture(scope="module")
def dfs_store(tmp_path_factory):
    from dagster import AssetSelection, DagsterInstance, ResourceDefinition, materialize

    from nascar_pipeline.assets.model import model_assets
    from nascar_pipeline.assets.snapshot import race_snapshot
    from nascar_pipeline.definitions import dfs_assets, dfs_checks
    from nascar_pipeline.resources.storage import storage_resources
    from tests.support.api import materialize_snapshot, write_downstream

    world = tmp_path_factory.mktemp("dfs-world")
    upcoming, _ = seed_world(world)
    root = str(tmp_path_factory.mktemp("dfs-store"))
    materialize_snapshot(str(world), root, upcoming)
    write_downstream(StorageLayout(root), upcoming, n_scenarios=1000)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [upcoming])
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_ROOT", root)  # the portfolio's upload CSV goes through the env layout
    try:
        result = materialize(
            [race_snapshot, *model_assets, *dfs_assets, *dfs_checks],
            selection=AssetSelection.assets(*dfs_assets),
            partition_key=upcoming,
            instance=instance,
            resources={
                **storage_resources(root),
                "race_source": ResourceDefinition.none_resource(),
            },
            run_config={"ops": DFS_CONFIG},
            raise_on_error=False,
        )
    finally:
        mp.undo()
    assert result.success, _checks(result)
    return root, upcoming, result.run_id


def test_dfs_endpoints_on_real_dfs_materializations(dfs_store):
    root, race, run_id = dfs_store
    layout = StorageLayout(root)
    m = layout.read_manifest(race)
    for asset in ("ownership_projections", "lineup_portfolio", "contest_simulation"):
        assert m[asset].run_id == run_id
    with TestClient(create_app(api_settings(root))) as c:
        own = c.get(f"/v1/races/{race}/ownership", headers=auth())
        assert own.headers["x-run-id"] == run_id
        pct = [r["own_pct"] for r in own.json()["rows"]]
        assert pct == sorted(pct, reverse=True) and sum(pct) == pytest.approx(600.0, rel=1e-3)
        port = c.get(f"/v1/races/{race}/portfolio", headers=auth())
        pb = port.json()
        assert pb["lineups"] == 8 and len(pb["rows"]) == 8
        assert pb["provenance"]["run_id"] == run_id
        assert pb["rows"][0]["d1_name"] and pb["rows"][0]["salary"] <= 50_000
        csv = c.get(pb["downloads"]["draftkings"], headers=auth())
        assert csv.status_code == 200
        assert csv.content == layout.read_bytes(
            layout.extra_path("lineup_portfolio", race, "draftkings.csv")
        )
        assert csv.text.count("\n") >= 8  # a header and one line per lineup
        sim = c.get(f"/v1/races/{race}/contest-simulation", headers=auth()).json()
        assert sim["lineups"] == 8 and {"roi", "cash_pct", "win_pct"} <= set(sim["metrics"])
        assert sim["provenance"]["run_id"] == run_id
        lu = c.get(
            f"/v1/races/{race}/contest-simulation/lineups",
            params={"sort": "-cash_pct", "limit": 3, "offset": 1},
            headers=auth(),
        ).json()
        cash = (
            layout.read_asset("contest_simulation", race)
            .sort_values("cash_pct", ascending=False, kind="stable")["cash_pct"]
            .iloc[1:4]
            .tolist()
        )
        assert [r["cash_pct"] for r in lu["rows"]] == pytest.approx(cash)
        st = {a["asset"]: a for a in c.get(f"/v1/races/{race}", headers=auth()).json()["assets"]}
        assert st["lineup_portfolio"]["run_id"] == run_id and not st["contest_simulation"]["stale"]


@pytest.fixture(scope="module")
def pipeline_store(tmp_path_factory):
    from dagster import DagsterInstance, materialize

    from nascar_pipeline.assets.model import model_assets, model_checks
    from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
    from nascar_pipeline.definitions import dfs_assets, dfs_checks
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource
    from nascar_pipeline.resources.storage import storage_resources

    world = tmp_path_factory.mktemp("pipe-world")
    upcoming, _ = seed_world(world, seed=3)  # the model tests' world: its fit converges
    root = str(tmp_path_factory.mktemp("pipe-store"))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [upcoming])
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_ROOT", root)  # the portfolio's upload CSV goes through the env layout
    try:
        result = materialize(
            [
                race_snapshot,
                *snapshot_checks,
                *model_assets,
                *model_checks,
                *dfs_assets,
                *dfs_checks,
            ],
            partition_key=upcoming,
            instance=instance,
            resources={
                "race_source": EmbeddedWorldResource(world_dir=str(world)),
                **storage_resources(root),
            },
            run_config={
                "ops": {
                    # The model tests' end-to-end settings: they pass the convergence gate here.
                    "race_model_fit": {
                        "config": {
                            "draws": 750,
                            "warmup": 400,
                            "chains": 4,
                            "svi_steps": 1500,
                            "target_accept": 0.95,
                        }
                    },
                    "race_scenarios": {"config": {"scenarios": 1000, "seed": 1}},
                    **DFS_CONFIG,
                }
            },
            raise_on_error=False,
        )
    finally:
        mp.undo()
    checks = _checks(result)
    assert result.success, checks
    return root, upcoming, result.run_id


@pytest.mark.slow
def test_every_endpoint_on_a_fully_materialized_race(pipeline_store):
    root, race, run_id = pipeline_store
    layout = StorageLayout(root)
    manifest = layout.read_manifest(race)
    assert set(RACE_ASSETS) - {"race_backtest"} <= set(manifest)  # all but the backtest
    with TestClient(create_app(api_settings(root))) as c:
        races = c.get("/v1/races", headers=auth()).json()["races"]
        st = {a["asset"]: a for a in races[0]["assets"]}
        assert st["contest_simulation"]["status"] == "materialized"
        assert (
            st["contest_simulation"]["run_id"] == run_id and not st["contest_simulation"]["stale"]
        )
        assert st["race_backtest"]["status"] == "missing"

        proj = c.get(f"/v1/races/{race}/projections", headers=auth())
        assert proj.status_code == 200 and proj.headers["x-run-id"] == run_id
        rows = proj.json()["rows"]
        assert rows[0]["dk_mean"] >= rows[-1]["dk_mean"]

        summ = c.get(f"/v1/races/{race}/scenarios/summary", headers=auth()).json()
        assert summ["source"] == "driver_projections" and summ["drivers"]
        computed = c.get(
            f"/v1/races/{race}/scenarios/summary?source=scenarios", headers=auth()
        ).json()
        assert computed["drivers"][0]["scenarios"] == 1000
        mat = c.get(f"/v1/races/{race}/scenarios.parquet", headers=auth())
        assert pq.read_table(io.BytesIO(mat.content)).num_rows == manifest["race_scenarios"].rows

        own = c.get(f"/v1/races/{race}/ownership", headers=auth()).json()
        assert own["total"] == len(rows)

        port = c.get(f"/v1/races/{race}/portfolio", headers=auth())
        pb = port.json()
        assert pb["lineups"] == 8 and "draftkings" in pb["downloads"]
        csv = c.get(pb["downloads"]["draftkings"], headers=auth())
        assert csv.status_code == 200 and csv.text.strip()
        # The demo world has FanDuel salaries, so the FanDuel upload is real too.
        fd = c.get(f"/v1/races/{race}/portfolio/fanduel.csv", headers=auth())
        assert fd.status_code == 200
        assert fd.text.splitlines()[0] == "Driver,Driver,Driver,Driver,Driver"

        sim = c.get(f"/v1/races/{race}/contest-simulation", headers=auth()).json()
        assert sim["lineups"] == 8 and "roi" in sim["metrics"]
        lu = c.get(
            f"/v1/races/{race}/contest-simulation/lineups?sort=-cash_pct&limit=3", headers=auth()
        ).json()
        assert len(lu["rows"]) == 3 and lu["total"] == 8

        back = c.get(f"/v1/races/{race}/backtest", headers=auth())
        assert back.status_code == 404 and back.json()["asset"] == "race_backtest"
        again = c.get(
            f"/v1/races/{race}/portfolio", headers={**auth(), "If-None-Match": port.headers["etag"]}
        )
        assert again.status_code == 304
