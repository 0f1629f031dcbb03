"""race_snapshot: the race, track, entry list with salaries and start positions, contest,
and the history the model needs, as one Parquet table per race (see core/snapshot.py)."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    DataVersion,
    MetadataValue,
    Output,
    asset,
    asset_check,
)

from nascar_pipeline.assets.partitions import races_partitions
from nascar_pipeline.assets.tracing import asset_span
from nascar_pipeline.automation.policies import IO_RETRY_POLICY
from nascar_pipeline.core.rules import DRAFTKINGS
from nascar_pipeline.core.snapshot import build_snapshot, slate_hash


@asset(
    partitions_def=races_partitions,
    group_name="ontology",
    required_resource_keys={"race_source"},
    io_manager_key="parquet_io_manager",
    code_version="1",
    kinds={"neo4j", "parquet"},
    pool="neo4j",
    retry_policy=IO_RETRY_POLICY,
    description="The race ontology snapshot: race, track, entries (salaries, start positions), "
    "contest, and all results before the race. role=entry|history rows.",
)
def race_snapshot(context: AssetExecutionContext) -> Output[pd.DataFrame]:
    with asset_span(context):
        inputs = context.resources.race_source.source().race_inputs(context.partition_key)
        df = build_snapshot(inputs)
    entries = df[df["role"] == "entry"]
    history = df[df["role"] == "history"]
    race = inputs.race.iloc[0]
    content_hash = slate_hash(inputs.entries, inputs.contests)
    preview = entries.sort_values("salary", ascending=False, na_position="last").head(12)[
        ["driver_name", "car_number", "salary", "start_position"]
    ]
    return Output(
        df,
        data_version=DataVersion(content_hash),
        metadata={
            "race": f"{race['race_name']} ({race['race_date']})",
            "track": f"{race['track_name']} ({race['track_type']})",
            "entries": len(entries),
            "history_races": int(history["race_key"].nunique()),
            "history_starts": len(history),
            "slate_hash": content_hash,
            "has_contest": bool(len(inputs.contests)),
            "top_salaries": MetadataValue.md(preview.to_markdown(index=False)),
        },
    )


# Checks carry the races partitions themselves: without it a check of a dynamically
# partitioned asset loads the first registered partition, not the run's (dagster#17005).
def _entries(snapshot: pd.DataFrame) -> pd.DataFrame:
    return snapshot[snapshot["role"] == "entry"]


@asset_check(
    asset=race_snapshot,
    blocking=True,
    partitions_def=races_partitions,
    description="Every entry has a positive whole-dollar salary at most the cap.",
)
def snapshot_salaries_valid(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    e = _entries(race_snapshot)
    sal = e["salary"]
    bad = e[sal.isna() | (sal <= 0) | (sal > DRAFTKINGS.salary_cap)]
    return AssetCheckResult(
        passed=len(e) > 0 and bad.empty,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "entries": len(e),
            "invalid": len(bad),
            "invalid_drivers": ", ".join(bad["driver_name"].astype(str).head(10)),
        },
    )


@asset_check(
    asset=race_snapshot,
    blocking=True,
    partitions_def=races_partitions,
    description="No driver is entered twice.",
)
def snapshot_no_duplicate_drivers(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    e = _entries(race_snapshot)
    dupes = e[e["driver_id"].duplicated(keep=False)]
    return AssetCheckResult(
        passed=dupes.empty, severity=AssetCheckSeverity.ERROR, metadata={"duplicates": len(dupes)}
    )


@asset_check(
    asset=race_snapshot,
    blocking=True,
    partitions_def=races_partitions,
    description="The model has history to learn from.",
)
def snapshot_history_not_empty(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    h = race_snapshot[race_snapshot["role"] == "history"]
    return AssetCheckResult(
        passed=len(h) > 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={"history_starts": len(h), "history_races": int(h["race_key"].nunique())},
    )


snapshot_checks = [
    snapshot_salaries_valid,
    snapshot_no_duplicate_drivers,
    snapshot_history_not_empty,
]
