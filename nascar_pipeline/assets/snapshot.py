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
)

from nascar_pipeline.assets.race_asset import race_asset, race_check
from nascar_pipeline.assets.stage_timer import StageTimer
from nascar_pipeline.automation.policies import IO_RETRY_POLICY
from nascar_pipeline.core.rules import DRAFTKINGS
from nascar_pipeline.core.slate import entry_rows, history_rows, unpriced
from nascar_pipeline.core.snapshot import build_snapshot, slate_hash
from nascar_pipeline.resources.race_source import RaceSourceResource


@race_asset(
    group="ontology",
    kinds={"neo4j", "parquet"},
    pool="neo4j",
    retry_policy=IO_RETRY_POLICY,
)
def race_snapshot(
    context: AssetExecutionContext, race_source: RaceSourceResource
) -> Output[pd.DataFrame]:
    """The race ontology snapshot: race, track, entries (salaries, start positions), contest,
    and all results before the race. role=entry|history rows."""
    context.log.info(f"race_snapshot: reading {context.partition_key} from the race source")
    timer = StageTimer()
    inputs = race_source.source().race_inputs(context.partition_key)
    timer.lap("read race source")
    df = build_snapshot(inputs)
    entries = entry_rows(df)
    history = history_rows(df)
    race = inputs.race.iloc[0]
    content_hash = slate_hash(inputs.entries, inputs.contests)
    timer.lap("build snapshot")
    context.log.info(
        f"race_snapshot: {race['race_name']} ({race['race_date']}): {len(entries)} entries "
        f"({int(entries['salary'].notna().sum())} with a DK salary, "
        f"{int(entries['start_position'].notna().sum())} with a start position), "
        f"{len(inputs.contests)} contest(s), {int(history['race_key'].nunique())} history races "
        f"/ {len(history)} starts; slate {content_hash}; {timer.line()}"
    )
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
            **timer.metadata(),
        },
    )


@race_check(race_snapshot)
def snapshot_salaries_valid(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    """Every entry has a positive whole-dollar salary at most the cap, or none has one yet.

    A slate before DraftKings prices it (or real history, which has no salaries) still gets
    the model and projections, the run's slow part, so a race whose salaries come late is
    ready sooner; the run then fails at ownership_projections with "no entry has a salary"
    (slate_arrays), and pre_lock_schedule waits for the salaries instead of re-running it.
    A slate priced in part or with a bad salary blocks the whole race."""
    e = entry_rows(race_snapshot)
    sal = e["salary"]
    no_salaries = unpriced(e)
    bad = e.head(0) if no_salaries else e[sal.isna() | (sal <= 0) | (sal > DRAFTKINGS.salary_cap)]
    return AssetCheckResult(
        passed=len(e) > 0 and bad.empty,
        severity=AssetCheckSeverity.ERROR,
        description=(
            "no DraftKings salaries yet: the model and projections run, the run then stops at "
            "ownership_projections until `nascar-pipeline ingest salaries`"
            if no_salaries
            else None
        ),
        metadata={
            "entries": len(e),
            "priced": len(e) > 0 and bool(sal.notna().all()),
            "invalid": len(bad),
            "invalid_drivers": ", ".join(bad["driver_name"].astype(str).head(10)),
        },
    )


@race_check(race_snapshot)
def snapshot_no_duplicate_drivers(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    """No driver is entered twice."""
    e = entry_rows(race_snapshot)
    dupes = e[e["driver_id"].duplicated(keep=False)]
    return AssetCheckResult(
        passed=dupes.empty, severity=AssetCheckSeverity.ERROR, metadata={"duplicates": len(dupes)}
    )


@race_check(race_snapshot)
def snapshot_history_not_empty(race_snapshot: pd.DataFrame) -> AssetCheckResult:
    """The model has history to learn from."""
    h = history_rows(race_snapshot)
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
