"""Session fixtures every folder may ask for by name: the real data and the services (Neo4j,
PostgreSQL, moto S3; their servers live in tests/support/services/).

The tree mirrors the package (tests/core/ for nascar_pipeline/core/, tests/api/ for api/, ...);
builders and harnesses shared by several folders are in tests/support/. A test that asks for a
service fixture is marked `services` here, so `make test-fast` (`-m "not slow and not services"`)
runs everything that needs no server in a few minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def jax_compilation_cache():
    """Tests that call core's fits and simulator straight (no jax_runtime resource, no command)
    use the settings' compilation cache folder as the runs do, so a warm cache spares the suite
    the recompiles (each fit drops JAX's in-memory caches)."""
    from nascar_pipeline.core.jax_setup import enable_compilation_cache
    from nascar_pipeline.settings import get_settings

    return enable_compilation_cache(get_settings().jax_cache_dir)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (real NASCAR data); skips where it is absent."""
    if not (SHARED_DATA / "history" / "races.csv").exists():
        pytest.skip(f"real NASCAR data not found at {SHARED_DATA} (set NASCAR_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def moto_s3():
    """A moto S3 server on loopback, with the AWS variables pointing at it for the session."""
    from tests.support.services.moto_s3 import MotoS3Server

    server = MotoS3Server().start()
    old = server.apply_env()
    try:
        yield server
    finally:
        MotoS3Server.restore_env(old)
        server.stop()


@pytest.fixture
def s3_bucket(moto_s3, request) -> str:
    """A fresh bucket per test; returns its name."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    moto_s3.create_bucket(bucket)
    return bucket


@pytest.fixture(scope="session")
def neo4j_server():
    """A real Neo4j 5 Community server on loopback for the session (jars cached by Maven).
    Skips where Java/Maven are missing, unless NASCAR_REQUIRE_NEO4J=1 (CI) makes that fail."""
    from tests.support.services.neo4j_server import Neo4jServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("NASCAR_REQUIRE_NEO4J") == "1":
            pytest.fail(f"NASCAR_REQUIRE_NEO4J=1 but {reason}")
        pytest.skip(f"no Neo4j test server: {reason}")
    server = Neo4jServer().start()
    try:
        yield server
    finally:
        server.stop(grace=5)


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL 15 on 127.0.0.1 (initdb into a temp folder; runs as the `postgres`
    user when the tests run as root). Skips where the binaries are absent
    (apt-get install -y postgresql)."""
    from tests.support.services.postgres import INSTALL_HINT, PostgresServer, find_pg_bin

    if find_pg_bin() is None:
        pytest.skip(f"PostgreSQL binaries not found ({INSTALL_HINT})")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.cleanup()


SERVICE_FIXTURES = {"neo4j_server", "postgres_server", "moto_s3", "s3_bucket"}


def pytest_collection_modifyitems(config, items):
    # Marked from the fixtures a test asks for (directly or through its own fixtures), so no test
    # can forget the marker and slip a server start into the fast target.
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)
