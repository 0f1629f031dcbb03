"""The chaos run's partial-file scanner (benchmarks/chaos_race_week.py): a storage root of whole
files scans clean, and each kind of file a crash can leave behind is found, alone."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from nascar_pipeline.storage.layout import StorageLayout

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos_race_week.py"
RACE = "2026-phoenix-championship-race"


@pytest.fixture(scope="module")
def chaos():
    spec = importlib.util.spec_from_file_location("chaos_race_week", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def whole_root(root: Path) -> StorageLayout:
    """A race asset with its manifest, a fit-cache npz and a good-fit record: all whole."""
    import numpy as np

    layout = StorageLayout(root)
    path = layout.asset_path("lineup_portfolio", RACE)
    df = pd.DataFrame({"lineup": [1, 2], "points": [101.5, 99.0]})
    data, schema = layout.write_parquet(path, df)
    layout.record(
        asset="lineup_portfolio",
        race_key=RACE,
        path=path,
        data=data,
        schema=schema,
        rows=len(df),
        run_id="r1",
        code_version="1",
    )
    (root / "_fit_cache" / "good").mkdir(parents=True)
    np.savez_compressed(root / "_fit_cache" / "abc.npz", skill=np.zeros((2, 3)))
    (root / "_fit_cache" / "good" / f"{RACE}.json").write_text(json.dumps({"fit_key": "abc"}))
    return layout


def test_whole_files_scan_clean(chaos, tmp_path):
    layout = whole_root(tmp_path)
    # A file beside an asset's own (race_backtest writes <race>.lineups.parquet) is no asset.
    layout.write_parquet(
        layout.extra_path("lineup_portfolio", RACE, "lineups.parquet"), pd.DataFrame({"x": [1]})
    )
    assert chaos.scan_partials(tmp_path) == []


def _temp_file(root: Path) -> str:
    name = f"lineup_portfolio/.{RACE}.parquet.0123abcd.tmp"
    (root / name).write_bytes(b"PAR1 half")
    return name


def _torn_parquet(root: Path) -> str:
    name = f"contest_simulation/{RACE}.parquet"
    (root / "contest_simulation").mkdir()
    (root / name).write_bytes(b"PAR1\x00\x01 not a whole file")
    return name


def _manifest_without_file(root: Path) -> str:
    name = f"_manifests/{RACE}/race_scenarios.json"
    (root / name).write_text(json.dumps({"path": f"race_scenarios/{RACE}.parquet"}))
    return name


def _file_replaced_after_manifest(root: Path) -> str:
    layout = StorageLayout(root)
    layout.write_parquet(layout.asset_path("lineup_portfolio", RACE), pd.DataFrame({"x": [7]}))
    return f"_manifests/{RACE}/lineup_portfolio.json"


def _parquet_without_manifest(root: Path) -> str:
    layout = StorageLayout(root)
    layout.write_parquet(layout.asset_path("race_scenarios", RACE), pd.DataFrame({"x": [1]}))
    return f"race_scenarios/{RACE}.parquet"


def _truncated_npz(root: Path) -> str:
    name = "_fit_cache/def.npz"
    (root / name).write_bytes((root / "_fit_cache" / "abc.npz").read_bytes()[:40])
    return name


@pytest.mark.parametrize(
    "leave_partial",
    [
        _temp_file,
        _torn_parquet,
        _manifest_without_file,
        _file_replaced_after_manifest,
        _parquet_without_manifest,
        _truncated_npz,
    ],
)
def test_one_partial_file_is_found(chaos, tmp_path, leave_partial):
    whole_root(tmp_path)
    name = leave_partial(tmp_path)
    found = chaos.scan_partials(tmp_path)
    assert [p.path for p in found] == [name], found
