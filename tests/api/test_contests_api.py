"""The portfolio and contest routes with several contests: every row's contest_id, the
`?contest_id=` filter (a 404 naming the race's contests for another id), the honest columns, and
the unfiltered JSON as before (the fast path never answers a filtered request)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.api import api_settings, auth, record_asset

pytestmark = pytest.mark.timeout(300)
GPP, SINGLE = "dk-180001234", "dk-180009999"


@pytest.fixture(scope="module")
def contest_store(local_store, tmp_path_factory):
    """A copy of the local store whose portfolio and simulation hold two contests."""
    root = tmp_path_factory.mktemp("api-contests") / "store"
    shutil.copytree(local_store.root, root)
    layout = StorageLayout(str(root))
    race = local_store.upcoming
    port = layout.read_asset("lineup_portfolio", race)
    contest = np.where(port["lineup_id"] < 19, GPP, SINGLE)
    port.insert(1, "contest_id", pd.array(contest, dtype="string"))
    extras = {
        n: layout.extra_path("lineup_portfolio", race, f"{n}").read_bytes()
        for n in ("draftkings.csv", "fanduel.csv")
    }
    record_asset(layout, "lineup_portfolio", race, port, extras=extras)
    sim = layout.read_asset("contest_simulation", race)
    sim.insert(
        1, "contest_id", pd.array(np.where(sim["lineup_id"] < 19, GPP, SINGLE), dtype="string")
    )
    sim["honest_roi"] = sim["roi"] - 0.3
    sim["honest_cash_pct"] = sim["cash_pct"] / 2
    sim["honest_win_pct"] = sim["win_pct"] / 2
    record_asset(layout, "contest_simulation", race, sim)
    app = create_app(api_settings(str(root), manifest_ttl_s=5.0))
    with TestClient(app) as c:
        yield c, race


def test_portfolio_rows_carry_contest_and_filter(contest_store):
    c, race = contest_store
    url = f"/v1/races/{race}/portfolio"
    full = c.get(url, headers=auth())
    assert full.status_code == 200
    body = full.json()
    assert body["contests"] == [GPP, SINGLE] and body["contest_id"] is None
    assert {r["contest_id"] for r in body["rows"]} == {GPP, SINGLE}
    assert set(body["downloads"]) == {"draftkings", "fanduel"}
    c.get(url, headers=auth())  # cached: the fast path may now answer the unfiltered URL
    one = c.get(url, params={"contest_id": SINGLE}, headers=auth())
    assert one.status_code == 200, one.text
    got = one.json()
    assert got["contest_id"] == SINGLE and got["contests"] == [GPP, SINGLE]
    assert {r["contest_id"] for r in got["rows"]} == {SINGLE} and got["lineups"] == 1
    assert one.headers["etag"] != full.headers["etag"]
    again = c.get(
        url, params={"contest_id": SINGLE}, headers={**auth(), "If-None-Match": one.headers["etag"]}
    )
    assert again.status_code == 304
    missing = c.get(url, params={"contest_id": "dk-404"}, headers=auth())
    assert missing.status_code == 404
    problem = missing.json()
    assert "dk-404" in problem["detail"] and problem["contests"] == [GPP, SINGLE]


def test_contest_routes_filter_and_honest_columns(contest_store):
    c, race = contest_store
    base = f"/v1/races/{race}/contest-simulation"
    summary = c.get(base, params={"contest_id": GPP}, headers=auth()).json()
    assert summary["lineups"] == 19 and summary["contest_id"] == GPP
    assert "honest_roi" in summary["metrics"] and "contest_id" not in summary["metrics"]
    assert {r["contest_id"] for r in summary["best"]} == {GPP}
    everything = c.get(base, headers=auth()).json()
    assert everything["lineups"] == 20 and everything["contests"] == [GPP, SINGLE]
    page = c.get(f"{base}/lineups", params={"contest_id": SINGLE}, headers=auth()).json()
    assert page["total"] == 1 and page["rows"][0]["contest_id"] == SINGLE
    assert {"honest_roi", "honest_cash_pct", "honest_win_pct"} <= set(page["rows"][0])
    assert c.get(f"{base}/lineups", params={"contest_id": "x"}, headers=auth()).status_code == 404
