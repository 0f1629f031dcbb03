"""The repository's dagster.yaml names the resilient storage by its module path, and its config
is one the plugin accepts. No database needed (tests/instance/test_postgres_storage.py loads it
on a real PostgreSQL)."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PLUGIN_MODULE = "nascar_pipeline.instance.postgres"


def test_root_dagster_yaml_uses_the_resilient_storage():
    instance = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert set(instance) & {"run_storage", "event_log_storage", "schedule_storage"} == set()
    custom = instance["storage"]["custom"]
    assert custom["module"] == PLUGIN_MODULE
    assert custom["class"] == "ResilientPostgresStorage"
    cls = getattr(importlib.import_module(custom["module"]), custom["class"])
    schema = cls.config_type()
    assert set(custom["config"]) <= set(schema), set(custom["config"]) - set(schema)
    assert custom["config"]["postgres_db"]["scheme"] == "postgresql+psycopg2"  # STACK-NOTES


def test_no_reference_to_the_old_module_path():
    old = "automation" + ".pg_storage"
    hits = [
        str(p.relative_to(REPO))
        for folder in ("nascar_pipeline", "tests", "docs", "helm", "benchmarks")
        for p in (REPO / folder).rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".md", ".yaml", ".tpl", ".json"}
        and old in p.read_text(errors="ignore")
    ] + [name for name in ("dagster.yaml", "README.md") if old in (REPO / name).read_text()]
    assert not hits, f"still naming nascar_pipeline.{old}: {hits}"
