"""Where things live on the embedded default, overridable from the environment.

NASCAR_PIPELINE_HOME (default ./.nascar-pipeline): the demo world, local Parquet storage,
Dagster's local home, caches. STORAGE_ROOT: where assets are written (a folder path, file://,
or s3://bucket/prefix); default <home>/storage. NEO4J_URI: when set, races come from Neo4j
instead of the embedded world.
"""

from __future__ import annotations

import os
from pathlib import Path


def pipeline_home() -> Path:
    return Path(os.environ.get("NASCAR_PIPELINE_HOME", Path.cwd() / ".nascar-pipeline")).resolve()


def world_dir() -> Path:
    return Path(os.environ.get("NASCAR_WORLD_DIR", pipeline_home() / "world"))


def storage_root() -> str:
    return os.environ.get("STORAGE_ROOT") or str(pipeline_home() / "storage")


def neo4j_configured() -> bool:
    return bool(os.environ.get("NEO4J_URI"))


def jax_cache_dir() -> Path:
    return Path(os.environ.get("NASCAR_JAX_CACHE", pipeline_home() / "cache" / "jax"))
