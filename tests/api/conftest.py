"""Fixtures of the API tests: a demo world materialized into a local folder and into moto S3
(built once per session)."""

from __future__ import annotations

import pytest

from tests.support.api import Materialized, build_storage, seed_world


@pytest.fixture(scope="session")
def api_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-world")
    upcoming, past = seed_world(folder)
    return str(folder), upcoming, past


@pytest.fixture(scope="session")
def local_store(api_world, tmp_path_factory) -> Materialized:
    world, upcoming, past = api_world
    root = str(tmp_path_factory.mktemp("api-storage"))
    return build_storage(world, root, upcoming, past)


@pytest.fixture(scope="session")
def s3_store(api_world, moto_s3) -> Materialized:
    import uuid

    world, upcoming, past = api_world
    bucket = f"api-{uuid.uuid4().hex[:10]}"
    moto_s3.create_bucket(bucket)
    return build_storage(world, f"s3://{bucket}/store", upcoming, past)
