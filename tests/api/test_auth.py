"""Auth (deny by default, every JWT failure, API keys, scopes), rate limiting, and race keys
that are not slugs or try to leave the storage root (rejected before any storage call)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import RateLimiter, hash_api_key, new_api_key
from nascar_pipeline.storage.layout import StorageLayout
from tests.support.api import (
    AUDIENCE,
    ISSUER,
    JWT_SECRET,
    api_settings,
    auth,
    make_token,
)

GOOD_KEY, GOOD_ENTRY = new_api_key("svc1")
REVOKED_KEY, REVOKED_ENTRY = new_api_key("old2")


@pytest.fixture(scope="module")
def client(local_store):
    s = api_settings(
        local_store.root, keys_hashed=f"{GOOD_ENTRY},{REVOKED_ENTRY}", revoked_keys="old2"
    )
    with TestClient(create_app(s)) as c:
        yield c


@pytest.fixture(scope="module")
def url(local_store):
    return f"/v1/races/{local_store.upcoming}/portfolio"


def _401(r, words: str):
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert words in r.json()["detail"], r.json()["detail"]


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_valid_jwt_and_api_key(client, url):
    assert client.get(url, headers=auth()).status_code == 200
    assert client.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200
    assert client.get(url, headers={"Authorization": f"Bearer {GOOD_KEY}"}).status_code == 200


def test_missing_and_malformed_credentials(client, url):
    _401(client.get(url), "credentials are required")
    _401(client.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"}), "Bearer")
    _401(client.get(url, headers={"Authorization": "Bearer"}), "Bearer")
    _401(client.get(url, headers={"Authorization": "Bearer not.a.jwt"}), "malformed")


def test_expired(client, url):
    _401(client.get(url, headers=auth(make_token(exp_in=-30))), "expired")


def test_wrong_audience(client, url):
    _401(client.get(url, headers=auth(make_token(aud="someone-else"))), "audience")


def test_wrong_issuer(client, url):
    _401(client.get(url, headers=auth(make_token(iss="https://evil.example/"))), "issuer")


def test_forged_signature(client, url):
    _401(
        client.get(url, headers=auth(make_token(secret="another-secret-of-enough-length-xx"))),
        "signature",
    )
    good = make_token()
    head, body, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "admin"
    _401(client.get(url, headers=auth(f"{head}.{_b64(claims)}.{sig}")), "signature")


def test_alg_none(client, url):
    claims = {"sub": "x", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 600}
    for alg in ("none", "None", "NONE"):
        token = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        _401(client.get(url, headers=auth(token)), "not accepted")


def test_wrong_algorithm(client, url):
    _401(client.get(url, headers=auth(make_token(alg="HS512"))), "not accepted")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _401(client.get(url, headers=auth(make_token(secret=pem, alg="RS256"))), "not accepted")


def test_required_claims(client, url):
    for claim in ("exp", "sub", "aud", "iss"):
        r = client.get(url, headers=auth(make_token(drop=(claim,))))
        assert r.status_code == 401, claim


def test_api_keys_revoked_and_unknown(client, url):
    _401(client.get(url, headers={"X-API-Key": REVOKED_KEY}), "revoked")
    _401(client.get(url, headers={"X-API-Key": GOOD_KEY + "x"}), "unknown API key")
    _401(client.get(url, headers={"X-API-Key": "npk_svc1_guess"}), "unknown API key")


def test_revocation_by_digest(local_store, url):
    s = api_settings(local_store.root, keys_hashed=GOOD_ENTRY, revoked_keys=hash_api_key(GOOD_KEY))
    with TestClient(create_app(s)) as c:
        _401(c.get(url, headers={"X-API-Key": GOOD_KEY}), "revoked")


def test_deny_by_default(local_store, url):
    from api.settings import ApiSettings

    s = ApiSettings(storage_root=local_store.root)
    with TestClient(create_app(s)) as c:
        for u in (url, "/v1/races", f"/v1/races/{local_store.upcoming}"):
            r = c.get(u, headers=auth())
            assert r.status_code == 401 and "not configured" in r.json()["detail"]
            assert c.get(u, headers={"X-API-Key": GOOD_KEY}).status_code == 401
        assert c.get("/healthz").status_code == 200
        assert c.get("/openapi.json").status_code == 200


PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"}


def _concrete(path: str, race_key: str) -> str:
    return path.format(race_key=race_key, asset="race_snapshot", site="draftkings")


def test_every_route_but_the_public_ones_requires_credentials(client, local_store):
    """Deny by default: every route the app has (not only those a router declares
    authenticated) answers 401 without credentials, except the public operational ones."""
    from fastapi.routing import APIRoute

    from api.deps import all_routes, authenticated_routes

    routes = [r for r in all_routes(client.app.routes) if isinstance(r, APIRoute)]
    private = [r for r in routes if r.path not in PUBLIC_PATHS]
    assert len(private) >= 14
    for route in private:
        _401(client.get(_concrete(route.path, local_store.upcoming)), "credentials are required")
    for path in sorted(PUBLIC_PATHS - {"/redoc"}):
        assert client.get(path).status_code == 200, path
    # the OpenAPI document names a security requirement on exactly the authenticated routes
    assert {r.path for r in authenticated_routes(client.app)} == {r.path for r in private}
    doc = client.get("/openapi.json").json()["paths"]
    secured = {p for p, ops in doc.items() if all("security" in op for op in ops.values())}
    assert secured == {r.path for r in private}


def test_settings_refuse_half_configured_jwt(local_store):
    from pydantic import ValidationError

    from api.settings import ApiSettings

    with pytest.raises(ValidationError):
        ApiSettings(storage_root=local_store.root, jwt_secret=JWT_SECRET)  # no aud/iss
    with pytest.raises(ValidationError):
        ApiSettings(
            storage_root=local_store.root, jwt_secret="short", jwt_audience="a", jwt_issuer="i"
        )
    with pytest.raises(ValidationError):
        ApiSettings(storage_root=local_store.root, rate_limit="lots")


def test_settings_from_environment(monkeypatch, local_store):
    from api.settings import ApiSettings

    monkeypatch.setenv("STORAGE_ROOT", local_store.root)
    monkeypatch.setenv("API_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("API_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("API_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("API_KEYS_HASHED", f"{GOOD_ENTRY}, {REVOKED_ENTRY}")
    monkeypatch.setenv("API_REVOKED_KEYS", "old2")
    monkeypatch.setenv("API_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("API_RATE_LIMIT", "5/second")
    s = ApiSettings()
    assert s.storage_root == local_store.root and s.jwt_enabled
    assert len(s.keys_hashed) == 2 and s.revoked_keys == ["old2"]
    assert s.cors_origins == ["https://a.example", "https://b.example"] and s.rate == (5, 1)


def test_scope_required_is_403(local_store, url):
    s = api_settings(local_store.root, required_scope="races:read")
    with TestClient(create_app(s)) as c:
        r = c.get(url, headers=auth(make_token(extra={"scope": "other"})))
        assert r.status_code == 403 and r.json()["status"] == 403
        ok = c.get(url, headers=auth(make_token(extra={"scope": "profile races:read"})))
        assert ok.status_code == 200


def test_rate_limit_429_with_retry_after(local_store, url):
    s = api_settings(local_store.root, rate_limit="3/minute", keys_hashed=GOOD_ENTRY)
    with TestClient(create_app(s)) as c:
        for _ in range(3):
            assert c.get(url, headers=auth()).status_code == 200
        r = c.get(url, headers=auth())
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["type"].endswith("rate-limited")
        # per principal: another subject and an API key still get through
        assert c.get(url, headers=auth(make_token(sub="other"))).status_code == 200
        assert c.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200
        # public endpoints are not limited
        assert c.get("/healthz").status_code == 200


def test_rate_limiter_refills():
    rl = RateLimiter(2, 1.0)
    assert rl.hit("a", now=0.0) == 0 and rl.hit("a", now=0.0) == 0
    assert rl.hit("a", now=0.0) == pytest.approx(0.5)
    assert rl.hit("a", now=0.6) == 0


# ---- RS256 through a JWKS URL -----------------------------------------------------------------
@pytest.fixture(scope="module")
def jwks_server():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    yield f"http://127.0.0.1:{srv.server_address[1]}/jwks.json", pem, pub
    srv.shutdown()
    srv.server_close()


def _rs(pem, kid="k1", **kw):
    claims = {"sub": "svc", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 600}
    claims.update(kw)
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def test_rs256_via_jwks(local_store, url, jwks_server):
    from api.settings import ApiSettings

    jwks_url, pem, pub = jwks_server
    s = ApiSettings(
        storage_root=local_store.root,
        jwks_url=jwks_url,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
        rate_limit="1000/second",
    )
    with TestClient(create_app(s)) as c:
        assert c.get(url, headers=auth(_rs(pem))).status_code == 200
        _401(c.get(url, headers=auth(_rs(pem, exp=int(time.time()) - 60))), "expired")
        _401(c.get(url, headers=auth(_rs(pem, aud="x"))), "audience")
        _401(c.get(url, headers=auth(_rs(pem, kid="unknown"))), "signing key")
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _401(c.get(url, headers=auth(_rs(other))), "signature")
        # key confusion: an HS256 token "signed" with the public key must not pass
        confused = (
            f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}."
            f"{_b64({'sub': 'x', 'aud': AUDIENCE, 'iss': ISSUER, 'exp': 2**31})}."
        )
        import hashlib
        import hmac

        sig = (
            base64.urlsafe_b64encode(hmac.new(pub, confused[:-1].encode(), hashlib.sha256).digest())
            .rstrip(b"=")
            .decode()
        )
        _401(c.get(url, headers=auth(confused + sig)), "not accepted")
        # and an HS256 token with a (would-be) secret is refused: only RS256 is configured
        _401(c.get(url, headers=auth(make_token())), "not accepted")


# ---- race keys that are not slugs or try to leave the root --------------------------------------
class SpyLayout(StorageLayout):
    def __init__(self, root):
        super().__init__(root)
        self.calls: list[str] = []

    def read_manifest(self, race_key):
        self.calls.append(f"read_manifest {race_key}")
        return super().read_manifest(race_key)

    def list_race_keys(self):
        self.calls.append("list_race_keys")
        return super().list_race_keys()

    def read_bytes(self, path):
        self.calls.append(f"read_bytes {path}")
        return super().read_bytes(path)

    def exists(self, path):
        self.calls.append(f"exists {path}")
        return super().exists(path)


TRAVERSALS = [
    "..",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "..%2f..%2fetc",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%5c..%5cetc",
    "%252e%252e%252f",
    "..%252f",
    "%c0%ae%c0%ae",
    "a%00b",
    "race%2f..",
    "_manifests",
    ".hidden",
    "UPPER-case",
    "a--b",
    "-lead",
    "trail-",
    "a_b",
    "x" * 97,
    "%ef%bc%8e%ef%bc%8e",
    "2027-daytona%20500",
    "2027-daytona-daytona-500%2f..%2f..",
]


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "/portfolio",
        "/assets/race_snapshot",
        "/assets/race_snapshot/parquet",
        "/portfolio/draftkings.csv",
        "/scenarios.parquet",
    ],
)
def test_path_traversal_rejected_before_storage(local_store, suffix):
    spy = SpyLayout(local_store.root)
    with TestClient(create_app(api_settings(local_store.root), layout=spy)) as c:
        for bad in TRAVERSALS:
            r = c.get(f"/v1/races/{bad}{suffix}", headers=auth())
            assert r.status_code in (400, 404), (bad, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            if r.status_code == 404:
                assert r.json()["type"].endswith("/not-found")  # no route: never reached storage
        assert spy.calls == []
        # asset names are checked the same way
        for bad in ("%2e%2e", "_manifests", "..%2f_manifests", "Race", "a.b", "%2e"):
            r = c.get(f"/v1/races/{local_store.upcoming}/assets/{bad}", headers=auth())
            assert r.status_code in (400, 404), bad
        assert spy.calls == []
        # and a good key does reach storage
        assert c.get(f"/v1/races/{local_store.upcoming}", headers=auth()).status_code == 200
        assert spy.calls


def _asgi_get(app, raw_path: bytes, headers: list[tuple[bytes, bytes]]):
    """Send a literal (unnormalized) path straight to the ASGI app, as a raw client could."""
    out = {}

    async def run():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            if msg["type"] == "http.response.start":
                out["status"] = msg["status"]

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path.decode("latin-1"),
            "raw_path": raw_path,
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("t", 80),
            "state": {},
        }
        await app(scope, receive, send)

    asyncio.run(run())
    return out["status"]


def test_literal_dot_segments_never_reach_storage(local_store):
    spy = SpyLayout(local_store.root)
    app = create_app(api_settings(local_store.root), layout=spy)
    with TestClient(app):
        hdr = [(b"authorization", f"Bearer {make_token()}".encode())]
        for raw in (
            b"/v1/races/../portfolio",
            b"/v1/races/../../etc/passwd",
            b"/v1/races/./portfolio",
            b"/v1/races/..\\..\\x/portfolio",
            b"/v1/races/%2e%2e/portfolio",
            f"/v1/races/{local_store.upcoming}/assets/..".encode(),
            f"/v1/races/{local_store.upcoming}/assets/../../_manifests".encode(),
        ):
            assert _asgi_get(app, raw, hdr) in (400, 404)
    assert spy.calls == []


# ---- issue 16: the attack run's faults ----------------------------------------------------------
def _ascii_header(r, attacker_text: str = "") -> None:
    """Every response header is ASCII without CR/LF, and carries none of the request's text."""
    for name, value in r.headers.items():
        assert value.isascii() and "\r" not in value and "\n" not in value, (name, value)
        if attacker_text:
            assert attacker_text not in value, (name, value)


@pytest.mark.parametrize("alg", ["HS256\u00e9\u4e2d", "\u2603", "none\r\nX-Injected: 1"])
def test_attacker_alg_never_reaches_a_header(client, url, alg):
    """An unsigned token whose `alg` held a non-latin-1 character gave a 500 on every /v1 route
    (the 401's WWW-Authenticate carried it)."""
    claims = {"sub": "x", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 600}
    token = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
    for path in (url, "/v1/races"):
        r = client.get(path, headers=auth(token))
        _401(r, "not accepted")
        _ascii_header(r, "Injected")
        assert r.headers["www-authenticate"] == (
            'Bearer realm="nascar-pipeline", error="invalid_token", '
            'error_description="the access token is not valid"'
        )


@pytest.mark.parametrize("kid", ["k\u4e2d", "k1\r\nX-Injected: 1", "\u00e9" * 300])
def test_attacker_kid_never_reaches_a_header(local_store, url, jwks_server, kid):
    """With JWKS, a `kid` with a non-latin-1 character gave a 500, and one with CR/LF put
    attacker text (a header line) into WWW-Authenticate."""
    from api.settings import ApiSettings

    jwks_url, pem, _ = jwks_server
    s = ApiSettings(
        storage_root=local_store.root, jwks_url=jwks_url, jwt_audience=AUDIENCE, jwt_issuer=ISSUER
    )
    with TestClient(create_app(s)) as c:
        r = c.get(url, headers=auth(_rs(pem, kid=kid)))
        assert r.status_code == 401, r.text
        _ascii_header(r, "Injected")


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"scope": 5}, "'scope'"),
        ({"scope": {"races:read": True}}, "'scope'"),
        ({"scope": ["races:read", 7]}, "'scope'"),
        ({"scp": 1.5}, "'scope'"),
        ({"exp": True}, "exp"),
        ({"exp": "soon"}, "not valid"),
        ({"exp": [1]}, "not valid"),
        ({"sub": 5}, "sub"),
        ({"sub": ""}, "sub"),
        ({"sub": ["a"]}, "sub"),
    ],
)
def test_claims_validated_strictly(client, url, claims, words):
    """A signed token with `"scope": 5` gave a 500; each wrong claim type is a clear 401."""
    token = make_token(extra=claims)
    r = client.get(url, headers=auth(token))
    _401(r, words)


def test_scope_as_a_list_of_strings_is_accepted(local_store, url):
    s = api_settings(local_store.root, required_scope="races:read")
    with TestClient(create_app(s)) as c:
        ok = c.get(url, headers=auth(make_token(extra={"scope": ["races:read", "x"]})))
        assert ok.status_code == 200


@pytest.mark.parametrize("key_id", ["caf\u00e9", "\u0661\u0662", "ab\u00b2", "a" * 33, ""])
def test_key_ids_are_ascii(key_id):
    """`api-key new --id` accepted non-ASCII ids (str.isalnum) that can never authenticate."""
    with pytest.raises(ValueError, match="ASCII"):
        new_api_key(key_id or "\u00e9")
    entry = f"{key_id}:sha256:{'0' * 64}"
    with pytest.raises(ValueError, match="ASCII"):
        from api.auth import parse_key_entries

        parse_key_entries([entry])


def test_failed_logins_are_rate_limited_per_address(local_store, url):
    """150 wrong keys in 0.2 s all answered 401: now the address's failed-login budget (here 10
    a minute) runs out and it gets 429 with Retry-After, before any credential is checked; other
    addresses are not affected."""
    s = api_settings(local_store.root, keys_hashed=GOOD_ENTRY, failed_auth_limit="10/minute")
    app = create_app(s)
    with TestClient(app, client=("203.0.113.7", 40000)) as attacker:
        codes = [
            attacker.get(url, headers={"X-API-Key": f"npk_svc1_guess{i}"}).status_code
            for i in range(150)
        ]
        assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}, codes
        r = attacker.get(url, headers={"X-API-Key": "npk_svc1_guess"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["type"].endswith("rate-limited")
        # locked out before the check: a right key from that address waits too
        assert attacker.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 429
        # no credential at all is not a failed login (it never counts)
        with TestClient(app, client=("203.0.113.8", 40000)) as fresh:
            for _ in range(20):
                assert fresh.get(url).status_code == 401
            assert fresh.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200
    with TestClient(app, client=("198.51.100.1", 40000)) as other:
        assert other.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200


def test_failed_login_budget_refills():
    from api.ratelimit import RateLimiter

    rl = RateLimiter(2, 60.0)
    assert rl.peek("a", now=0.0) == 0
    rl.hit("a", now=0.0)
    rl.hit("a", now=0.0)
    assert rl.peek("a", now=0.0) == pytest.approx(30.0)
    assert rl.peek("a", now=30.0) == 0


def test_revocation_file_takes_effect_without_restart(local_store, url, tmp_path):
    revoked = tmp_path / "revoked.txt"
    s = api_settings(
        local_store.root,
        keys_hashed=GOOD_ENTRY,
        revoked_keys_file=str(revoked),
        revocation_check_s=0,
    )
    with TestClient(create_app(s)) as c:
        assert c.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200
        assert c.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200  # cached, fast
        revoked.write_text("# revoked by on-call\nsvc1\n")
        _401(c.get(url, headers={"X-API-Key": GOOD_KEY}), "revoked")
        revoked.write_text("")  # removed from the file: the key works again
        assert c.get(url, headers={"X-API-Key": GOOD_KEY}).status_code == 200
