"""The API as deployed: `nascar-pipeline api` on a real uvicorn server (loopback), the
`api-key new` helper, and OTLP/HTTP span export configured only by OTEL_* variables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.services.moto_s3 import free_port

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "nascar_pipeline.cli"]


def _get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _key_and_entry(key_id: str) -> tuple[str, str]:
    out = subprocess.run(
        [*CLI, "api-key", "new", "--id", key_id],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    key = out.split("shown once):", 1)[1].split()[0]
    entry = out.split("API_KEYS_HASHED:", 1)[1].split()[0]
    assert key.startswith(f"npk_{key_id}_") and entry.startswith(f"{key_id}:sha256:")
    return key, entry


def test_api_key_new_rejects_bad_id():
    r = subprocess.run(
        [*CLI, "api-key", "new", "--id", "no/slash"], capture_output=True, text=True, cwd=REPO
    )
    assert r.returncode == 2 and "letters and digits" in r.stderr


def _start_cli(store, tmp_path, keys_hashed: str, port: int, *args: str, **env_extra: str):
    """`nascar-pipeline api` on `port` over the store, in its own session; its log file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env.update(
        {
            "STORAGE_ROOT": store.root,
            "API_KEYS_HASHED": keys_hashed,
            "PYTHONPATH": str(REPO),
            **env_extra,
        }
    )
    log = tmp_path / "api.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [*CLI, "api", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=REPO,
            env=env,
            stdout=fh,
            stderr=fh,
            start_new_session=True,
        )
    return proc, log


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_cli_serves(local_store, tmp_path, server):
    if server == "granian":
        pytest.importorskip("granian", reason="granian is optional (pip install granian)")
    key, entry = _key_and_entry("cli")
    port = free_port()
    proc, log = _start_cli(
        local_store, tmp_path, entry, port, "--server", server, API_LOG_LEVEL="INFO"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if _get(f"{base}/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        assert _get(f"{base}/readyz")[0] == 200
        status, _, _ = _get(f"{base}/v1/races")
        assert status == 401
        status, headers, body = _get(
            f"{base}/v1/races/{local_store.upcoming}/portfolio",
            {"X-API-Key": key, "X-Request-ID": "live-1"},
        )
        assert status == 200 and headers["x-request-id"] == "live-1"
        assert json.loads(body)["lineups"] == 20
        # again (from memory, api/fastpath.py), then revalidated
        status, again, body2 = _get(
            f"{base}/v1/races/{local_store.upcoming}/portfolio",
            {"X-API-Key": key, "X-Request-ID": "live-2"},
        )
        assert status == 200 and body2 == body and again["etag"] == headers["etag"]
        assert again["x-request-id"] == "live-2"
        status, _, _ = _get(
            f"{base}/v1/races/{local_store.upcoming}/portfolio",
            {"X-API-Key": key, "If-None-Match": headers["etag"]},
        )
        assert status == 304
        status, _, body = _get(f"{base}/v1/races/%2e%2e/portfolio", {"X-API-Key": key})
        assert status == 400
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and any worker processes
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    for rid in ("live-1", "live-2"):
        live = [x for x in lines if x.get("request_id") == rid]
        assert live and live[0]["principal"] == "key:cli" and live[0]["status"] == 200


def test_otlp_exporter_from_otel_env(tmp_path):
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, request spans reach an OTLP/HTTP collector."""
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length", 0))
            received.append((self.path, self.rfile.read(n)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    script = (
        "from fastapi.testclient import TestClient\n"
        "from api.app import create_app\n"
        "from api.settings import ApiSettings\n"
        "from nascar_pipeline.telemetry import shutdown_tracing\n"
        f"app = create_app(ApiSettings(storage_root={str(tmp_path)!r}))\n"
        "with TestClient(app) as c:\n"
        "    assert c.get('/healthz').status_code == 200\n"
        "    assert c.get('/v1/races').status_code == 401\n"
        "shutdown_tracing()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "OTEL_"))}
    env.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{srv.server_address[1]}",
            "OTEL_SERVICE_NAME": "api-under-test",
            "PYTHONPATH": str(REPO),
        }
    )
    try:
        r = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
    finally:
        srv.shutdown()
        srv.server_close()
    paths = {p for p, _ in received}
    assert "/v1/traces" in paths
    blob = b"".join(b for p, b in received if p == "/v1/traces")
    assert b"api-under-test" in blob and b"GET /healthz" in blob and b"GET /v1/races" in blob


def test_no_exporter_without_otel_env(monkeypatch):
    from nascar_pipeline import telemetry

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert telemetry.otlp_configured() is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces")
    assert telemetry.otlp_configured() is True


@pytest.mark.parametrize("value", ["true", "TRUE"])
def test_sdk_disabled_gives_noop_provider(monkeypatch, value):
    from opentelemetry import trace

    from nascar_pipeline import telemetry

    monkeypatch.setattr(telemetry, "_provider", None)
    monkeypatch.setenv("OTEL_SDK_DISABLED", value)
    assert isinstance(telemetry.setup_tracing(), trace.NoOpTracerProvider)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_cli_workers_each_listen_with_reuseport(local_store, tmp_path):
    """--workers 2 with uvicorn: two processes, each with its own SO_REUSEPORT socket (the kernel
    spreads connections over them); SIGTERM stops both."""
    key, entry = _key_and_entry("wk")
    port = free_port()
    proc, log = _start_cli(local_store, tmp_path, entry, port, "--workers", "2")
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            listening = [
                ln
                for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]
                if ln.split()[1].endswith(f":{port:04X}") and ln.split()[3] == "0A"
            ]
            if len(listening) == 2:
                break
            assert time.monotonic() < deadline, (listening, log.read_text())
            time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/v1/races/{local_store.upcoming}/portfolio"
        for _ in range(6):  # new connections, whichever worker the kernel picks
            assert _get(url, {"X-API-Key": key})[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    assert rc == 0, log.read_text()[-2000:]
    assert log.read_text().count("Application shutdown complete") == 2
