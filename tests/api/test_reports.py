"""The exposure report over the API: the driver and lineup tables of a race as stored (the
asset's Parquet and the Parquet beside it), one contest or all, paged and sorted like every table;
404 for a race without a report or an unknown contest; 401 without credentials."""

import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from nascar_pipeline.core.exposure_report import LINEUPS_FILE, REPORT_ASSET, exposure_report
from nascar_pipeline.storage.layout import StorageLayout
from tests.core.test_exposure_report import (
    STEERING,
    ownership,
    portfolio,
    projections,
    scenarios,
    simulation,
)
from tests.support.api import api_settings, auth, record_asset

RACE = "2026-report-test-400"
OTHER = "2026-other-race-500"  # materialized, but without a report


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("report-api"))
    layout = StorageLayout(root)
    rep = exposure_report(
        portfolio(), simulation(), ownership(), projections(), scenarios(), STEERING
    )
    record_asset(
        layout,
        REPORT_ASSET,
        RACE,
        rep.drivers,
        extras={LINEUPS_FILE: StorageLayout.parquet_bytes(rep.lineups)},
    )
    record_asset(layout, "ownership_projections", OTHER, ownership())
    drivers = layout.read_asset(REPORT_ASSET, RACE)
    lineups = pd.read_parquet(layout.extra_path(REPORT_ASSET, RACE, LINEUPS_FILE).path)
    return root, drivers, lineups


@pytest.fixture(scope="module")
def client(stored):
    with TestClient(create_app(api_settings(stored[0]), configure_logs=False)) as c:
        yield c


def _same_rows(served: list[dict], df: pd.DataFrame) -> None:
    assert len(served) == len(df)
    for got, (_, want) in zip(served, df.iterrows()):
        assert set(got) == set(df.columns)
        for col, v in want.items():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                assert got[col] is None, col
            elif isinstance(v, float):
                assert got[col] == pytest.approx(v, rel=1e-6, abs=1e-6), col
            else:
                assert got[col] == (v.item() if hasattr(v, "item") else v), col


def _get(client, path: str, **params):
    r = client.get(f"/v1/races/{RACE}/exposure-report/{path}", params=params, headers=auth())
    assert r.status_code == 200, r.text
    return r


def test_driver_table_as_stored(client, stored):
    _, drivers, _ = stored
    body = _get(client, "drivers", limit=1000).json()
    assert body["asset"] == REPORT_ASSET and body["total"] == len(drivers) == 18
    assert body["provenance"]["path"] == f"{REPORT_ASSET}/{RACE}.parquet"
    _same_rows(body["rows"], drivers)
    one = _get(client, "drivers", contest_id="dk-2", limit=1000).json()
    _same_rows(one["rows"], drivers[drivers["contest_id"] == "dk-2"])
    assert one["total"] == 9


def test_lineup_table_as_stored(client, stored):
    _, _, lineups = stored
    r = _get(client, "lineups", limit=1000)
    body = r.json()
    assert body["total"] == len(lineups) == 6
    _same_rows(body["rows"], lineups)
    assert {c["name"] for c in body["columns"]} == set(lineups.columns)
    one = _get(client, "lineups", contest_id="dk-1").json()
    _same_rows(one["rows"], lineups[lineups["contest_id"] == "dk-1"])
    # revalidation: the same ETag is a 304
    again = client.get(
        f"/v1/races/{RACE}/exposure-report/lineups",
        headers={**auth(), "If-None-Match": r.headers["etag"]},
        params={"limit": 1000},
    )
    assert again.status_code == 304


def test_sorted_and_paged_like_every_table(client, stored):
    _, drivers, _ = stored
    body = _get(
        client,
        "drivers",
        contest_id="dk-1",
        sort="-leverage_pct",
        columns="driver_id,leverage_pct",
        limit=3,
    ).json()
    want = drivers[drivers["contest_id"] == "dk-1"].sort_values("leverage_pct", ascending=False)
    assert [r["driver_id"] for r in body["rows"]] == want["driver_id"].head(3).tolist()
    assert set(body["rows"][0]) == {"driver_id", "leverage_pct"} and body["total"] == 9


def test_not_found(client):
    r = client.get(f"/v1/races/{RACE}/exposure-report/drivers?contest_id=dk-9", headers=auth())
    assert r.status_code == 404 and r.json()["contests"] == ["dk-1", "dk-2"]
    assert r.json()["type"].endswith("/contest-not-found")
    r = client.get(f"/v1/races/{OTHER}/exposure-report/lineups", headers=auth())
    assert r.status_code == 404 and r.json()["asset"] == REPORT_ASSET
    r = client.get("/v1/races/2026-never-built/exposure-report/drivers", headers=auth())
    assert r.status_code == 404


def test_credentials_required(client):
    for path in ("drivers", "lineups"):
        r = client.get(f"/v1/races/{RACE}/exposure-report/{path}")
        assert r.status_code == 401 and "credentials are required" in r.json()["detail"]
