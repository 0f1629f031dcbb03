"""Native Dagster backfills of race_job: which races need one, and submitting it.

A backfill is submitted through Dagster's public GraphQL API (the `launchPartitionBackfill`
mutation the UI's "Materialize partitions" dialog uses) to a running webserver: Dagster has no
public Python API that creates a backfill record, and `dagster job backfill` launches the runs
itself and records a backfill that is already complete (nothing left to cancel). What the
mutation creates is a job backfill of race_job's partition set: one race_job run per race, made
by the daemon's backfill loop, listed on the UI's Backfills page, cancellable there (or with
`nascar-pipeline backfill --cancel ID`) and re-executable from failure.

Idempotence: a race is skipped when it is fresh (its current slate materialized by every
selected asset, after its race_snapshot, each by the asset's current code version, as the
instance's materialization events record it) or in flight (a queued or running race_job run,
or a backfill not yet finished that names it).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dagster import AssetKey, DagsterInstance

from nascar_pipeline.automation import state
from nascar_pipeline.automation.policies import RACE_JOB_NAME

RACE_PARTITION_SET = f"{RACE_JOB_NAME}_partition_set"
CODE_VERSION_TAG = "dagster/code_version"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"  # `nascar-pipeline dev`'s webserver
# Backfill statuses while the backfill still creates (or cancels) runs.
UNFINISHED_BACKFILL = {"REQUESTED", "CANCELING", "FAILING"}


class BackfillError(Exception):
    """The webserver refused or could not be reached; the message says which and why."""


@dataclass
class BackfillPlan:
    submit: dict[str, str] = field(default_factory=dict)  # race_key -> slate hash
    skipped: dict[str, str] = field(default_factory=dict)  # race_key -> why
    # Races of `submit` whose slate is materialized, by older code: race_key -> why.
    code_changed: dict[str, str] = field(default_factory=dict)
    backfill_id: str | None = None


# ---- which races -----------------------------------------------------------------------------


def stale_code(
    instance: DagsterInstance,
    race_keys: Iterable[str],
    code_versions: Mapping[AssetKey, str | None],
) -> dict[str, list[str]]:
    """race_key -> assets whose latest materialization of the race was made by other code than
    the asset's current code version (the `dagster/code_version` tag Dagster puts on each
    materialization). Assets without a code version are not compared. One query per asset and
    race: only the races already complete are asked about."""
    from dagster import AssetRecordsFilter

    out: dict[str, list[str]] = {}
    for race in race_keys:
        old = []
        for key, version in code_versions.items():
            if version is None:
                continue
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, asset_partitions=[race]), limit=1
            ).records
            tags = (records[0].asset_materialization.tags or {}) if records else {}
            if tags.get(CODE_VERSION_TAG) != version:
                old.append(key.path[-1])
        if old:
            out[race] = sorted(old)
    return out


def backfilling_partitions(instance: DagsterInstance, limit: int = 200) -> dict[str, str]:
    """race_key -> id of an unfinished race_job backfill that names it (newest backfills first)."""
    out: dict[str, str] = {}
    for bf in instance.get_backfills(limit=limit):
        if bf.status.value not in UNFINISHED_BACKFILL:
            continue
        origin = bf.partition_set_origin
        if origin is None or origin.partition_set_name != RACE_PARTITION_SET:
            continue
        for key in bf.partition_names or ():
            out.setdefault(key, bf.backfill_id)
    return out


def plan_backfill(
    instance: DagsterInstance,
    races,
    asset_keys: set[AssetKey],
    *,
    force: bool = False,
    code_versions: Mapping[AssetKey, str | None] | None = None,
) -> BackfillPlan:
    """Split `races` (rows of list_races()) into races to submit and races skipped, with why.
    `code_versions` (asset -> current code version) adds the code-version test to freshness."""
    plan = BackfillPlan()
    hashes = dict(zip(races["race_key"].astype(str), races["content_hash"].astype(str)))
    if force:
        plan.submit = hashes
        return plan
    complete = state.races_complete(instance, hashes, asset_keys)
    old_code = (
        stale_code(instance, complete, {k: v for k, v in code_versions.items() if k in asset_keys})
        if code_versions
        else {}
    )
    in_flight = state.in_flight_partitions(instance, RACE_JOB_NAME)
    backfilling = backfilling_partitions(instance)
    for key, h in hashes.items():
        if key in complete and key not in old_code:
            plan.skipped[key] = "current slate already materialized"
        elif key in in_flight:
            plan.skipped[key] = "queued or running"
        elif key in backfilling:
            plan.skipped[key] = f"in backfill {backfilling[key]}"
        else:
            plan.submit[key] = h
            if key in old_code:
                plan.code_changed[key] = "code changed since written: " + ", ".join(old_code[key])
    return plan


# ---- submitting: Dagster's GraphQL API -------------------------------------------------------

_REPOSITORIES = """
query NascarRepositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } partitionSets { name } } }
    ... on PythonError { message }
  }
}
"""

_LAUNCH = """
mutation NascarLaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

_CANCEL = """
mutation NascarCancelBackfill($backfillId: String!) {
  cancelPartitionBackfill(backfillId: $backfillId) {
    __typename
    ... on CancelBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""


class DagsterWebserver:
    """The few GraphQL calls the backfill command makes, posted to <url>/graphql."""

    def __init__(self, url: str, timeout: float = 120):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def execute(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(
            f"{self.url}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise BackfillError(
                f"the Dagster webserver at {self.url} answered HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackfillError(
                f"no Dagster webserver at {self.url} ({reason}): backfills are submitted through "
                "its GraphQL API; start it (`nascar-pipeline dev`) or pass --dagster-url"
            ) from None
        if payload.get("errors"):
            raise BackfillError(
                f"the Dagster webserver at {self.url} refused the request: "
                + "; ".join(e.get("message", str(e)) for e in payload["errors"])
            )
        return payload["data"]

    def repository_of(self, partition_set: str, location: str | None = None) -> tuple[str, str]:
        """(location name, repository name) of the repository holding `partition_set`."""
        result = self.execute(_REPOSITORIES)["repositoriesOrError"]
        if result["__typename"] != "RepositoryConnection":
            raise BackfillError(f"the webserver could not list its repositories: {result}")
        found = [
            (repo["location"]["name"], repo["name"])
            for repo in result["nodes"]
            if any(ps["name"] == partition_set for ps in repo["partitionSets"])
            and (location is None or repo["location"]["name"] == location)
        ]
        if len(found) != 1:
            raise BackfillError(
                f"the webserver at {self.url} has {len(found)} code locations with "
                f"{partition_set}" + (f" named {location!r}" if location else "")
            )
        return found[0]

    def launch_job_backfill(
        self,
        *,
        location: str,
        repository: str,
        partition_set: str,
        partition_names: list[str],
        tags: Mapping[str, str],
        asset_selection: Iterable[AssetKey] | None = None,
        run_config: dict | None = None,
        title: str | None = None,
        description: str | None = None,
    ) -> str:
        params: dict = {
            "selector": {
                "partitionSetName": partition_set,
                "repositorySelector": {
                    "repositoryLocationName": location,
                    "repositoryName": repository,
                },
            },
            "partitionNames": list(partition_names),
            "tags": [{"key": k, "value": str(v)} for k, v in tags.items()],
        }
        if asset_selection:
            params["assetSelection"] = [{"path": list(k.path)} for k in asset_selection]
        if run_config:
            params["runConfigData"] = run_config
        if title:
            params["title"] = title
        if description:
            params["description"] = description
        result = self.execute(_LAUNCH, {"backfillParams": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise BackfillError(f"backfill refused ({result['__typename']}): {result}")
        return result["backfillId"]

    def cancel_backfill(self, backfill_id: str) -> None:
        result = self.execute(_CANCEL, {"backfillId": backfill_id})["cancelPartitionBackfill"]
        if result["__typename"] != "CancelBackfillSuccess":
            raise BackfillError(f"cancel refused ({result['__typename']}): {result}")


def submit_race_backfill(
    webserver: DagsterWebserver,
    plan: BackfillPlan,
    tags: Mapping[str, str],
    *,
    location: str | None = None,
    asset_selection: Iterable[AssetKey] | None = None,
    run_config: dict | None = None,
    title: str | None = None,
) -> BackfillPlan:
    """One race_job backfill over the plan's races (its partitions must exist); sets
    plan.backfill_id. Nothing is submitted for an empty plan."""
    if not plan.submit:
        return plan
    loc, repo = webserver.repository_of(RACE_PARTITION_SET, location)
    plan.backfill_id = webserver.launch_job_backfill(
        location=loc,
        repository=repo,
        partition_set=RACE_PARTITION_SET,
        partition_names=list(plan.submit),
        tags=tags,
        asset_selection=asset_selection,
        run_config=run_config,
        title=title,
        description=f"nascar-pipeline backfill: {len(plan.submit)} race(s), "
        f"{len(plan.skipped)} skipped as fresh or in flight",
    )
    return plan
