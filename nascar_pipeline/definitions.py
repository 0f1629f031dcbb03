"""The one Definitions object: assets, checks, resources, jobs, sensors and schedules.

The settings (nascar_pipeline/settings.py) pick the implementations, read once here: NEO4J_URI
set -> races come from Neo4j, else from the embedded demo world; STORAGE_ROOT (folder, file://
or s3://) -> where Parquet lands. Assets, checks and sensors get them as typed resources
(`race_source: RaceSourceResource`, `storage: StorageResource`) and never read the environment.
"""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from nascar_pipeline.assets.backtest import backtest_assets
from nascar_pipeline.assets.contest import contest_simulation, contest_simulation_finite
from nascar_pipeline.assets.model import model_assets, model_checks
from nascar_pipeline.assets.model_backtest import model_backtest_job, model_season_backtest
from nascar_pipeline.assets.ownership import ownership_projections, ownership_totals_valid
from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.portfolio import lineup_portfolio, lineup_portfolio_valid
from nascar_pipeline.assets.report import exposure_report
from nascar_pipeline.assets.snapshot import race_snapshot, snapshot_checks
from nascar_pipeline.automation.alert_sensors import alert_sensors
from nascar_pipeline.automation.jobs import race_backtest_job, season_report_job
from nascar_pipeline.automation.readiness import race_readiness_sensor
from nascar_pipeline.automation.schedules import pre_lock_schedule
from nascar_pipeline.automation.sensors import (
    race_sensor,
    results_sensor,
    season_report_sensor,
)
from nascar_pipeline.resources.alerts import AlertsResource
from nascar_pipeline.resources.jax_runtime import jax_runtime_resource
from nascar_pipeline.resources.race_source import RaceSourceResource
from nascar_pipeline.resources.storage import storage_resources
from nascar_pipeline.settings import PipelineSettings, dagster_env_var, get_settings


def race_source_resource(settings: PipelineSettings | None = None) -> RaceSourceResource:
    """Neo4j when NEO4J_URI is set, else the embedded demo world. Secrets reach Dagster as
    EnvVars: its UI shows the variable's name, not the value."""
    settings = settings or get_settings()
    if settings.neo4j_configured:
        from nascar_pipeline.resources.neo4j import Neo4jResource

        return Neo4jResource(
            uri=dagster_env_var("neo4j_uri"),
            user=settings.neo4j_user,
            password=dagster_env_var("neo4j_password"),
            database=settings.neo4j_database or None,
        )
    from nascar_pipeline.resources.race_source import EmbeddedWorldResource

    return EmbeddedWorldResource(world_dir=str(settings.world_dir))


def alerts_resource(settings: PipelineSettings | None = None) -> AlertsResource:
    """The webhook from NASCAR_ALERT_WEBHOOK_URL, as an EnvVar (a secret: the UI shows the
    variable's name); unset: alerting off, the alert sensors say so in their ticks."""
    settings = settings or get_settings()
    if settings.alert_webhook_url is None:
        return AlertsResource()
    return AlertsResource(webhook_url=dagster_env_var("alert_webhook_url"))


# The backfill command builds the race source the code location uses through this name.
_race_source_resource = race_source_resource

dfs_assets = [ownership_projections, lineup_portfolio, contest_simulation, exposure_report]
dfs_checks = [ownership_totals_valid, lineup_portfolio_valid, contest_simulation_finite]
race_assets = [race_snapshot, *model_assets, *dfs_assets]
race_checks = [*snapshot_checks, *model_checks, *dfs_checks]


def build_defs(settings: PipelineSettings) -> Definitions:
    # On Kubernetes the chart publishes the MCMC run sizing (requests/limits) for run pods; the
    # race job carries the MCMC fit, so its runs get that pod spec through dagster-k8s's tag.
    k8s_tags = {"dagster-k8s/config": settings.k8s_mcmc_config} if settings.k8s_mcmc_config else {}
    race_job = define_asset_job(
        "race_job",
        selection=AssetSelection.assets(*race_assets),
        partitions_def=races_partitions,
        description="Materialize every stage of one race, from the ontology snapshot onwards.",
        # In-process: under the multiprocess executor the blocking checks of a dynamically
        # partitioned asset load the wrong partition (see assets/race_asset.py), and one
        # process per race is faster on two cores. Pools still apply.
        executor_def=in_process_executor,
        tags=k8s_tags,
    )
    return Definitions(
        assets=[*race_assets, *backtest_assets, model_season_backtest],
        asset_checks=race_checks,
        # model_backtest_job: an operator's job (a season of fits); no sensor or schedule starts it
        jobs=[race_job, race_backtest_job, season_report_job, model_backtest_job(k8s_tags)],
        sensors=[
            race_sensor,
            results_sensor,
            season_report_sensor,
            race_readiness_sensor,
            *alert_sensors,
        ],
        schedules=[pre_lock_schedule],
        resources={
            "race_source": race_source_resource(settings),
            "alerts": alerts_resource(settings),
            **storage_resources(settings.storage_root),
            # Compilation cache and CPU devices, set before the model assets start JAX.
            "jax_runtime": jax_runtime_resource(settings),
        },
    )


defs = build_defs(get_settings())
