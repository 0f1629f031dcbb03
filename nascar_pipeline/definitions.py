"""The one Definitions object: assets, checks, resources, jobs, sensors and schedules.

The environment picks the implementations: NEO4J_URI set -> races come from Neo4j, else from
the embedded demo world; STORAGE_ROOT (folder, file:// or s3://) -> where Parquet lands.
"""

from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from nascar_pipeline import settings
from nascar_pipeline.assets.backtest import backtest_assets
from nascar_pipeline.assets.dfs import dfs_assets, dfs_checks
from nascar_pipeline.assets.model import model_assets, model_checks
from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
from nascar_pipeline.automation.jobs import race_backtest_job, season_report_job
from nascar_pipeline.automation.schedules import pre_lock_schedule
from nascar_pipeline.automation.sensors import (
    race_sensor,
    results_sensor,
    season_report_sensor,
)
from nascar_pipeline.resources.parquet_io import ParquetIOManager


def _race_source_resource():
    if settings.neo4j_configured():
        from dagster import EnvVar

        from nascar_pipeline.resources.neo4j import Neo4jResource

        return Neo4jResource(
            uri=EnvVar("NEO4J_URI"),
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=EnvVar("NEO4J_PASSWORD"),
            database=os.environ.get("NEO4J_DATABASE") or None,
        )
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource

    return EmbeddedWorldResource(world_dir=str(settings.world_dir()))


race_assets = [race_snapshot, *model_assets, *dfs_assets]
race_checks = [*snapshot_checks, *model_checks, *dfs_checks]

# On Kubernetes the chart publishes the MCMC run sizing (requests/limits) for run pods; the
# race job carries the MCMC fit, so its runs get that pod spec through dagster-k8s's tag.
_k8s_tags = (
    {"dagster-k8s/config": os.environ["NASCAR_K8S_MCMC_CONFIG"]}
    if os.environ.get("NASCAR_K8S_MCMC_CONFIG")
    else {}
)

race_job = define_asset_job(
    "race_job",
    selection=AssetSelection.assets(*race_assets),
    partitions_def=races_partitions,
    description="Materialize every stage of one race, from the ontology snapshot onwards.",
    # In-process: under the multiprocess executor the blocking asset checks of a dynamically
    # partitioned asset load the wrong partition (dagster#17005, #27747; reproduced on 1.13.27
    # through the daemon), and one process per race is faster on two cores. Pools still apply.
    executor_def=in_process_executor,
    tags=_k8s_tags,
)

defs = Definitions(
    assets=[*race_assets, *backtest_assets],
    asset_checks=race_checks,
    jobs=[race_job, race_backtest_job, season_report_job],
    sensors=[race_sensor, results_sensor, season_report_sensor],
    schedules=[pre_lock_schedule],
    resources={
        "race_source": _race_source_resource(),
        "parquet_io_manager": ParquetIOManager(root=settings.storage_root()),
    },
)
