"""definitions.py builds the resources from the settings once: the race source (embedded world or
Neo4j, its password an EnvVar), one storage root for the IO manager and the assets, and the
MCMC pod spec tag of race_job."""

import json

from nascar_pipeline.definitions import build_defs
from nascar_pipeline.resources.neo4j import Neo4jResource
from nascar_pipeline.resources.race_source import EmbeddedWorldResource, RaceSourceResource
from nascar_pipeline.settings import PipelineSettings


def _settings(tmp_path, **env) -> PipelineSettings:
    return PipelineSettings(NASCAR_PIPELINE_HOME=str(tmp_path), **env)


def test_embedded_defaults_and_one_storage_root(tmp_path, monkeypatch):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv("STORAGE_ROOT", raising=False)
    defs = build_defs(_settings(tmp_path))
    source = defs.resources["race_source"]
    assert isinstance(source, EmbeddedWorldResource) and isinstance(source, RaceSourceResource)
    assert source.world_dir == str(tmp_path.resolve() / "world")
    storage, io_manager = defs.resources["storage"], defs.resources["parquet_io_manager"]
    assert storage.root == str(tmp_path.resolve() / "storage")
    assert io_manager.storage is storage
    assert not defs.resolve_job_def("race_job").tags.get("dagster-k8s/config")


def test_neo4j_and_storage_root_and_k8s_tag_from_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:7687")  # what the EnvVars resolve to
    monkeypatch.setenv("NEO4J_PASSWORD", "secret")
    pod = json.dumps({"container_config": {"resources": {"requests": {"cpu": "2"}}}})
    settings = _settings(
        tmp_path,
        NEO4J_URI="bolt://127.0.0.1:7687",
        NEO4J_PASSWORD="secret",
        NEO4J_DATABASE="races",
        STORAGE_ROOT="s3://bucket/prefix",
        NASCAR_K8S_MCMC_CONFIG=pod,
    )
    defs = build_defs(settings)
    source = defs.resources["race_source"]
    assert isinstance(source, Neo4jResource) and source.database == "races"
    assert "secret" not in repr(source)
    assert defs.resources["storage"].root == "s3://bucket/prefix"
    assert defs.resolve_job_def("race_job").tags["dagster-k8s/config"] == pod
