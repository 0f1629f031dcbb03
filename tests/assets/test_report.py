"""exposure_report through Dagster: after the DFS assets on the synthetic upstream files of
tests/support/dfs_assets.py with two contests in the snapshot (driver table as the asset's
Parquet, lineup table beside it, metadata table and plot, run log), and alone on a stored build
from before contests (no contest_id, no steering kept: the whole race as one contest)."""

import json

import numpy as np
import pandas as pd
import pytest
from dagster import AssetSelection, DagsterInstance, ResourceDefinition

from nascar_pipeline.assets.model import model_assets
from nascar_pipeline.assets.snapshot import race_snapshot
from nascar_pipeline.core.exposure_report import LINEUPS_FILE, WHOLE_RACE
from nascar_pipeline.definitions import dfs_assets
from nascar_pipeline.resources.storage import storage_resources
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.dfs_assets import RACE, run_dfs_assets, write_upstream
from tests.support.races import materialize_race

GPP, SINGLE = "dk-180001234", "dk-180009999"
CONTESTS = [
    {"contest_id": GPP, "site": "draftkings", "name": "NASCAR $100K Pit Stop", "entry_fee": 5.0,
     "field_size": 1500, "max_entries": 150,
     "payouts": [{"min_place": 1, "max_place": 1, "prize": 1000.0},
                 {"min_place": 2, "max_place": 300, "prize": 10.0}]},
    {"contest_id": SINGLE, "site": "draftkings", "name": "Single Entry", "entry_fee": 25.0,
     "field_size": 100, "max_entries": 1,
     "payouts": [{"min_place": 1, "max_place": 1, "prize": 900.0},
                 {"min_place": 2, "max_place": 20, "prize": 60.0}]},
]  # fmt: skip
EXCLUDED, CAPPED = 1002, 1008


def _materializations(result) -> dict:
    return {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def _exposures(portfolio: pd.DataFrame) -> dict[tuple[str, int], float]:
    """(contest_id, driver_id) -> % of that contest's lineups holding the driver."""
    cols = [f"d{j}_driver_id" for j in range(1, 7)]
    out = {}
    for cid, part in portfolio.groupby("contest_id"):
        ids, counts = np.unique(part[cols].to_numpy(), return_counts=True)
        out |= {(str(cid), int(d)): 100.0 * c / len(part) for d, c in zip(ids, counts)}
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    layout = write_upstream(root, S=1200)
    path = layout.asset_path("race_snapshot", RACE)
    snap = pd.read_parquet(path)
    entry = snap["role"] == "entry"
    snap.loc[entry, "contest_id"] = GPP
    snap.loc[entry, "contests"] = json.dumps(CONTESTS, sort_keys=True)
    layout.write_parquet(path, snap.astype({"contest_id": "string", "contests": "string"}))
    instance = DagsterInstance.ephemeral()
    result = run_dfs_assets(
        root,
        {
            "lineup_portfolio": {
                "exclude": [EXCLUDED],
                "exposures": [{"driver": CAPPED, "max": 0.25}],
                "fanduel_lineups": 0,
            }
        },
        instance=instance,
    )
    return root, layout, result, instance


def test_driver_table_per_contest(built):
    root, layout, result, _ = built
    assert result.success
    drivers = layout.read_asset("exposure_report", RACE)
    port = layout.read_asset("lineup_portfolio", RACE)
    own = layout.read_asset("ownership_projections", RACE).set_index("driver_id")["own_pct"]
    assert set(drivers["contest_id"]) == {GPP, SINGLE} == set(port["contest_id"])
    # every slate driver in each contest, his exposure that of the stored lineups
    assert drivers.groupby("contest_id").size().to_dict() == {GPP: 30, SINGLE: 30}
    held = _exposures(port)
    for r in drivers.itertuples():
        assert r.exposure_pct == pytest.approx(held.get((r.contest_id, r.driver_id), 0.0))
        assert r.own_pct == pytest.approx(own[r.driver_id])
        assert r.leverage_pct == pytest.approx(r.exposure_pct - r.own_pct)
    names = drivers.drop_duplicates("contest_id").set_index("contest_id")["contest_name"]
    assert names.to_dict() == {GPP: "NASCAR $100K Pit Stop", SINGLE: "Single Entry"}
    # the limits asked, per contest (the steering each contest's build kept)
    excl = drivers[drivers["driver_id"] == EXCLUDED]
    assert excl["excluded"].all() and (excl["exposure_pct"] == 0).all()
    assert (excl["max_exposure_pct"] == 0).all() and (excl["limit"] == "exclude").all()
    capped = drivers[(drivers["driver_id"] == CAPPED) & (drivers["contest_id"] == GPP)].iloc[0]
    assert capped["max_exposure_pct"] == 25.0 and capped["exposure_pct"] <= 25.0
    single = drivers[drivers["contest_id"] == SINGLE]
    assert (single["n_lineups"] == 1).all() and single["exposure_pct"].isin([0.0, 100.0]).all()


def test_lineup_table_beside(built):
    root, layout, _, _ = built
    entry = layout.read_manifest(RACE)["exposure_report"]
    assert entry.extra_files == {LINEUPS_FILE: f"exposure_report/{RACE}.{LINEUPS_FILE}"}
    lineups = pd.read_parquet(root / "exposure_report" / f"{RACE}.{LINEUPS_FILE}")
    port = layout.read_asset("lineup_portfolio", RACE)
    sim = layout.read_asset("contest_simulation", RACE)
    assert len(lineups) == len(port) and set(lineups["contest_id"]) == {GPP, SINGLE}
    joined = lineups.merge(sim, on=["contest_id", "lineup_id"], suffixes=("", "_sim"))
    assert len(joined) == len(lineups)
    for c in ("roi", "cash_pct", "win_pct", "top1_pct", "sim_duplicates", "honest_roi"):
        assert np.allclose(joined[c], joined[f"{c}_sim"]), c
    by_id = port.set_index(["contest_id", "lineup_id"])
    for r in lineups.itertuples():
        p = by_id.loc[(r.contest_id, r.lineup_id)]
        assert r.drivers == ", ".join(p[f"d{j}_name"] for j in range(1, 7))
        assert r.salary == p["salary"] and r.projection == pytest.approx(p["projection"])
    # the ceiling: the lineup's 90th-percentile points over the scenarios, above its mean
    assert (lineups["ceiling"] > lineups["projection"]).all()


def test_metadata_and_run_log(built):
    _, _, result, instance = built
    meta = _materializations(result)["exposure_report"]
    assert meta["contests"].value == 2 and meta["contest_ids"].value == [GPP, SINGLE]
    assert meta["dagster/row_count"].value == 60 and meta["drivers"].value == 30
    assert meta["steering"].value == "per contest (2)"
    table = meta["top_leverage"].value
    assert table.splitlines()[0].split("|")[1].strip() == "contest_id"
    assert "leverage_pct" in table.splitlines()[0] and GPP in table and SINGLE in table
    assert meta["exposure_vs_ownership"].value.startswith(
        "![exposure vs ownership](data:image/png;base64,"
    )
    assert meta["lineups_table"].value == f"exposure_report/{RACE}.{LINEUPS_FILE}"
    log = "\n".join(r.user_message for r in instance.all_logs(result.run_id) if r.user_message)
    assert "report: 2 contest(s) (dk-180001234, dk-180009999)" in log
    assert f"report: lineup table written beside (exposure_report/{RACE}.{LINEUPS_FILE})" in log


def test_a_build_from_before_contests(built, tmp_path):
    """A stored portfolio and simulation without contest_id and no steering beside them: the
    report treats the race as one contest and shows no limits."""
    src, old, _, _ = built
    layout = StorageLayout(tmp_path)
    for name in ("race_snapshot", "race_scenarios", "driver_projections", "ownership_projections"):
        layout.write_parquet(layout.asset_path(name, RACE), old.read_asset(name, RACE))
    port = old.read_asset("lineup_portfolio", RACE)
    port = port[port["contest_id"] == GPP].drop(columns="contest_id")
    sim = old.read_asset("contest_simulation", RACE)
    sim = sim[sim["contest_id"] == GPP].drop(columns="contest_id")
    layout.write_parquet(layout.asset_path("lineup_portfolio", RACE), port)
    layout.write_parquet(layout.asset_path("contest_simulation", RACE), sim)
    result = materialize_race(
        [race_snapshot, *model_assets, *dfs_assets],
        RACE,
        {**storage_resources(str(tmp_path)), "race_source": ResourceDefinition.none_resource()},
        selection=AssetSelection.assets("exposure_report"),
    )
    assert result.success
    drivers = layout.read_asset("exposure_report", RACE)
    assert set(drivers["contest_id"]) == {WHOLE_RACE} and len(drivers) == 30
    assert (drivers["n_lineups"] == len(port)).all()
    assert drivers["max_exposure_pct"].isna().all() and not drivers["locked"].any()
    lineups = pd.read_parquet(tmp_path / "exposure_report" / f"{RACE}.{LINEUPS_FILE}")
    assert lineups["roi"].tolist() == pytest.approx(sim["roi"].tolist())
    assert _materializations(result)["exposure_report"]["steering"].value.startswith("none")
