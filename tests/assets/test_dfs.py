"""ownership_projections -> lineup_portfolio -> contest_simulation through Dagster on synthetic
upstream files (snapshot, scenarios, projections in the storage layout), the blocking checks, the
DraftKings upload file beside the asset, and `nascar-pipeline export`."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from nascar_pipeline.core.lineups import lineup_problems
from tests.support.dfs_assets import (
    RACE,
    run_dfs_assets,
    write_upstream,
)
from tests.support.races import check_results


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    layout = write_upstream(root)
    # the storage resource is the only root the assets see: no STORAGE_ROOT in the environment
    result = run_dfs_assets(root, {"ownership_projections": {"overrides": {"Driver 3": 42.0}}})
    return root, layout, result


def test_assets_and_checks(materialized):
    root, layout, result = materialized
    checks = check_results(result)
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
    assert (
        len(sim) == 8
        and np.isfinite(sim.drop(columns=["lineup_id", "contest_id"]).to_numpy(float)).all()
    )
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


def test_default_payouts_and_fallback_coefficients(tmp_path):
    """No contest ingested -> the stated default GPP table; too little ownership history -> the
    stated default coefficients."""
    root = tmp_path / "store"
    layout = write_upstream(root, with_contest=False, S=1200)
    result = run_dfs_assets(
        root,
        {
            "ownership_projections": {"min_history_races": 10},
            "lineup_portfolio": {"fanduel_lineups": 0},
        },
    )
    assert result.success and all(check_results(result).values())
    mat = {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert mat["contest_simulation"]["payout_table"].value == "default"
    # no contest ingested: one portfolio and simulation against the default GPP, as before
    assert set(layout.read_asset("lineup_portfolio", RACE)["contest_id"]) == {"default"}
    assert set(layout.read_asset("contest_simulation", RACE)["contest_id"]) == {"default"}
    assert mat["contest_simulation"]["scenarios_held_out"].value is False  # 1200 - 600 < 1000
    assert mat["ownership_projections"]["coefficient_source"].value.startswith("stated defaults")
    assert not (root / "lineup_portfolio" / f"{RACE}.fanduel.csv").exists()
