"""Issue 16 against the real server (`nascar-pipeline api`, uvicorn on loopback): header-size
and idle-connection limits, a key revoked while the server runs, and one client's rate limit
held across two workers through a real PostgreSQL (API_RATE_LIMIT_DSN)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api.test_serve import CLI, REPO, _get, _key_and_entry, _start_cli
from tests.support.services.moto_s3 import free_port


def _wait_ready(proc, log, base: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if _get(f"{base}/healthz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.3)


def _wait_listening(proc, log, port: int, sockets: int, timeout: float = 90) -> None:
    """Until `sockets` sockets listen on `port` (one per uvicorn worker: SO_REUSEPORT)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text()
        listening = [
            ln
            for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if ln.split()[1].endswith(f":{port:04X}") and ln.split()[3] == "0A"
        ]
        if len(listening) == sockets:
            return
        assert time.monotonic() < deadline, (listening, log.read_text())
        time.sleep(0.3)


def _stop(proc) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def server(local_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-limits")
    key, entry = _key_and_entry("lim1")
    revoked = tmp / "revoked.txt"
    port = free_port()
    proc, log = _start_cli(
        local_store,
        tmp,
        entry,
        port,
        API_MAX_HEADER_BYTES="4096",
        API_HEADER_TIMEOUT_S="1",
        API_KEEP_ALIVE_S="1",
        API_LIMIT_CONCURRENCY="8",
        API_REVOKED_KEYS_FILE=str(revoked),
        API_REVOCATION_CHECK_S="0.2",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, log, base)
        yield base, port, key, revoked
    finally:
        _stop(proc)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes `sock` (reading and discarding), or None."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


def test_oversized_headers_get_431(server):
    base, port, key, _ = server
    status, _, _ = _get(f"{base}/healthz", {"X-Pad": "a" * 2000})
    assert status == 200
    for head in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n",
        # never finished, and already too large
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: aaaaaaaa\r\n" * 600,
    ):
        with _connect(port) as s:
            s.sendall(head)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 431"), data[:200]


def test_idle_and_slow_connections_are_closed(server):
    _, port, _, _ = server
    # a connection that sends nothing
    with _connect(port) as s:
        took = _closed_within(s, 6)
        assert took is not None and took < 3, took
    # a request head sent a header at a time, forever (slowloris)
    with _connect(port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < 6:
            try:
                s.sendall(b"X-Slow: 1\r\n")
                s.settimeout(0.3)
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed and time.monotonic() - start < 3
    # an idle keep-alive connection after a response
    with _connect(port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        took = _closed_within(s, 6)
        assert took is not None and took < 3, took


def test_connections_beyond_the_limit_get_503(server):
    _, port, _, _ = server
    idle = [_connect(port) for _ in range(8)]
    try:
        time.sleep(0.2)
        with _connect(port) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            assert s.recv(4096).startswith(b"HTTP/1.1 503")
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200


def test_revoke_while_the_server_runs(server, local_store):
    """Revoking a key needed a restart: `api-key revoke` writes API_REVOKED_KEYS_FILE and the
    running server refuses the key at the next request (after the file check interval)."""
    base, _, key, revoked = server
    url = f"{base}/v1/races/{local_store.upcoming}/portfolio"
    assert _get(url, {"X-API-Key": key})[0] == 200
    assert _get(url, {"X-API-Key": key})[0] == 200  # cached principal, fast path
    r = subprocess.run(
        [*CLI, "api-key", "revoke", "lim1", "--file", str(revoked)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    assert revoked.read_text().splitlines()[-1] == "lim1"
    time.sleep(0.3)  # API_REVOCATION_CHECK_S=0.2
    status, headers, body = _get(url, {"X-API-Key": key})
    assert status == 401 and "revoked" in json.loads(body)["detail"]


def test_api_key_cli_rejects_non_ascii_id():
    r = subprocess.run(
        [*CLI, "api-key", "new", "--id", "caf\u00e9"], capture_output=True, text=True, cwd=REPO
    )
    assert r.returncode == 2 and "ASCII" in r.stderr
    r = subprocess.run(
        [*CLI, "api-key", "revoke", "x/y", "--file", "/nonexistent/r.txt"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert r.returncode == 2 and "key id" in r.stderr


# ---- one client's limit across two workers, counted in PostgreSQL ------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_rate_limit_holds_across_two_workers(local_store, tmp_path, postgres_server):
    """Limits were per process: `--workers 2` gave a client twice its limit. With
    API_RATE_LIMIT_DSN both workers count in one PostgreSQL table."""
    db = postgres_server.create_database("api_limits")
    key, entry = _key_and_entry("pg1")
    port = free_port()
    proc, log = _start_cli(
        local_store,
        tmp_path,
        entry,
        port,
        "--workers",
        "2",
        API_LOG_LEVEL="INFO",
        API_RATE_LIMIT="10/hour",
        API_FAILED_AUTH_LIMIT="5/hour",
        API_RATE_LIMIT_DSN=postgres_server.url(db),
    )
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/races/{local_store.upcoming}/portfolio"
    try:
        _wait_listening(proc, log, port, 2)  # both workers up: connections go to either
        _wait_ready(proc, log, base)
        for _ in range(2):  # a window boundary during the run: once more, in the next window
            window = int(time.time() // 3600)
            rids = [f"pg-{window}-{i}" for i in range(24)]
            codes = [_get(url, {"X-API-Key": key, "X-Request-ID": rid})[0] for rid in rids]
            if int(time.time() // 3600) == window:
                break
        assert codes.count(200) == 10 and codes.count(429) == 14, codes
        assert codes[:10] == [200] * 10
        status, headers, _ = _get(url, {"X-API-Key": key})
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 3600
        # failed logins from this address: one budget for both workers as well
        fails = [_get(url, {"X-API-Key": f"npk_pg1_wrong{i}"})[0] for i in range(12)]
        assert fails[:5] == [401] * 5 and set(fails[5:]) == {429}, fails
        hits = postgres_server.psql(
            f"SELECT hits FROM api_rate_limit WHERE bucket = 'key:pg1' "
            f"AND window_start = {window * 3600}",
            db=db,
        )
        assert int(hits) == 25
    finally:
        _stop(proc)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    served = {x["pid"] for x in lines if str(x.get("request_id", "")).startswith("pg-")}
    assert len(served) == 2, served  # both workers answered, and together allowed 10


def test_rate_limit_fails_open_when_the_store_is_down(local_store, caplog):
    """An unreachable store: requests are still served (per-process limits), with a warning."""
    import logging

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.support.api import api_settings, auth

    s = api_settings(
        local_store.root,
        rate_limit="3/minute",
        rate_limit_dsn=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
    )
    url = f"/v1/races/{local_store.upcoming}/portfolio"
    with TestClient(create_app(s, configure_logs=False)) as c:
        with caplog.at_level(logging.WARNING, logger="api.ratelimit"):
            codes = [c.get(url, headers=auth()).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert any("rate-limit store unreachable" in r.getMessage() for r in caplog.records)
