"""ownership_projections -> lineup_portfolio -> contest_simulation through Dagster on synthetic
upstream files (snapshot, scenarios, projections in the storage layout), the blocking checks, the
DraftKings upload file beside the asset, and `nascar-pipeline export`."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from dagster import AssetSelection, DagsterInstance, ResourceDefinition, materialize

from nascar_pipeline.assets.dfs import dfs_assets, dfs_checks, lineup_problems
from nascar_pipeline.assets.model import model_assets
from nascar_pipeline.assets.snapshot import race_snapshot
from nascar_pipeline.core.snapshot import SNAPSHOT_COLUMNS
from nascar_pipeline.resources.parquet_io import ParquetIOManager
from nascar_pipeline.storage.layout import StorageLayout

RACE = "2026-test-speedway-400"
D = 30


def _snapshot(rng, with_contest: bool) -> pd.DataFrame:
    ids = np.arange(1000, 1000 + D)
    sal = np.sort(rng.integers(45, 120, size=D))[::-1] * 100
    e = pd.DataFrame(
        {
            "role": "entry",
            "race_key": RACE,
            "race_date": "2026-07-26",
            "driver_id": ids,
            "driver_name": [f"Driver {i}" for i in range(D)],
            "salary": sal,
            "dk_id": 40_000_000 + np.arange(D),
            "start_position": rng.permutation(D) + 1,
            "track_type": "intermediate",
        }
    )
    e["start_position"] = e["start_position"].astype("Int64")
    e.loc[0, "start_position"] = pd.NA  # not qualified yet: a neutral feature
    if with_contest:
        e["contest_entry_fee"] = 5.0
        e["contest_field_size"] = 1500
        e["contest_payouts"] = json.dumps(
            [
                {"min_place": 1, "max_place": 1, "prize": 1000.0},
                {"min_place": 2, "max_place": 10, "prize": 100.0},
                {"min_place": 11, "max_place": 300, "prize": 10.0},
            ]
        )
    hist = []
    for r in range(4):
        h = pd.DataFrame(
            {
                "role": "history",
                "race_key": f"2026-past-race-{r}",
                "race_date": f"2026-0{r + 1}-01",
                "driver_id": ids,
                "driver_name": [f"Driver {i}" for i in range(D)],
                "salary": sal,
                "start_position": rng.permutation(D) + 1,
                "finish_position": rng.permutation(D) + 1,
                "laps_led": 0,
                "fastest_laps": 0,
                "laps_completed": 200,
                "status": "running",
            }
        )
        own = rng.gamma(2.0, 1.0, size=D) * sal / 1000
        h["dk_own_pct"] = own / own.sum() * 600
        hist.append(h)
    df = pd.concat([e, *hist], ignore_index=True)
    out = pd.DataFrame(index=range(len(df)))
    for col, dtype in SNAPSHOT_COLUMNS.items():
        out[col] = (df[col] if col in df.columns else pd.Series([pd.NA] * len(df))).astype(dtype)
    return out


def _write_upstream(root, with_contest=True, S=2600):
    rng = np.random.default_rng(0)
    snap = _snapshot(rng, with_contest)
    e = snap[snap.role == "entry"]
    mean = e["salary"].to_numpy() / 1000 * 4.0
    pts = np.round((mean[None, :] + rng.normal(0, 1, (S, D)) * (0.6 * mean + 5)) * 20) / 20
    sc = pd.DataFrame(
        {
            "scenario": np.repeat(np.arange(S, dtype=np.int32), D),
            "driver_id": np.tile(e["driver_id"].to_numpy(np.int64), S),
            "dk_points": pts.astype(np.float32).ravel(),
            "fd_points": (pts * 0.8).astype(np.float32).ravel(),
        }
    )
    proj = pd.DataFrame(
        {
            "driver_id": e["driver_id"].to_numpy(np.int64),
            "driver_name": e["driver_name"].to_numpy(),
            "dk_mean": pts.mean(0),
            "fd_mean": pts.mean(0) * 0.8,
        }
    )
    layout = StorageLayout(root)
    for name, df in (("race_snapshot", snap), ("race_scenarios", sc), ("driver_projections", proj)):
        layout.write_parquet(layout.asset_path(name, RACE), df)
    return layout


def _run(root, run_config=None):
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("races", [RACE])
    cfg = {
        "ops": {
            "lineup_portfolio": {
                "config": {
                    "n_lineups": 8,
                    "mh_steps": 60,
                    "mh_chains": 3,
                    "mh_temps": 2,
                    "field_size": 1500,
                    "objective_scenarios": 300,
                    "selection_scenarios": 300,
                    "exact_candidates": 30,
                }
            },
            "contest_simulation": {"config": {"field_size": 1500}},
            "ownership_projections": {"config": {"max_scenarios": 300}},
        }
    }
    for op, c in (run_config or {}).items():
        cfg["ops"][op]["config"].update(c)
    return materialize(
        [race_snapshot, *model_assets, *dfs_assets, *dfs_checks],
        selection=AssetSelection.assets(*dfs_assets),
        partition_key=RACE,
        instance=instance,
        resources={
            "parquet_io_manager": ParquetIOManager(root=str(root)),
            "race_source": ResourceDefinition.none_resource(),
        },
        run_config=cfg,
        raise_on_error=False,
    )


def _checks(result):
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    layout = _write_upstream(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("STORAGE_ROOT", str(root))
    try:
        result = _run(root, {"ownership_projections": {"overrides": {"Driver 3": 42.0}}})
    finally:
        mp.undo()
    return root, layout, result


def test_assets_and_checks(materialized):
    root, layout, result = materialized
    checks = _checks(result)
    assert result.success, checks
    assert checks == {
        "ownership_totals_valid": True,
        "lineup_portfolio_valid": True,
        "contest_simulation_finite": True,
    }
    own = layout.read_asset("ownership_projections", RACE)
    assert own["own_pct"].sum() == pytest.approx(600.0)
    assert own["own_pct"].between(0, 100).all()
    assert own.loc[own.driver_name == "Driver 3", "own_pct"].item() == 42.0
    port = layout.read_asset("lineup_portfolio", RACE)
    assert len(port) == 8 and lineup_problems(port) == []
    assert (port["salary"] <= 50_000).all()
    sim = layout.read_asset("contest_simulation", RACE)
    assert len(sim) == 8 and np.isfinite(sim.drop(columns="lineup_id").to_numpy(float)).all()
    mat = {
        e.asset_key.path[-1]: e
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    meta = mat["lineup_portfolio"].event_specific_data.materialization.metadata
    acc = meta["acceptance_by_temperature"].value
    assert all(0.0 <= v <= 1.0 for v in acc.values())
    assert len(meta["objective_trace_mean"].value) == 6
    ometa = mat["ownership_projections"].event_specific_data.materialization.metadata
    assert ometa["coefficient_source"].value.startswith("fitted on 4")
    smeta = mat["contest_simulation"].event_specific_data.materialization.metadata
    assert smeta["payout_table"].value == "contest" and smeta["scenarios_held_out"].value is True


def test_upload_file_beside_asset_and_export_cli(materialized, tmp_path, monkeypatch, capsys):
    root, layout, _ = materialized
    beside = root / "lineup_portfolio" / f"{RACE}.draftkings.csv"
    rows = list(csv.reader(io.StringIO(beside.read_text())))
    assert rows[0] == ["D"] * 6 and len(rows) == 9
    assert all(c.endswith(")") and "(400000" in c for r in rows[1:] for c in r)
    assert "draftkings.csv" in layout.read_manifest(RACE)["lineup_portfolio"].extra_files

    from nascar_pipeline.cli import main

    monkeypatch.setenv("STORAGE_ROOT", str(root))
    out = tmp_path / "dk.csv"
    assert (
        main(["export", "--race", RACE, "--site", "draftkings", "--out", str(out), "--style", "id"])
        == 0
    )
    ids = list(csv.reader(io.StringIO(out.read_text())))
    assert ids[0] == ["D"] * 6 and all(c.isdigit() for r in ids[1:] for c in r)
    # FanDuel: 5-driver lineups in FanDuel's format; names (no FanDuel ids yet) with a warning
    fd_out = tmp_path / "fd.csv"
    assert main(["export", "--race", RACE, "--site", "fanduel", "--out", str(fd_out)]) == 0
    assert "FanDuel player ids" in capsys.readouterr().err
    fd = list(csv.reader(io.StringIO(fd_out.read_text())))
    assert fd[0] == ["Driver"] * 5 and len(fd) == 21
    assert all(len(set(r)) == 5 and all(c.startswith("Driver ") for c in r) for r in fd[1:])
    assert fd_out.read_text() == (root / "lineup_portfolio" / f"{RACE}.fanduel.csv").read_text()
    assert (
        main(
            [
                "export",
                "--race",
                "2026-not-built",
                "--site",
                "draftkings",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )


def test_fanduel_upload_format():
    from nascar_pipeline.core.export import draftkings_upload_csv, fanduel_upload_csv

    text, warn = fanduel_upload_csv(
        [[("A", "123-1"), ("B", "123-2"), ("C", "123-3"), ("D", "123-4"), ("E", None)]]
    )
    lines = text.splitlines()
    assert lines[0] == "Driver,Driver,Driver,Driver,Driver"
    assert lines[1] == "123-1,123-2,123-3,123-4,E" and warn
    with pytest.raises(ValueError):
        draftkings_upload_csv([[("A", 1)] * 5])
    with pytest.raises(ValueError):
        draftkings_upload_csv([[("A", None)] * 6])


def test_default_payouts_and_fallback_coefficients(tmp_path, monkeypatch):
    """No contest ingested -> the stated default GPP table; too little ownership history -> the
    stated default coefficients."""
    root = tmp_path / "store"
    _write_upstream(root, with_contest=False, S=1200)
    monkeypatch.setenv("STORAGE_ROOT", str(root))
    result = _run(
        root,
        {
            "ownership_projections": {"min_history_races": 10},
            "lineup_portfolio": {"fanduel_lineups": 0},
        },
    )
    assert result.success and all(_checks(result).values())
    mat = {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert mat["contest_simulation"]["payout_table"].value == "default"
    assert mat["contest_simulation"]["scenarios_held_out"].value is False  # 1200 - 600 < 1000
    assert mat["ownership_projections"]["coefficient_source"].value.startswith("stated defaults")
    assert not (root / "lineup_portfolio" / f"{RACE}.fanduel.csv").exists()
