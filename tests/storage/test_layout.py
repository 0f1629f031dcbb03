"""The storage layout: atomic writes, manifests, path safety, local and S3 alike."""

import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from nascar_pipeline.storage.layout import StorageLayout


def _frame(n: int, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"driver_id": range(n), "points": [value] * n})


def test_paths_follow_the_documented_layout(tmp_path):
    layout = StorageLayout(tmp_path)
    assert layout.asset_path("race_snapshot", "2025-bristol-food-city-500").path.endswith(
        "race_snapshot/2025-bristol-food-city-500.parquet"
    )
    assert layout.manifest_path("2025-x", "race_snapshot").path.endswith(
        "_manifests/2025-x/race_snapshot.json"
    )
    assert (
        layout.extra_path("lineup_portfolio", "2025-x", "draftkings.csv").name
        == "2025-x.draftkings.csv"
    )


@pytest.mark.parametrize(
    "bad", ["../etc", "a/b", "..", "A-Upper", "a,b", "a|b", "a...b", "", "a b", "%2e%2e", "a\\b"]
)
def test_race_keys_that_leave_the_root_or_break_dagster_are_rejected(tmp_path, bad):
    layout = StorageLayout(tmp_path)
    with pytest.raises(ValueError, match="invalid race key"):
        layout.asset_path("race_snapshot", bad)


@pytest.mark.parametrize("bad", ["..", "a/b", ".hidden", ""])
def test_asset_names_must_be_plain(tmp_path, bad):
    with pytest.raises(ValueError):
        StorageLayout(tmp_path).asset_path(bad, "2025-x")


def test_write_read_and_manifest_roundtrip(tmp_path):
    layout = StorageLayout(tmp_path)
    path = layout.asset_path("race_snapshot", "2025-x")
    df = _frame(5)
    data, schema = layout.write_parquet(path, df)
    entry = layout.record(
        asset="race_snapshot",
        race_key="2025-x",
        path=path,
        data=data,
        schema=schema,
        rows=len(df),
        run_id="r1",
        code_version="1",
    )
    pd.testing.assert_frame_equal(layout.read_asset("race_snapshot", "2025-x"), df)
    manifest = layout.read_manifest("2025-x")
    assert manifest["race_snapshot"] == entry
    assert entry.path == "race_snapshot/2025-x.parquet"
    assert entry.rows == 5 and entry.run_id == "r1" and len(entry.data_version) == 16
    assert layout.list_race_keys() == ["2025-x"]
    # No temporary files are left behind.
    assert [p.name for p in (tmp_path / "race_snapshot").iterdir()] == ["2025-x.parquet"]


def test_missing_asset_names_the_asset(tmp_path):
    with pytest.raises(FileNotFoundError, match="driver_projections"):
        StorageLayout(tmp_path).read_asset("driver_projections", "2025-x")


def test_writer_killed_mid_write_keeps_previous_file(tmp_path):
    """SIGKILL the production writer while it rewrites a large file in a loop: the file on
    disk is always the old one or a complete new one, never a torn one."""
    layout = StorageLayout(tmp_path)
    path = layout.asset_path("race_scenarios", "2025-x")
    old = _frame(10, 1.0)
    layout.write_parquet(path, old)
    script = textwrap.dedent(f"""
        import pandas as pd
        from nascar_pipeline.storage.layout import StorageLayout
        layout = StorageLayout({str(tmp_path)!r})
        big = pd.DataFrame({{"driver_id": range(3_000_000), "points": 2.0}})
        data = layout.parquet_bytes(big)
        print("ready", flush=True)
        while True:
            layout.write_bytes_atomic(layout.asset_path("race_scenarios", "2025-x"), data)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    df = layout.read_parquet_path(path)
    # Either the old file or a complete new one: never a torn one.
    assert len(df) in (10, 3_000_000)


@pytest.mark.s3
def test_s3_single_put_roundtrip(s3_bucket):
    layout = StorageLayout(f"s3://{s3_bucket}/pipeline")
    path = layout.asset_path("race_snapshot", "2025-x")
    df = _frame(7)
    data, schema = layout.write_parquet(path, df)
    layout.record(
        asset="race_snapshot",
        race_key="2025-x",
        path=path,
        data=data,
        schema=schema,
        rows=7,
        run_id="r",
        code_version="1",
    )
    pd.testing.assert_frame_equal(layout.read_asset("race_snapshot", "2025-x"), df)
    assert layout.read_manifest("2025-x")["race_snapshot"].path == "race_snapshot/2025-x.parquet"
    assert layout.list_race_keys() == ["2025-x"]
