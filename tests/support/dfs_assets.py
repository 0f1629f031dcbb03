"""Synthetic upstream files for the DFS assets (snapshot, scenarios, projections) and a helper to run them."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
from dagster import AssetSelection, ResourceDefinition, materialize

from nascar_pipeline.assets.model import model_assets
from nascar_pipeline.assets.snapshot import race_snapshot
from nascar_pipeline.core.snapshot import SNAPSHOT_COLUMNS
from nascar_pipeline.definitions import dfs_assets, dfs_checks
from nascar_pipeline.resources.storage import storage_resources
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.races import materialize_race
from tests.support.run_configs import FAST_DFS_OPS

RACE = "2026-test-speedway-400"


D = 30


def synthetic_snapshot(rng, with_contest: bool) -> pd.DataFrame:
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


def write_upstream(root, with_contest=True, S=2600):
    rng = np.random.default_rng(0)
    snap = synthetic_snapshot(rng, with_contest)
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


def run_dfs_assets(root, run_config=None, instance=None):
    """Materialize the DFS assets (and their checks) on the upstream files under root with the
    fast run config updated by run_config (op -> config fields). instance: a DagsterInstance to
    run on (its event log then holds the run's log lines), else an ephemeral one."""
    cfg = {"ops": copy.deepcopy(FAST_DFS_OPS)}
    for op, c in (run_config or {}).items():
        cfg["ops"][op]["config"].update(c)
    if instance is not None:
        instance.add_dynamic_partitions("races", [RACE])
        return materialize(
            [race_snapshot, *model_assets, *dfs_assets, *dfs_checks],
            partition_key=RACE,
            instance=instance,
            resources={
                **storage_resources(str(root)),
                "race_source": ResourceDefinition.none_resource(),
            },
            selection=AssetSelection.assets(*dfs_assets),
            run_config=cfg,
            raise_on_error=False,
        )
    return materialize_race(
        [race_snapshot, *model_assets, *dfs_assets, *dfs_checks],
        RACE,
        {**storage_resources(str(root)), "race_source": ResourceDefinition.none_resource()},
        selection=AssetSelection.assets(*dfs_assets),
        run_config=cfg,
    )
