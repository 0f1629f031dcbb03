"""A snapshot of the asset graph: keys, groups, dependencies, partitions, checks, jobs,
sensors and schedules. Catches accidental drift; update it deliberately with the change."""

import os
import subprocess
import sys
from pathlib import Path

from dagster import ScheduleDefinition

from nascar_pipeline.definitions import defs

EXPECTED_ASSETS = {
    # asset: (group, parents, partitioned by race)
    "race_snapshot": ("ontology", set(), True),
    "race_model_fit": ("model", {"race_snapshot"}, True),
    "race_scenarios": ("model", {"race_model_fit", "race_snapshot"}, True),
    "driver_projections": ("model", {"race_scenarios", "race_snapshot"}, True),
    "ownership_projections": (
        "dfs",
        {"race_scenarios", "driver_projections", "race_snapshot"},
        True,
    ),
    "lineup_portfolio": (
        "dfs",
        {"race_scenarios", "driver_projections", "race_snapshot", "ownership_projections"},
        True,
    ),
    "contest_simulation": (
        "dfs",
        {"race_scenarios", "race_snapshot", "lineup_portfolio", "ownership_projections"},
        True,
    ),
    "exposure_report": (
        "dfs",
        {
            "contest_simulation",
            "driver_projections",
            "lineup_portfolio",
            "ownership_projections",
            "race_scenarios",
            "race_snapshot",
        },
        True,
    ),
    "race_backtest": (
        "backtest",
        {"race_scenarios", "race_snapshot", "lineup_portfolio", "ownership_projections"},
        True,
    ),
    "season_report": ("backtest", {"race_backtest"}, False),
    "model_season_backtest": ("backtest", set(), False),
}

EXPECTED_BLOCKING_CHECKS = {
    "race_snapshot:snapshot_salaries_valid",
    "race_snapshot:snapshot_no_duplicate_drivers",
    "race_snapshot:snapshot_history_not_empty",
    "race_model_fit:race_model_converged",
    "race_scenarios:race_scenarios_sane",
    "ownership_projections:ownership_totals_valid",
    "lineup_portfolio:lineup_portfolio_valid",
    "contest_simulation:contest_simulation_finite",
}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    actual = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        actual[key.to_user_string()] = (
            node.group_name,
            {p.to_user_string() for p in node.parent_keys},
            node.partitions_def is not None,
        )
        if node.partitions_def is not None:
            assert node.partitions_def.name == "races"
    assert actual == EXPECTED_ASSETS


def test_checks_are_blocking():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.asset_check_keys}
    assert keys == EXPECTED_BLOCKING_CHECKS
    for key in graph.asset_check_keys:
        assert graph.get_check_spec(key).blocking, key


def test_jobs_sensors_schedules():
    assert {j.name for j in defs.jobs} == {
        "race_job",
        "race_backtest_job",
        "season_report_job",
        "model_backtest_job",
    }
    assert {s.name for s in defs.sensors} == {
        "race_sensor",
        "results_sensor",
        "season_report_sensor",
        "race_readiness_sensor",
        "run_failure_alert_sensor",
        "race_recovered_sensor",
    }
    assert {s.name for s in defs.schedules} == {"pre_lock_schedule"}
    race_job = defs.resolve_job_def("race_job")
    selected = {k.to_user_string() for k in race_job.asset_layer.executable_asset_keys}
    assert {
        "race_snapshot",
        "race_model_fit",
        "race_scenarios",
        "driver_projections",
        "ownership_projections",
        "lineup_portfolio",
        "contest_simulation",
        "exposure_report",
    } <= selected
    # the season backtest re-fits a season: only its own job, launched by an operator
    assert "model_season_backtest" not in selected
    backtest_job = defs.resolve_job_def("model_backtest_job")
    assert {k.to_user_string() for k in backtest_job.asset_layer.executable_asset_keys} == {
        "model_season_backtest"
    }
    for target in [*defs.sensors, *defs.schedules]:
        names = {t.job_name for t in getattr(target, "targets", [])}
        if isinstance(target, ScheduleDefinition):
            names.add(target.job_name)
        assert "model_backtest_job" not in names, target.name


def test_dg_check_defs(tmp_path):
    """`dg check defs` (the [tool.dg] block) loads the definitions."""
    root = Path(__file__).resolve().parents[1]
    dg = Path(sys.executable).with_name("dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    proc = subprocess.run(
        [str(dg), "check", "defs"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr
