"""Every race asset says where its time went: `stage_seconds` metadata (assets/stage_timer.py),
one non-negative number per named stage plus the total. The light assets run through Dagster
on the synthetic upstream files of the DFS tests and on a fixed posterior (no MCMC here)."""

import time

import pytest

from nascar_pipeline.assets.stage_timer import STAGE_SECONDS_KEY, StageTimer
from tests.support.dfs_assets import run_dfs_assets, write_upstream

DFS_STAGES = {
    "ownership_projections": ["features", "fit", "project + bounds"],
    "lineup_portfolio": ["plan + steering checks", "contest searches", "FanDuel", "upload files"],
    "contest_simulation": [
        "load slate",
        "field",
        "simulation",
        "honest figures",
        "summaries",
        "measured cash",
    ],
    "exposure_report": ["read steering", "build report", "write lineup table", "plot"],
}
MODEL_STAGES = {
    "race_scenarios": ["load posterior", "simulate", "user-number tilt", "checks", "to table"],
    "driver_projections": ["load scenarios", "project", "metadata + plot"],
}
SEARCH_STAGES = [
    "field",
    "exact optimizer",
    "MCMC candidates",
    "candidate pool",
    "greedy + exact selection",
    "lineup frame",
]


def _assert_stages(seconds: dict, names: list[str]) -> None:
    assert list(seconds) == [*names, "total"], seconds
    assert all(isinstance(v, float) and v >= 0.0 for v in seconds.values()), seconds
    # the stages run one after another inside the total (10 ms rounding each)
    assert sum(seconds[n] for n in names) <= seconds["total"] + 0.01 * (len(names) + 1)


def test_laps_stages_and_parts_a_library_timed():
    timer = StageTimer()
    time.sleep(0.02)
    timer.lap("read")
    with timer.stage("simulate"):
        time.sleep(0.02)
    time.sleep(0.03)
    timer.lap("fit", within={"compile": 0.01, "sampling": 5.0})  # capped at the lap
    with timer.stage("simulate"):  # a stage entered again adds up
        pass
    s = timer.seconds()
    assert list(s) == ["read", "simulate", "compile", "sampling", "fit", "total"]
    assert s["read"] >= 0.02 and s["simulate"] >= 0.02
    assert s["compile"] == pytest.approx(0.01) and s["fit"] == 0.0 and s["sampling"] >= 0.02
    assert s["total"] >= 0.07
    assert timer.metadata()[STAGE_SECONDS_KEY].value["read"] == s["read"]
    assert timer.line().startswith("read 0.0") and timer.line().split(", ")[-1].startswith("total")


def test_dfs_assets_report_their_stages(tmp_path):
    write_upstream(tmp_path)
    result = run_dfs_assets(tmp_path)
    assert result.success
    meta = {
        name: {k: v.value for k, v in m.metadata.items()}
        for name in DFS_STAGES
        for m in result.asset_materializations_for_node(name)
    }
    for name, stages in DFS_STAGES.items():
        _assert_stages(meta[name][STAGE_SECONDS_KEY], stages)
    per_contest = meta["lineup_portfolio"]["contest_stage_seconds"]
    assert len(per_contest) == 1
    for seconds in per_contest.values():
        _assert_stages(seconds, SEARCH_STAGES)


def test_scenarios_and_projections_report_their_stages(tmp_path):
    from tests.assets.test_user_projections import _run, _snapshot

    _, meta = _run(tmp_path, _snapshot(None))
    for name, stages in MODEL_STAGES.items():
        _assert_stages(meta[name][STAGE_SECONDS_KEY], stages)


def test_snapshot_reports_its_stages(world, tmp_path):
    from dagster import AssetSelection

    from nascar_pipeline.assets.snapshot import race_snapshot
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource
    from nascar_pipeline.resources.storage import storage_resources
    from tests.support.races import materialize_race

    folder, _, race_key = world
    resources = {
        "race_source": EmbeddedWorldResource(world_dir=str(folder)),
        **storage_resources(str(tmp_path)),
    }
    result = materialize_race(
        [race_snapshot], race_key, resources, selection=AssetSelection.assets(race_snapshot)
    )
    assert result.success
    (m,) = result.asset_materializations_for_node("race_snapshot")
    _assert_stages(m.metadata[STAGE_SECONDS_KEY].value, ["read race source", "build snapshot"])
