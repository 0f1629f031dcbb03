"""Every contest of a race through Dagster (lineup_portfolio -> contest_simulation) on the
synthetic upstream files of tests/support/dfs_assets.py, with two contests in the snapshot's
`contests` list: a 150-max GPP and a single-entry contest."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance

from nascar_pipeline.core.steering import Steering, frame_violations
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.dfs_assets import RACE, run_dfs_assets, write_upstream
from tests.support.races import check_results

GPP, SINGLE = "dk-180001234", "dk-180009999"
PAYOUTS = [
    {"min_place": 1, "max_place": 1, "prize": 1000.0},
    {"min_place": 2, "max_place": 10, "prize": 100.0},
    {"min_place": 11, "max_place": 300, "prize": 10.0},
]
CONTESTS = [
    {"contest_id": GPP, "site": "draftkings", "name": "NASCAR $100K Pit Stop", "entry_fee": 5.0,
     "field_size": 1500, "max_entries": 150, "payouts": PAYOUTS},
    {"contest_id": SINGLE, "site": "draftkings", "name": "Single Entry", "entry_fee": 25.0,
     "field_size": 100, "max_entries": 1,
     "payouts": [{"min_place": 1, "max_place": 1, "prize": 900.0},
                 {"min_place": 2, "max_place": 20, "prize": 60.0}]},
]  # fmt: skip
EXCLUDED = 1002
GROUP = {"name": "Team G", "drivers": [1010, 1011, 1012, 1013, 1014], "at_most": 1}
CAPPED = {"driver": 1008, "max": 0.25}


def write_two_contests(root, S=2600) -> StorageLayout:
    layout = write_upstream(root, S=S)
    path = layout.asset_path("race_snapshot", RACE)
    snap = pd.read_parquet(path)
    entry = snap["role"] == "entry"
    first = CONTESTS[0]
    snap.loc[entry, "contest_id"] = first["contest_id"]
    snap.loc[entry, "contests"] = json.dumps(CONTESTS, sort_keys=True)
    snap = snap.astype({"contest_id": "string", "contests": "string"})
    layout.write_parquet(path, snap)
    return layout


def _metadata(result) -> dict:
    return {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def _log(instance, result) -> str:
    return "\n".join(r.user_message for r in instance.all_logs(result.run_id) if r.user_message)


@pytest.fixture(scope="module")
def two_contests(tmp_path_factory):
    root = tmp_path_factory.mktemp("contests")
    layout = write_two_contests(root)
    instance = DagsterInstance.ephemeral()
    result = run_dfs_assets(
        root,
        {
            "lineup_portfolio": {
                "exclude": [EXCLUDED],
                "groups": [GROUP],
                "exposures": [CAPPED],
                "global_max_exposure": 0.5,
                "fanduel_lineups": 0,
            }
        },
        instance=instance,
    )
    return root, layout, result, instance


def test_a_portfolio_per_contest_each_obeying_steering(two_contests):
    root, layout, result, instance = two_contests
    checks = check_results(result)
    assert result.success and all(checks.values()), checks
    port = layout.read_asset("lineup_portfolio", RACE)
    assert str(port["contest_id"].dtype) == "string"
    sizes = port["contest_id"].value_counts().to_dict()
    assert sizes == {GPP: 8, SINGLE: 1}  # n_lineups 8; the single-entry contest gets 1
    assert port["lineup_id"].is_unique and sorted(port["lineup_id"]) == list(range(9))
    builds = {
        b["contest_id"]: b
        for b in json.loads((root / "lineup_portfolio" / f"{RACE}.contests.json").read_text())
    }
    for cid, part in port.groupby("contest_id"):
        steering = Steering.model_validate(builds[cid]["steering"])
        assert steering.n_lineups == len(part) and frame_violations(part, steering) == []
        ids = part[[f"d{j}_driver_id" for j in range(1, 7)]].to_numpy(np.int64)
        assert not (ids == EXCLUDED).any()
        assert all(len(set(r) & set(GROUP["drivers"])) <= 1 for r in ids.tolist())
    gpp = port[port["contest_id"] == GPP][[f"d{j}_driver_id" for j in range(1, 7)]].to_numpy()
    assert pd.Series(gpp.ravel()).value_counts().max() <= 4  # 0.5 of 8, per contest
    assert (gpp == CAPPED["driver"]).sum() <= 2  # 0.25 of 8
    # a cap of 0.25 of one lineup keeps the capped driver out of the single entry; no global
    # cap across one lineup (it would ban every driver)
    single = port[port["contest_id"] == SINGLE][[f"d{j}_driver_id" for j in range(1, 7)]]
    assert CAPPED["driver"] not in single.to_numpy().ravel()
    assert builds[SINGLE]["steering"]["global_max_exposure"] == 1.0
    meta = _metadata(result)["lineup_portfolio"]
    rows = {r["contest_id"]: r for r in meta["contests"].value}
    assert rows[SINGLE]["lineups_asked"] == rows[SINGLE]["lineups_built"] == 1
    assert rows[GPP]["lineups_built"] == 8 and rows[GPP]["shortfall_reason"] == "none"
    assert rows[SINGLE]["field_size_searched"] == 100  # its own field
    upload = list(
        csv.reader(io.StringIO((root / "lineup_portfolio" / f"{RACE}.draftkings.csv").read_text()))
    )
    assert upload[0] == ["D"] * 6 and len(upload) == 10  # every lineup of every contest
    text = _log(instance, result)
    assert "single-entry (max_entries 1): 1 of the 8 lineups asked" in text
    assert f"[{SINGLE}] chosen: 1 of 1" in text and f"[{GPP}] chosen: 8 of 8" in text


def test_a_simulation_per_contest_with_honest_figures(two_contests):
    _, layout, result, instance = two_contests
    sim = layout.read_asset("contest_simulation", RACE)
    port = layout.read_asset("lineup_portfolio", RACE)
    assert len(sim) == 9 and str(sim["contest_id"].dtype) == "string"
    pairs = set(zip(sim["contest_id"], sim["lineup_id"]))
    assert pairs == set(zip(port["contest_id"], port["lineup_id"]))
    for col in ("honest_roi", "honest_cash_pct", "honest_win_pct"):
        assert np.isfinite(sim[col]).all(), col
    assert sim["honest_cash_pct"].between(0, 100).all()
    meta = _metadata(result)["contest_simulation"]
    rows = {r["contest_id"]: r for r in meta["contests"].value}
    assert set(rows) == {GPP, SINGLE}
    assert rows[SINGLE]["field_size"] == 100 and rows[SINGLE]["entry_fee"] == 25.0
    assert rows[GPP]["field_size"] == 1500 and rows[GPP]["n_lineups"] == 8
    assert np.isfinite(meta["portfolio_honest_roi"].value)
    text = _log(instance, result)
    assert f"[{GPP}] contest: simulated " in text and ", honest " in text
    assert "contests: 2 contests, simulated" in text


def test_entries_above_max_entries_refused_before_heavy_work(tmp_path):
    root = tmp_path / "store"
    write_two_contests(root, S=1200)
    instance = DagsterInstance.ephemeral()
    result = run_dfs_assets(
        root,
        {"lineup_portfolio": {"entries_per_contest": {GPP: 3, SINGLE: 2}, "fanduel_lineups": 0}},
        instance=instance,
    )
    assert not result.success
    failure = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ).event_specific_data.error
    text = failure.message + "".join(c.message for c in [failure.cause] if c)
    assert f"{SINGLE} (Single Entry): 2 entries > its max_entries 1" in text, text
    log = _log(instance, result)
    assert "field:" not in log and "MCMC:" not in log
    assert not (root / "lineup_portfolio" / f"{RACE}.parquet").exists()


def test_entries_per_contest_sets_the_counts(tmp_path):
    root = tmp_path / "store"
    layout = write_two_contests(root, S=1200)
    result = run_dfs_assets(
        root,
        {
            "lineup_portfolio": {"entries_per_contest": {GPP: 3}, "fanduel_lineups": 0},
            "contest_simulation": {"honest_error_sd": 6.0},
        },
    )
    assert result.success and all(check_results(result).values())
    port = layout.read_asset("lineup_portfolio", RACE)
    assert port["contest_id"].tolist() == [GPP] * 3  # the single entry is not in the entries
    assert len(layout.read_asset("contest_simulation", RACE)) == 3
