"""Every endpoint, against data materialized by the real pipeline into a local folder and into
moto's S3 (downstream assets written through StorageLayout: see tests/test_api_support.py)."""

from __future__ import annotations

import hashlib
import io
import json
import logging

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.api import (
    WRITTEN_RUN_ID,
    api_settings,
    auth,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)], scope="module")
def store(request):
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(scope="module")
def client(store):
    app = create_app(api_settings(store.root, manifest_ttl_s=0.5))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def layout(store):
    return StorageLayout(store.root)


def _problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["request_id"]
    assert r.headers["x-request-id"] == body["request_id"]
    return body


def test_races_list_status_and_freshness(client, store):
    r = client.get("/v1/races", headers=auth())
    assert r.status_code == 200
    body = r.json()
    keys = [x["race_key"] for x in body["races"]]
    assert store.upcoming in keys and store.past in keys and body["total"] == 2
    up = next(x for x in body["races"] if x["race_key"] == store.upcoming)
    assert up["race_name"] and up["race_date"] and up["track_name"] and up["lock_time"]
    assert up["entries"] >= 30
    statuses = {a["asset"]: a for a in up["assets"]}
    for name in ("race_snapshot", "driver_projections", "lineup_portfolio", "race_backtest"):
        assert statuses[name]["status"] == "materialized"
        assert statuses[name]["age_s"] >= 0 and statuses[name]["written_at"]
    assert statuses["race_snapshot"]["run_id"] == store.snapshot_run_id
    past = next(x for x in body["races"] if x["race_key"] == store.past)
    ps = {a["asset"]: a["status"] for a in past["assets"]}
    assert ps["race_snapshot"] == "materialized" and ps["driver_projections"] == "missing"
    season = int(store.upcoming[:4])
    r2 = client.get(f"/v1/races?season={season}&limit=1", headers=auth())
    assert r2.json()["limit"] == 1 and len(r2.json()["races"]) == 1


def test_one_race_with_provenance(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}", headers=auth())
    assert r.status_code == 200
    body = r.json()
    m = layout.read_manifest(store.upcoming)["race_snapshot"]
    assert body["provenance"]["run_id"] == store.snapshot_run_id == m.run_id
    assert body["provenance"]["data_version"] == m.data_version
    assert r.headers["x-run-id"] == m.run_id and r.headers["x-data-version"] == m.data_version
    assert (
        r.headers["x-written-at"] == m.written_at and r.headers["x-code-version"] == m.code_version
    )
    assert r.headers["etag"]


def test_asset_listing(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/assets", headers=auth())
    got = {a["asset"]: a for a in r.json()["assets"]}
    assert got.keys() == layout.read_manifest(store.upcoming).keys()
    assert got["lineup_portfolio"]["run_id"] == WRITTEN_RUN_ID


def test_generic_table_columns_sort_pages(client, store, layout):
    url = f"/v1/races/{store.upcoming}/assets/race_snapshot"
    r = client.get(
        url,
        params={
            "columns": "driver_name,salary",
            "sort": "-salary,driver_name",
            "limit": 5,
            "offset": 2,
        },
        headers=auth(),
    )
    assert r.status_code == 200, r.text
    b = r.json()
    snap = layout.read_asset("race_snapshot", store.upcoming)
    assert b["total"] == len(snap) and b["offset"] == 2 and b["limit"] == 5
    assert [c["name"] for c in b["columns"]] == ["driver_name", "salary"]
    want = snap.sort_values(
        ["salary", "driver_name"], ascending=[False, True], kind="stable", na_position="last"
    ).iloc[2:7]
    assert [x["salary"] for x in b["rows"]] == [int(v) for v in want["salary"]]
    assert b["provenance"]["run_id"] == store.snapshot_run_id
    bad = client.get(url, params={"columns": "nope"}, headers=auth())
    assert "nope" in _problem(bad, 400)["detail"]
    assert _problem(client.get(url, params={"sort": "-nope"}, headers=auth()), 400)
    assert _problem(client.get(url, params={"limit": 0}, headers=auth()), 422)["errors"]


def test_parquet_download_matches_stored_bytes(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/assets/race_snapshot/parquet", headers=auth())
    assert r.status_code == 200
    stored = layout.read_bytes(layout.asset_path("race_snapshot", store.upcoming))
    assert r.content == stored
    m = layout.read_manifest(store.upcoming)["race_snapshot"]
    assert r.headers["etag"] == f'"{m.data_version}"'
    assert hashlib.sha256(r.content).hexdigest()[:16] == m.data_version


def test_projections(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/projections", headers=auth())
    assert r.status_code == 200
    rows = r.json()["rows"]
    means = [x["dk_mean"] for x in rows]
    assert means == sorted(means, reverse=True)
    proj = layout.read_asset("driver_projections", store.upcoming)
    assert len(rows) == len(proj) and set(rows[0]) == set(proj.columns)
    r2 = client.get(
        f"/v1/races/{store.upcoming}/projections",
        params={"sort": "salary", "columns": "driver_id,salary"},
        headers=auth(),
    )
    sal = [x["salary"] for x in r2.json()["rows"]]
    assert sal == sorted(sal)


def test_scenario_summary_from_projections_and_from_matrix(client, store, layout):
    base = f"/v1/races/{store.upcoming}/scenarios/summary"
    r = client.get(base, headers=auth())
    assert r.status_code == 200
    b = r.json()
    assert b["source"] == "driver_projections"
    assert b["provenance"]["asset"] == "driver_projections"
    r2 = client.get(base, params={"source": "scenarios"}, headers=auth())
    b2 = r2.json()
    assert b2["source"] == "race_scenarios" and b2["provenance"]["asset"] == "race_scenarios"
    sc = layout.read_asset("race_scenarios", store.upcoming)
    one = b2["drivers"][0]
    pts = sc[sc["driver_id"] == one["driver_id"]]["dk_points"].astype("float64")
    assert one["dk_p90"] == pytest.approx(pts.quantile(0.9), rel=1e-5)
    assert one["dk_median"] == pytest.approx(pts.median(), rel=1e-5)
    assert one["driver_name"]  # joined from the snapshot's entry list
    assert one["scenarios"] == sc["scenario"].nunique()
    win = (sc[sc["driver_id"] == one["driver_id"]]["finish_position"] == 1).mean() * 100
    assert one["win_pct"] == pytest.approx(win)
    # the projections-based quantiles are the same numbers (they were written from the matrix)
    byid = {d["driver_id"]: d for d in b["drivers"]}
    assert byid[one["driver_id"]]["dk_p90"] == pytest.approx(one["dk_p90"], rel=1e-4)
    assert _problem(client.get(base, params={"source": "x"}, headers=auth()), 422)


def test_scenario_matrix_download(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/scenarios.parquet", headers=auth())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    assert "attachment" in r.headers["content-disposition"]
    t = pq.read_table(io.BytesIO(r.content))
    assert t.schema.field("scenario").type == "int32"
    assert t.num_rows == layout.read_manifest(store.upcoming)["race_scenarios"].rows
    page = client.get(
        f"/v1/races/{store.upcoming}/assets/race_scenarios",
        params={"limit": 50, "offset": 100},
        headers=auth(),
    ).json()
    assert len(page["rows"]) == 50 and page["total"] == t.num_rows


def test_ownership_and_backtest(client, store):
    r = client.get(f"/v1/races/{store.upcoming}/ownership", headers=auth())
    own = [x["dk_own_pct"] for x in r.json()["rows"]]
    assert own == sorted(own, reverse=True)
    r = client.get(f"/v1/races/{store.upcoming}/backtest", headers=auth())
    assert r.status_code == 200 and r.json()["asset"] == "race_backtest"


def test_portfolio_json_and_upload_csvs(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/portfolio", headers=auth())
    assert r.status_code == 200
    b = r.json()
    assert b["lineups"] == 20 and len(b["rows"]) == 120
    assert set(b["downloads"]) == {"draftkings", "fanduel"}
    for site in ("draftkings", "fanduel"):
        c = client.get(b["downloads"][site], headers=auth())
        assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
        stored = layout.read_bytes(
            layout.extra_path("lineup_portfolio", store.upcoming, f"{site}.csv")
        )
        assert c.content == stored
        assert c.headers["x-data-version"] == b["provenance"]["data_version"]
    assert _problem(
        client.get(f"/v1/races/{store.upcoming}/portfolio/yahoo.csv", headers=auth()), 422
    )


def test_contest_simulation_summary_and_lineups(client, store, layout):
    r = client.get(f"/v1/races/{store.upcoming}/contest-simulation", headers=auth())
    b = r.json()
    sim = layout.read_asset("contest_simulation", store.upcoming)
    assert b["lineups"] == len(sim)
    assert b["metrics"]["roi"]["mean"] == pytest.approx(sim["roi"].mean())
    assert b["best"][0]["roi"] == pytest.approx(sim["roi"].max())
    r = client.get(
        f"/v1/races/{store.upcoming}/contest-simulation/lineups",
        params={"sort": "cash_pct", "limit": 7, "offset": 3},
        headers=auth(),
    )
    p = r.json()
    want = sim.sort_values("cash_pct", kind="stable")["cash_pct"].iloc[3:10].tolist()
    assert [x["cash_pct"] for x in p["rows"]] == pytest.approx(want)
    assert p["total"] == len(sim)


def test_missing_asset_for_known_race_names_it(client, store):
    for path, asset in [
        ("projections", "driver_projections"),
        ("portfolio", "lineup_portfolio"),
        ("contest-simulation", "contest_simulation"),
        ("scenarios.parquet", "race_scenarios"),
        ("backtest", "race_backtest"),
        ("ownership", "ownership_projections"),
        ("portfolio/draftkings.csv", "lineup_portfolio"),
    ]:
        body = _problem(client.get(f"/v1/races/{store.past}/{path}", headers=auth()), 404)
        assert body["asset"] == asset and asset in body["detail"]
        assert body["type"].endswith("asset-not-found")
    unknown = _problem(client.get("/v1/races/1999-nowhere-nothing/portfolio", headers=auth()), 404)
    assert unknown["type"].endswith("race-not-found")


def test_etag_304_and_change(client, store, layout):
    url = f"/v1/races/{store.upcoming}/portfolio"
    r = client.get(url, headers=auth())
    etag = r.headers["etag"]
    r2 = client.get(url, headers={**auth(), "If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b"" and r2.headers["etag"] == etag
    assert r2.headers["x-data-version"] == r.headers["x-data-version"]
    r3 = client.get(url, headers={**auth(), "If-None-Match": '"other", ' + etag})
    assert r3.status_code == 304
    assert client.get(url, headers={**auth(), "If-None-Match": '"stale"'}).status_code == 200
    for u in (
        f"/v1/races/{store.upcoming}/assets/race_snapshot/parquet",
        f"/v1/races/{store.upcoming}/projections",
        "/v1/races",
        f"/v1/races/{store.upcoming}/scenarios/summary",
        f"/v1/races/{store.upcoming}/portfolio/fanduel.csv",
    ):
        first = client.get(u, headers=auth())
        again = client.get(u, headers={**auth(), "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, u
    # 304 needs auth like everything else
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 401


def test_rewrite_changes_etag_and_provenance(store):
    """A new materialization is served once the manifest TTL has passed (ttl 0 here)."""
    from tests.support.api import record_asset

    layout = StorageLayout(store.root)
    app = create_app(api_settings(store.root, manifest_ttl_s=0))
    with TestClient(app) as c:
        url = f"/v1/races/{store.upcoming}/backtest"
        before = c.get(url, headers=auth())
        df = layout.read_asset("race_backtest", store.upcoming)
        df["abs_error"] = df["abs_error"] + 1.0
        entry = record_asset(layout, "race_backtest", store.upcoming, df)
        after = c.get(url, headers={**auth(), "If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"] != before.headers["etag"]
        assert after.json()["provenance"]["data_version"] == entry.data_version
        assert after.json()["rows"][0]["abs_error"] == pytest.approx(
            before.json()["rows"][0]["abs_error"] + 1.0
        )


def test_file_and_manifest_disagree_is_409(store, tmp_path):
    """A file that does not match its manifest entry (a rewrite in flight) is never served."""
    local = StorageLayout(str(tmp_path))
    src = StorageLayout(store.root)
    from tests.support.api import record_asset

    record_asset(
        local, "race_backtest", store.upcoming, src.read_asset("race_backtest", store.upcoming)
    )
    path = local.asset_path("race_backtest", store.upcoming)
    local.write_bytes_atomic(path, local.parquet_bytes(pd.DataFrame({"x": [1]})))
    with TestClient(create_app(api_settings(str(tmp_path)))) as c:
        body = _problem(c.get(f"/v1/races/{store.upcoming}/backtest", headers=auth()), 409)
        assert body["asset"] == "race_backtest"


def test_health_ready_metrics_docs_are_public(client, store):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["races"] == 2
    client.get(f"/v1/races/{store.upcoming}/portfolio", headers=auth())
    m = client.get("/metrics").text
    assert (
        'api_requests_total{method="GET",route="/v1/races/{race_key}/portfolio",status="200"}' in m
    )
    assert "api_request_duration_seconds_bucket" in m
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_openapi_declares_typed_bodies(client):
    """/docs shows the rows' columns and types, not `list[dict]`."""
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def body(path: str) -> dict:
        ok = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return schemas[ok["schema"]["$ref"].rsplit("/", 1)[1]]

    def rows(path: str, member: str = "rows") -> dict:
        return schemas[body(path)["properties"][member]["items"]["$ref"].rsplit("/", 1)[1]]

    base = "/v1/races/{race_key}"
    for path, member, column, kind in [
        (f"{base}/projections", "rows", "dk_mean", "number"),
        (f"{base}/ownership", "rows", "own_pct", "number"),
        (f"{base}/backtest", "rows", "crps", "number"),
        (f"{base}/contest-simulation/lineups", "rows", "roi", "number"),
        (f"{base}/contest-simulation", "best", "roi", "number"),
        (f"{base}/portfolio", "rows", "lineup_id", "integer"),
        (f"{base}/scenarios/summary", "drivers", "dk_p90", "number"),
    ]:
        row = rows(path, member)
        assert {"type": kind} in row["properties"][column]["anyOf"], (path, column)
        assert row["additionalProperties"] is True  # columns the asset gains pass through
    metrics = body(f"{base}/contest-simulation")["properties"]["metrics"]
    assert metrics["additionalProperties"]["$ref"].endswith("/MetricSummary")
    race = body(f"{base}")["properties"]["assets"]["items"]["$ref"]
    assert "stale" in schemas[race.rsplit("/", 1)[1]]["properties"]


@pytest.mark.s3
def test_readyz_fails_when_storage_unreadable(tmp_path, moto_s3):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with TestClient(create_app(api_settings(str(blocker / "sub")))) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.headers["cache-control"] == "no-store"
    with TestClient(create_app(api_settings("s3://no-such-bucket-anywhere/x"))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["type"].endswith("not-ready")


def test_request_id_and_json_logs(client, store, caplog):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from api.observability import JsonFormatter

    handler.setFormatter(JsonFormatter())
    logging.getLogger("api.request").addHandler(handler)
    try:
        r = client.get(f"/v1/races/{store.upcoming}", headers={**auth(), "X-Request-ID": "req-42"})
        bad = client.get("/v1/races", headers={"X-Request-ID": "x" * 500})
    finally:
        logging.getLogger("api.request").removeHandler(handler)
    assert r.headers["x-request-id"] == "req-42"
    assert bad.headers["x-request-id"] != "x" * 500 and len(bad.headers["x-request-id"]) == 32
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    mine = next(x for x in lines if x["request_id"] == "req-42")
    assert mine["principal"] == "jwt:tester" and mine["status"] == 200
    assert mine["route"] == "/v1/races/{race_key}" and mine["duration_ms"] >= 0


def test_cors_only_for_configured_origins(store):
    app = create_app(api_settings(store.root, cors_origins="https://app.example.com"))
    with TestClient(app) as c:
        ok = c.options(
            "/v1/races",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        no = c.options(
            "/v1/races",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in no.headers
        g = c.get("/v1/races", headers={**auth(), "Origin": "https://app.example.com"})
        assert g.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "etag" in g.headers["access-control-expose-headers"].lower()


def test_tracing_spans_around_storage_reads(store):
    from nascar_pipeline.telemetry import install_in_memory_exporter

    exporter = install_in_memory_exporter()
    app = create_app(api_settings(store.root))
    with TestClient(app) as c:
        r = c.get(f"/v1/races/{store.upcoming}/portfolio", headers={**auth(), "X-Request-ID": "t1"})
        assert r.status_code == 200
    spans = exporter.get_finished_spans()
    server = [
        s
        for s in spans
        if s.name == "GET /v1/races/{race_key}/portfolio" and s.attributes.get("request.id") == "t1"
    ]
    assert len(server) == 1
    srv = server[0]
    assert srv.attributes["http.response.status_code"] == 200
    assert srv.attributes["enduser.id"] == "jwt:tester"
    children = [s for s in spans if s.context.trace_id == srv.context.trace_id and s is not srv]
    names = {s.name for s in children}
    assert {"storage.read_manifest", "storage.read_asset", "parquet.decode"} <= names
    read = next(s for s in children if s.name == "storage.read_asset")
    assert read.attributes["asset"] == "lineup_portfolio" and read.attributes["bytes"] > 0
    assert read.parent is not None


def test_serves_default_storage_when_none_configured(monkeypatch, local_store):
    from api.settings import ApiSettings
    from nascar_pipeline.settings import pipeline_home

    monkeypatch.delenv("STORAGE_ROOT", raising=False)
    monkeypatch.delenv("API_STORAGE_ROOT", raising=False)
    assert ApiSettings().storage_root == str(pipeline_home() / "storage")
    monkeypatch.setenv("STORAGE_ROOT", local_store.root)
    assert ApiSettings().storage_root == local_store.root


def test_unexpected_failure_is_a_problem_500_with_request_id(local_store):
    class Broken(StorageLayout):
        def read_manifest(self, race_key):
            raise RuntimeError("disk on fire")

    app = create_app(api_settings(local_store.root), layout=Broken(local_store.root))
    with TestClient(app) as c:
        r = c.get(
            f"/v1/races/{local_store.upcoming}/portfolio",
            headers={**auth(), "X-Request-ID": "boom-1"},
        )
        body = _problem(r, 500)
        assert body["request_id"] == "boom-1" and "disk on fire" not in r.text
        assert 'status="500"' in c.get("/metrics").text


def test_new_races_and_assets_written_by_another_process_appear(store, tmp_path, request):
    """Writes from another process (a fresh storage client: no shared listing cache) show up
    once the manifest TTL has passed, on S3 as on a local folder."""
    from tests.support.api import record_asset

    if store.root.startswith("s3://"):
        moto = request.getfixturevalue("moto_s3")
        bucket = f"late-{tmp_path.name[-8:].lower().replace('_', '-')}-x"
        moto.create_bucket(bucket)
        root, opts = f"s3://{bucket}/store", {"skip_instance_cache": True}
    else:
        root, opts = str(tmp_path / "store"), {}
    df = pd.DataFrame({"driver_id": [1, 2], "abs_error": [0.5, 1.5]})
    first = StorageLayout(root)
    record_asset(first, "race_snapshot", "2026-first-race", df)
    with TestClient(create_app(api_settings(root, manifest_ttl_s=0))) as c:
        before = c.get("/v1/races/2026-first-race", headers=auth()).json()
        assert {a["asset"]: a["status"] for a in before["assets"]}["race_backtest"] == "missing"
        assert [r["race_key"] for r in c.get("/v1/races", headers=auth()).json()["races"]] == [
            "2026-first-race"
        ]
        other = StorageLayout(root, **opts)
        record_asset(other, "race_backtest", "2026-first-race", df)
        record_asset(other, "race_backtest", "2099-late-added-race", df)
        after = c.get("/v1/races/2026-first-race", headers=auth()).json()
        assert {a["asset"]: a["status"] for a in after["assets"]}["race_backtest"] == "materialized"
        assert c.get("/v1/races/2026-first-race/backtest", headers=auth()).json()["total"] == 2
        keys = [r["race_key"] for r in c.get("/v1/races", headers=auth()).json()["races"]]
        assert keys == ["2026-first-race", "2099-late-added-race"]
