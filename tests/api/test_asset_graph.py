"""The API's declaration of the asset graph (api/asset_graph.py) is the Dagster graph of the
Definitions, and the `stale` flag follows it: an asset is stale when one it reads was written
after it."""

from __future__ import annotations

import dataclasses
import hashlib

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.asset_graph import RACE_ASSETS, UPSTREAM, asset_statuses
from nascar_pipeline.storage.layout import ManifestEntry, StorageLayout
from tests.support.api import api_settings, auth

RACE = "2026-graph-test-race"
T0, T1 = "2026-03-01T12:00:00+00:00", "2026-03-01T13:00:00+00:00"


@pytest.fixture(scope="module")
def definitions_graph() -> dict[str, set[str]]:
    """Every race-partitioned asset of the Definitions and the assets it reads."""
    from nascar_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if getattr(node.partitions_def, "name", None) == "races":
            out[key.to_user_string()] = {p.to_user_string() for p in node.parent_keys}
    return out


def test_declared_graph_is_the_definitions_graph(definitions_graph):
    assert {a: set(ups) for a, ups in UPSTREAM.items()} == definitions_graph
    # pipeline order: every asset after the assets it reads
    for i, name in enumerate(RACE_ASSETS):
        assert set(UPSTREAM[name]) <= set(RACE_ASSETS[:i]), name


def _entry(asset: str, written_at: str) -> ManifestEntry:
    return ManifestEntry(
        asset=asset,
        race_key=RACE,
        path=f"{asset}/{RACE}.parquet",
        run_id="r",
        code_version="1",
        data_version=f"{abs(hash(asset)):016x}"[:16],
        written_at=written_at,
        rows=1,
        bytes=1,
    )


@pytest.mark.parametrize("rewritten", RACE_ASSETS)
def test_stale_follows_the_real_graph(rewritten, definitions_graph):
    """One asset rewritten after all the others: exactly the assets that read it are stale."""
    manifest = {a: _entry(a, T1 if a == rewritten else T0) for a in RACE_ASSETS}
    stale = {s["asset"] for s in asset_statuses(manifest) if s["stale"]}
    assert stale == {a for a, ups in definitions_graph.items() if rewritten in ups}


def test_stale_through_the_api(tmp_path):
    """The race snapshot rewritten after everything else: every asset reads it, so the race's
    statuses call all of them stale (the old hand-written graph missed four of them)."""
    layout = StorageLayout(str(tmp_path))
    data, _ = layout.write_parquet(
        layout.asset_path("race_snapshot", RACE),
        pd.DataFrame({"driver_id": [1], "role": ["entry"]}),
    )
    version = hashlib.sha256(data).hexdigest()[:16]  # what the store verifies the file against
    layout.write_manifest_entry(
        dataclasses.replace(_entry("race_snapshot", T1), data_version=version)
    )
    for asset in RACE_ASSETS[1:]:
        layout.write_manifest_entry(_entry(asset, T0))
    with TestClient(create_app(api_settings(str(tmp_path)), configure_logs=False)) as c:
        body = c.get(f"/v1/races/{RACE}", headers=auth()).json()
    stale = {a["asset"]: a["stale"] for a in body["assets"]}
    assert stale == {"race_snapshot": False, **{a: True for a in RACE_ASSETS[1:]}}
