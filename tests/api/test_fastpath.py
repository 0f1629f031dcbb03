"""The request middleware's memory-only answer for cached portfolio reads (api/fastpath.py):
the same responses, errors, auth, rate limits, logs, spans and metrics as the FastAPI route."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import new_api_key
from tests.support.api import (
    api_settings,
    auth,
    make_token,
)

pytestmark = pytest.mark.timeout(300)

KEY, ENTRY = new_api_key("fast1")


def _app(root, **over):
    kw = dict(manifest_ttl_s=60.0, keys_hashed=ENTRY)
    kw.update(over)
    app = create_app(api_settings(root, **kw))
    answered = []
    return app, answered


def _spy(client, answered):
    """Record what the fast path answered (None: the request went to FastAPI)."""
    mw = client.app.middleware_stack
    while not hasattr(mw, "fastpaths"):
        mw = mw.app
    fp = mw.fastpaths
    real = fp.answer

    def answer(scope, headers):
        out = real(scope, headers)
        answered.append(out)
        return out

    fp.answer = answer
    return fp


def _same(a, b):
    assert a.status_code == b.status_code
    ha = {k: v for k, v in a.headers.items() if k != "x-request-id"}
    hb = {k: v for k, v in b.headers.items() if k != "x-request-id"}
    assert ha == hb
    assert a.content == b.content


@pytest.fixture
def url(local_store):
    return f"/v1/races/{local_store.upcoming}/portfolio"


def test_hit_is_identical_to_the_route(local_store, url):
    app, answered = _app(local_store.root)
    with TestClient(app) as c:
        _spy(c, answered)
        first = c.get(url, headers=auth())  # renders and caches (FastAPI route)
        second = c.get(url, headers=auth())  # memory only
        assert answered[0] is None and answered[1] is not None
        _same(first, second)
        assert second.json()["provenance"]["data_version"] == second.headers["x-data-version"]
        etag = first.headers["etag"]
        nm = c.get(url, headers={**auth(), "If-None-Match": f'"x", {etag}'})
        assert answered[-1] is not None and nm.status_code == 304 and nm.content == b""
        assert nm.headers["etag"] == etag and nm.headers["x-run-id"] == first.headers["x-run-id"]
    # the same 304 from the route (fast path off)
    off = create_app(api_settings(local_store.root, manifest_ttl_s=60.0, fast_path=False))
    with TestClient(off) as c:
        slow_nm = c.get(url, headers={**auth(), "If-None-Match": f'"x", {etag}'})
        slow = c.get(url, headers=auth())
        _same(nm, slow_nm)
        _same(second, slow)


def test_errors_match_the_route(local_store, url):
    cases = [
        {},
        {"Authorization": "Basic abc"},
        auth(make_token(exp_in=-5)),
        auth(make_token(aud="else")),
        {"X-API-Key": KEY + "x"},
    ]
    out = {}
    for fast in (True, False):
        app = create_app(
            api_settings(local_store.root, manifest_ttl_s=60.0, keys_hashed=ENTRY, fast_path=fast)
        )
        with TestClient(app) as c:
            assert c.get(url, headers=auth()).status_code == 200  # warm the cache
            out[fast] = [c.get(url, headers=h) for h in cases]
    for a, b in zip(out[True], out[False]):
        assert a.status_code == b.status_code == 401
        ja, jb = a.json(), b.json()
        assert ja["request_id"] == a.headers["x-request-id"]
        ja.pop("request_id"), jb.pop("request_id")
        assert ja == jb and a.headers["www-authenticate"] == b.headers["www-authenticate"]


def test_rate_limit_and_scope_on_the_fast_path(local_store, url):
    app, answered = _app(local_store.root, rate_limit="3/minute", required_scope="races:read")
    with TestClient(app) as c:
        _spy(c, answered)
        tok = make_token(sub="limited", extra={"scope": "races:read"})
        assert [c.get(url, headers=auth(tok)).status_code for _ in range(3)] == [200] * 3
        r = c.get(url, headers=auth(tok))
        assert answered[-1] is not None
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["type"].endswith("rate-limited") and r.json()["instance"] == url
        no_scope = c.get(url, headers=auth(make_token(sub="other", extra={"scope": "x"})))
        assert no_scope.status_code == 403


def test_revoked_key_is_refused_at_once(local_store, url):
    app, answered = _app(local_store.root)
    with TestClient(app) as c:
        _spy(c, answered)
        assert c.get(url, headers={"X-API-Key": KEY}).status_code == 200
        assert c.get(url, headers={"X-API-Key": KEY}).status_code == 200
        assert answered[-1] is not None  # the key was served from the cache
        c.app.state.auth.revoke("fast1")
        r = c.get(url, headers={"X-API-Key": KEY})
        assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_cached_jwt_expires_with_its_exp(local_store, url):
    app, _ = _app(local_store.root)
    with TestClient(app) as c:
        tok = make_token(exp_in=1.5)
        assert c.get(url, headers=auth(tok)).status_code == 200
        assert c.get(url, headers=auth(tok)).status_code == 200
        time.sleep(2.1)
        r = c.get(url, headers=auth(tok))
        assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_log_span_and_metrics_for_a_hit(local_store, url):
    from nascar_pipeline.telemetry import install_in_memory_exporter

    exporter = install_in_memory_exporter()
    app, answered = _app(local_store.root)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from api.observability import JsonFormatter

    handler.setFormatter(JsonFormatter())
    logging.getLogger("api.request").addHandler(handler)
    try:
        with TestClient(app) as c:
            _spy(c, answered)
            c.get(url, headers=auth())
            r = c.get(url, headers={**auth(), "X-Request-ID": "fast-1"})
            assert answered[-1] is not None and r.headers["x-request-id"] == "fast-1"
            metrics = c.get("/metrics").text
    finally:
        logging.getLogger("api.request").removeHandler(handler)
    line = next(
        json.loads(x)
        for x in stream.getvalue().splitlines()
        if json.loads(x).get("request_id") == "fast-1"
    )
    assert line["principal"] == "jwt:tester" and line["status"] == 200
    assert line["route"] == "/v1/races/{race_key}/portfolio" and line["ts"].endswith("+00:00")
    span = next(
        s for s in exporter.get_finished_spans() if s.attributes.get("request.id") == "fast-1"
    )
    assert span.name == "GET /v1/races/{race_key}/portfolio"
    assert span.attributes["enduser.id"] == "jwt:tester"
    assert span.attributes["http.response.status_code"] == 200
    assert (
        'api_requests_total{method="GET",route="/v1/races/{race_key}/portfolio",status="200"} 2.0'
    ) in metrics


def test_origin_with_cors_takes_the_route(local_store, url):
    app, answered = _app(local_store.root, cors_origins="https://app.example.com")
    with TestClient(app) as c:
        _spy(c, answered)
        c.get(url, headers=auth())
        r = c.get(url, headers={**auth(), "Origin": "https://app.example.com"})
        assert answered[-1] is None
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        c.get(url, headers=auth())
        assert answered[-1] is not None


def test_ttl_zero_and_other_routes_take_the_route(local_store, url):
    app, answered = _app(local_store.root, manifest_ttl_s=0.0)
    with TestClient(app) as c:
        _spy(c, answered)
        for _ in range(2):
            assert c.get(url, headers=auth()).status_code == 200
        assert c.get(url + "/draftkings.csv", headers=auth()).status_code == 200
        assert (
            c.get(url.replace(local_store.upcoming, "Bad..Key"), headers=auth()).status_code == 400
        )
        assert all(a is None for a in answered)


def test_the_fast_path_serves_the_routes_that_declare_it(local_store):
    """The portfolio route declares itself (api.routers.results.PORTFOLIO): the fast path finds
    it by that declaration and uses its cache key, restating neither URL nor key."""
    from api.fastpath import FastPaths, FastServable
    from api.routers.results import PORTFOLIO, portfolio

    app, _ = _app(local_store.root)
    declared = FastPaths(app).routes
    assert [(route.path, decl) for route, decl in declared] == [
        ("/v1/races/{race_key}/portfolio", PORTFOLIO)
    ]
    assert isinstance(PORTFOLIO, FastServable) and portfolio.fast_servable is PORTFOLIO
    with TestClient(app) as c:
        r = c.get(f"/v1/races/{local_store.upcoming}/portfolio", headers=auth())
        key = PORTFOLIO.key(local_store.upcoming, r.headers["x-data-version"])
        assert c.app.state.store.peek_memo(key).body == r.content
