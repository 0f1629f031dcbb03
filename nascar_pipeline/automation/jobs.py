"""Jobs the automation starts besides race_job (defined in definitions.py):

- race_backtest_job: race_backtest for one race partition, after its results are ingested;
- season_report_job: the unpartitioned season_report, after each successful backtest run.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.automation.policies import BACKTEST_JOB_NAME, SEASON_REPORT_JOB_NAME

race_backtest_job = define_asset_job(
    BACKTEST_JOB_NAME,
    selection=AssetSelection.assets("race_backtest"),
    partitions_def=races_partitions,
    executor_def=in_process_executor,
    tags={"nascar/stage": "backtest"},
    description="Score one race's projections, ownership and portfolio against its results.",
)

season_report_job = define_asset_job(
    SEASON_REPORT_JOB_NAME,
    selection=AssetSelection.assets("season_report"),
    executor_def=in_process_executor,
    tags={"nascar/stage": "backtest"},
    description="Aggregate every race_backtest into the season report.",
)
