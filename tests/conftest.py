"""Shared fixtures. Service fixtures (Neo4j, PostgreSQL, moto S3) live in tests/services/ and are
registered here so every test module can ask for them by name."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NASCAR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (real NASCAR data); skips where it is absent."""
    if not (SHARED_DATA / "history" / "races.csv").exists():
        pytest.skip(f"real NASCAR data not found at {SHARED_DATA} (set NASCAR_SHARED_DATA)")
    return SHARED_DATA
