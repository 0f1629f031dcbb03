"""Issue 16's HTTP faults, in process: security headers on every response, /docs and /redoc
with pinned assets (SRI) under a Content-Security-Policy, and no redirect to a client-supplied
Host (trusted hosts when configured)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.api import api_settings, auth


@pytest.fixture(scope="module")
def client(local_store):
    with TestClient(create_app(api_settings(local_store.root, manifest_ttl_s=60.0))) as c:
        yield c


def test_nosniff_on_every_response(client, local_store):
    url = f"/v1/races/{local_store.upcoming}/portfolio"
    responses = [
        client.get("/healthz"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/v1/races"),  # 401
        client.get("/v1/races/x/nothing-here", headers=auth()),  # 404
        client.get(url, headers=auth()),  # rendered by the route
        client.get(url, headers=auth()),  # from memory (api/fastpath.py)
        client.get(f"/v1/races/{local_store.upcoming}/portfolio/draftkings.csv", headers=auth()),
    ]
    for r in responses:
        assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.headers)
        assert "content-security-policy" in r.headers
    assert responses[-3].status_code == responses[-2].status_code == 200
    assert responses[-3].headers["content-security-policy"].startswith("default-src 'none'")


def _sri(text: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(text.encode()).digest()).decode()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pinned_assets_under_csp(client, page):
    """/docs loaded Swagger UI from a CDN at a floating major version, without integrity, with
    no Content-Security-Policy."""
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    # every external script and stylesheet: an exact version with its SRI hash
    tags = re.findall(r"<(?:script|link)[^>]*(?:src|href)='([^']+)'[^>]*>", r.text)
    assert tags, r.text
    for url in tags:
        assert re.search(r"@\d+\.\d+\.\d+/", url), url
    assert len(re.findall(r"integrity='sha384-[A-Za-z0-9+/=]{64}'", r.text)) == len(tags)
    # the one inline script is allowed by its hash, nothing else
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in directives["script-src"]


def test_no_redirect_to_client_supplied_host(client):
    """`Host: evil.example` on /v1/races/ got a 307 to http://evil.example/v1/races before
    authentication."""
    for path in ("/v1/races/", "/healthz/", "/docs/"):
        r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert not 300 <= r.status_code < 400, (path, r.status_code, r.headers)
        assert "location" not in r.headers
        assert "evil.example" not in str(r.headers)


def test_trusted_hosts(local_store):
    s = api_settings(local_store.root, trusted_hosts="api.example.com,*.internal.example")
    with TestClient(create_app(s), base_url="http://api.example.com") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "x.internal.example"}).status_code == 200
        r = c.get("/v1/races", headers={"Host": "evil.example"}, follow_redirects=False)
        assert r.status_code == 400 and "location" not in r.headers
