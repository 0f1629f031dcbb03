"""The few instance queries sensors, schedules and the backfill command share. Each is one
query (or one per asset), whatever the number of races, so a tick stays cheap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.events import DagsterEventType

from nascar_pipeline.automation.policies import PARTITION_TAG, TAG_SLATE_HASH

SNAPSHOT_KEY = AssetKey("race_snapshot")
DATA_VERSION_TAG = "dagster/data_version"
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def in_flight_partitions(instance: DagsterInstance, job_name: str) -> dict[str, str | None]:
    """Partitions with a queued or running run of `job_name` -> that run's slate hash tag."""
    out: dict[str, str | None] = {}
    for rec in instance.get_run_records(RunsFilter(job_name=job_name, statuses=IN_FLIGHT)):
        tags = rec.dagster_run.tags
        if PARTITION_TAG in tags:
            out[tags[PARTITION_TAG]] = tags.get(TAG_SLATE_HASH)
    return out


def snapshot_versions(
    instance: DagsterInstance, race_keys: Sequence[str] | None = None
) -> dict[str, str]:
    """race_key -> data version (the slate hash) of its latest race_snapshot materialization."""
    tags = instance.event_log_storage.get_latest_tags_by_partition(
        SNAPSHOT_KEY,
        DagsterEventType.ASSET_MATERIALIZATION,
        [DATA_VERSION_TAG],
        asset_partitions=list(race_keys) if race_keys is not None else None,
    )
    return {k: v[DATA_VERSION_TAG] for k, v in tags.items() if DATA_VERSION_TAG in v}


def latest_storage_ids(
    instance: DagsterInstance,
    asset_keys: Iterable[AssetKey],
    race_keys: Sequence[str] | None = None,
) -> dict[AssetKey, dict[str, int]]:
    """asset -> race_key -> storage id of its latest materialization (one query per asset)."""
    parts = set(race_keys) if race_keys is not None else None
    return {
        key: dict(
            instance.get_latest_storage_id_by_partition(
                key, DagsterEventType.ASSET_MATERIALIZATION, parts
            )
        )
        for key in asset_keys
    }


def races_complete(
    instance: DagsterInstance, race_hashes: dict[str, str], asset_keys: Iterable[AssetKey]
) -> set[str]:
    """Races whose latest race_snapshot carries the given slate hash and whose every other
    race-job asset was materialized after that snapshot: the current slate is done."""
    keys = list(race_hashes)
    if not keys:
        return set()
    versions = snapshot_versions(instance, keys)
    ids = latest_storage_ids(instance, {SNAPSHOT_KEY, *asset_keys}, keys)
    done = set()
    for k, h in race_hashes.items():
        if versions.get(k) != h:
            continue
        snap_id = ids[SNAPSHOT_KEY].get(k)
        if snap_id is None:
            continue
        if all(ids[a].get(k, -1) >= snap_id for a in ids if a != SNAPSHOT_KEY):
            done.add(k)
    return done


def materialized_races(instance: DagsterInstance, asset_keys: Iterable[AssetKey]) -> dict[str, int]:
    """Races where every given asset is materialized -> the newest of those storage ids
    (a marker that changes whenever the race is re-materialized)."""
    ids = latest_storage_ids(instance, asset_keys)
    if not ids:
        return {}
    common = set.intersection(*(set(v) for v in ids.values()))
    return {k: max(v[k] for v in ids.values()) for k in common}


def job_asset_keys(repository_def, job_name: str) -> set[AssetKey]:
    """The assets a job materializes, from the repository the sensor/schedule runs in;
    falls back to race_snapshot where no repository is at hand (direct invocation)."""
    if repository_def is not None:
        try:
            job = repository_def.get_job(job_name)
            return set(job.asset_layer.selected_asset_keys)
        except Exception:  # noqa: BLE001 - a job missing from the repository
            pass
    return {SNAPSHOT_KEY}
